// The escalation ladder on a request: who was told, when, how, who was skipped as
// unreachable, who took it; "I'm on it" while it waits, and "Ask again" once it expired.
import { useState } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import * as ipc from '../../ipc';
import type { ApprovalView, Notified, Queued } from '../../bindings';
import { useNow } from '../../state/clock';
import { keys } from '../../state/keys';
import { toast } from '../../state/toasts';
import { formatTimestamp } from '../../lib/format';
import { button, input, sectionTitle } from '../../lib/ui';
import { cx } from '../../lib/cx';
import { COMMENT_MAX_CHARS } from '../../lib/approvals';
import { Glyph } from '../Status';

function told(n: Notified): string {
  if (n.result === 'skipped_unreachable') return 'skipped: no phone reached in 24 h and not online';
  if (n.result === 'failed') return 'could not be told';
  // A newer server's result or channel: not claimed as told, nor as not told.
  if (n.result === 'unknown' || n.channel === 'unknown') return 'reached in a way this version does not know';
  return n.channel === 'push' ? 'told on their phone' : 'told in the app';
}

/** The trail, newest level last; nothing for a request that never climbed a ladder. */
export function EscalationTrail({ view }: { view: ApprovalView }) {
  const now = useNow(30_000);
  const ladder = view.approval.escalation;
  if (!ladder || (ladder.notified.length === 0 && !ladder.acked_by)) return null;
  const pending = view.approval.status === 'pending';
  return (
    <section aria-label="Escalation" data-testid="escalation-trail" data-level={ladder.level}>
      <h3 className={cx(sectionTitle, 'mb-2')}>Who was told</h3>
      <ol className="space-y-1.5 text-sm">
        {ladder.notified.map((n, i) => (
          <li key={`${n.user_id}-${n.level}-${i}`} data-testid="escalation-step" data-result={n.result} className="flex items-start gap-2">
            <Glyph
              shape={n.result === 'sent' ? 'dot' : 'cross'}
              tone={n.result === 'sent' ? 'green' : 'amber'}
              size={10}
              className="mt-1.5"
            />
            <span>
              <span className="font-medium">{n.user_name}</span>{' '}
              <span className="text-muted">
                · level {n.level} · {told(n)} · {formatTimestamp(n.at, now)}
              </span>
            </span>
          </li>
        ))}
      </ol>
      {ladder.acked_by && ladder.acked_at ? (
        <p data-testid="escalation-acked" className="mt-2 rounded-md bg-green-soft px-3 py-2 text-sm">
          <span className="font-medium">{ladder.acked_by.name}</span> is on it (since {formatTimestamp(ladder.acked_at, now)}).
        </p>
      ) : (
        pending &&
        ladder.next_at && (
          <p data-testid="escalation-next" className="mt-2 text-xs text-muted">
            Unless someone takes it, the next level is told at {formatTimestamp(ladder.next_at, now)}.
          </p>
        )
      )}
    </section>
  );
}

function useOutboxAction(approvalId: string, what: string) {
  const client = useQueryClient();
  return (queued: Queued) => {
    if (queued.outcome && queued.outcome.result !== 'delivered') {
      toast({ tone: 'error', title: `${what} was not applied`, message: queued.outcome.message });
    } else if (!queued.delivered) {
      toast({ tone: 'info', title: `${what} is queued`, message: 'It is delivered once when the link returns.' });
    }
    void client.invalidateQueries({ queryKey: keys.approval(approvalId) });
    void client.invalidateQueries({ queryKey: keys.approvalsAll });
  };
}

/** "I'm on it": shown to those who may act while the request waits and nobody has taken it. */
export function OnItButton({ view, phone }: { view: ApprovalView; phone: boolean }) {
  const a = view.approval;
  const done = useOutboxAction(a.id, '“I’m on it”');
  const ack = useMutation({
    mutationFn: () => ipc.ackApproval(a.id),
    onSuccess: done,
    onError: (error) => toast({ tone: 'error', title: 'Could not say you are on it', message: error.message }),
  });
  if (a.status !== 'pending' || a.escalation?.acked_by || view.sending) return null;
  return (
    <button
      type="button"
      data-testid="ack-button"
      disabled={ack.isPending}
      onClick={() => ack.mutate()}
      className={button('secondary', phone ? 'w-full min-h-12 text-base' : '')}
    >
      I’m on it
    </button>
  );
}

/** A request the agent made in answer to an ask-again: links back to the request asked. */
export function AnswersAsk({ view }: { view: ApprovalView }) {
  const asked = view.approval.answers_ask;
  if (!asked) return null;
  return (
    <p data-testid="answers-ask" className="rounded-md bg-raised px-3 py-2 text-sm">
      The agent says this answers a person’s ask to propose again{' '}
      <Link data-testid="answers-ask-link" to={`/approvals/${asked}`} className="text-accent underline">
        an earlier request
      </Link>
      , which expired unanswered. Compare the two before deciding.
    </p>
  );
}

/** Once a request expired unanswered: ask its agent to propose it again, saying what to change. */
export function AskAgain({ view }: { view: ApprovalView }) {
  const a = view.approval;
  const [comment, setComment] = useState('');
  const done = useOutboxAction(a.id, 'Asking again');
  const ask = useMutation({
    mutationFn: () => ipc.askAgain(a.id, comment.trim() || null),
    onSuccess: (queued) => {
      done(queued);
      setComment('');
    },
    onError: (error) => toast({ tone: 'error', title: 'Could not ask again', message: error.message }),
  });
  if (a.status !== 'expired' || !a.agent_id) return null;
  if (a.ask_again_requested_at) {
    return (
      <p data-testid="asked-again" className="rounded-md bg-raised px-3 py-2 text-sm break-words">
        {a.ask_again_requested_by?.name ?? 'Someone'} asked the agent to propose this again at{' '}
        {formatTimestamp(a.ask_again_requested_at)}
        {a.ask_again_comment && <>, saying “{a.ask_again_comment}”</>};{' '}
        {a.ask_again_answered_by ? (
          <Link data-testid="asked-again-answer" to={`/approvals/${a.ask_again_answered_by}`} className="text-accent underline">
            the agent proposed it again
          </Link>
        ) : (
          'its new request appears in Approvals'
        )}
        .
      </p>
    );
  }
  return (
    <section aria-label="Ask again" className="space-y-2 rounded-lg border border-line bg-surface p-3">
      <label className="block text-sm">
        <span className="font-medium">Nobody decided in time. Ask the agent to propose it again?</span>
        <textarea
          data-testid="ask-again-comment"
          className={cx(input, 'mt-1 min-h-16 w-full')}
          value={comment}
          maxLength={COMMENT_MAX_CHARS}
          onChange={(e) => setComment(e.target.value)}
          placeholder="Optional: what to change, e.g. keep the daily budget at $200."
        />
      </label>
      <button
        type="button"
        data-testid="ask-again-button"
        disabled={ask.isPending}
        onClick={() => ask.mutate()}
        className={button('primary')}
      >
        Ask again
      </button>
    </section>
  );
}
