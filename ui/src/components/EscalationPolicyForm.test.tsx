import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import type { EscalationPolicy } from '../bindings';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { useToasts } from '../state/toasts';
import { EscalationPolicyForm } from './EscalationPolicyForm';

vi.mock('../ipc');

const seen: EscalationPolicy = {
  applies_to: ['high', 'critical'],
  levels: [{ after_s: 0, targets: ['oncall_now'] }],
  repeat: 0,
  version: 4,
};
const now: EscalationPolicy = { ...seen, repeat: 2, version: 5 };

describe('two managers editing the escalation policy at once', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
    useToasts.setState({ toasts: [] });
    vi.mocked(ipc.escalationPolicy).mockResolvedValueOnce(seen).mockResolvedValue(now);
    vi.mocked(ipc.putEscalationPolicy).mockRejectedValue({
      code: 'conflict',
      message: 'Someone changed the escalation policy while you were editing it. Review it as it is now, then make your change again.',
    });
  });

  it('sends the version the change was made from, and on a conflict shows the policy as it is now', async () => {
    renderAt(<EscalationPolicyForm accountId="acc_1" />);
    fireEvent.click(await screen.findByTestId('policy-risk-low'));
    fireEvent.click(screen.getByTestId('policy-save'));
    await waitFor(() => expect(ipc.putEscalationPolicy).toHaveBeenCalledTimes(1));
    expect(vi.mocked(ipc.putEscalationPolicy).mock.calls[0]?.[0]).toMatchObject({ version: 4 });
    await waitFor(() => expect(screen.getByLabelText('Times the ladder runs again')).toHaveValue(2));
    expect(useToasts.getState().toasts.at(-1)?.message).toContain('Someone changed the escalation policy');
  });
});
