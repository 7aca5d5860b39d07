import { useCallback, useRef } from 'react';
import { Link, useNavigate } from 'react-router';
import { useApproval, useMe } from '../../state/queries';
import { useNow } from '../../state/clock';
import { APPROVAL_STATUS, RISK, isCritical } from '../../lib/status';
import { formatExpiry, formatTimestamp } from '../../lib/format';
import { onExpiryWord } from '../../lib/approvals';
import { canAct } from '../../lib/roles';
import { sectionTitle } from '../../lib/ui';
import { cx } from '../../lib/cx';
import { revealDirection, revealInvisible } from '../../lib/reveal';
import { StatusPill } from '../Status';
import { ErrorState, LoadingRows } from '../States';
import { ChevronLeftIcon, ClockIcon } from '../Icons';
import { Markdown } from '../Markdown';
import { PreviewView } from './Preview';
import { DecisionBar, DecisionState } from './DecisionBar';
import { AnswersAsk, AskAgain, EscalationTrail, OnItButton } from './Escalation';

export function ApprovalDetail({ approvalId, phone }: { approvalId: string; phone: boolean }) {
  const { data: view, error, isPending } = useApproval(approvalId);
  const { role, userId } = useMe();
  const now = useNow(1000);
  const navigate = useNavigate();
  // After a decision its buttons go: focus moves to the line that says what became of it.
  const stateLine = useRef<HTMLParagraphElement>(null);
  const focusStateLine = useCallback(() => stateLine.current?.focus(), []);

  const back = phone && (
    <button
      type="button"
      onClick={() => void navigate('/approvals')}
      className="flex min-h-11 items-center gap-1 px-3 text-sm text-muted hover:text-fg"
    >
      <ChevronLeftIcon /> All approvals
    </button>
  );
  if (isPending) return <>{back}<LoadingRows rows={3} label="Reading the request" /></>;
  if (error) return <>{back}<ErrorState error={error} title="Could not open this request" /></>;

  const a = view.approval;
  const pending = a.status === 'pending';
  const left = Date.parse(a.expires_at) - now;
  const actor = canAct(role);

  return (
    <article
      data-testid="approval-detail"
      data-approval-id={a.id}
      data-status={a.status}
      className={cx('mx-auto flex min-h-full w-full max-w-3xl flex-col', phone && 'bg-canvas')}
      aria-labelledby="approval-title"
    >
      {back}
      <div className="flex-1 space-y-5 px-4 py-4 sm:px-6 sm:py-5">
        <header>
          <p className="text-xs text-muted">
            <Link to={`/projects/${a.project_id}`} className="hover:underline">
              {view.project_name}
            </Link>
            {view.agent_name ? ` · ${view.agent_name}` : ''} · <span className="font-mono">{a.kind}</span>
          </p>
          <h2 id="approval-title" className="mt-1 text-lg leading-snug font-semibold">
            {revealDirection(a.title)}
          </h2>
          <div className="mt-2 flex flex-wrap items-center gap-2">
            <StatusPill look={RISK[a.risk]} className={isCritical(a.risk) ? 'ring-1 ring-red' : undefined} />
            {!pending && <StatusPill look={APPROVAL_STATUS[a.status]} />}
            {pending ? (
              <span
                data-testid="approval-expiry"
                data-expired={String(left <= 0)}
                className={cx(
                  'tabular inline-flex items-center gap-1 text-sm',
                  left <= 0 ? 'font-medium text-red' : left < 60_000 ? 'font-semibold text-red' : left < 300_000 ? 'text-amber' : 'text-muted',
                )}
                role="timer"
                aria-live="off"
              >
                <ClockIcon size={14} /> {formatExpiry(a.expires_at, now)}
              </span>
            ) : (
              <span data-testid="approval-expiry" data-expired="false" className="text-xs text-muted">
                asked {formatTimestamp(a.created_at, now)}
              </span>
            )}
          </div>
          {pending && <p className="mt-1 text-xs text-muted">{onExpiryWord(a.on_expiry)}</p>}
          <DecisionState view={view} userId={userId} ref={stateLine} />
        </header>

        {actor && !phone && <OnItButton view={view} phone={false} />}
        {actor && <AskAgain view={view} />}
        <AnswersAsk view={view} />
        <EscalationTrail view={view} />

        <section aria-label="Preview" data-testid="approval-preview" data-preview-type={a.preview?.type ?? 'none'}>
          <h3 className={cx(sectionTitle, 'mb-2')}>What will happen</h3>
          {a.preview ? (
            <PreviewView preview={a.preview} />
          ) : (
            <p className="rounded-lg border border-dashed border-line-strong p-4 text-sm text-muted">
              The agent sent no preview of this action, so you cannot see what it would do.
            </p>
          )}
        </section>

        {a.summary.trim() && (
          <section aria-label="Why">
            <h3 className={cx(sectionTitle, 'mb-2')}>Why the agent asks</h3>
            <Markdown text={revealDirection(a.summary)} className="text-sm" />
          </section>
        )}

        {a.comment && (
          <section aria-label="Comment">
            <h3 className={cx(sectionTitle, 'mb-2')}>Comment</h3>
            <p className="text-sm whitespace-pre-line">{a.comment}</p>
          </section>
        )}

        <section aria-label="Exact payload">
          <h3 className={cx(sectionTitle, 'mb-2')}>Exact payload</h3>
          <pre
            data-testid="approval-payload"
            className="max-h-80 overflow-auto rounded-lg border border-line bg-sunken p-3 font-mono text-xs leading-5"
          >
            {revealInvisible(JSON.stringify(a.payload, null, 2))}
          </pre>
        </section>

        {/* After what will happen and the exact payload, as a review's approve follows its diff;
            pinned to the bottom of the pane while they scroll, so it stays in reach. */}
        {actor && !phone && (
          <div className="sticky bottom-0 z-20 -mx-4 bg-canvas px-4 pt-2 pb-4 empty:hidden sm:-mx-6 sm:px-6">
            <DecisionBar view={view} phone={false} onDecided={focusStateLine} />
          </div>
        )}
      </div>
      {actor && phone && (
        <div className="sticky bottom-0 z-20">
          <DecisionBar view={view} phone onDecided={focusStateLine} />
          {pending && (
            <div className="border-t border-line bg-surface px-3 pb-3">
              <OnItButton view={view} phone />
            </div>
          )}
        </div>
      )}
    </article>
  );
}
