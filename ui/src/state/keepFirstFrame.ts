import { useEffect, useRef } from 'react';
import * as ipc from '../ipc';
import { captureFirstFrame } from '../lib/firstFrame';

/** A keep comes this long after the change that scheduled it (and holds what changed since)… */
export const SETTLE_MS = 3_000;
/** …and a screen that keeps changing is kept at most this often. */
export const EVERY_MS = 30_000;

let lastKept = { at: -Infinity, html: '' };
/** Bumped when the account shown changes: a keep scheduled before is dropped. */
let accountEpoch = 0;

/** Forgets what was kept and drops keeps not yet made: the next screen is another account's. */
export function forgetKeptFrame() {
  lastKept = { at: -Infinity, html: '' };
  accountEpoch += 1;
}

/**
 * Keeps the screen as the next launch's first frame (`lib/firstFrame.ts`) a little after
 * `shown` changes, at most every 30 s, for `accountId`; `shown` is undefined while the screen
 * is not the one to keep (still loading, filtered).
 */
export function useKeepFirstFrame(shown: unknown, accountId: string | undefined) {
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const keepable = useRef<string | undefined>(undefined);
  useEffect(() => {
    keepable.current = shown === undefined ? undefined : accountId;
    if (keepable.current === undefined || pending.current !== undefined) return;
    const epoch = accountEpoch;
    const wait = Math.max(SETTLE_MS, lastKept.at + EVERY_MS - performance.now());
    pending.current = setTimeout(() => {
      pending.current = undefined;
      const account = keepable.current;
      if (account === undefined || epoch !== accountEpoch) return;
      const root = document.getElementById('root');
      const html = root && captureFirstFrame(root);
      if (!html || html === lastKept.html) return;
      lastKept = { at: performance.now(), html };
      const dark = document.documentElement.classList.contains('dark');
      void ipc.keepFirstFrame(account, html, dark).catch(() => undefined);
    }, wait);
  }, [shown, accountId]);
  useEffect(
    () => () => {
      clearTimeout(pending.current);
      pending.current = undefined;
    },
    [],
  );
}
