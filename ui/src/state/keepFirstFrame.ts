import { useEffect, useRef } from 'react';
import * as ipc from '../ipc';
import { captureFirstFrame } from '../lib/firstFrame';

/** The first keep waits for the screen to settle after it changed… */
export const SETTLE_MS = 3_000;
/** …and a screen that keeps changing is kept at most this often. */
export const EVERY_MS = 30_000;

let lastKept = { at: -Infinity, html: '' };

/**
 * Keeps the screen as the next launch's first frame (`lib/firstFrame.ts`) a little after
 * `shown` changes, at most every 30 s; `shown` is undefined while the screen is not the one to
 * keep (still loading, filtered).
 */
export function useKeepFirstFrame(shown: unknown) {
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const keepable = useRef(false);
  useEffect(() => {
    keepable.current = shown !== undefined;
    if (!keepable.current || pending.current !== undefined) return;
    const wait = Math.max(SETTLE_MS, lastKept.at + EVERY_MS - performance.now());
    pending.current = setTimeout(() => {
      pending.current = undefined;
      if (!keepable.current) return;
      const root = document.getElementById('root');
      const html = root && captureFirstFrame(root);
      if (!html || html === lastKept.html) return;
      lastKept = { at: performance.now(), html };
      void ipc.keepFirstFrame(html).catch(() => undefined);
    }, wait);
  }, [shown]);
  useEffect(
    () => () => {
      clearTimeout(pending.current);
      pending.current = undefined;
    },
    [],
  );
}
