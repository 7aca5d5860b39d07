import { useEffect, useRef } from 'react';
import { Link } from 'react-router';
import type { ApprovalView } from '../../bindings';
import { APPROVAL_STATUS, RISK, TONE_TEXT } from '../../lib/status';
import { formatExpiry, formatRelative } from '../../lib/format';
import { cx } from '../../lib/cx';
import { revealDirection } from '../../lib/reveal';
import { StatusText } from '../Status';

export function ApprovalItem({ view, now, active, selected }: { view: ApprovalView; now: number; active: boolean; selected: boolean }) {
  const a = view.approval;
  const ref = useRef<HTMLAnchorElement>(null);
  useEffect(() => {
    if (selected) ref.current?.scrollIntoView?.({ block: 'nearest' });
  }, [selected]);
  const pending = a.status === 'pending';
  const left = Date.parse(a.expires_at) - now;
  return (
    <li>
      <Link
        ref={ref}
        to={`/approvals/${a.id}`}
        data-testid="approval-item"
        data-approval-id={a.id}
        data-risk={a.risk}
        data-status={a.status}
        data-project-id={a.project_id}
        aria-current={active ? 'page' : undefined}
        className={cx(
          'block border-b border-line px-4 py-3 hover:bg-raised',
          active && 'bg-raised shadow-[inset_2px_0_0_var(--accent)]',
          selected && !active && 'bg-raised/60',
        )}
      >
        <div className="flex items-start justify-between gap-2">
          <p className={cx('min-w-0 text-sm', pending ? 'font-medium' : 'text-muted')}>{revealDirection(a.title)}</p>
          <StatusText
            look={RISK[a.risk]}
            className={cx('shrink-0 text-xs', a.risk === 'low' ? 'text-muted' : cx('font-medium', TONE_TEXT[RISK[a.risk].tone]))}
          />
        </div>
        <div className="mt-1 flex items-center justify-between gap-2 text-xs text-muted">
          <span className="min-w-0 truncate">
            {view.project_name}
            {view.agent_name ? ` · ${view.agent_name}` : ''}
          </span>
          {view.sending ? (
            <span className="shrink-0 text-amber">sending…</span>
          ) : pending ? (
            <span className={cx('tabular shrink-0', left < 60_000 ? 'font-semibold text-red' : left < 300_000 ? 'text-amber' : '')}>
              {formatExpiry(a.expires_at, now)}
            </span>
          ) : (
            <span className="shrink-0">
              <StatusText look={APPROVAL_STATUS[a.status]} /> {a.decided_at ? formatRelative(a.decided_at, now) : ''}
            </span>
          )}
        </div>
      </Link>
    </li>
  );
}
