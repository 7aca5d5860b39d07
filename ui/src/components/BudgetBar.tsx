import { budgetLevel, formatSpend, percentOf } from '../lib/format';
import { cx } from '../lib/cx';

const FILL = { ok: 'bg-accent', warning: 'bg-amber', exceeded: 'bg-red' } as const;
const TEXT = { ok: 'text-muted', warning: 'text-amber', exceeded: 'text-red' } as const;
const WORD = { ok: '', warning: 'Near budget', exceeded: 'Over budget' } as const;

/** "$412 of $1,000 (41 %)" with a bar: amber from 80 %, red from 100 %. */
export function BudgetBar({
  spent,
  budget,
  compact = false,
  testId,
}: {
  spent: number;
  budget: number;
  compact?: boolean;
  testId?: string;
}) {
  const level = budgetLevel(spent, budget);
  const pct = percentOf(spent, budget) ?? 0;
  const label = formatSpend(spent, budget);
  return (
    <div className={cx('min-w-0', compact ? 'w-full' : 'w-full max-w-xs')} data-testid={testId} data-level={level}>
      <div className="flex items-baseline justify-between gap-2 text-xs">
        <span className={cx('tabular truncate', level === 'ok' ? 'text-fg' : TEXT[level])}>{label}</span>
        {level !== 'ok' && <span className={cx('shrink-0 font-medium', TEXT[level])}>{WORD[level]}</span>}
      </div>
      <div
        className="mt-1 h-1.5 w-full overflow-hidden rounded-full bg-sunken"
        role="progressbar"
        aria-label={`Spend: ${label}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.min(pct, 100)}
      >
        <div className={cx('h-full rounded-full', FILL[level])} style={{ width: `${Math.min(pct, 100)}%` }} />
      </div>
    </div>
  );
}
