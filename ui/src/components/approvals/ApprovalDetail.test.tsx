import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../../ipc';
import { appState, approvalView, outboxEntry, status } from '../../test/fixtures';
import { mockIpc } from '../../test/ipcMock';
import { renderAt } from '../../test/render';
import { ApprovalDetail } from './ApprovalDetail';

vi.mock('../../ipc');

const soon = () => new Date(Date.now() + 4 * 60_000).toISOString();
const past = () => new Date(Date.now() - 60_000).toISOString();

function show(view = approvalView({ expires_at: soon() }), role: Parameters<typeof appState>[0] = 'oncall', phone = false) {
  mockIpc();
  vi.mocked(ipc.appState).mockResolvedValue(appState(role));
  vi.mocked(ipc.approval).mockResolvedValue(view);
  return renderAt(<ApprovalDetail approvalId={view.approval.id} phone={phone} />);
}

/** Whether `later` comes after `earlier` in the document (and so in reading order). */
const follows = (later: Element, earlier: Element) => Boolean(earlier.compareDocumentPosition(later) & Node.DOCUMENT_POSITION_FOLLOWING);

describe('ApprovalDetail', () => {
  beforeEach(() => vi.clearAllMocks());

  it('shows the countdown, the preview and the exact payload', async () => {
    show();
    expect(await screen.findByTestId('approval-detail')).toHaveAttribute('data-status', 'pending');
    expect(screen.getByTestId('approval-expiry')).toHaveTextContent(/expires in [34]:\d\d/);
    expect(screen.getByTestId('approval-preview')).toHaveTextContent('Spring is here');
    expect(screen.getByTestId('approval-payload').textContent).toContain('"daily_budget_usd": 250');
    expect(await screen.findByTestId('approve-button')).toBeEnabled();
  });

  it.each([false, true])('puts Approve and Reject after what will happen and the exact payload (phone: %s)', async (phone) => {
    show(undefined, 'oncall', phone);
    const approve = await screen.findByTestId('approve-button');
    expect(follows(approve, screen.getByTestId('approval-preview'))).toBe(true);
    expect(follows(approve, screen.getByTestId('approval-payload'))).toBe(true);
    expect(follows(screen.getByTestId('reject-button'), screen.getByTestId('approval-payload'))).toBe(true);
    // "I'm on it" and the state line stay.
    expect(screen.getByTestId('ack-button')).toBeInTheDocument();
    expect(screen.getByTestId('approval-state')).toBeInTheDocument();
  });

  it('moves the focus to the state line once a decision is sent, not to the page', async () => {
    const view = approvalView({ expires_at: soon() });
    show(view);
    vi.mocked(ipc.decide).mockImplementation(async () => {
      vi.mocked(ipc.approval).mockResolvedValue({ ...view, sending: 'approve' });
      return { entry: {} as never, delivered: false, outcome: null, waiting_because: 'The server cannot be reached.' };
    });
    const approve = await screen.findByTestId('approve-button');
    approve.focus();
    fireEvent.click(approve);
    const state = screen.getByTestId('approval-state');
    await waitFor(() => expect(state).toHaveFocus());
    expect(state).toHaveAttribute('tabindex', '-1');
    await waitFor(() => expect(screen.queryByTestId('approve-button')).toBeNull());
    expect(state).toHaveFocus();
  });

  it('disables Approve and Reject with the reason once the request expired', async () => {
    show(approvalView({ expires_at: past() }));
    expect(await screen.findByTestId('approve-button')).toBeDisabled();
    expect(screen.getByTestId('reject-button')).toBeDisabled();
    expect(screen.getByTestId('approve-blocked-reason')).toHaveTextContent(/expired at \d\d:\d\d UTC; it can no longer be decided/);
    expect(screen.queryByTestId('reject-blocked-reason')).toBeNull();
  });

  it("disables Approve with the core's reason when the preview is missing, and leaves Reject", async () => {
    const why = 'There is no preview of what will happen, so it cannot be approved. Reject it with a comment asking the agent for one.';
    show(approvalView({ expires_at: soon(), preview: null }, null, { approve_blocker: why }));
    expect(await screen.findByTestId('approve-button')).toBeDisabled();
    expect(screen.getByTestId('approve-blocked-reason')).toHaveTextContent(why);
    expect(screen.getByTestId('reject-button')).toBeEnabled();
  });

  it("disables both with the core's one sentence when the project is stopped", async () => {
    const why = 'Its project is stopped, so its agents are halting; this request can no longer be decided. Resume the project and the agent asks again.';
    show(approvalView({ expires_at: soon() }, null, { project_stopped: true, approve_blocker: why, reject_blocker: why }));
    expect(await screen.findByTestId('approve-button')).toBeDisabled();
    expect(screen.getByTestId('reject-button')).toBeDisabled();
    expect(screen.getByTestId('approve-blocked-reason')).toHaveTextContent(why);
    expect(screen.queryByTestId('reject-blocked-reason')).toBeNull();
  });

  it('shows no approve or reject button to a viewer', async () => {
    show(undefined, 'viewer');
    await screen.findByTestId('approval-detail');
    await waitFor(() => expect(ipc.appState).toHaveBeenCalled());
    expect(screen.queryByTestId('approve-button')).toBeNull();
    expect(screen.queryByTestId('reject-button')).toBeNull();
  });

  it('shows a direction override in the payload and title as a visible mark', async () => {
    show(approvalView({ expires_at: soon(), title: 'Publish \u202eda oreh\u202c', payload: { audience: 'all\u202e tsil_no_tup' } }));
    expect(await screen.findByTestId('approval-payload')).toHaveTextContent('all⟦U+202E⟧ tsil_no_tup');
    expect(screen.getByRole('heading', { level: 2 })).toHaveTextContent('Publish ⟦U+202E⟧da oreh⟦U+202C⟧');
  });

  it('makes Approve red only for critical requests', async () => {
    show(approvalView({ expires_at: soon(), risk: 'critical' }));
    expect(await screen.findByTestId('approve-button')).toHaveClass('bg-danger');
  });

  it('rejects with the comment and shows "sending…" while it is on its way', async () => {
    const view = approvalView({ expires_at: soon() });
    show(view);
    vi.mocked(ipc.decide).mockImplementation(async () => {
      vi.mocked(ipc.approval).mockResolvedValue({ ...view, sending: 'reject' });
      const waiting = outboxEntry({ kind: 'decision', approval_id: 'apr_1', last_error: 'Your session ended; sign in again to send this.' });
      vi.mocked(ipc.status).mockResolvedValue(status({ outbox: [waiting] }));
      return { entry: {} as never, delivered: false, outcome: null, waiting_because: 'The server cannot be reached.' };
    });
    fireEvent.click(await screen.findByTestId('reject-button'));
    fireEvent.change(screen.getByTestId('reject-comment'), { target: { value: 'Lead with free returns' } });
    fireEvent.click(screen.getByTestId('reject-confirm'));
    await waitFor(() => expect(ipc.decide).toHaveBeenCalledWith('apr_1', 'reject', 'Lead with free returns'));
    await waitFor(() => expect(screen.getByTestId('approval-state')).toHaveAttribute('data-state', 'sending'));
    expect(screen.getByTestId('approval-state')).toHaveTextContent('sending…');
    // Why it still waits, from the last try.
    expect(await screen.findByTestId('approval-waiting-because')).toHaveTextContent('sign in again to send this');
  });

  it('shows the conflict in words when someone else decided first', async () => {
    const view = approvalView({ expires_at: soon() });
    show(view);
    const message = 'Already rejected by Dana Whitfield (oncall) at 10:32 UTC. Your decision was not applied.';
    vi.mocked(ipc.decide).mockRejectedValue({ code: 'conflict', message });
    fireEvent.click(await screen.findByTestId('approve-button'));
    await waitFor(() => expect(screen.getByTestId('approval-state')).toHaveAttribute('data-state', 'conflict'));
    expect(screen.getByTestId('approval-state')).toHaveTextContent(message);
  });

  it('says who decided a settled request', async () => {
    show(
      approvalView({
        status: 'approved',
        decided_at: '2025-03-04T10:32:00',
        decided_by: { id: 'usr_oncall', name: 'Olivia Park', email: null, role: 'oncall' },
      }),
    );
    expect(await screen.findByTestId('approval-state')).toHaveTextContent('Approved by you at 10:32');
    expect(screen.getByTestId('approval-state')).toHaveAttribute('data-state', 'approved');
  });

  it('still shows the conflict after a restart, from the core’s recent outcomes', async () => {
    const message = 'Already rejected by Dana Whitfield (oncall) at 10:32 UTC. Your decision was not applied.';
    show(
      approvalView({
        status: 'rejected',
        decided_at: '2025-03-04T10:32:00Z',
        decided_by: { id: 'usr_dana', name: 'Dana Whitfield', email: null, role: 'oncall' },
      }),
    );
    vi.mocked(ipc.status).mockResolvedValue(
      status({ recent_outcomes: [{ at: '2025-03-04T10:33:00Z', result: 'already_decided', action: 'Approve “Publish”', message, approval_id: 'apr_1', project_id: null }] }),
    );
    await waitFor(() => expect(screen.getByTestId('approval-state')).toHaveAttribute('data-state', 'conflict'));
    expect(screen.getByTestId('approval-state')).toHaveTextContent(message);
    expect(screen.queryByTestId('approve-button')).toBeNull();
  });
});
