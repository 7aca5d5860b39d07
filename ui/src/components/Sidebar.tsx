import { NavLink } from 'react-router';
import type { ProjectSummary } from '../bindings';
import { useDashboard, useMe } from '../state/queries';
import { PROJECT_STATUS } from '../lib/status';
import { cx } from '../lib/cx';
import { Glyph } from './Status';
import { LogoMark } from './Icons';
import { CountBadge, NAV_ITEMS, usePendingCount } from './NavLinks';

const itemClass = ({ isActive }: { isActive: boolean }) =>
  cx(
    'flex h-8 items-center gap-2.5 rounded-md px-2.5 text-sm',
    isActive ? 'bg-raised font-medium text-fg' : 'text-muted hover:bg-raised hover:text-fg',
  );

/** The sidebar keeps a short list: projects waiting on someone first, then the most recently
 *  active. The dashboard and the Projects screen list them all. */
export const SIDEBAR_PROJECTS = 12;

/** The core writes every time in one shape (RFC 3339, UTC, microseconds), so their text sorts as
 *  they do, without a locale's collation: this runs on every re-read of 1,000 projects. */
function newestFirst(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

export function sidebarProjects(all: readonly ProjectSummary[]): ProjectSummary[] {
  if (all.length <= SIDEBAR_PROJECTS) return [...all];
  return [...all]
    .sort(
      (a, b) =>
        Number(b.pending_approvals > 0) - Number(a.pending_approvals > 0) ||
        newestFirst(a.last_activity ?? '', b.last_activity ?? ''),
    )
    .slice(0, SIDEBAR_PROJECTS);
}

export function Sidebar() {
  const pending = usePendingCount();
  const { account } = useMe();
  const { data: projects } = useDashboard();
  const shown = sidebarProjects(projects ?? []);
  const hidden = (projects?.length ?? 0) - shown.length;
  return (
    <nav aria-label="Main" className="flex w-56 shrink-0 flex-col border-r border-line bg-surface">
      <div className="flex h-12 items-center gap-2 border-b border-line px-4">
        <LogoMark size={18} className="text-accent" />
        <div className="min-w-0">
          <p className="truncate text-sm leading-tight font-semibold">Spartex Control</p>
          {account && <p className="truncate text-xs leading-tight text-muted">{account.tenant.name}</p>}
        </div>
      </div>
      <div className="space-y-0.5 p-2">
        {NAV_ITEMS.map((item) => (
          <NavLink key={item.to} to={item.to} end={item.end} data-testid={item.testId} className={itemClass}>
            {item.icon}
            <span className="flex-1">{item.label}</span>
            {item.testId === 'nav-approvals' && <CountBadge count={pending} />}
          </NavLink>
        ))}
      </div>
      <div className="mt-2 min-h-0 flex-1 overflow-y-auto px-2 pb-3">
        <p className="px-2.5 pb-1 text-[11px] font-semibold tracking-wide text-faint uppercase">Projects</p>
        {shown.map((p) => {
          const look = PROJECT_STATUS[p.project.status];
          return (
            <NavLink
              key={p.project.id}
              to={`/projects/${p.project.id}`}
              className={itemClass}
              title={`${p.project.name} — ${look.word}`}
            >
              <Glyph shape={look.shape} tone={look.tone} size={8} />
              <span className="min-w-0 flex-1 truncate">{p.project.name}</span>
              {p.pending_approvals > 0 && (
                <span className="tabular text-xs text-amber" aria-label={`${p.pending_approvals} pending approvals`}>
                  {p.pending_approvals}
                </span>
              )}
            </NavLink>
          );
        })}
        {hidden > 0 && (
          <NavLink to="/projects" end className={itemClass}>
            <span className="flex-1 text-accent">All {projects?.length} projects →</span>
          </NavLink>
        )}
      </div>
    </nav>
  );
}
