import type { Queued } from '../bindings';

/** What became of an action the core queued and tried at once: the server took it, it still
 *  waits (and why, when the core knows), or the server refused it (the outcome says why). */
export type QueuedState =
  | { state: 'delivered' }
  | { state: 'waiting'; why: string | null }
  | { state: 'refused'; message: string };

export function queuedState(queued: Queued): QueuedState {
  const outcome = queued.outcome;
  if (outcome && outcome.result !== 'delivered') return { state: 'refused', message: outcome.message };
  if (queued.delivered) return { state: 'delivered' };
  return { state: 'waiting', why: queued.waiting_because ?? null };
}
