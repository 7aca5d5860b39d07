import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, screen, waitFor } from '@testing-library/react';
import type { Change } from '../bindings';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { agent, approval, approvalView, status } from '../test/fixtures';
import { makeQueryClient } from './queryClient';
import { ROUND_PATIENCE_MS, Refresher, keysFor } from './changes';
import { keys } from './keys';
import { useApprovals } from './queries';
import { useCoreEvents } from './events';
import { ChangeFeed } from './changeFeed';
import { useSync } from './sync';
import { useToasts } from './toasts';
import { useDecisions } from './decisions';

vi.mock('../ipc');

describe('keysFor', () => {
  it('refreshes approvals, that approval, its project and the dashboard on an approval change', () => {
    const change: Change = { kind: 'approval', before: null, after: approval({ id: 'apr_9', project_id: 'prj_x' }) };
    expect(keysFor(change)).toEqual([keys.dashboard, ['approvals'], ['approval', 'apr_9'], ['project', 'prj_x']]);
  });

  it('refreshes only the agent’s project and the dashboard on an agent change', () => {
    expect(keysFor({ kind: 'agent', before: null, after: agent({ project_id: 'prj_y' }) })).toEqual([keys.dashboard, ['project', 'prj_y']]);
  });

  it('reads who is on call again when the schedule changed', () => {
    expect(keysFor({ kind: 'on_call' })).toEqual([keys.oncall]);
  });

  it('refreshes everything after a resync and nothing on progress', () => {
    expect(keysFor({ kind: 'resynced' })).toEqual([[]]);
    expect(keysFor({ kind: 'progress', applied_seq: 5, head: 10 })).toEqual([]);
  });
});

/** A Refresher on fake timers whose reads take `readMs()` ms, and when each read started. */
function withReadsTaking(readMs: () => number) {
  vi.useFakeTimers();
  const client = makeQueryClient();
  const rounds: number[] = [];
  vi.spyOn(client, 'invalidateQueries').mockImplementation(() => {
    rounds.push(Date.now());
    return new Promise<void>((resolve) => setTimeout(resolve, readMs()));
  });
  return { refresher: new Refresher(client, 100, () => Date.now()), rounds };
}

