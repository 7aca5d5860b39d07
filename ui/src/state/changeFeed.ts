import type { UnlistenFn } from '@tauri-apps/api/event';
import type { Change } from '../bindings';

/** What the first subscriber is handed: the changes that came before it, or word that some
 *  were lost and every read must be taken again. */
export type Catchup = { kind: 'replay'; changes: Change[] } | { kind: 'reread' };

/** Changes kept for the first subscriber; a launch that sees more re-reads instead. */
const BUFFER_LIMIT = 5_000;

/**
 * The core's change events, listened to once for the life of the page, from before the first
 * read. The launch reads (the dashboard above all) start as soon as the listener is in place and
 * need not be taken a second time: whatever changed after them is in the buffer handed to the
 * first subscriber. A later subscriber (after signing out and in) was not listening while its
 * account changed, so it is told to re-read.
 */
export class ChangeFeed {
  private buffer: Change[] | 'overflowed' = [];
  private handler: ((change: Change) => void) | null = null;
  private subscribedBefore = false;

  /** Starts listening with `listen` (the shell's `core-changes` events in the app, each a burst of
   *  changes); resolves once listening. */
  start(listen: (deliver: (changes: Change[]) => void) => Promise<UnlistenFn>): Promise<void> {
    return listen((changes) => {
      for (const change of changes) {
        // One change the page cannot handle must not cost it the rest of the burst.
        try {
          this.deliver(change);
        } catch (error) {
          console.error('a change could not be applied', change.kind, error);
        }
      }
    }).then(() => undefined);
  }

  /** Hands every change to `handler` until the returned function is called. */
  subscribe(handler: (change: Change) => void): { catchup: Catchup; unsubscribe: () => void } {
    const catchup: Catchup =
      this.subscribedBefore || this.buffer === 'overflowed'
        ? { kind: 'reread' }
        : { kind: 'replay', changes: this.buffer };
    this.buffer = [];
    this.subscribedBefore = true;
    this.handler = handler;
    return {
      catchup,
      unsubscribe: () => {
        if (this.handler === handler) this.handler = null;
      },
    };
  }

  private deliver(change: Change): void {
    if (this.handler) {
      this.handler(change);
    } else if (!this.subscribedBefore && this.buffer !== 'overflowed') {
      if (this.buffer.length < BUFFER_LIMIT) this.buffer.push(change);
      else this.buffer = 'overflowed';
    }
  }
}

/** The page's one feed, started by `main.tsx` before the launch reads. */
export const changeFeed = new ChangeFeed();
