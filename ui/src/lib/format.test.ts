import { describe, expect, it } from 'vitest';
import {
  budgetLevel,
  formatAmount,
  formatCountdown,
  formatExpiry,
  formatPeriod,
  formatRelative,
  formatSpend,
  formatUsd,
  inputToTime,
  percentOf,
  timeToInput,
} from './format';

const NOW = Date.parse('2025-03-04T10:40:00Z');
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

describe('money', () => {
  it('shows spend against budget with the percentage', () => {
    expect(formatSpend(412, 1000)).toBe('$412 of $1,000 (41 %)');
    expect(formatSpend(1250, 1000)).toBe('$1,250 of $1,000 (125 %)');
    expect(formatSpend(3.5, 0)).toBe('$3.50 spent (no budget)');
  });

  it('keeps cents only where they matter', () => {
    expect(formatUsd(3.42)).toBe('$3.42');
    expect(formatUsd(12)).toBe('$12');
    expect(formatUsd(412.37)).toBe('$412');
    expect(formatUsd(48210)).toBe('$48,210');
  });

  it('floors the percentage so almost-full does not read as full', () => {
    expect(percentOf(999, 1000)).toBe(99);
    expect(percentOf(1000, 1000)).toBe(100);
    expect(percentOf(5, 0)).toBeNull();
  });

  it('turns amber at 80 % and red at 100 %', () => {
    expect(budgetLevel(799, 1000)).toBe('ok');
    expect(budgetLevel(800, 1000)).toBe('warning');
    expect(budgetLevel(1000, 1000)).toBe('exceeded');
    expect(budgetLevel(50, 0)).toBe('ok');
  });

  it('formats exact amounts with their currency and period', () => {
    expect(formatAmount(1500, 'USD')).toBe('$1,500.00');
    expect(formatAmount(2500.5, 'EUR')).toBe('€2,500.50');
    expect(formatAmount(10, 'NOPE')).toBe('10.00 NOPE');
    expect(formatPeriod('day')).toBe('per day');
    expect(formatPeriod('project total')).toBe('project total');
    expect(formatPeriod(null)).toBe('');
  });
});

describe('time', () => {
  it('says how long ago in words people use', () => {
    expect(formatRelative(ago(3), NOW)).toBe('just now');
    expect(formatRelative(ago(12), NOW)).toBe('12 s ago');
    expect(formatRelative(ago(125), NOW)).toBe('2 min ago');
    expect(formatRelative(ago(3 * 3600 + 5), NOW)).toBe('3 h ago');
    expect(formatRelative(ago(2 * 86400), NOW)).toBe('2 d ago');
    expect(formatRelative(null, NOW)).toBe('never');
  });

  it('counts down as m:ss and h:mm:ss', () => {
    expect(formatCountdown(272)).toBe('4:32');
    expect(formatCountdown(5)).toBe('0:05');
    expect(formatCountdown(3725)).toBe('1:02:05');
    expect(formatCountdown(-3)).toBe('0:00');
  });

  it('says when a request expires or that it has', () => {
    expect(formatExpiry(new Date(NOW + 272_000).toISOString(), NOW)).toBe('expires in 4:32');
    expect(formatExpiry(ago(180), NOW)).toBe('expired 3 min ago');
  });

  it('converts quiet hours between NaiveTime and <input type=time>', () => {
    expect(timeToInput('22:00:00')).toBe('22:00');
    expect(inputToTime('07:30')).toBe('07:30:00');
  });
});
