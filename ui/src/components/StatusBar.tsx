import { Link } from 'react-router';
import { useMutation } from '@tanstack/react-query';
import * as ipc from '../ipc';
import type { LinkState, Status } from '../bindings';
import { useStatus } from '../state/queries';
import { useSync } from '../state/sync';
import { useNow } from '../state/clock';
import { formatClock, formatCount, formatRelative } from '../lib/format';
import { cx } from '../lib/cx';
import { toast } from '../state/toasts';
import { Glyph } from './Status';
import { RefreshIcon } from './Icons';
import { OutboxPopover } from './OutboxPopover';

/** The connection in words: nothing pretends to be live when it is cached. Not connected, it
 *  says how old the data is, with how long ago that was given `now`: the one phrase shown then. */
export function linkWords(link: LinkState, lastSyncAt: string | null, now?: number): string {
  const data = lastSyncAt && `data from ${formatClock(lastSyncAt)}${now === undefined ? '' : ` (${formatRelative(lastSyncAt, now)})`}`;
  switch (link) {
    case 'connected':
      return 'Live';
    case 'connecting':
      return data ? `Connecting… — ${data}` : 'Connecting…';
    case 'offline':
      return data ? `Offline — ${data}` : 'Offline — nothing synced yet';
    case 'signed_out':
      return data ? `Signed out — sign in again; ${data}` : 'Signed out — sign in again';
    case 'disk_full':
      return data ? `Disk full — free some space; ${data}` : 'Disk full — free some space';
  }
}

function LinkIndicator({ status, now }: { status: Status; now: number }) {
  const words = linkWords(status.link, status.last_sync_at, now);
  const inner = (
    <>
      {status.link === 'connected' ? (
        <span className="live-dot inline-block h-2 w-2 rounded-full bg-green" aria-hidden="true" />
      ) : (
        <Glyph
          shape={status.link === 'connecting' ? 'spinner' : status.link === 'offline' ? 'ring' : 'cross'}
          tone={status.link === 'connecting' ? 'amber' : status.link === 'offline' ? 'grey' : 'red'}
        />
      )}
      <span
        className={cx(
          'truncate',
          (status.link === 'signed_out' || status.link === 'disk_full') && 'font-medium text-red',
          status.link === 'connected' && 'text-green font-medium',
        )}
      >
        {words}
      </span>
    </>
  );
  const props = {
    'data-testid': 'status-link',
    'data-first-frame-omit': '',
    'data-link': status.link,
    className: 'flex min-w-0 items-center gap-1.5 whitespace-nowrap',
  };
  if (status.link === 'signed_out') {
    const q = new URLSearchParams({ server: status.account.server_url, email: status.account.user.email });
    return (
      <Link to={`/sign-in?${q.toString()}`} {...props} className={props.className + ' underline-offset-2 hover:underline'}>
        {inner}
      </Link>
    );
  }
  return (
    <span role="status" {...props}>
      {inner}
    </span>
  );
}

/** What only a newer version can show or send: updates from the server this one cannot read,
 *  actions a newer build (the CLI updated first) queued. Nothing when there is none. */
function UpdateNotice({ status, phone }: { status: Status; phone: boolean }) {
  const updates = status.unreadable_events;
  const actions = status.actions_for_a_newer_version;
  if (updates === 0 && actions.length === 0) return null;
  const needs = [
    updates > 0 && `show ${formatCount(updates)} ${updates === 1 ? 'update' : 'updates'} from the server`,
    actions.length > 0 && `send ${formatCount(actions.length)} queued ${actions.length === 1 ? 'action' : 'actions'} (${actions.join('; ')})`,
  ].filter(Boolean);
  const words = `Update Spartex Control to ${needs.join(' and ')}`;
  return (
    <span data-testid="status-unreadable" className="truncate whitespace-nowrap font-medium text-amber" title={`${words}.`}>
      {phone ? 'Update the app' : words}
    </span>
  );
}

export function StatusBar({ phone }: { phone: boolean }) {
  const { data: status } = useStatus();
  const progress = useSync((s) => s.progress);
  const now = useNow(5000);
  const sync = useMutation({
    mutationFn: ipc.syncNow,
    onError: (e) => toast({ tone: 'error', title: 'Could not sync', message: e.message }),
  });
  if (!status) return null;
  const pct = progress ? Math.floor((progress.applied / progress.head) * 100) : 0;
  return (
    <footer
      aria-label="Connection and sync"
      className={cx(
        'flex shrink-0 items-center gap-3 border-t border-line bg-surface px-3 text-xs text-muted',
        phone ? 'h-8' : 'h-7',
      )}
    >
      <LinkIndicator status={status} now={now} />
      {/* Live, when it last synced; otherwise the link's words say how old the data is, alone:
          "Offline — data from 08:03 · Synced just now" read as both at once. */}
      {status.link === 'connected' && (
        <span data-testid="status-last-sync" data-first-frame-omit className="truncate whitespace-nowrap" title={status.last_sync_at ?? undefined}>
          {status.last_sync_at ? `${phone ? '' : 'Synced '}${formatRelative(status.last_sync_at, now)}` : 'Never synced'}
        </span>
      )}
      {progress && (
        <div data-testid="sync-progress" className="flex min-w-0 flex-1 items-center gap-2" aria-live="polite">
          <div
            role="progressbar"
            aria-label="First sync"
            aria-valuemin={0}
            aria-valuemax={progress.head}
            aria-valuenow={progress.applied}
            className="h-1.5 min-w-16 flex-1 overflow-hidden rounded-full bg-sunken sm:max-w-48"
          >
            <div className="h-full bg-accent transition-[width]" style={{ width: `${pct}%` }} />
          </div>
          {!phone && (
            <span className="tabular whitespace-nowrap">
              Syncing {formatCount(progress.applied)} of {formatCount(progress.head)} ({pct} %)
            </span>
          )}
        </div>
      )}
      <span className="flex-1" />
      <UpdateNotice status={status} phone={phone} />
      <OutboxPopover entries={status.outbox} />
      {!phone && (
        <button
          type="button"
          onClick={() => sync.mutate()}
          disabled={sync.isPending || status.link === 'signed_out'}
          aria-label="Sync now"
          title="Sync now"
          className="rounded p-1 hover:bg-raised hover:text-fg disabled:opacity-50"
        >
          <RefreshIcon size={13} className={sync.isPending ? 'animate-spin' : undefined} />
        </button>
      )}
    </footer>
  );
}