describe('Refresher', () => {
  afterEach(() => vi.useRealTimers());

  it('marks the matching queries stale and leaves the others alone', async () => {
    const client = makeQueryClient();
    client.setQueryData(keys.approvals(true), []);
    client.setQueryData(keys.approval('apr_9'), approvalView());
    client.setQueryData(keys.project('prj_other'), {});
    new Refresher(client).apply({ kind: 'approval', before: null, after: approval({ id: 'apr_9', project_id: 'prj_x' }) });
    await waitFor(() => expect(client.getQueryState(keys.approvals(true))?.isInvalidated).toBe(true));
    expect(client.getQueryState(keys.approval('apr_9'))?.isInvalidated).toBe(true);
    expect(client.getQueryState(keys.project('prj_other'))?.isInvalidated).toBe(false);
  });

  it('re-reads once for changes delivered together, and once a spell during a burst', async () => {
    vi.useFakeTimers();
    const client = makeQueryClient();
    const invalidated = vi.spyOn(client, 'invalidateQueries');
    const refresher = new Refresher(client, 100, () => Date.now());
    const agentChange: Change = { kind: 'agent', before: null, after: agent({ project_id: 'prj_y' }) };

    for (let i = 0; i < 200; i++) refresher.apply(agentChange);
    expect(invalidated).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(0);
    // The dashboard and the project, each once.
    expect(invalidated).toHaveBeenCalledTimes(2);

    // A burst: a change every 5 ms for a second makes a round every 100 ms, not 200 rounds.
    for (let ms = 0; ms < 1000; ms += 5) {
      refresher.apply(agentChange);
      await vi.advanceTimersByTimeAsync(5);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(invalidated.mock.calls.length).toBeGreaterThanOrEqual(2 + 2 * 9);
    expect(invalidated.mock.calls.length).toBeLessThanOrEqual(2 + 2 * 11);

    // The last change of a burst is read too, and a quiet spell makes the next one immediate.
    const before = invalidated.mock.calls.length;
    await vi.advanceTimersByTimeAsync(500);
    refresher.apply({ kind: 'resynced' });
    await vi.advanceTimersByTimeAsync(0);
    expect(invalidated.mock.calls.slice(before)).toEqual([[]]);
  });

  it('spaces rounds by what the last one’s reads took: ten times as long, within 100 ms and a second', async () => {
    let readMs = 30;
    const { refresher, rounds } = withReadsTaking(() => readMs);
    const keepChanging = async (ms: number) => {
      for (let t = 0; t < ms; t += 5) {
        refresher.apply({ kind: 'on_call' });
        await vi.advanceTimersByTimeAsync(5);
      }
    };
    const gaps = () => rounds.slice(1).map((at, i) => at - (rounds[i] ?? 0));

    await keepChanging(1_500);
    // Reads of 30 ms: a round every 300 ms, not every 100.
    expect(gaps().length).toBeGreaterThanOrEqual(4);
    expect(gaps().slice(1).every((gap) => gap >= 300 && gap <= 305)).toBe(true);

    readMs = 400;
    rounds.length = 0;
    await keepChanging(4_000);
    expect(gaps().length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...gaps().slice(1))).toBeLessThanOrEqual(1_005);
    expect(Math.min(...gaps().slice(1))).toBeGreaterThanOrEqual(1_000);

    readMs = 1;
    rounds.length = 0;
    await keepChanging(1_500);
    expect(gaps().length).toBeGreaterThanOrEqual(10);
    expect(gaps().slice(2).every((gap) => gap >= 100 && gap <= 105)).toBe(true);
  });

  it('reads what the person did (the outbox, an outcome) on the next task, not after the spell', async () => {
    const { refresher, rounds } = withReadsTaking(() => 50);
    refresher.apply({ kind: 'on_call' });
    await vi.advanceTimersByTimeAsync(60);
    expect(rounds).toHaveLength(1);
    // Reads of 50 ms: the next round of a burst would wait 500 ms.
    refresher.apply({ kind: 'on_call' });
    await vi.advanceTimersByTimeAsync(100);
    expect(rounds).toHaveLength(1);
    refresher.apply({ kind: 'outbox' });
    await vi.advanceTimersByTimeAsync(0);
    expect(rounds.length).toBeGreaterThan(1);
    expect((rounds[1] ?? 0) - (rounds[0] ?? 0)).toBeLessThan(200);
  });

  it('starts a round only when the last one’s reads are in, or after its patience ran out', async () => {
    vi.useFakeTimers();
    const client = makeQueryClient();
    let finishReads: () => void = () => {};
    const invalidated = vi.spyOn(client, 'invalidateQueries').mockImplementation(
      () => new Promise<void>((resolve) => (finishReads = resolve)),
    );
    const refresher = new Refresher(client, 100, () => Date.now());
    refresher.apply({ kind: 'on_call' });
    await vi.advanceTimersByTimeAsync(0);
    expect(invalidated).toHaveBeenCalledTimes(1);

    // A slow read: changes meanwhile wait for it instead of abandoning it.
    refresher.apply({ kind: 'on_call' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(invalidated).toHaveBeenCalledTimes(1);
    finishReads();
    await vi.advanceTimersByTimeAsync(0);
    expect(invalidated).toHaveBeenCalledTimes(2);

    // A read that never answers holds the next round back for ROUND_PATIENCE_MS at most.
    refresher.apply({ kind: 'on_call' });
    await vi.advanceTimersByTimeAsync(ROUND_PATIENCE_MS - 100);
    expect(invalidated).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(invalidated).toHaveBeenCalledTimes(3);
  });

  it('re-reads the status at once when the link changes, beside writing it', () => {
    const client = makeQueryClient();
    const invalidated = vi.spyOn(client, 'invalidateQueries');
    client.setQueryData(keys.status, status({ link: 'connected' }));
    new Refresher(client).apply({ kind: 'link', state: 'offline' });
    expect(client.getQueryData<ReturnType<typeof status>>(keys.status)?.link).toBe('offline');
    expect(invalidated).toHaveBeenCalledWith({ queryKey: keys.status });
  });

  it('drops what waits when the account is no longer shown', () => {
    vi.useFakeTimers();
    const client = makeQueryClient();
    const invalidated = vi.spyOn(client, 'invalidateQueries');
    const refresher = new Refresher(client);
    refresher.apply({ kind: 'on_call' });
    refresher.dispose();
    vi.advanceTimersByTime(1000);
    expect(invalidated).not.toHaveBeenCalled();
  });
});

let feed = new ChangeFeed();

function Probe() {
  useCoreEvents(true, feed);
  const { data } = useApprovals(true);
  return <p data-testid="count">{data?.length ?? '-'}</p>;
}

describe('useCoreEvents', () => {
  let emit: (change: Change) => void = () => {};
  let emitBurst: (changes: Change[]) => void = () => {};
  beforeEach(async () => {
    vi.clearAllMocks();
    mockIpc();
    vi.mocked(ipc.onChanges).mockImplementation(async (handler) => {
      emitBurst = handler;
      emit = (change) => handler([change]);
      return () => {};
    });
    feed = new ChangeFeed();
    await feed.start(ipc.onChanges);
  });

  it('re-reads pending approvals when the core says an approval changed', async () => {
    vi.mocked(ipc.approvals).mockResolvedValueOnce([]).mockResolvedValue([approvalView()]);
    renderAt(<Probe />, { client: makeQueryClient() });
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('0'));
    await waitFor(() => expect(ipc.onChanges).toHaveBeenCalled());
    act(() => emit({ kind: 'approval', before: null, after: approval() }));
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('1'));
    expect(ipc.approvals).toHaveBeenCalledTimes(2);
  });

  it('re-reads once for a burst of changes delivered together, and shows what the last one left', async () => {
    let pending = 0;
    vi.mocked(ipc.approvals).mockImplementation(async () => Array.from({ length: pending }, () => approvalView()));
    renderAt(<Probe />, { client: makeQueryClient() });
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('0'));
    await waitFor(() => expect(ipc.onChanges).toHaveBeenCalled());
    const reads = vi.mocked(ipc.approvals).mock.calls.length;
    act(() => {
      for (let i = 0; i < 50; i++) {
        pending += 1;
        emit({ kind: 'approval', before: null, after: approval() });
      }
    });
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('50'));
    expect(vi.mocked(ipc.approvals).mock.calls.length - reads).toBe(1);
  });

  it('ignores changes for other queries', async () => {
    renderAt(<Probe />);
    await waitFor(() => expect(ipc.onChanges).toHaveBeenCalled());
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('0'));
    await new Promise((r) => setTimeout(r, 20));
    const reads = vi.mocked(ipc.approvals).mock.calls.length;
    act(() => emit({ kind: 'agent', before: null, after: agent() }));
    await new Promise((r) => setTimeout(r, 20));
    expect(ipc.approvals).toHaveBeenCalledTimes(reads);
  });

  it('reads once at launch and replays what changed before it subscribed', async () => {
    // The first sync changed an approval after the launch read and before the screen subscribed.
    vi.mocked(ipc.approvals).mockResolvedValueOnce([]).mockResolvedValue([approvalView()]);
    const client = makeQueryClient();
    await client.prefetchQuery({ queryKey: keys.approvals(true), queryFn: () => ipc.approvals(true) });
    emit({ kind: 'approval', before: null, after: approval() });
    renderAt(<Probe />, { client });
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('1'));
    expect(ipc.approvals).toHaveBeenCalledTimes(2);
  });

  it('re-reads everything when it subscribes again, having missed what changed meanwhile', async () => {
    feed.subscribe(() => {}).unsubscribe(); // signed in, then out
    vi.mocked(ipc.approvals).mockResolvedValueOnce([]).mockResolvedValue([approvalView()]);
    const client = makeQueryClient();
    await client.prefetchQuery({ queryKey: keys.approvals(true), queryFn: () => ipc.approvals(true) });
    emit({ kind: 'approval', before: null, after: approval() }); // nobody listening: dropped
    renderAt(<Probe />, { client });
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('1'));
  });

  it('turns progress into the sync bar and an outcome into a toast and a conflict note', async () => {
    renderAt(<Probe />);
    await waitFor(() => expect(ipc.onChanges).toHaveBeenCalled());
    act(() => emit({ kind: 'progress', applied_seq: 40, head: 100 }));
    expect(useSync.getState().progress).toEqual({ applied: 40, head: 100 });
    const message = 'Already rejected by Dana Whitfield (oncall) at 10:32 UTC.';
    act(() =>
      emit({
        kind: 'outcome',
        outcome: { at: '2025-03-04T10:33:00Z', result: 'already_decided', action: 'Approve “Publish”', message, approval_id: 'apr_1', project_id: null },
      }),
    );
    expect(useToasts.getState().toasts.at(-1)?.message).toBe(message);
    expect(useDecisions.getState().notes['apr_1']?.message).toBe(message);
  });

  it('applies every change of one event: the re-read and the toast', async () => {
    vi.mocked(ipc.approvals).mockResolvedValueOnce([]).mockResolvedValue([approvalView()]);
    renderAt(<Probe />, { client: makeQueryClient() });
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('0'));
    await waitFor(() => expect(ipc.onChanges).toHaveBeenCalled());
    const message = 'Approved: Publish the spring carousel.';
    act(() =>
      emitBurst([
        { kind: 'approval', before: null, after: approval() },
        {
          kind: 'outcome',
          outcome: { at: '2025-03-04T10:33:00Z', result: 'delivered', action: 'Approve', message, approval_id: 'apr_2', project_id: null },
        },
      ]),
    );
    expect(useToasts.getState().toasts.at(-1)?.message).toBe(message);
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('1'));
  });

  it('follows a navigate event to an approval', async () => {
    let go: (path: string) => void = () => {};
    vi.mocked(ipc.onNavigate).mockImplementation(async (handler) => {
      go = (path) => handler({ path });
      return () => {};
    });
    const { router } = renderAt(<Probe />);
    await waitFor(() => expect(ipc.onNavigate).toHaveBeenCalled());
    act(() => go('/approvals/apr_42'));
    await waitFor(() => expect(router.state.location.pathname).toBe('/approvals/apr_42'));
    // The shell's copy, kept for a UI still loading, is taken: it is not followed again later.
    expect(ipc.takeNavigation).toHaveBeenCalledTimes(2);
    act(() => go('https://evil.example/'));
    expect(router.state.location.pathname).toBe('/approvals/apr_42');
  });
});
