import * as Switch from '@radix-ui/react-switch';
import { cx } from '../lib/cx';

/** An accessible on/off switch (Radix), 44 px tall touch area on phones. */
export function Toggle({
  checked,
  onChange,
  label,
  testId,
  disabled,
  extra,
}: {
  checked: boolean;
  onChange: (checked: boolean) => void;
  label: string;
  testId?: string;
  disabled?: boolean;
  extra?: Record<string, string>;
}) {
  return (
    <Switch.Root
      checked={checked}
      onCheckedChange={onChange}
      aria-label={label}
      data-testid={testId}
      disabled={disabled}
      {...extra}
      className={cx(
        'relative inline-flex h-6 w-10 shrink-0 items-center rounded-full border border-transparent transition-colors disabled:opacity-50',
        'before:absolute before:-inset-2.5 before:content-[""] sm:before:inset-0',
        checked ? 'bg-accent' : 'bg-line-strong',
      )}
    >
      <Switch.Thumb
        className={cx(
          'block h-5 w-5 rounded-full bg-white shadow transition-transform',
          checked ? 'translate-x-[17px]' : 'translate-x-[1px]',
        )}
      />
    </Switch.Root>
  );
}
