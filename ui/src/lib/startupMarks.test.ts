import { describe, expect, it, vi } from 'vitest';
import { markStartup, startupMarks } from './startupMarks';

describe('startup marks', () => {
  it('keeps the first time of each step and lists them in the order reached', () => {
    const now = vi.spyOn(performance, 'now');
    now.mockReturnValueOnce(40.4).mockReturnValueOnce(250.6).mockReturnValueOnce(90).mockReturnValueOnce(300);
    markStartup('script');
    markStartup('dashboard');
    markStartup('feed');
    markStartup('script'); // a second visit does not move the first
    expect(startupMarks()).toBe('script=40 feed=90 dashboard=251');
  });
});
