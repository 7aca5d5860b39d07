import { describe, expect, it } from 'vitest';
import { approvalView } from '../test/fixtures';
import { approveBlocker, decidedLine, sortByUrgency } from './approvals';

const NOW = Date.parse('2025-03-04T10:40:00Z');
const inMin = (m: number) => new Date(NOW + m * 60_000).toISOString();

describe('sortByUrgency', () => {
  it('puts higher risk first, then the soonest expiry', () => {
    const list = [
      approvalView({ id: 'low-soon', risk: 'low', expires_at: inMin(1) }),
      approvalView({ id: 'high-late', risk: 'high', expires_at: inMin(30) }),
      approvalView({ id: 'critical', risk: 'critical', expires_at: inMin(50) }),
      approvalView({ id: 'high-soon', risk: 'high', expires_at: inMin(2) }),
      approvalView({ id: 'medium', risk: 'medium', expires_at: inMin(5) }),
    ];
    expect(sortByUrgency(list).map((a) => a.approval.id)).toEqual(['critical', 'high-soon', 'high-late', 'medium', 'low-soon']);
  });

  it('does not change the list it was given', () => {
    const list = [approvalView({ id: 'a', risk: 'low' }), approvalView({ id: 'b', risk: 'critical' })];
    sortByUrgency(list);
    expect(list.map((a) => a.approval.id)).toEqual(['a', 'b']);
  });
});

describe('approveBlocker', () => {
  it('allows approving a pending request with a preview before it expires', () => {
    expect(approveBlocker(approvalView({ expires_at: inMin(4) }), NOW)).toBeNull();
  });

  it('refuses an expired request, in words', () => {
    expect(approveBlocker(approvalView({ expires_at: inMin(-1) }), NOW)).toMatch(/expired/);
  });

  it('refuses a request without a preview, in words', () => {
    expect(approveBlocker(approvalView({ preview: null, expires_at: inMin(4) }), NOW)).toMatch(/no preview/);
  });
});

describe('decidedLine', () => {
  it('names the person, their role and the time, or says it was you', () => {
    const decidedAt = '2025-03-04T10:32:00';
    const view = approvalView({
      status: 'rejected',
      decided_at: decidedAt,
      decided_by: { id: 'usr_dana', name: 'Dana Whitfield', email: 'dana@acme.test', role: 'oncall' },
    });
    expect(decidedLine(view, 'usr_me')).toBe('rejected by Dana Whitfield (On-call) at 10:32');
    expect(decidedLine(view, 'usr_dana')).toBe('rejected by you at 10:32');
    expect(decidedLine(approvalView(), 'usr_me')).toBeNull();
  });
});
