import { useToasts, type ToastTone } from '../state/toasts';
import { cx } from '../lib/cx';
import { XIcon } from './Icons';

const EDGE: Record<ToastTone, string> = {
  info: 'border-l-accent',
  success: 'border-l-green',
  warning: 'border-l-amber',
  error: 'border-l-red',
};

/** Bottom left of the content on a desktop; on a phone just above the status line and the
 *  bottom navigation, clear of the header's Stop all and back links, with a 44 px dismiss. */
export function Toasts() {
  const { toasts, dismiss } = useToasts();
  return (
    <div
      aria-live="polite"
      data-first-frame-omit
      data-testid="toasts"
      className="pointer-events-none fixed inset-x-2 bottom-[calc(6rem+env(safe-area-inset-bottom))] z-50 flex flex-col items-stretch gap-2 sm:inset-x-auto sm:left-60 sm:bottom-12 sm:w-96"
    >
      {toasts.map((t) => (
        <div
          key={t.id}
          data-testid="toast"
          data-tone={t.tone}
          role={t.tone === 'error' || t.tone === 'warning' ? 'alert' : 'status'}
          className={cx(
            'toast-in pointer-events-auto flex items-start gap-3 rounded-lg border border-l-4 border-line bg-surface p-3 text-sm shadow-lg',
            EDGE[t.tone],
          )}
        >
          <div className="min-w-0 flex-1">
            {t.title && <p className="truncate font-medium text-fg">{t.title}</p>}
            <p className="text-fg">{t.message}</p>
          </div>
          <button
            type="button"
            aria-label="Dismiss"
            onClick={() => dismiss(t.id)}
            data-testid="toast-dismiss"
            className="-m-2.5 flex h-11 w-11 shrink-0 items-center justify-center rounded text-muted hover:bg-raised hover:text-fg sm:-m-1 sm:h-auto sm:w-auto sm:p-1"
          >
            <XIcon size={14} />
          </button>
        </div>
      ))}
    </div>
  );
}
