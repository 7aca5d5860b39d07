import { useEffect, useRef } from 'react';
import * as ipc from '../ipc';
import { captureFirstFrame } from '../lib/firstFrame';

/** A keep comes this long after the change that scheduled it (and holds what changed since)… */
export const SETTLE_MS = 3_000;
/** …and a screen that keeps changing is kept at most this often. */
export const EVERY_MS = 30_000;

let lastKept = { at: -Infinity, html: '', dark: false };
/** Bumped when the account shown changes: a keep scheduled before waits for the new screen. */
let accountEpoch = 0;

/** Forgets what was kept: the next screen is another account's. */
export function forgetKeptFrame() {
  lastKept = { at: -Infinity, html: '', dark: false };
  accountEpoch += 1;
}

/**
 * Keeps the screen as the next launch's first frame (`lib/firstFrame.ts`) a little after
 * `shown` or the theme changes, at most every 30 s, for `accountId`; `shown` is undefined
 * while the screen is not the one to keep (still loading, filtered).
 */
export function useKeepFirstFrame(shown: unknown, accountId: string | undefined, dark: boolean) {
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const keepable = useRef<{ accountId: string; dark: boolean } | undefined>(undefined);
  useEffect(() => {
    keepable.current = shown === undefined || accountId === undefined ? undefined : { accountId, dark };
    if (keepable.current === undefined || pending.current !== undefined) return;
    const schedule = () => {
      const epoch = accountEpoch;
      const wait = Math.max(SETTLE_MS, lastKept.at + EVERY_MS - performance.now());
      pending.current = setTimeout(() => {
        pending.current = undefined;
        const target = keepable.current;
        if (target === undefined) return;
        // Scheduled while another account was shown: the screen now may still be its.
        if (epoch !== accountEpoch) return schedule();
        const root = document.getElementById('root');
        const html = root && captureFirstFrame(root);
        if (!html || (html === lastKept.html && target.dark === lastKept.dark)) return;
        lastKept = { at: performance.now(), html, dark: target.dark };
        void ipc.keepFirstFrame(target.accountId, html, target.dark).catch(() => undefined);
      }, wait);
    };
    schedule();
  }, [shown, accountId, dark]);
  useEffect(
    () => () => {
      clearTimeout(pending.current);
      pending.current = undefined;
    },
    [],
  );
}
