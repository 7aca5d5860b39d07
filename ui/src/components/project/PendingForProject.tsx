import { Link } from 'react-router';
import type { ApprovalView } from '../../bindings';
import { sortByUrgency } from '../../lib/approvals';
import { RISK } from '../../lib/status';
import { formatExpiry } from '../../lib/format';
import { useNow } from '../../state/clock';
import { StatusText } from '../Status';

/** The next decision is the most visible thing: this project's pending approvals on top. */
export function PendingForProject({ approvals }: { approvals: ApprovalView[] }) {
  const now = useNow(1000);
  const pending = sortByUrgency(approvals.filter((a) => a.approval.status === 'pending' && !a.sending));
  if (pending.length === 0) return null;
  return (
    <section aria-label="Waiting for a decision" className="overflow-hidden rounded-lg border border-amber/50 bg-amber-soft">
      <h2 className="px-4 pt-2.5 text-xs font-semibold tracking-wide text-amber uppercase">
        {pending.length} waiting for a decision
      </h2>
      <ul className="p-1.5">
        {pending.map((a) => (
          <li key={a.approval.id}>
            <Link
              to={`/approvals/${a.approval.id}`}
              className="flex min-h-11 flex-wrap items-center gap-x-3 gap-y-0.5 rounded-md px-2.5 py-1.5 hover:bg-surface/60"
            >
              <span className="min-w-0 basis-full text-sm font-medium sm:basis-auto sm:flex-1 sm:truncate">{a.approval.title}</span>
              <StatusText look={RISK[a.approval.risk]} className="text-xs" />
              <span className="tabular text-xs text-muted">{formatExpiry(a.approval.expires_at, now)}</span>
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}
