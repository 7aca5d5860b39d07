import { useCallback, useEffect, useMemo, useState } from 'react';
import * as ipc from '../ipc';
import { useNavigate } from 'react-router';
import type { ProjectStatus, ProjectSummary } from '../bindings';
import { useAppState, useDashboard, useStatus } from '../state/queries';
import { useSync } from '../state/sync';
import { useListKeys } from '../state/listKeys';
import { usePageTitle } from '../state/pageTitle';
import { PROJECT_STATUS, RISK_RANK } from '../lib/status';
import { input } from '../lib/ui';
import { cx } from '../lib/cx';
import { formatCount } from '../lib/format';
import { markStartup, startupMarks } from '../lib/startupMarks';
import { useKeepFirstFrame } from '../state/keepFirstFrame';
import { useResolvedTheme } from '../state/theme';
import { EmptyState, ErrorState, LoadingRows } from '../components/States';
import { FolderIcon, SearchIcon } from '../components/Icons';
import { ProjectList } from '../components/ProjectList';
import { DESKTOP_COLUMNS } from '../components/ProjectRow';

export type DashboardFilter = { text: string; status: ProjectStatus | 'all'; pendingOnly: boolean };

export function filterProjects(list: readonly ProjectSummary[], f: DashboardFilter): ProjectSummary[] {
  const text = f.text.trim().toLowerCase();
  return list.filter(
    (s) =>
      (f.status === 'all' || s.project.status === f.status) &&
      (!f.pendingOnly || s.pending_approvals > 0) &&
      (!text || s.project.name.toLowerCase().includes(text) || s.project.description.toLowerCase().includes(text)),
  );
}

/** What a project needs, most urgent first: a stop on its way, a failure or agents in error;
 *  a critical request waiting, then a high one, then any; spend over the budget; nothing. */
export function urgency(s: ProjectSummary): number {
  const p = s.project;
  if (s.stop_sending || p.status === 'failed' || s.agents_error > 0) return 0;
  // Critical, then high, then any other risk waiting (medium, low, or none known).
  if (s.pending_approvals > 0) return 1 + Math.min(s.pending_top_risk ? RISK_RANK[s.pending_top_risk] : 2, 2);
  return p.spent_usd > p.budget_usd ? 4 : 5;
}

/** The dashboard's order: what needs someone first, by name within each group (stable). */
export function byUrgency(list: readonly ProjectSummary[]): ProjectSummary[] {
  return [...list].sort((a, b) => urgency(a) - urgency(b) || a.project.name.localeCompare(b.project.name));
}

function FirstSync() {
  const progress = useSync((s) => s.progress);
  const pct = progress ? Math.floor((progress.applied / progress.head) * 100) : null;
  return (
    <div className="mx-auto mt-16 max-w-sm px-6 text-center" role="status">
      <p className="text-sm font-medium">Getting your projects for the first time…</p>
      <p className="mt-1 text-sm text-muted">
        {progress ? `${formatCount(progress.applied)} of ${formatCount(progress.head)} changes (${pct} %)` : 'Connecting to the server'}
      </p>
      <div className="mt-3 h-1.5 overflow-hidden rounded-full bg-sunken">
        <div
          className={cx('h-full bg-accent', pct === null && 'w-1/3 animate-pulse')}
          style={pct === null ? undefined : { width: `${pct}%` }}
        />
      </div>
      <p className="mt-3 text-xs text-muted">After this, everything is cached here and works offline.</p>
    </div>
  );
}

let firstPaintReported = false;

/** Once per launch: after the first frame that shows cached projects, tell the shell. */
function useReportFirstPaint(items: number | undefined) {
  useEffect(() => {
    if (firstPaintReported || !items) return;
    firstPaintReported = true;
    markStartup('rows');
    // Two frames: the first commits the rows, the second runs after they were painted.
    // With the time since the page started loading, to tell the webview's share from the shell's,
    // and before it the page's own steps (not a screen: nothing waits for that line).
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        markStartup('painted');
        void ipc.reportPainted(`page steps: ${startupMarks()}`, 0, null).catch(() => undefined);
        void ipc.reportPainted('dashboard', items, performance.now()).catch(() => undefined);
      }),
    );
  }, [items]);
}

