import { beforeEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { appState, status, summary } from '../test/fixtures';
import { Dashboard } from './Dashboard';
import { EVERY_MS, SETTLE_MS, forgetKeptFrame } from '../state/keepFirstFrame';
import { useTheme } from '../state/theme';

vi.mock('../ipc');

describe('Dashboard', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it('lists every project with status, pending approvals and spend, and filters them', async () => {
    vi.mocked(ipc.dashboard).mockResolvedValue([
      summary(),
      summary({ pending_approvals: 0 }, { id: 'prj_weekly', name: 'The Weekly Edit', status: 'stopped', spent_usd: 950, budget_usd: 1000 }),
    ]);
    renderAt(<Dashboard />);
    const rows = await screen.findAllByTestId('project-row');
    expect(rows.map((r) => r.dataset.projectName)).toEqual(['Spring Sale', 'The Weekly Edit']);
    expect(rows[1]).toHaveAttribute('data-status', 'stopped');
    expect(rows[1]).toHaveTextContent('Stopped');
    const pending = screen.getAllByTestId('project-pending-count');
    expect(pending[0]).toHaveTextContent('2 pending');
    const spend = screen.getAllByTestId('project-spend');
    expect(spend[0]).toHaveTextContent('$412 of $1,000 (41 %)');
    expect(spend[1]).toHaveAttribute('data-level', 'warning');

    fireEvent.change(screen.getByTestId('dashboard-search'), { target: { value: 'weekly' } });
    expect(screen.getAllByTestId('project-row')).toHaveLength(1);
    fireEvent.change(screen.getByTestId('dashboard-search'), { target: { value: '' } });
    fireEvent.click(screen.getByTestId('dashboard-pending-filter'));
    expect(screen.getAllByTestId('project-row').map((r) => r.dataset.projectId)).toEqual(['prj_spring']);
    // The startup benchmark's marks: once per launch, the page's steps and then the paint with
    // every cached project.
    await waitFor(() => expect(ipc.reportPainted).toHaveBeenCalledWith('dashboard', 2, expect.any(Number)));
    expect(vi.mocked(ipc.reportPainted).mock.calls.map(([screen]) => screen.split(':')[0])).toEqual([
      'page steps',
      'dashboard',
    ]);
    expect(vi.mocked(ipc.reportPainted).mock.calls[0]?.[0]).toMatch(/rows=\d+ painted=\d+$/);
  });

  it('says so when the organisation has no projects', async () => {
    renderAt(<Dashboard />);
    expect(await screen.findByText('No projects yet')).toBeInTheDocument();
  });

  it('shows the first sync instead of an empty list before anything was synced', async () => {
    vi.mocked(ipc.status).mockResolvedValue(status({ last_sync_at: null }));
    renderAt(<Dashboard />);
    await waitFor(() => expect(screen.getByText(/Getting your projects for the first time/)).toBeInTheDocument());
  });

  it('keeps no first frame while the first sync is under way', async () => {
    await onTheRootWithFakeTimers(
      async () => {
        await vi.advanceTimersByTimeAsync(EVERY_MS + SETTLE_MS);
        expect(ipc.keepFirstFrame).not.toHaveBeenCalled();
      },
      { firstSync: true },
    );
  });

  it('keeps the projects it shows as the next launch’s first frame, for the account shown', async () => {
    await onTheRootWithFakeTimers(async (root) => {
      expect(ipc.keepFirstFrame).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(SETTLE_MS);
      expect(ipc.keepFirstFrame).toHaveBeenCalledTimes(1);
      const [accountId, kept, dark] = vi.mocked(ipc.keepFirstFrame).mock.calls[0] ?? [];
      expect(accountId).toBe(appState().active?.id);
      expect(dark).toBe(false);
      expect(kept).toContain('Spring Sale');
      expect(kept).toContain('2 pending');
      expect(kept).not.toContain('data-testid');
      // When the activity was, as words relative to the moment it was kept, is left out.
      expect(kept).not.toContain('data-first-frame-omit');
      expect(root.querySelector('[data-first-frame-omit]')).not.toBeNull();
    });
  });

  it('keeps no filtered list, nor a screen drawn before the account changed', async () => {
    await onTheRootWithFakeTimers(async () => {
      // Filtered while its keep is pending: the keep is dropped.
      fireEvent.change(screen.getByTestId('dashboard-search'), { target: { value: 'spring' } });
      await vi.advanceTimersByTimeAsync(EVERY_MS + SETTLE_MS);
      expect(ipc.keepFirstFrame).not.toHaveBeenCalled();

      // Unfiltered again, then another account is shown before the keep: the keep waits for
      // the screen as it is then, and is made for the account shown then.
      fireEvent.change(screen.getByTestId('dashboard-search'), { target: { value: '' } });
      forgetKeptFrame();
      await vi.advanceTimersByTimeAsync(SETTLE_MS);
      expect(ipc.keepFirstFrame).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(SETTLE_MS);
      expect(ipc.keepFirstFrame).toHaveBeenCalledTimes(1);
    });
  });

  it('keeps the screen again when only the theme changed', async () => {
    await onTheRootWithFakeTimers(async () => {
      await vi.advanceTimersByTimeAsync(SETTLE_MS);
      expect(vi.mocked(ipc.keepFirstFrame).mock.calls.map((call) => call[2])).toEqual([false]);
      act(() => useTheme.getState().setTheme('dark'));
      await vi.advanceTimersByTimeAsync(EVERY_MS);
      expect(vi.mocked(ipc.keepFirstFrame).mock.calls.map((call) => call[2])).toEqual([false, true]);
      act(() => useTheme.getState().setTheme('system'));
    });
  });
});

/** The dashboard with one project (or in its first sync), rendered into `#root` (what is
 *  kept) on fake timers. */
async function onTheRootWithFakeTimers(check: (root: HTMLElement) => Promise<void>, { firstSync = false } = {}) {
  vi.useFakeTimers({ shouldAdvanceTime: true });
  const root = document.body.appendChild(Object.assign(document.createElement('div'), { id: 'root' }));
  try {
    forgetKeptFrame();
    if (firstSync) vi.mocked(ipc.status).mockResolvedValue(status({ last_sync_at: null }));
    else vi.mocked(ipc.dashboard).mockResolvedValue([summary()]);
    renderAt(<Dashboard />, { container: root });
    if (firstSync) await screen.findByText(/Getting your projects for the first time/);
    else await screen.findAllByTestId('project-row');
    await check(root);
  } finally {
    vi.useRealTimers();
    root.remove();
  }
}
