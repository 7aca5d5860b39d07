// Status is a small coloured glyph plus its word, never colour alone.
import type { Shape, StatusLook, Tone } from '../lib/status';
import { TONE_PILL, TONE_TEXT } from '../lib/status';
import { cx } from '../lib/cx';

export function Glyph({ shape, tone, size = 10, className }: { shape: Shape; tone: Tone; size?: number; className?: string }) {
  const cls = cx('inline-block shrink-0', TONE_TEXT[tone], className);
  const common = { width: size, height: size, viewBox: '0 0 10 10', 'aria-hidden': true, className: cls } as const;
  switch (shape) {
    case 'dot':
      return (<svg {...common}><circle cx="5" cy="5" r="4" fill="currentColor" /></svg>);
    case 'ring':
      return (<svg {...common}><circle cx="5" cy="5" r="3.6" fill="none" stroke="currentColor" strokeWidth="1.5" /></svg>);
    case 'half':
      return (
        <svg {...common}>
          <circle cx="5" cy="5" r="3.6" fill="none" stroke="currentColor" strokeWidth="1.5" />
          <path d="M5 1.4a3.6 3.6 0 0 1 0 7.2z" fill="currentColor" />
        </svg>
      );
    case 'cross':
      return (<svg {...common}><path d="m2 2 6 6M8 2 2 8" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" /></svg>);
    case 'square':
      return (<svg {...common}><rect x="1.5" y="1.5" width="7" height="7" rx="1.2" fill="currentColor" /></svg>);
    case 'check':
      return (<svg {...common}><path d="m1.5 5.2 2.3 2.3L8.6 2.6" fill="none" stroke="currentColor" strokeWidth="1.8" strokeLinecap="round" strokeLinejoin="round" /></svg>);
    case 'pause':
      return (<svg {...common}><path d="M3 1.8v6.4M7 1.8v6.4" stroke="currentColor" strokeWidth="2" strokeLinecap="round" /></svg>);
    case 'spinner':
      return (
        <svg {...common} className={cx(cls, 'animate-spin motion-reduce:animate-none')}>
          <circle cx="5" cy="5" r="3.6" fill="none" stroke="currentColor" strokeOpacity="0.3" strokeWidth="1.5" />
          <path d="M5 1.4a3.6 3.6 0 0 1 3.6 3.6" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" />
        </svg>
      );
    default: {
      const n = Number(shape.slice(4));
      return (
        <svg {...common}>
          {[0, 1, 2, 3].map((i) => (
            <rect key={i} x={0.5 + i * 2.4} y={7 - i * 2} width="1.8" height={2.5 + i * 2} rx="0.5" fill="currentColor" opacity={i < n ? 1 : 0.25} />
          ))}
        </svg>
      );
    }
  }
}

/** Glyph + word, inline. */
export function StatusText({ look, className }: { look: StatusLook; className?: string }) {
  return (
    <span className={cx('inline-flex items-center gap-1.5 whitespace-nowrap', className)}>
      <Glyph shape={look.shape} tone={look.tone} />
      <span>{look.word}</span>
    </span>
  );
}

/** Glyph + word on a soft background, for the few places that need weight. */
export function StatusPill({ look, className }: { look: StatusLook; className?: string }) {
  return (
    <span
      className={cx(
        'inline-flex items-center gap-1.5 whitespace-nowrap rounded-full px-2 py-0.5 text-xs font-medium',
        TONE_PILL[look.tone],
        className,
      )}
    >
      <Glyph shape={look.shape} tone={look.tone} />
      {look.word}
    </span>
  );
}
