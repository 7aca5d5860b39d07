// The core's `core-change` events → which cached reads to refresh. The UI never patches data
// itself (except the link state, which the event carries whole): it re-reads from the core.
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import type { Change, Status } from '../bindings';
import { keys } from './keys';

/** The query keys (prefixes) a change makes stale. */
export function keysFor(change: Change): QueryKey[] {
  switch (change.kind) {
    case 'project':
      return [keys.dashboard, keys.project(change.after.id)];
    case 'agent':
      return [keys.dashboard, keys.project(change.after.project_id)];
    case 'task':
      return [keys.dashboard, keys.project(change.after.project_id)];
    case 'approval':
      return [
        keys.dashboard,
        keys.approvalsAll,
        keys.approval(change.after.id),
        keys.project(change.after.project_id),
      ];
    case 'message':
      return [
        keys.dashboard,
        keys.messagesOf(change.message.project_id),
        keys.project(change.message.project_id),
      ];
    case 'cost':
      return [keys.dashboard, keys.project(change.record.project_id)];
    case 'stop':
      return [
        keys.dashboard,
        keys.stopsAll,
        change.after.project_id ? keys.project(change.after.project_id) : keys.projects,
      ];
    case 'outbox':
      // Something was queued, sent or dropped: "sending…" marks and the stop banner move.
      return [
        keys.outbox,
        keys.status,
        keys.dashboard,
        keys.projects,
        keys.approvalsAll,
        keys.approvalAll,
        keys.messagesAll,
        keys.stopsAll,
      ];
    case 'outcome':
      return [
        keys.status,
        keys.outbox,
        keys.approvalsAll,
        ...(change.outcome.approval_id ? [keys.approval(change.outcome.approval_id)] : []),
        ...(change.outcome.project_id ? [keys.project(change.outcome.project_id)] : []),
      ];
    case 'on_call':
      return [keys.oncall];
    case 'link':
      return [keys.status];
    case 'resynced':
      return [[]]; // everything
    case 'progress':
      return [];
  }
}

/** The shortest spell between two rounds of re-reads, in ms. */
export const REFRESH_SPACING_MS = 100;

/**
 * Applies the core's changes to the cached reads, a round of re-reads per spell at most. A busy
 * tenant or a catch-up brings hundreds of changes a second, and nearly each marks the dashboard
 * stale: re-reading it for every one (1,000 projects: the core's query, IPC, JSON, a render)
 * kept the core and the page busy without a pause, for reads that the next change made stale.
 * A change after a quiet spell is re-read at once (on the next task, so that changes delivered
 * together make one round); during a burst, every `spacingMs`, each stale query once.
 */
export class Refresher {
  private readonly stale = new Map<string, QueryKey>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRound = -Infinity;

  constructor(
    private readonly client: QueryClient,
    private readonly spacingMs = REFRESH_SPACING_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  apply(change: Change): void {
    writeLinkState(this.client, change);
    for (const key of keysFor(change)) this.stale.set(JSON.stringify(key), key);
    if (this.stale.size > 0 && this.timer === undefined) {
      const wait = Math.max(0, this.lastRound + this.spacingMs - this.now());
      this.timer = setTimeout(() => this.refresh(), wait);
    }
  }

  /** Drops what is waiting (the account is no longer shown). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stale.clear();
  }

  private refresh(): void {
    this.timer = undefined;
    this.lastRound = this.now();
    const keys = [...this.stale.values()];
    this.stale.clear();
    invalidate(this.client, keys.some((key) => key.length === 0) ? [[]] : keys);
  }
}

/** The link state travels whole in its change: written at once, not re-read. */
function writeLinkState(client: QueryClient, change: Change): void {
  if (change.kind === 'link') {
    client.setQueryData<Status>(keys.status, (old) => (old ? { ...old, link: change.state } : old));
  }
}

function invalidate(client: QueryClient, queryKeys: QueryKey[]): void {
  for (const queryKey of queryKeys) {
    if (queryKey.length === 0) void client.invalidateQueries();
    else void client.invalidateQueries({ queryKey });
  }
}
