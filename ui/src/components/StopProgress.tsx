import type { Stop } from '../bindings';
import { useLatestStop } from '../state/queries';
import { STOP_STATUS } from '../lib/status';
import { formatClock, formatRelative } from '../lib/format';
import { useNow } from '../state/clock';
import { cx } from '../lib/cx';
import { Glyph, StatusPill } from './Status';

function timeOf(at: string): string {
  const d = new Date(at);
  return `${formatClock(d)}:${String(d.getSeconds()).padStart(2, '0')}`;
}

export function StopAgents({ stop }: { stop: Stop }) {
  return (
    <ul className="divide-y divide-line" aria-label="Agents in this stop">
      {stop.agents.map((a) => {
        const acked = a.acked_at !== null && !a.forced;
        return (
          <li
            key={a.agent_id}
            data-testid="stop-agent"
            data-agent-name={a.agent_name}
            data-acked={String(a.acked_at !== null)}
            data-forced={String(a.forced)}
            data-resumed={String(Boolean(a.resumed_at))}
            className="flex min-h-9 items-center justify-between gap-3 py-1.5 text-sm"
          >
            <span className="truncate font-medium">{a.agent_name}</span>
            {a.forced ? (
              <span className="inline-flex items-center gap-1.5 font-medium text-red">
                <Glyph shape="cross" tone="red" /> forced — never answered
              </span>
            ) : !acked && a.resumed_at ? (
              <span className="tabular inline-flex items-center gap-1.5 text-muted">
                resumed at {timeOf(a.resumed_at)} before it stopped
              </span>
            ) : acked ? (
              <span className="tabular inline-flex items-center gap-1.5 text-green">
                <Glyph shape="check" tone="green" /> stopped at {timeOf(a.acked_at as string)}
              </span>
            ) : (
              <span className="inline-flex items-center gap-1.5 text-amber">
                <Glyph shape="spinner" tone="amber" /> waiting for it to stop…
              </span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

/** A stop and each agent's acknowledgement, live: refetched on every `stop` change.
 *  `sending`: the stop still waits in the outbox. `ignoreId`: the stop seen before this one
 *  was asked for, so an old stop is not shown as the new one. */
export function StopProgress({
  projectId,
  sending,
  ignoreId,
  className,
}: {
  projectId: string | null;
  sending: boolean;
  ignoreId?: string | null;
  className?: string;
}) {
  const { data: latest, isPending } = useLatestStop(projectId);
  const now = useNow(5000);
  const stop = latest && latest.id !== ignoreId ? latest : null;

  // One status region for the whole way, from "not yet delivered" to "every agent
  // acknowledged": a screen reader hears each change, and the region is never replaced (a new
  // one is often not announced).
  const look = stop && !sending ? STOP_STATUS[stop.status] : null;
  return (
    <div
      data-testid="stop-progress"
      data-status={stop && !sending ? stop.status : sending ? 'sending' : 'waiting'}
      data-stop-id={stop && !sending ? stop.id : undefined}
      className={cx('rounded-lg border border-line p-3', !look && 'text-sm', className)}
    >
      <div role="status" aria-live="polite" data-testid="stop-progress-status">
        {sending ? (
          <p className="flex items-center gap-2 font-medium text-red">
            <Glyph shape="spinner" tone="red" /> Not yet delivered — it will be sent the moment the connection returns.
          </p>
        ) : !stop || !look ? (
          <p className="flex items-center gap-2 text-muted">
            <Glyph shape="spinner" tone="amber" /> {isPending ? 'Reading the stop…' : 'Delivered. Waiting for the server to report the agents…'}
          </p>
        ) : (
          <div className="flex flex-wrap items-center justify-between gap-2">
            <StatusPill look={look} />
            <span className="tabular text-xs text-muted">
              {stop.agents_stopped} of {stop.agents_total} agents stopped
            </span>
          </div>
        )}
      </div>
      {stop && look && (
        <>
          <p className="mt-2 text-xs text-muted">
            {stop.scope === 'tenant' ? 'Every project' : 'This project'} · asked by {stop.requested_by}{' '}
            {formatRelative(stop.requested_at, now)}
            {stop.reason ? ` · “${stop.reason}”` : ''}
          </p>
          {stop.agents.length > 0 ? (
            <div className="mt-2">
              <StopAgents stop={stop} />
            </div>
          ) : (
            <p className="mt-2 text-sm text-muted">No agents were running.</p>
          )}
        </>
      )}
    </div>
  );
}
