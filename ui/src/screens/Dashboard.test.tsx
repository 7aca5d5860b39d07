import { beforeEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { appState, status, summary } from '../test/fixtures';
import type { Project, ProjectSummary } from '../bindings';
import { WINDOWED_FROM } from '../components/ProjectList';
import { TABLE_ROW_QUERY } from '../components/ProjectRow';
import { Dashboard } from './Dashboard';
import { EVERY_MS, SETTLE_MS, forgetKeptFrame } from '../state/keepFirstFrame';
import { useTheme } from '../state/theme';
import { keys } from '../state/keys';

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

  it('puts what needs someone first, by name within each group, and says the highest risk waiting', async () => {
    const calm = { agents_error: 0, pending_approvals: 0, pending_top_risk: null };
    const row = (name: string, over: Partial<ProjectSummary> = {}, p: Partial<Project> = {}) =>
      summary({ ...calm, ...over }, { id: `prj_${name}`, name, ...p });
    vi.mocked(ipc.dashboard).mockResolvedValue([
      row('Autumn Launch'),
      row('Brand Refresh', { pending_approvals: 3, pending_top_risk: 'high' }),
      row('Catalogue Ads', { pending_approvals: 1, pending_top_risk: 'low' }),
      row('Diwali Promo', {}, { spent_usd: 1200, budget_usd: 1000 }),
      row('Easter Email', { pending_approvals: 1, pending_top_risk: 'critical' }),
      row('Flash Sale', { agents_error: 2 }),
      row('Gift Guide', {}, { status: 'failed' }),
      row('Holiday Push', { stop_sending: true }),
      row('Influencer Brief', { pending_approvals: 2, pending_top_risk: 'critical' }),
    ]);
    const { router } = renderAt(<Dashboard />);
    const rows = await screen.findAllByTestId('project-row');
    expect(rows.map((r) => r.dataset.projectName)).toEqual([
      'Flash Sale',
      'Gift Guide',
      'Holiday Push',
      'Easter Email',
      'Influencer Brief',
      'Brand Refresh',
      'Catalogue Ads',
      'Diwali Promo',
      'Autumn Launch',
    ]);
    const pending = screen.getAllByTestId('project-pending-count');
    expect(pending[3]).toHaveTextContent('1 pending · critical');
    expect(pending[3]).toHaveClass('text-red');
    expect(pending[5]).toHaveTextContent('3 pending · high');
    expect(pending[5]).toHaveClass('text-orange');
    expect(pending[6]).toHaveTextContent('1 pending · low');
    expect(pending[8]).toHaveTextContent('None pending');
    // Agents in error: red and bold; none: faded.
    expect(rows[0]?.querySelector('[data-count-of=agents_error]')).toHaveClass('text-red', 'font-semibold');
    expect(rows[8]?.querySelector('[data-count-of=agents_error]')).not.toHaveClass('text-red');

    // j / k walk the list in the order shown.
    fireEvent.keyDown(window, { key: 'j' });
    fireEvent.keyDown(window, { key: 'j' });
    fireEvent.keyDown(window, { key: 'j' });
    fireEvent.keyDown(window, { key: 'j' });
    fireEvent.keyDown(window, { key: 'k' });
    expect(screen.getAllByTestId('project-row')[2]).toHaveAttribute('data-selected', 'true');
    fireEvent.keyDown(window, { key: 'Enter' });
    await waitFor(() => expect(router.state.location.pathname).toBe('/projects/prj_Holiday Push'));
  });

  it('keeps the selection on its project when a change moves it up the list', async () => {
    const calm = { agents_error: 0, pending_approvals: 0, pending_top_risk: null };
    const alpha = summary(calm, { id: 'prj_alpha', name: 'Alpha' });
    const bravo = summary(calm, { id: 'prj_bravo', name: 'Bravo' });
    vi.mocked(ipc.dashboard).mockResolvedValue([alpha, bravo]);
    const { client } = renderAt(<Dashboard />);
    await screen.findAllByTestId('project-row');
    fireEvent.keyDown(window, { key: 'j' });
    fireEvent.keyDown(window, { key: 'j' });
    const selected = () => document.querySelector<HTMLElement>('[data-testid=project-row][data-selected]')?.dataset.projectName;
    expect(selected()).toBe('Bravo');
    // A critical request arrives on Bravo: it goes first, and stays selected.
    vi.mocked(ipc.dashboard).mockResolvedValue([alpha, { ...bravo, pending_approvals: 1, pending_top_risk: 'critical' }]);
    await act(() => client.invalidateQueries({ queryKey: keys.dashboard }));
    await waitFor(() => expect(screen.getAllByTestId('project-row').map((r) => r.dataset.projectName)).toEqual(['Bravo', 'Alpha']));
    expect(selected()).toBe('Bravo');
    fireEvent.keyDown(window, { key: 'j' });
    expect(selected()).toBe('Alpha');
  });

  it('orders a long, windowed list the same way', async () => {
    const many = Array.from({ length: WINDOWED_FROM + 10 }, (_, i) =>
      summary({ agents_error: 0, pending_approvals: 0, pending_top_risk: null }, { id: `prj_${i}`, name: `Project ${String(i).padStart(3, '0')}` }),
    );
    many.push(summary({ agents_error: 0, pending_approvals: 1, pending_top_risk: 'critical' }, { id: 'prj_zz', name: 'Zulu' }));
    vi.mocked(ipc.dashboard).mockResolvedValue(many);
    // The table laid out as in a 1024 × 768 window (jsdom lays nothing out).
    const narrow = window.matchMedia;
    vi.spyOn(window, 'matchMedia').mockImplementation((query: string) => ({ ...narrow(query), matches: query === TABLE_ROW_QUERY }));
    vi.spyOn(HTMLElement.prototype, 'clientHeight', 'get').mockReturnValue(544);
    vi.spyOn(HTMLElement.prototype, 'clientWidth', 'get').mockReturnValue(1024);
    renderAt(<Dashboard />);
    expect(await screen.findByTestId('project-list-windowed')).toBeInTheDocument();
    expect(screen.getAllByTestId('project-row').slice(0, 2).map((r) => r.dataset.projectName)).toEqual(['Zulu', 'Project 000']);
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
