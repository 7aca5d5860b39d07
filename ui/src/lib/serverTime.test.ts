import { afterEach, describe, expect, it, vi } from 'vitest';
import { serverNow, setServerClockAhead } from './serverTime';
import { approveBlocker } from './approvals';
import { approvalView } from '../test/fixtures';

describe('serverNow', () => {
  afterEach(() => {
    setServerClockAhead(0);
    vi.useRealTimers();
  });

  it('is this machine’s clock corrected by how far ahead the server is', () => {
    vi.useFakeTimers({ now: Date.parse('2025-03-04T10:40:00Z') });
    expect(serverNow()).toBe(Date.parse('2025-03-04T10:40:00Z'));
    setServerClockAhead(-180_000);
    expect(serverNow()).toBe(Date.parse('2025-03-04T10:37:00Z'));
  });

  it('keeps Approve offered on a laptop running fast until the server’s expiry', () => {
    vi.useFakeTimers({ now: Date.parse('2025-03-04T10:41:00Z') });
    const view = approvalView({ expires_at: '2025-03-04T10:40:00Z' });
    expect(approveBlocker(view)).toMatch(/expired at 10:40/);
    setServerClockAhead(-180_000);
    expect(approveBlocker(view)).toBeNull();
  });
});