export function Dashboard() {
  const { data, error, isPending } = useDashboard();
  usePageTitle('Dashboard');
  // The window, hidden at launch, appears with the projects in its first frame (see `Root`).
  useEffect(() => {
    if (!isPending) void ipc.showWindow().catch(() => undefined);
  }, [isPending]);
  const { data: status } = useStatus();
  const navigate = useNavigate();
  const [filter, setFilter] = useState<DashboardFilter>({ text: '', status: 'all', pendingOnly: false });
  const rows = useMemo(() => byUrgency(filterProjects(data ?? [], filter)), [data, filter]);
  const open = useCallback((i: number) => {
    const row = rows[i];
    if (row) void navigate(`/projects/${row.project.id}`);
  }, [rows, navigate]);
  const ids = useMemo(() => rows.map((s) => s.project.id), [rows]);
  const [selected] = useListKeys({ count: rows.length, onOpen: open, ids });

  useReportFirstPaint(data?.length);
  const { data: app } = useAppState();
  const neverSynced = status ? status.last_sync_at === null : false;
  const unfiltered = !filter.text && filter.status === 'all' && !filter.pendingOnly;
  // Not the first sync's progress: the next launch has projects, or knows it has none.
  const keepable = unfiltered && status !== undefined && !neverSynced;
  const dark = useResolvedTheme() === 'dark';
  useKeepFirstFrame(keepable ? data : undefined, app?.active?.id, dark);

  const totalPending = (data ?? []).reduce((n, s) => n + s.pending_approvals, 0);

  return (
    <div data-testid="dashboard" className="mx-auto w-full max-w-6xl px-3 py-4 sm:px-6 sm:py-6">
      <div className="mb-4 flex flex-wrap items-end justify-between gap-3">
        <div>
          <h1 className="text-lg font-semibold">Dashboard</h1>
          {data && data.length > 0 && (
            <p className="text-sm text-muted">
              {data.length} {data.length === 1 ? 'project' : 'projects'} ·{' '}
              <span className={totalPending > 0 ? 'font-medium text-amber' : undefined}>
                {totalPending} {totalPending === 1 ? 'approval' : 'approvals'} waiting
              </span>
            </p>
          )}
        </div>
        <div className="flex w-full flex-wrap items-center gap-2 sm:w-auto">
          <div className="relative w-full sm:w-56">
            <SearchIcon className="pointer-events-none absolute top-1/2 left-2.5 -translate-y-1/2 text-faint" />
            <input
              data-testid="dashboard-search"
              type="search"
              aria-label="Filter projects by name"
              placeholder="Filter projects"
              className={cx(input, 'w-full pl-8')}
              value={filter.text}
              onChange={(e) => setFilter({ ...filter, text: e.target.value })}
            />
          </div>
          <select
            aria-label="Project status"
            data-testid="dashboard-status-filter"
            className={cx(input, 'min-w-0 flex-1 sm:flex-none')}
            value={filter.status}
            onChange={(e) => setFilter({ ...filter, status: e.target.value as DashboardFilter['status'] })}
          >
            <option value="all">All statuses</option>
            {(Object.keys(PROJECT_STATUS) as ProjectStatus[]).map((s) => (
              <option key={s} value={s}>
                {PROJECT_STATUS[s].word}
              </option>
            ))}
          </select>
          <button
            type="button"
            aria-pressed={filter.pendingOnly}
            data-testid="dashboard-pending-filter"
            onClick={() => setFilter({ ...filter, pendingOnly: !filter.pendingOnly })}
            className={cx(
              'min-h-11 rounded-md border px-3 text-sm sm:min-h-9',
              filter.pendingOnly ? 'border-amber bg-amber-soft font-medium text-amber' : 'border-line-strong bg-surface text-muted hover:text-fg',
            )}
          >
            Has pending approvals
          </button>
        </div>
      </div>

      {isPending ? (
        <LoadingRows label="Reading projects from the cache" />
      ) : error ? (
        <ErrorState error={error} title="Could not read the projects" />
      ) : data.length === 0 ? (
        neverSynced ? (
          <FirstSync />
        ) : (
          <EmptyState title="No projects yet" icon={<FolderIcon size={28} />}>
            This organisation has no projects. When a manager creates one and its agents start working,
            it appears here with its agents, approvals and spend.
          </EmptyState>
        )
      ) : rows.length === 0 ? (
        <EmptyState title="No project matches these filters">
          <button type="button" className="text-accent underline" onClick={() => setFilter({ text: '', status: 'all', pendingOnly: false })}>
            Clear the filters
          </button>
        </EmptyState>
      ) : (
        <div className="overflow-hidden rounded-lg border border-line bg-surface" role="list" aria-label="Projects">
          <div className={cx('hidden gap-4 border-b border-line px-4 py-2 text-xs font-medium text-muted lg:grid', DESKTOP_COLUMNS)} aria-hidden="true">
            <span>Project</span>
            <span>Status</span>
            <span>Agents</span>
            <span>Approvals</span>
            <span>Spend</span>
            <span className="text-right">Activity</span>
          </div>
          <ProjectList rows={rows} selected={selected} />
        </div>
      )}
    </div>
  );
}
