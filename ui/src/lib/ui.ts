// Shared class recipes for controls, so every button looks and behaves the same.
import { cx } from './cx';

export type ButtonKind = 'primary' | 'secondary' | 'danger' | 'ghost' | 'subtle';

const BASE =
  'inline-flex items-center justify-center gap-1.5 rounded-md font-medium transition-colors select-none ' +
  'disabled:cursor-not-allowed disabled:opacity-50 focus-visible:outline-2 focus-visible:outline-offset-2';

const KINDS: Record<ButtonKind, string> = {
  primary: 'bg-accent text-accent-fg hover:opacity-90 disabled:hover:opacity-50',
  secondary: 'border border-line-strong bg-surface text-fg hover:bg-raised',
  danger: 'bg-danger text-white hover:bg-danger-hover',
  ghost: 'text-muted hover:bg-raised hover:text-fg',
  subtle: 'bg-raised text-fg hover:bg-sunken',
};

/** min-h-11 (44 px) on phones, denser from `sm` up. */
export function button(kind: ButtonKind = 'secondary', extra?: string): string {
  return cx(BASE, KINDS[kind], 'min-h-11 px-3 text-sm sm:min-h-8', extra);
}

export const input =
  'rounded-md border border-line-strong bg-surface px-3 py-2 text-sm text-fg placeholder:text-faint ' +
  'min-h-11 sm:min-h-9 focus:border-accent focus:outline-none focus-visible:outline-2 focus-visible:outline-ring';

export const card = 'rounded-lg border border-line bg-surface';

export const sectionTitle = 'text-xs font-semibold uppercase tracking-wide text-muted';
