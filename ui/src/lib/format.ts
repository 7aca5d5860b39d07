// Numbers always travel with their unit and context: "$412 of $1,000 (41 %)", "2 min ago",
// "expires in 4:32". Pure functions, tested in format.test.ts.
import { serverNow } from './serverTime';

const wholeUsd = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  maximumFractionDigits: 0,
  minimumFractionDigits: 0,
});
const centsUsd = new Intl.NumberFormat('en-US', {
  style: 'currency',
  currency: 'USD',
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});

/** Dollars, compact: whole dollars from $100 up, cents below ("$3.42", "$412", "$1,000"). */
export function formatUsd(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  if (Math.abs(rounded) >= 100 || Number.isInteger(rounded)) return wholeUsd.format(rounded);
  return centsUsd.format(rounded);
}

/** An exact amount in its currency, always with cents: "$1,500.00". */
export function formatAmount(value: number, currency = 'USD'): string {
  try {
    return new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    }).format(value);
  } catch {
    // An unknown currency code: show the number and the code as they are.
    return `${value.toFixed(2)} ${currency}`;
  }
}

/** "per day" for a unit of time, the period as given otherwise ("project total"). */
export function formatPeriod(period: string | null): string {
  if (!period) return '';
  const unit = period.trim().toLowerCase();
  if (['hour', 'day', 'week', 'month', 'quarter', 'year'].includes(unit)) return `per ${unit}`;
  return period;
}

/** Share of the budget spent, whole percent, floored so 99.6 % does not read as 100 %. */
export function percentOf(spent: number, budget: number): number | null {
  if (!(budget > 0)) return null;
  return Math.floor((spent / budget) * 100);
}

/** "$412 of $1,000 (41 %)"; "$412 spent (no budget)" without one. */
export function formatSpend(spent: number, budget: number): string {
  const pct = percentOf(spent, budget);
  if (pct === null) return `${formatUsd(spent)} spent (no budget)`;
  return `${formatUsd(spent)} of ${formatUsd(budget)} (${pct} %)`;
}

export type BudgetLevel = 'ok' | 'warning' | 'exceeded';

/** Amber from 80 %, red from 100 %: the same thresholds as the core's BudgetState. */
export function budgetLevel(spent: number, budget: number): BudgetLevel {
  if (!(budget > 0)) return 'ok';
  const share = spent / budget;
  if (share >= 1) return 'exceeded';
  if (share >= 0.8) return 'warning';
  return 'ok';
}

function toMs(at: string | Date): number {
  return typeof at === 'string' ? Date.parse(at) : at.getTime();
}

/** "just now", "12 s ago", "2 min ago", "3 h ago", "2 d ago", then a date. */
export function formatRelative(at: string | Date | null, now: number = serverNow()): string {
  if (at === null) return 'never';
  const then = toMs(at);
  if (Number.isNaN(then)) return 'unknown';
  const seconds = Math.round((now - then) / 1000);
  if (seconds < 0) return seconds > -60 ? 'just now' : 'in the future';
  if (seconds < 10) return 'just now';
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.floor(hours / 24);
  if (days < 7) return `${days} d ago`;
  return formatDate(at);
}

/** "4:32" for 272 seconds; "1:02:05" past an hour. Negative counts as zero. */
export function formatCountdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  if (h > 0) return `${h}:${String(m).padStart(2, '0')}:${rest}`;
  return `${m}:${rest}`;
}

/** "expires in 4:32", or "expired 3 min ago". */
export function formatExpiry(expiresAt: string, now: number = serverNow()): string {
  const left = (toMs(expiresAt) - now) / 1000;
  if (left <= 0) return `expired ${formatRelative(expiresAt, now)}`;
  return `expires in ${formatCountdown(left)}`;
}

/** Local wall-clock time, "10:42". */
export function formatClock(at: string | Date): string {
  const d = new Date(toMs(at));
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** "Mar 4", or "Mar 4, 2023" in another year. */
export function formatDate(at: string | Date, now: number = serverNow()): string {
  const d = new Date(toMs(at));
  const sameYear = d.getFullYear() === new Date(now).getFullYear();
  return d.toLocaleDateString('en-US', {
    month: 'short',
    day: 'numeric',
    ...(sameYear ? {} : { year: 'numeric' }),
  });
}

/** "10:42" today, "Mar 4, 10:42" on another day. */
export function formatTimestamp(at: string | Date, now: number = serverNow()): string {
  const d = new Date(toMs(at));
  const today = new Date(now);
  if (d.toDateString() === today.toDateString()) return formatClock(d);
  return `${formatDate(d, now)}, ${formatClock(d)}`;
}

/** Thousands with separators: 48,210. */
export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** "HH:MM:SS" (NaiveTime) ⇄ "HH:MM" (<input type=time>). */
export function timeToInput(value: string): string {
  return value.slice(0, 5);
}
export function inputToTime(value: string): string {
  return value.length === 5 ? `${value}:00` : value;
}
