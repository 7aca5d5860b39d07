// The core's `core-changes` events → which cached reads to refresh. The UI never patches data
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
/** The longest spell: while changes keep coming, a round starts at most this long after the last
 *  one began (once that one's reads are in), in ms. */
export const REFRESH_SPACING_MAX_MS = 1_000;
/** Between the two, a spell is this many times as long as the last round's reads took. */
export const SPELL_PER_READ = 10;
/** How long a round's reads may take before the next round goes ahead anyway, in ms. */
export const ROUND_PATIENCE_MS = 5_000;

/**
 * Applies the core's changes to the cached reads, a round of re-reads per spell at most. A busy
 * tenant or a catch-up brings hundreds of changes a second, and nearly each marks the dashboard
 * stale: re-reading it for every one (1,000 projects: the core's query, IPC, JSON, a render)
 * kept the core and the page busy without a pause, for reads that the next change made stale.
 * A change after a quiet spell is re-read on the next task (so that changes delivered together
 * make one round); during a burst, each stale query once a spell. The spell follows what the
 * reads cost: ten times the last round's, between `spacingMs` and a second, so that a steady
 * stream of changes keeps the reads to about a tenth of the time whatever the tenant's size.
 * What the person did themselves (the outbox: a decision, a message or a stop queued, sent or
 * refused, and its outcome) is read on the next task, not after the spell.
 * A round starts only when the last one's reads are in: a read slower than the spell is not
 * abandoned for a new one (a command cannot be called back, so the core would be reading
 * twice) and still lands.
 */
export class Refresher {
  private readonly stale = new Map<string, QueryKey>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private reading = false;
  private disposed = false;
  private lastRound = -Infinity;
  private spell: number;
  private urgent = false;

  constructor(
    private readonly client: QueryClient,
    private readonly spacingMs = REFRESH_SPACING_MS,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.spell = spacingMs;
  }

  apply(change: Change): void {
    if (change.kind === 'link') {
      // The link state travels whole in its change: written at once, and the status read again
      // at once, so that a read begun before the change cannot put the old state back.
      this.client.setQueryData<Status>(keys.status, (old) => (old ? { ...old, link: change.state } : old));
      void this.client.invalidateQueries({ queryKey: keys.status });
      return;
    }
    for (const key of keysFor(change)) this.stale.set(JSON.stringify(key), key);
    if (change.kind === 'outbox' || change.kind === 'outcome') this.urgent = true;
    this.schedule();
  }

  /** Drops what is waiting (the account is no longer shown). */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stale.clear();
  }

  private schedule(): void {
    if (this.disposed || this.reading || this.stale.size === 0) return;
    if (this.timer !== undefined) {
      if (!this.urgent) return;
      clearTimeout(this.timer);
    }
    const wait = this.urgent ? 0 : Math.max(0, this.lastRound + this.spell - this.now());
    this.timer = setTimeout(() => void this.refresh(), wait);
  }

  private async refresh(): Promise<void> {
    this.timer = undefined;
    this.urgent = false;
    this.lastRound = this.now();
    const keys = [...this.stale.values()];
    this.stale.clear();
    this.reading = true;
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    const patience = new Promise<void>((resolve) => {
      giveUp = setTimeout(resolve, ROUND_PATIENCE_MS);
    });
    try {
      await Promise.race([invalidate(this.client, keys.some((key) => key.length === 0) ? [[]] : keys), patience]);
    } finally {
      const took = this.now() - this.lastRound;
      this.spell = Math.max(this.spacingMs, Math.min(REFRESH_SPACING_MAX_MS, took * SPELL_PER_READ));
      clearTimeout(giveUp);
      this.reading = false;
      this.schedule();
    }
  }
}

/** Marks `queryKeys` stale (`[]`: every query); resolves when the active ones are read again. */
function invalidate(client: QueryClient, queryKeys: QueryKey[]): Promise<unknown> {
  return Promise.all(
    queryKeys.map((queryKey) =>
      queryKey.length === 0 ? client.invalidateQueries() : client.invalidateQueries({ queryKey }),
    ),
  );
}
