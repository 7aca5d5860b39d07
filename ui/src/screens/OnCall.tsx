// Who is on call now and next, the week ahead as shifts, the overrides, and "cover for …".
// Worked out from the cached schedule when the server cannot be reached.
import { useState } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as ipc from '../ipc';
import type { OnCallShift, OnCallView, User } from '../bindings';
import { useMe } from '../state/queries';
import { keys } from '../state/keys';
import { useNow } from '../state/clock';
import { usePageTitle } from '../state/pageTitle';
import { toast } from '../state/toasts';
import { atLeast, canAct, ROLE_WORD } from '../lib/roles';
import { formatClock } from '../lib/format';
import { button, card, input, sectionTitle } from '../lib/ui';
import { cx } from '../lib/cx';
import { ErrorState, LoadingRows } from '../components/States';
import { serverNow } from '../lib/serverTime';

const HOUR = 3_600_000;

/** "Wed 2 Dec". */
function day(at: string | number): string {
  return new Date(at).toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'short' });
}

/** "Wed 2 Dec, 20:00", or "20:00" today. */
function when(at: string, now: number): string {
  return new Date(at).toDateString() === new Date(now).toDateString() ? formatClock(at) : `${day(at)}, ${formatClock(at)}`;
}

/** `<input type="datetime-local">` value of an instant, in local time. */
function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function names(ids: string[], people: User[], me: string | null): string {
  return ids.map((id) => (id === me ? 'You' : (people.find((p) => p.id === id)?.name ?? 'Someone'))).join(', ') || 'Nobody';
}

/** The longest the screen goes without reading who is on call again. */
const REREAD_AT_LEAST_EVERY_MS = 10 * 60_000;

/** When to read who is on call again: just after the next handoff. Changes to the schedule
 *  itself arrive as they happen (`on_call` changes); this is for the clock. */
export function msUntilHandoff(view: OnCallView | undefined, nowMs: number): number {
  const handoff = view?.next_handoff_at ? Date.parse(view.next_handoff_at) : Number.NaN;
  if (Number.isNaN(handoff)) return REREAD_AT_LEAST_EVERY_MS;
  return Math.min(Math.max(handoff - nowMs + 1_000, 5_000), REREAD_AT_LEAST_EVERY_MS);
}

export function OnCall() {
  const { data, error, isPending } = useQuery({
    queryKey: keys.oncall,
    queryFn: ipc.oncall,
    refetchInterval: (query) => msUntilHandoff(query.state.data, serverNow()),
  });
  const now = useNow(30_000);
  usePageTitle('On call');
  const { role, userId } = useMe();
  if (isPending) return <LoadingRows rows={4} label="Reading the on-call schedule" />;
  if (error) return <ErrorState error={error} title="Could not read who is on call" />;
  const next = data.week[1];
  const nowNames = data.now.map((u) => (u.id === userId ? 'You' : u.name));
  return (
    <div data-testid="oncall-page" data-live={String(data.live)} className="mx-auto w-full max-w-2xl space-y-6 px-3 py-4 sm:px-6 sm:py-6">
      <h1 className="text-lg font-semibold">On call</h1>
      {!data.live && (
        <p data-testid="oncall-offline" className="rounded-md bg-amber-soft px-3 py-2 text-sm">
          Offline: worked out from the schedule last synced, at this device’s time.
        </p>
      )}
      <section aria-label="On call now" className={cx(card, 'grid gap-4 p-4 sm:grid-cols-2')}>
        <div>
          <p className={sectionTitle}>On call now</p>
          <p data-testid="oncall-now" className="mt-1 text-xl font-semibold">
            {nowNames.join(', ') || 'Nobody'}
          </p>
          <p className="text-sm text-muted">
            {data.next_handoff_at ? `until ${when(data.next_handoff_at, now)}` : 'Everyone with the on-call role, until a schedule is set'}
          </p>
        </div>
        {next && (
          <div>
            <p className={sectionTitle}>Next</p>
            <p data-testid="oncall-next" className="mt-1 text-xl font-semibold">
              {names(next.user_ids, data.people, userId)}
            </p>
            <p className="text-sm text-muted">
              from {when(next.starts_at, now)} to {when(next.ends_at, now)}
            </p>
          </div>
        )}
      </section>
      <Week shifts={data.week} people={data.people} me={userId} now={now} />
      {canAct(role) && <Cover data={data} me={userId} manager={atLeast(role, 'manager')} now={now} />}
    </div>
  );
}

