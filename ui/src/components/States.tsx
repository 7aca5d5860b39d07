// Designed empty, loading and error states: never a blank screen.
import type { ReactNode } from 'react';
import type { CommandError } from '../bindings';
import { AlertIcon } from './Icons';
import { cx } from '../lib/cx';

export function EmptyState({ title, children, icon, className }: { title: string; children?: ReactNode; icon?: ReactNode; className?: string }) {
  return (
    <div className={cx('flex flex-col items-center justify-center px-6 py-12 text-center', className)}>
      {icon && <div className="mb-3 text-faint">{icon}</div>}
      <p className="text-sm font-medium text-fg">{title}</p>
      {children && <div className="mt-1 max-w-sm text-sm text-muted">{children}</div>}
    </div>
  );
}

export function ErrorState({ error, title = 'Could not load this', action }: { error: CommandError | null; title?: string; action?: ReactNode }) {
  return (
    <div role="alert" className="m-4 flex items-start gap-3 rounded-lg border border-red/40 bg-red-soft p-4 text-sm">
      <AlertIcon className="mt-0.5 text-red" />
      <div>
        <p className="font-medium text-fg">{title}</p>
        {error && <p className="mt-0.5 text-fg">{error.message}</p>}
        {action && <div className="mt-2">{action}</div>}
      </div>
    </div>
  );
}

/** Placeholder rows while the cache is read (usually a few ms). */
export function LoadingRows({ rows = 5, label = 'Loading' }: { rows?: number; label?: string }) {
  return (
    <div role="status" aria-label={label} className="space-y-2 p-4">
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="h-10 animate-pulse rounded-md bg-raised motion-reduce:animate-none" />
      ))}
    </div>
  );
}
