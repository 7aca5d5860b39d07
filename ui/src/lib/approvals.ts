import type { ApprovalView, OnExpiry, Outcome } from '../bindings';
import { RISK_RANK } from './status';
import { ROLE_WORD } from './roles';
import { formatClock } from './format';
import { serverNow } from './serverTime';

/** Most urgent first: risk critical > high > medium > low, then the soonest expiry. */
export function sortByUrgency(list: readonly ApprovalView[]): ApprovalView[] {
  return [...list].sort((a, b) => {
    const risk = RISK_RANK[a.approval.risk] - RISK_RANK[b.approval.risk];
    if (risk !== 0) return risk;
    const expiry = Date.parse(a.approval.expires_at) - Date.parse(b.approval.expires_at);
    if (expiry !== 0) return expiry;
    return a.approval.id.localeCompare(b.approval.id);
  });
}

/**
 * Why Approve is refused now, in the core's words (`approve_blocker`); null when it is allowed.
 * The core decides when the view is read; a request that expires while the screen stays open is
 * refused from then on, in the core's words for it.
 */
export function approveBlocker(view: ApprovalView, now: number = serverNow()): string | null {
  return expiredSince(view, now) ?? view.approve_blocker;
}

/** Why Reject is refused now, in the core's words (`reject_blocker`); null when it is allowed. */
export function rejectBlocker(view: ApprovalView, now: number = serverNow()): string | null {
  return expiredSince(view, now) ?? view.reject_blocker;
}

/**
 * The core's Expired sentence (crates/policy/src/rules.rs) for a request still pending in the
 * cache whose expiry has passed since it was read; null otherwise.
 */
function expiredSince(view: ApprovalView, now: number): string | null {
  const { approval } = view;
  if (approval.status !== 'pending' || view.sending) return null;
  if (Date.parse(approval.expires_at) > now) return null;
  return `This request expired at ${utcClock(approval.expires_at)} UTC; it can no longer be decided.`;
}

/** "10:44" in UTC, as the core writes times in its sentences. */
function utcClock(at: string): string {
  const d = new Date(at);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

/** "approved by you", "rejected by Dana Whitfield (On-call) at 10:32", "expired at 10:40". */
export function decidedLine(view: ApprovalView, myUserId: string | null): string | null {
  const { approval } = view;
  if (approval.status === 'pending') return null;
  const word = approval.status;
  const at = approval.decided_at ? ` at ${formatClock(approval.decided_at)}` : '';
  const by = approval.decided_by;
  if (!by || by.id === 'system') return `${word}${at}`;
  if (myUserId && by.id === myUserId) return `${word} by you${at}`;
  const role = by.role ? ` (${ROLE_WORD[by.role]})` : '';
  return `${word} by ${by.name}${role}${at}`;
}

/** Outcomes that undid a decision made here: someone else was first, or it expired. */
export function isConflictOutcome(outcome: Outcome): boolean {
  return outcome.result !== 'delivered';
}

/** What the agent does on expiry, in words. */
export function onExpiryWord(onExpiry: OnExpiry): string {
  switch (onExpiry) {
    case 'approve':
      return 'If nobody decides in time, it is approved automatically.';
    case 'reject':
      return 'If nobody decides in time, it is rejected automatically.';
    case 'unknown':
      return 'What happens if nobody decides in time is something this version does not know; update the app to see it.';
  }
}

/** The longest comment the server takes on a decision or an ask-again. */
export const COMMENT_MAX_CHARS = 4000;
