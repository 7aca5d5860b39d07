import { useRef, useState, type Ref } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import * as ipc from '../../ipc';
import type { ApprovalView, Decision, ErrorKind } from '../../bindings';
import { useDecisions } from '../../state/decisions';
import { useStatus } from '../../state/queries';
import { useNow } from '../../state/clock';
import { keys } from '../../state/keys';
import { toast } from '../../state/toasts';
import { approveBlocker, decidedLine, isConflictOutcome, rejectBlocker } from '../../lib/approvals';
import { APPROVAL_STATUS, isCritical } from '../../lib/status';
import { button, input } from '../../lib/ui';
import { cx } from '../../lib/cx';
import { COMMENT_MAX_CHARS } from '../../lib/approvals';
import { CheckIcon, XIcon } from '../Icons';
import { Glyph } from '../Status';

const CONFLICT_CODES = new Set<ErrorKind>(['conflict', 'gone']);

function capital(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** "sending…", the final word ("Approved by you at 10:32"), or the conflict in words. */
export function DecisionState({
  view,
  userId,
  ref,
}: {
  view: ApprovalView;
  userId: string | null;
  ref?: Ref<HTMLParagraphElement>;
}) {
  const a = view.approval;
  const local = useDecisions((s) => s.notes[a.id]);
  // After a restart the note is gone, but the core keeps recent outcomes: a refused decision
  // on a request someone else settled is still the conflict to show.
  const { data: status } = useStatus();
  const recent = status?.recent_outcomes.find(
    (o) => o.approval_id === a.id && isConflictOutcome(o) && a.status !== 'pending' && a.decided_by?.id !== userId,
  );
  const note = local ?? recent;
  // Why a decision still waits (offline, signed out, the server asked to wait): the last try's error.
  const waitingBecause = view.sending
    ? status?.outbox.find((e) => e.approval_id === a.id && e.kind === 'decision')?.last_error
    : null;
  let state: string = a.status;
  let text: string;
  let tone = APPROVAL_STATUS[a.status].tone;
  let shape = APPROVAL_STATUS[a.status].shape;
  if (view.sending) {
    state = 'sending';
    text = `${view.sending === 'approve' ? 'Approving' : 'Rejecting'} — sending…`;
    tone = 'amber';
    shape = 'spinner';
  } else if (note) {
    state = 'conflict';
    text = note.message;
    tone = 'red';
    shape = 'cross';
  } else if (a.status === 'pending') {
    text = 'Waiting for a decision';
  } else {
    text = capital(decidedLine(view, userId) ?? a.status);
  }
  return (
    <p
      ref={ref}
      tabIndex={-1}
      data-testid="approval-state"
      data-state={state}
      role="status"
      className={cx(
        'mt-3 flex items-start gap-2 rounded-md px-3 py-2 text-sm',
        state === 'conflict' ? 'bg-red-soft font-medium text-fg' : state === 'pending' ? 'bg-raised text-muted' : 'bg-raised text-fg',
      )}
    >
      <Glyph shape={shape} tone={tone} size={12} className="mt-1" />
      <span>
        {text}
        {waitingBecause && (
          <span data-testid="approval-waiting-because" className="mt-0.5 block text-xs text-muted">
            {waitingBecause}
          </span>
        )}
      </span>
    </p>
  );
}

/** Approve (primary; red only for critical) and Reject (with a comment). On a phone: full
 *  width, pinned to the bottom of the detail, above the bottom navigation. `onDecided`: the
 *  decision was queued, or refused as a conflict; its buttons are about to go. */
export function DecisionBar({ view, phone, onDecided }: { view: ApprovalView; phone: boolean; onDecided?: () => void }) {
  const a = view.approval;
  const now = useNow(1000);
  const [rejecting, setRejecting] = useState(false);
  const [comment, setComment] = useState('');
  const client = useQueryClient();
  const { note, clear } = useDecisions();

  const decide = useMutation({
    mutationFn: ({ decision, text }: { decision: Decision; text: string | null }) => ipc.decide(a.id, decision, text),
    onMutate: () => clear(a.id),
    onSuccess: (queued) => {
      if (queued.outcome && queued.outcome.result !== 'delivered') {
        note(a.id, { result: queued.outcome.result, message: queued.outcome.message, at: queued.outcome.at });
      }
      setRejecting(false);
      onDecided?.();
    },
    onError: (error) => {
      if (CONFLICT_CODES.has(error.code)) {
        note(a.id, { result: error.code, message: error.message, at: new Date().toISOString() });
        onDecided?.();
      } else toast({ tone: 'error', title: 'The decision was not queued', message: error.message });
    },
    onSettled: () => {
      void client.invalidateQueries({ queryKey: keys.approval(a.id) });
      void client.invalidateQueries({ queryKey: keys.approvalsAll });
      void client.invalidateQueries({ queryKey: keys.status });
    },
  });

  // One decision per click, even on a double click before the first one re-renders.
  const inFlight = useRef(false);
  const send = (decision: Decision, text: string | null) => {
    if (inFlight.current) return;
    inFlight.current = true;
    decide.mutate({ decision, text }, { onSettled: () => (inFlight.current = false) });
  };

  if (a.status !== 'pending' || view.sending) return null;
  // The core's words for what may not be done now; one sentence when both say the same.
  const blocker = approveBlocker(view, now);
  const rejectBlocked = rejectBlocker(view, now);
  const critical = isCritical(a.risk);
  const busy = decide.isPending;

  return (
    <div
      className={cx(
        phone
          ? 'sticky bottom-0 z-20 space-y-2 border-t border-line bg-surface p-3 shadow-[0_-4px_16px_rgba(0,0,0,0.08)]'
          : 'space-y-2 rounded-lg border border-line bg-surface p-3',
      )}
      aria-label="Decision"
      role="group"
    >
      {blocker && (
        <p data-testid="approve-blocked-reason" className="text-sm text-muted">
          {blocker}
        </p>
      )}
      {rejectBlocked && rejectBlocked !== blocker && (
        <p data-testid="reject-blocked-reason" className="text-sm text-muted">
          {rejectBlocked}
        </p>
      )}
      {rejecting && (
        <div className="space-y-2">
          <label className="block text-sm">
            <span className="font-medium">Why reject? The agent reads this and revises.</span>
            <textarea
              data-testid="reject-comment"
              className={cx(input, 'mt-1 min-h-20 w-full')}
              value={comment}
              maxLength={COMMENT_MAX_CHARS}
              onChange={(e) => setComment(e.target.value)}
              placeholder="e.g. Lead with free returns, not the discount; keep the budget at $250 per day."
              autoFocus
            />
          </label>
          {!comment.trim() && <p className="text-xs text-amber">A comment helps the agent get it right the next time.</p>}
        </div>
      )}
      <div className={cx('flex gap-2', phone ? 'flex-col' : 'flex-row flex-wrap')}>
        {rejecting ? (
          <>
            <button
              type="button"
              data-testid="reject-confirm"
              disabled={Boolean(rejectBlocked) || busy}
              onClick={() => send('reject', comment.trim() || null)}
              className={button('primary', phone ? 'w-full min-h-12' : '')}
            >
              <XIcon /> {comment.trim() ? 'Reject with comment' : 'Reject without comment'}
            </button>
            <button type="button" onClick={() => setRejecting(false)} className={button('ghost', phone ? 'w-full' : '')}>
              Cancel
            </button>
          </>
        ) : (
          <>
            <button
              type="button"
              data-testid="approve-button"
              disabled={Boolean(blocker) || busy}
              title={blocker ?? undefined}
              onClick={() => send('approve', null)}
              className={button(critical ? 'danger' : 'primary', phone ? 'w-full min-h-12 text-base' : 'min-w-28')}
            >
              <CheckIcon /> {critical ? 'Approve critical request' : 'Approve'}
            </button>
            <button
              type="button"
              data-testid="reject-button"
              disabled={Boolean(rejectBlocked) || busy}
              title={rejectBlocked ?? undefined}
              onClick={() => setRejecting(true)}
              className={button('secondary', phone ? 'w-full min-h-12 text-base' : 'min-w-24')}
            >
              <XIcon /> Reject
            </button>
          </>
        )}
      </div>
    </div>
  );
}
