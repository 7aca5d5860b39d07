import { useCallback, useMemo } from 'react';
import { Link, useNavigate } from 'react-router';
import type { ProjectStatus } from '../bindings';
import { useDashboard } from '../state/queries';
import { useListKeys } from '../state/listKeys';
import { usePageTitle } from '../state/pageTitle';
import { PROJECT_STATUS } from '../lib/status';
import { formatSpend } from '../lib/format';
import { cx } from '../lib/cx';
import { StatusText } from '../components/Status';
import { EmptyState, ErrorState, LoadingRows } from '../components/States';
import { FolderIcon } from '../components/Icons';

/** A failed project needs someone: first, above the live ones. */
const ORDER: ProjectStatus[] = ['failed', 'active', 'paused', 'stopped', 'completed'];

/** Every project by name, failed then live ones first: the quick way into a project on a phone. */
export function Projects() {
  const { data, error, isPending } = useDashboard();
  usePageTitle('Projects');
  const navigate = useNavigate();
  const sorted = useMemo(
    () =>
      [...(data ?? [])].sort(
        (a, b) =>
          ORDER.indexOf(a.project.status) - ORDER.indexOf(b.project.status) ||
          a.project.name.localeCompare(b.project.name),
      ),
    [data],
  );
  const open = useCallback((i: number) => {
    const p = sorted[i];
    if (p) void navigate(`/projects/${p.project.id}`);
  }, [sorted, navigate]);
  const [selected] = useListKeys({ count: sorted.length, onOpen: open });

  return (
    <div className="mx-auto w-full max-w-3xl px-3 py-4 sm:px-6 sm:py-6">
      <h1 className="mb-4 text-lg font-semibold">Projects</h1>
      {isPending ? (
        <LoadingRows />
      ) : error ? (
        <ErrorState error={error} title="Could not read the projects" />
      ) : sorted.length === 0 ? (
        <EmptyState title="No projects yet" icon={<FolderIcon size={28} />}>
          Projects appear here as soon as a manager creates one.
        </EmptyState>
      ) : (
        <ul className="overflow-hidden rounded-lg border border-line bg-surface">
          {sorted.map((s, i) => (
            <li key={s.project.id} className="border-b border-line last:border-b-0">
              <Link
                to={`/projects/${s.project.id}`}
                className={cx('flex min-h-14 items-center gap-3 px-4 py-2.5 hover:bg-raised', i === selected && 'bg-raised')}
              >
                <div className="min-w-0 flex-1">
                  <p className="truncate text-sm font-medium">{s.project.name}</p>
                  <p className="truncate text-xs text-muted">
                    {s.agents_total} {s.agents_total === 1 ? 'agent' : 'agents'} · {formatSpend(s.project.spent_usd, s.project.budget_usd)}
                    {s.pending_approvals > 0 && <span className="font-medium text-amber"> · {s.pending_approvals} pending</span>}
                  </p>
                </div>
                <StatusText look={PROJECT_STATUS[s.project.status]} className="text-xs" />
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
