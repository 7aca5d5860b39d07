import { useCallback, useSyncExternalStore } from 'react';
import { serverNow } from '../lib/serverTime';

// One timer per interval for the whole app: countdowns tick every second, "2 min ago"
// labels every few seconds, without a timer per row.
const tickers = new Map<number, { listeners: Set<() => void>; timer: number | null; now: number }>();

function ticker(intervalMs: number) {
  let t = tickers.get(intervalMs);
  if (!t) {
    t = { listeners: new Set(), timer: null, now: serverNow() };
    tickers.set(intervalMs, t);
  }
  return t;
}

function subscribe(intervalMs: number, listener: () => void): () => void {
  const t = ticker(intervalMs);
  t.listeners.add(listener);
  if (t.timer === null) {
    t.now = serverNow();
    t.timer = window.setInterval(() => {
      t.now = serverNow();
      t.listeners.forEach((l) => l());
    }, intervalMs);
  }
  return () => {
    t.listeners.delete(listener);
    if (t.listeners.size === 0 && t.timer !== null) {
      window.clearInterval(t.timer);
      t.timer = null;
    }
  };
}

function snapshot(intervalMs: number): number {
  const t = ticker(intervalMs);
  // Idle ticker: refresh, but stay stable within one interval (React reads snapshots twice).
  if (t.timer === null && serverNow() - t.now >= intervalMs) t.now = serverNow();
  return t.now;
}

/** The current time in ms, re-rendering every `intervalMs`. */
export function useNow(intervalMs = 1000): number {
  // Stable functions: a new `subscribe` each render would resubscribe (and re-render) forever.
  const sub = useCallback((l: () => void) => subscribe(intervalMs, l), [intervalMs]);
  const get = useCallback(() => snapshot(intervalMs), [intervalMs]);
  return useSyncExternalStore(sub, get);
}