function Week({ shifts, people, me, now }: { shifts: OnCallShift[]; people: User[]; me: string | null; now: number }) {
  if (shifts.length === 0) return null;
  return (
    <section aria-labelledby="oncall-week">
      <h2 id="oncall-week" className={cx(sectionTitle, 'mb-2')}>The week ahead</h2>
      <ol data-testid="oncall-week" className={cx(card, 'divide-y divide-line')}>
        {shifts.map((shift, i) => {
          const mine = me !== null && shift.user_ids.includes(me);
          return (
            <li
              key={shift.starts_at}
              data-testid="oncall-shift"
              data-mine={String(mine)}
              className={cx('flex items-center gap-3 px-4 py-2 text-sm', mine && 'bg-accent/10')}
            >
              <span className="tabular w-32 shrink-0 text-muted sm:w-48 sm:whitespace-nowrap">
                {i === 0 ? 'Now' : day(shift.starts_at)} · {formatClock(i === 0 ? new Date(now) : shift.starts_at)}–{formatClock(shift.ends_at)}
              </span>
              <span className={cx('min-w-0 truncate', mine && 'font-semibold')}>{names(shift.user_ids, people, me)}</span>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function Cover({ data, me, manager, now }: { data: OnCallView; me: string | null; manager: boolean; now: number }) {
  const client = useQueryClient();
  const start = Math.ceil(now / HOUR) * HOUR;
  const [who, setWho] = useState(me ?? '');
  const [from, setFrom] = useState(toLocalInput(start));
  const [to, setTo] = useState(toLocalInput(start + 4 * HOUR));
  const saved = (view: OnCallView) => client.setQueryData(keys.oncall, view);
  const cover = useMutation({
    mutationFn: () => ipc.coverShift(who, new Date(from).toISOString(), new Date(to).toISOString()),
    onSuccess: (view) => {
      saved(view);
      toast({ tone: 'success', message: 'The override is saved; everyone sees it.' });
    },
    onError: (e) => toast({ tone: 'error', title: 'The override was not saved', message: e.message }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => ipc.removeOverride(id),
    onSuccess: saved,
    onError: (e) => toast({ tone: 'error', title: 'The override was not removed', message: e.message }),
  });
  const candidates = manager ? data.people : data.people.filter((p) => p.id === me);
  const person = (id: string) => data.people.find((p) => p.id === id)?.name ?? 'Someone';
  return (
    <section aria-labelledby="oncall-cover" className="space-y-3">
      <h2 id="oncall-cover" className={sectionTitle}>Overrides</h2>
      {data.overrides.length > 0 && (
        <ul data-testid="oncall-overrides" className={cx(card, 'divide-y divide-line')}>
          {data.overrides.map((o) => (
            <li key={o.id} data-testid="oncall-override" className="flex flex-wrap items-center gap-3 px-4 py-2 text-sm">
              <span className="min-w-0 flex-1">
                <span className="font-medium">{o.user_id === me ? 'You' : person(o.user_id)}</span>{' '}
                <span className="text-muted">
                  cover {when(o.starts_at, now)} – {when(o.ends_at, now)}
                </span>
              </span>
              {(manager || o.user_id === me || o.created_by === me) && (
                <button type="button" className={button('ghost', 'text-red')} disabled={remove.isPending} onClick={() => remove.mutate(o.id)}>
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <form
        className={cx(card, 'grid gap-3 p-4 sm:grid-cols-[1fr_1fr_1fr_auto] sm:items-end')}
        onSubmit={(e) => {
          e.preventDefault();
          cover.mutate();
        }}
      >
        <label className="text-sm">
          <span className="font-medium">Who covers</span>
          <select data-testid="cover-who" className={cx(input, 'mt-1 w-full')} value={who} onChange={(e) => setWho(e.target.value)}>
            {candidates.map((p) => (
              <option key={p.id} value={p.id}>
                {p.id === me ? `You (${p.name})` : `${p.name} · ${ROLE_WORD[p.role]}`}
              </option>
            ))}
          </select>
        </label>
        <label className="text-sm">
          <span className="font-medium">From</span>
          <input data-testid="cover-from" type="datetime-local" className={cx(input, 'mt-1 w-full')} value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label className="text-sm">
          <span className="font-medium">To</span>
          <input data-testid="cover-to" type="datetime-local" className={cx(input, 'mt-1 w-full')} value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        <button type="submit" data-testid="cover-button" disabled={cover.isPending || !who || !data.live} className={button('primary')}>
          Cover
        </button>
        {!data.live && <p className="text-xs text-muted sm:col-span-4">Overrides are saved on the server; connect to add one.</p>}
      </form>
    </section>
  );
}
