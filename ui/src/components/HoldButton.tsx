import { useEffect, useRef, useState, type ReactNode } from 'react';
import { cx } from '../lib/cx';

export const HOLD_MS = 1500;

/** How long "Keep holding" shows after a click that was not a hold. */
export const HOLD_HINT_MS = 4000;

/** Press and hold (pointer, or Space/Enter held down) for `holdMs` to fire `onComplete`.
 *  Letting go early cancels. The fill shows how far along the hold is. A click that was not a
 *  hold (a tap, or a screen reader's double-tap, which sends one click) says `hint`, visibly
 *  and to the screen reader, for a few seconds. */
export function HoldButton({
  onComplete,
  children,
  label,
  holdMs = HOLD_MS,
  disabled = false,
  testId,
  hint = 'Keep holding to stop',
}: {
  onComplete: () => void;
  children: ReactNode;
  label: string;
  holdMs?: number;
  disabled?: boolean;
  testId?: string;
  hint?: string;
}) {
  const [progress, setProgress] = useState(0);
  const [hinted, setHinted] = useState(0);
  useEffect(() => {
    if (!hinted) return;
    const timer = setTimeout(() => setHinted(0), HOLD_HINT_MS);
    return () => clearTimeout(timer);
  }, [hinted]);
  const [holding, setHolding] = useState(false);
  const done = useRef(false);
  const complete = useRef(onComplete);
  useEffect(() => {
    complete.current = onComplete;
  }, [onComplete]);
  // Enabled again after the action it fired (it failed, or was refused): ready to hold again.
  const wasDisabled = useRef(disabled);
  useEffect(() => {
    if (wasDisabled.current && !disabled && done.current) {
      done.current = false;
      setProgress(0);
    }
    wasDisabled.current = disabled;
  }, [disabled]);

  // While held: advance the fill every frame; fire once when it is full.
  useEffect(() => {
    if (!holding) return;
    let startedAt: number | null = null;
    let frame = requestAnimationFrame(function step(t: number) {
      startedAt ??= t;
      const p = Math.min(1, (t - startedAt) / holdMs);
      setProgress(p);
      if (p >= 1) {
        done.current = true;
        setHolding(false);
        complete.current();
        return;
      }
      frame = requestAnimationFrame(step);
    });
    return () => cancelAnimationFrame(frame);
  }, [holding, holdMs]);

  const begin = () => {
    if (!disabled && !done.current) setHolding(true);
  };
  const cancel = () => {
    setHolding(false);
    if (!done.current) setProgress(0);
  };

  return (
    <div>
      <button
        type="button"
        data-testid={testId}
        data-progress={Math.round(progress * 100)}
        aria-label={label}
        aria-describedby={undefined}
        disabled={disabled}
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture?.(e.pointerId);
          begin();
        }}
        onPointerUp={cancel}
        onPointerCancel={cancel}
        onPointerLeave={cancel}
        onContextMenu={(e) => e.preventDefault()}
        onKeyDown={(e) => {
          if (e.key === ' ' || e.key === 'Enter') {
            e.preventDefault();
            if (!e.repeat) begin();
          }
        }}
        onKeyUp={(e) => {
          if (e.key === ' ' || e.key === 'Enter') {
            e.preventDefault();
            cancel();
          }
        }}
        onBlur={cancel}
        onClick={() => {
          // After a full hold the click is its end; otherwise it fired nothing: say why.
          if (!done.current && !disabled) setHinted((n) => n + 1);
        }}
        className={cx(
          'relative min-h-14 w-full touch-none overflow-hidden rounded-lg bg-danger text-base font-semibold text-white select-none',
          'disabled:opacity-50',
        )}
      >
        <span
          aria-hidden="true"
          className="absolute inset-y-0 left-0 bg-black/30"
          style={{ width: `${progress * 100}%` }}
        />
        <span className="relative">{children}</span>
      </button>
      {/* Always present, so what appears in it is announced. */}
      <p role="status" aria-live="polite" data-testid={testId && `${testId}-hint`} className="text-center text-sm font-medium text-fg">
        {hinted > 0 && <span className="mt-2 block">{hint}</span>}
      </p>
    </div>
  );
}
