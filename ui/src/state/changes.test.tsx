import { beforeEach, describe, expect, it, vi } from 'vitest';
import { act, screen, waitFor } from '@testing-library/react';
import type { Change } from '../bindings';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { agent, approval, approvalView, status } from '../test/fixtures';
import { makeQueryClient } from './queryClient';
import { applyChange, keysFor } from './changes';
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

describe('applyChange', () => {
  it('marks the matching queries stale and leaves the others alone', () => {
    const client = makeQueryClient();
    client.setQueryData(keys.approvals(true), []);
    client.setQueryData(keys.approval('apr_9'), approvalView());
    client.setQueryData(keys.project('prj_other'), {});
    applyChange(client, { kind: 'approval', before: null, after: approval({ id: 'apr_9', project_id: 'prj_x' }) });
    expect(client.getQueryState(keys.approvals(true))?.isInvalidated).toBe(true);
    expect(client.getQueryState(keys.approval('apr_9'))?.isInvalidated).toBe(true);
    expect(client.getQueryState(keys.project('prj_other'))?.isInvalidated).toBe(false);
  });

  it('writes a new link state straight into the cached status', () => {
    const client = makeQueryClient();
    client.setQueryData(keys.status, status({ link: 'connected' }));
    applyChange(client, { kind: 'link', state: 'offline' });
    expect(client.getQueryData<ReturnType<typeof status>>(keys.status)?.link).toBe('offline');
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
  beforeEach(async () => {
    vi.clearAllMocks();
    mockIpc();
    vi.mocked(ipc.onChange).mockImplementation(async (handler) => {
      emit = handler;
      return () => {};
    });
    feed = new ChangeFeed();
    await feed.start(ipc.onChange);
  });

  it('re-reads pending approvals when a core-change says an approval changed', async () => {
    vi.mocked(ipc.approvals).mockResolvedValueOnce([]).mockResolvedValue([approvalView()]);
    renderAt(<Probe />, { client: makeQueryClient() });
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('0'));
    await waitFor(() => expect(ipc.onChange).toHaveBeenCalled());
    act(() => emit({ kind: 'approval', before: null, after: approval() }));
    await waitFor(() => expect(screen.getByTestId('count')).toHaveTextContent('1'));
    expect(ipc.approvals).toHaveBeenCalledTimes(2);
  });

  it('ignores changes for other queries', async () => {
    renderAt(<Probe />);
    await waitFor(() => expect(ipc.onChange).toHaveBeenCalled());
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
    await waitFor(() => expect(ipc.onChange).toHaveBeenCalled());
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
    act(() => go('https://evil.example/'));
    expect(router.state.location.pathname).toBe('/approvals/apr_42');
  });
});
