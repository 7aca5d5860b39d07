import { describe, expect, it } from 'vitest';
import { approvalView } from '../test/fixtures';
import { approveBlocker, decidedLine, rejectBlocker, sortByUrgency } from './approvals';

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

  it('ranks a risk this version does not know with critical, above high', () => {
    const list = [
      approvalView({ id: 'high', risk: 'high', expires_at: inMin(1) }),
      approvalView({ id: 'newer', risk: 'unknown', expires_at: inMin(20) }),
      approvalView({ id: 'critical', risk: 'critical', expires_at: inMin(10) }),
    ];
    expect(sortByUrgency(list).map((a) => a.approval.id)).toEqual(['critical', 'newer', 'high']);
  });

  it('does not change the list it was given', () => {
    const list = [approvalView({ id: 'a', risk: 'low' }), approvalView({ id: 'b', risk: 'critical' })];
    sortByUrgency(list);
    expect(list.map((a) => a.approval.id)).toEqual(['a', 'b']);
  });
});

describe('approveBlocker and rejectBlocker', () => {
  const NO_PREVIEW =
    'There is no preview of what will happen, so it cannot be approved. Reject it with a comment asking the agent for one.';
  const STOPPED =
    'Its project is stopped, so its agents are halting; this request can no longer be decided. Resume the project and the agent asks again.';

  it('allows both when the core refuses neither', () => {
    const view = approvalView({ expires_at: inMin(4) });
    expect(approveBlocker(view, NOW)).toBeNull();
    expect(rejectBlocker(view, NOW)).toBeNull();
  });

  it("renders the core's words as they are", () => {
    const bare = approvalView({ preview: null, expires_at: inMin(4) }, null, { approve_blocker: NO_PREVIEW });
    expect(approveBlocker(bare, NOW)).toBe(NO_PREVIEW);
    expect(rejectBlocker(bare, NOW)).toBeNull();
    const stopped = approvalView({ expires_at: inMin(4) }, null, {
      project_stopped: true,
      approve_blocker: STOPPED,
      reject_blocker: STOPPED,
    });
    expect(approveBlocker(stopped, NOW)).toBe(STOPPED);
    expect(rejectBlocker(stopped, NOW)).toBe(STOPPED);
  });

  it("refuses a request that expired since it was read, in the core's words for it", () => {
    const view = approvalView({ expires_at: '2025-03-04T10:39:00Z' }, null, { approve_blocker: NO_PREVIEW });
    const expired = 'This request expired at 10:39 UTC; it can no longer be decided.';
    expect(approveBlocker(view, NOW)).toBe(expired);
    expect(rejectBlocker(view, NOW)).toBe(expired);
  });

  it('leaves a decision on its way, or a settled request, to the core', () => {
    expect(approveBlocker(approvalView({ expires_at: inMin(-1) }, 'approve'), NOW)).toBeNull();
    expect(rejectBlocker(approvalView({ status: 'approved', expires_at: inMin(-1) }), NOW)).toBeNull();
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
