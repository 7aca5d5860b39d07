import type { ApprovalView, Outcome, Preview } from '../bindings';
import { RISK_RANK } from './status';
import { ROLE_WORD } from './roles';
import { formatClock } from './format';

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

export function isExpired(view: ApprovalView, now: number = Date.now()): boolean {
  return (
    view.approval.status === 'expired' ||
    (view.approval.status === 'pending' && Date.parse(view.approval.expires_at) <= now)
  );
}

/** Why Approve is not possible right now, in words; null when it is. */
export function approveBlocker(view: ApprovalView, now: number = Date.now()): string | null {
  if (view.sending) return null;
  if (view.approval.status !== 'pending') return null;
  if (isExpired(view, now)) return 'This request has expired; it can no longer be approved.';
  if (!hasPreview(view.approval.preview))
    return 'There is no preview of what will happen, so it cannot be approved. Reject it or ask the agent for one.';
  return null;
}

export function hasPreview(preview: Preview | null): preview is Preview {
  return preview !== null && preview !== undefined;
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
export function onExpiryWord(onExpiry: 'reject' | 'approve'): string {
  return onExpiry === 'approve'
    ? 'If nobody decides in time, it is approved automatically.'
    : 'If nobody decides in time, it is rejected automatically.';
}
