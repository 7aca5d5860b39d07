import * as Popover from '@radix-ui/react-popover';
import type { OutboxEntry } from '../bindings';
import { useOutbox } from '../state/queries';
import { formatRelative } from '../lib/format';
import { cx } from '../lib/cx';
import { isStopEntry } from '../state/stops';

/** "3 queued" in the status bar; opens the list of what waits to be sent. */
export function OutboxPopover({ entries: fromStatus }: { entries: OutboxEntry[] }) {
  const { data } = useOutbox();
  const entries = data ?? fromStatus;
  const count = entries.length;
  return (
    <Popover.Root>
      <Popover.Trigger
        data-testid="status-outbox"
        data-count={count}
        aria-label={`Outbox: ${count} waiting to be sent`}
        className={cx(
          'flex items-center gap-1 self-stretch rounded px-1.5 whitespace-nowrap hover:bg-raised hover:text-fg',
          count > 0 && 'font-medium text-amber',
        )}
      >
        <span className="tabular">{count}</span> {count === 1 ? 'action' : 'actions'} queued
      </Popover.Trigger>
      <Popover.Portal>
        <Popover.Content
          side="top"
          align="end"
          sideOffset={6}
          className="z-50 w-[min(26rem,calc(100vw-1rem))] rounded-lg border border-line bg-surface p-2 text-fg shadow-xl"
        >
          <p className="px-2 pt-1 pb-2 text-sm font-semibold">Outbox</p>
          {count === 0 ? (
            <p className="px-2 pb-2 text-sm text-muted">Nothing waiting. Every action has been delivered.</p>
          ) : (
            <ul className="max-h-80 space-y-1 overflow-y-auto">
              {entries.map((e) => (
                <li
                  key={e.id}
                  data-testid="outbox-entry"
                  data-kind={e.kind}
                  className={cx('rounded-md px-2 py-1.5 text-sm', isStopEntry(e) ? 'bg-red-soft' : 'bg-raised')}
                >
                  <p className={cx('font-medium', isStopEntry(e) && 'text-red')}>{e.label}</p>
                  <p className="text-xs text-muted">
                    Queued {formatRelative(e.created_at)} · {e.attempts} {e.attempts === 1 ? 'attempt' : 'attempts'}
                  </p>
                  {e.last_error && <p className="mt-0.5 text-xs text-fg">Last try: {e.last_error}</p>}
                </li>
              ))}
            </ul>
          )}
          <Popover.Arrow className="fill-line" />
        </Popover.Content>
      </Popover.Portal>
    </Popover.Root>
  );
}
