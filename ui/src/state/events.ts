import { useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import * as ipc from '../ipc';
import type { Change } from '../bindings';
import { Refresher } from './changes';
import { useSync } from './sync';
import { toast } from './toasts';
import { useDecisions } from './decisions';
import { isConflictOutcome } from '../lib/approvals';
import { listenToPushes } from '../lib/push';
import { ChangeFeed, changeFeed } from './changeFeed';

/** Only paths the app has screens for; anything else is ignored. */
export function isAppPath(path: string): boolean {
  return (
    /^\/(approvals|projects)\/[A-Za-z0-9_-]{1,128}$/.test(path) ||
    /^\/(approvals|projects|settings)?$/.test(path) ||
    // A stop's notification opens the stop panel (hold to stop): of a project, or of all.
    /^\/projects\/[A-Za-z0-9_-]{1,128}\?stop=project$/.test(path) ||
    path === '/projects?stop=all'
  );
}

/** Listens to the core while an account is shown: refreshes reads, raises outcome toasts,
 *  follows deep links and notification clicks. */
export function useCoreEvents(enabled: boolean, feed: ChangeFeed = changeFeed): void {
  const client = useQueryClient();
  const navigate = useNavigate();

  useEffect(() => {
    if (!enabled) return;
    let alive = true;
    const refresher = new Refresher(client);
    const unlisten: Array<() => void> = [() => refresher.dispose()];
    const handle = (change: Change) => {
      if (change.kind === 'progress') {
        useSync.getState().setProgress(change.applied_seq, change.head);
        return;
      }
      refresher.apply(change);
      if (change.kind === 'resynced') useSync.getState().setProgress(0, 0);
      if (change.kind === 'outcome') {
        const { outcome } = change;
        const conflict = isConflictOutcome(outcome);
        if (outcome.approval_id && conflict) {
          useDecisions.getState().note(outcome.approval_id, {
            result: outcome.result,
            message: outcome.message,
            at: outcome.at,
          });
        }
        // The message usually repeats the action; a title then would say it twice.
        const title = outcome.message.startsWith(outcome.action) ? undefined : outcome.action;
        toast({ tone: conflict ? 'warning' : 'success', title, message: outcome.message });
      }
    };
    const go = (path: string) => {
      if (isAppPath(path)) void navigate(path);
    };
    const keep = (p: Promise<() => void>) =>
      p.then(
        (off) => (alive ? unlisten.push(off) : off()),
        () => undefined, // outside Tauri (plain browser): no events
      );
    // The feed has listened since before the launch reads: it hands over what changed since,
    // or (after signing out and in, or a flood) says every read must be taken again.
    const { catchup, unsubscribe } = feed.subscribe(handle);
    unlisten.push(unsubscribe);
    if (catchup.kind === 'replay') catchup.changes.forEach(handle);
    else void client.invalidateQueries();
    void keep(
      ipc.onNavigate(({ path }) => {
        go(path);
        // Followed: the shell keeps it no longer (kept, it would be followed again after the
        // next sign-in, into what may be another organisation).
        ipc.takeNavigation().catch(() => undefined);
      }),
    );
    // A phone's pushes and notification taps (the notification plugin; none on a desktop).
    void keep(listenToPushes());
    // A deep link or notification click that arrived before we listened.
    ipc.takeNavigation().then(
      (path) => {
        if (alive && path) go(path);
      },
      () => undefined,
    );
    return () => {
      alive = false;
      unlisten.forEach((off) => off());
    };
  }, [enabled, feed, client, navigate]);
}
