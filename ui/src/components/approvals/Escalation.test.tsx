import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../../ipc';
import type { Escalation, Queued } from '../../bindings';
import { appState, approvalView, outboxEntry } from '../../test/fixtures';
import { mockIpc } from '../../test/ipcMock';
import { renderAt } from '../../test/render';
import { ApprovalDetail } from './ApprovalDetail';

vi.mock('../../ipc');

const soon = () => new Date(Date.now() + 10 * 60_000).toISOString();
const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

const ladder = (over: Partial<Escalation> = {}): Escalation => ({
  level: 2,
  next_at: soon(),
  acked_by: null,
  acked_at: null,
  notified: [
    { user_id: 'usr_dana', user_name: 'Dana Whitfield', at: minutesAgo(6), level: 1, channel: null, result: 'skipped_unreachable' },
    { user_id: 'usr_marco', user_name: 'Marco Rossi', at: minutesAgo(6), level: 2, channel: 'push', result: 'sent' },
  ],
  ...over,
});

const delivered = (): Queued => ({ entry: outboxEntry(), delivered: true, outcome: null, waiting_because: null });

function show(view = approvalView({ expires_at: soon(), risk: 'critical', escalation: ladder() })) {
  mockIpc();
  vi.mocked(ipc.appState).mockResolvedValue(appState('oncall'));
  vi.mocked(ipc.approval).mockResolvedValue(view);
  vi.mocked(ipc.ackApproval).mockResolvedValue(delivered());
  vi.mocked(ipc.askAgain).mockResolvedValue(delivered());
  return renderAt(<ApprovalDetail approvalId={view.approval.id} phone={false} />);
}

describe('the escalation trail', () => {
  beforeEach(() => vi.clearAllMocks());

  it('says who was told, how, who was skipped, and when the next level comes', async () => {
    show();
    const trail = await screen.findByTestId('escalation-trail');
    expect(trail).toHaveAttribute('data-level', '2');
    const steps = screen.getAllByTestId('escalation-step');
    expect(steps[0]).toHaveAttribute('data-result', 'skipped_unreachable');
    expect(steps[0]).toHaveTextContent(/Dana Whitfield · level 1 · skipped: no phone reached in 24 h/);
    expect(steps[1]).toHaveTextContent(/Marco Rossi · level 2 · told on their phone/);
    expect(screen.getByTestId('escalation-next')).toHaveTextContent(/next level is told at/);
  });

  it("sends “I'm on it” once per click", async () => {
    show();
    fireEvent.click(await screen.findByTestId('ack-button'));
    await waitFor(() => expect(ipc.ackApproval).toHaveBeenCalledWith('apr_1'));
    expect(ipc.ackApproval).toHaveBeenCalledTimes(1);
  });

  it('shows the acknowledgement instead of the button', async () => {
    show(approvalView({ expires_at: soon(), escalation: ladder({ acked_by: { id: 'usr_dana', name: 'Dana Whitfield', email: null, role: 'oncall' }, acked_at: minutesAgo(1), next_at: null }) }));
    expect(await screen.findByTestId('escalation-acked')).toHaveTextContent('Dana Whitfield is on it');
    expect(screen.queryByTestId('ack-button')).toBeNull();
    expect(screen.queryByTestId('escalation-next')).toBeNull();
  });

  it('offers Ask again with a comment on an expired request', async () => {
    show(approvalView({ status: 'expired', expires_at: minutesAgo(1) }));
    fireEvent.change(await screen.findByTestId('ask-again-comment'), { target: { value: ' Keep it under $200 ' } });
    fireEvent.click(screen.getByTestId('ask-again-button'));
    await waitFor(() => expect(ipc.askAgain).toHaveBeenCalledWith('apr_1', 'Keep it under $200'));
    expect(screen.queryByTestId('ack-button')).toBeNull();
  });

  it('says the agent was asked once someone did', async () => {
    show(approvalView({ status: 'expired', expires_at: minutesAgo(5), ask_again_requested_at: minutesAgo(1), ask_again_requested_by: { id: 'usr_dana', name: 'Dana Whitfield', email: null, role: 'oncall' }, ask_again_comment: 'Keep it under $200' }));
    const said = await screen.findByTestId('asked-again');
    expect(said).toHaveTextContent('Dana Whitfield asked the agent to propose this again');
    expect(said).toHaveTextContent('saying “Keep it under $200”');
    expect(said).toHaveTextContent('its new request appears in Approvals');
    expect(screen.queryByTestId('asked-again-answer')).toBeNull();
  });

  it('links the answer back to the request that was asked again', async () => {
    show(approvalView({ expires_at: soon(), answers_ask: 'apr_0' }));
    expect(await screen.findByTestId('answers-ask')).toHaveTextContent('The agent says this answers a person’s ask to propose again an earlier request');
    expect(screen.getByTestId('answers-ask-link')).toHaveAttribute('href', '/approvals/apr_0');
  });

  it('says nothing of an ask on a request that answers none', async () => {
    show();
    await screen.findByTestId('escalation-next');
    expect(screen.queryByTestId('answers-ask')).toBeNull();
  });

  it('links to the request the agent proposed in answer', async () => {
    show(approvalView({ status: 'expired', expires_at: minutesAgo(5), ask_again_requested_at: minutesAgo(2), ask_again_answered_by: 'apr_2' }));
    expect(await screen.findByTestId('asked-again-answer')).toHaveAttribute('href', '/approvals/apr_2');
    expect(screen.queryByTestId('ask-again-button')).toBeNull();
  });
});
