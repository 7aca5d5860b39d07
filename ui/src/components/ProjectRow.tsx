import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import type { ProjectSummary, Risk } from '../bindings';
import { PROJECT_STATUS, RISK, TONE_TEXT } from '../lib/status';
import { formatRelative, formatTimestamp } from '../lib/format';
import { useNow } from '../state/clock';
import { cx } from '../lib/cx';
import { StatusText } from './Status';
import { AgentCounts } from './AgentCounts';
import { BudgetBar } from './BudgetBar';
import { StopIcon } from './Icons';

/** The dashboard's columns on a desktop, shared by its header and its rows. The project's name
 *  takes what the others leave: at the default 1,280 px window, about 210 px. */
export const DESKTOP_COLUMNS = 'lg:grid-cols-[minmax(0,1fr)_7.5rem_8rem_9rem_13rem_5.5rem]';

/** How many requests wait, and the highest risk among them in its colour and word ("3 pending ·
 *  critical"). A low one keeps the waiting colour (amber); its word says the risk. */
function Pending({ n, risk }: { n: number; risk: Risk | null }) {
  const tone = risk && risk !== 'low' ? RISK[risk].tone : 'amber';
  return (
    <span
      data-testid="project-pending-count"
      data-count={n}
      data-risk={risk ?? undefined}
      className={cx('tabular text-xs whitespace-nowrap', n > 0 ? cx('font-semibold', TONE_TEXT[tone]) : 'text-faint')}
    >
      {n === 0 ? 'None pending' : risk ? `${n} pending · ${risk === 'unknown' ? 'unknown risk' : risk}` : `${n} pending`}
    </span>
  );
}

/** From Tailwind's `lg` on, a project is one table row of a fixed height. */
export const TABLE_ROW_QUERY = '(min-width: 1024px)';
/** The table row (`lg:h-14`) and its 1 px rule. */
export const TABLE_ROW_PX = 57;

/** One project on the dashboard: dense on desktop (a grid row), a card on phones. `ruled` draws
 *  the line under it (every row but the last). */
export function ProjectRow({ summary, selected, ruled }: { summary: ProjectSummary; selected: boolean; ruled: boolean }) {
  const { project } = summary;
  const now = useNow(5000);
  const ref = useRef<HTMLAnchorElement>(null);
  useEffect(() => {
    if (selected) ref.current?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);
  const activity = formatRelative(summary.last_activity, now);
  return (
    <div role="listitem" className={cx(ruled && 'border-b border-line')}>
      <Link
        ref={ref}
        to={`/projects/${project.id}`}
        data-testid="project-row"
        data-project-id={project.id}
        data-project-name={project.name}
        data-status={project.status}
        data-selected={selected || undefined}
        aria-current={selected || undefined}
        className={cx(
          'grid grid-cols-[minmax(0,1fr)_auto] gap-x-3 gap-y-2 px-4 py-3 hover:bg-raised focus-visible:bg-raised',
          "[grid-template-areas:'name_status'_'agents_pending'_'spend_spend'_'activity_activity']",
          DESKTOP_COLUMNS,
          'lg:h-14 lg:items-center lg:gap-x-4 lg:py-0',
          "lg:[grid-template-areas:'name_status_agents_pending_spend_activity']",
          selected && 'bg-raised shadow-[inset_2px_0_0_var(--accent)]',
        )}
      >
        <div className="min-w-0 [grid-area:name]">
          <p className="truncate text-sm font-medium">{project.name}</p>
          <p className="hidden truncate text-xs text-muted lg:block">{project.description}</p>
        </div>
        <StatusText look={PROJECT_STATUS[project.status]} className="justify-self-end text-xs [grid-area:status] lg:justify-self-start" />
        <div className="[grid-area:agents]">
          <AgentCounts summary={summary} />
        </div>
        <div className="justify-self-end [grid-area:pending] lg:justify-self-start">
          <Pending n={summary.pending_approvals} risk={summary.pending_top_risk} />
        </div>
        <div className="[grid-area:spend]">
          <BudgetBar spent={project.spent_usd} budget={project.budget_usd} compact testId="project-spend" />
        </div>
        <div className="flex items-center justify-between gap-2 text-xs text-muted [grid-area:activity] lg:block lg:text-right">
          {summary.stop_sending ? (
            <span className="inline-flex items-center gap-1 font-medium text-red">
              <StopIcon size={12} /> Stop not sent
            </span>
          ) : (
            <span className="lg:hidden">Last activity</span>
          )}
          <span
            className="tabular"
            title={summary.last_activity ? formatTimestamp(summary.last_activity, now) : undefined}
            data-first-frame-omit
          >
            {summary.last_activity ? activity : 'No activity'}
          </span>
        </div>
      </Link>
    </div>
  );
}
