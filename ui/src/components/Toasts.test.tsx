import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, render, screen } from '@testing-library/react';
import { toast } from '../state/toasts';
import { Toasts } from './Toasts';

describe('Toasts', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('keeps an error or a warning until dismissed; info goes after 7 s', () => {
    render(<Toasts />);
    act(() => {
      toast({ tone: 'error', title: 'The decision was not queued', message: 'No account is signed in.' });
      toast({ tone: 'warning', message: 'The resume is queued and will be sent when the connection returns.' });
      toast({ tone: 'info', message: 'It is delivered once when the link returns.' });
    });
    expect(screen.getAllByTestId('toast')).toHaveLength(3);
    act(() => vi.advanceTimersByTime(60_000));
    expect(screen.getAllByTestId('toast').map((t) => t.dataset.tone)).toEqual(['error', 'warning']);
    fireEvent.click(screen.getAllByTestId('toast-dismiss')[0]!);
    expect(screen.getAllByTestId('toast').map((t) => t.dataset.tone)).toEqual(['warning']);
  });

  it('sits above the bottom navigation on a phone, not over the header, with a 44 px dismiss', () => {
    render(<Toasts />);
    act(() => void toast({ tone: 'error', message: 'Could not sync' }));
    const stack = screen.getByTestId('toasts');
    expect(stack.className).toMatch(/(^| )bottom-\[/);
    expect(stack.className).not.toMatch(/(^| )top-/);
    expect(screen.getByTestId('toast-dismiss')).toHaveClass('h-11', 'w-11');
    expect(screen.getByTestId('toast-dismiss')).toHaveAccessibleName('Dismiss');
  });
});
