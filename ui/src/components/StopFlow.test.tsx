import { beforeEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { setPhone } from '../test/setup';
import { outboxEntry } from '../test/fixtures';
import { StopFlow, phraseMatches } from './StopFlow';
import { StopAgents } from './StopProgress';
import { HOLD_HINT_MS } from './HoldButton';

vi.mock('../ipc');

const queued = { entry: outboxEntry(), delivered: true, outcome: null, waiting_because: null };
const target = { scope: 'project' as const, projectId: 'prj_spring', projectName: 'Spring Sale' };

describe('type-to-confirm stop (desktop)', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
    vi.mocked(ipc.stopProject).mockResolvedValue(queued);
  });

  it('stays disabled until the project name is typed, then stops exactly once', async () => {
    renderAt(<StopFlow target={target} open onOpenChange={() => {}} />);
    const confirm = screen.getByTestId('stop-confirm-button');
    const field = screen.getByTestId('stop-confirm-input');
    expect(confirm).toBeDisabled();
    expect(screen.queryByTestId('stop-confirm-hint')).toBeNull();
    fireEvent.change(field, { target: { value: 'Spring' } });
    expect(confirm).toBeDisabled();
    // Why it stays disabled, in words, and said with the field.
    expect(screen.getByTestId('stop-confirm-hint')).toHaveTextContent(/Doesn.t match the name yet/);
    expect(field).toHaveAccessibleDescription(/Doesn.t match the name yet/);
    fireEvent.change(field, { target: { value: 'Spring Sale' } });
    expect(screen.queryByTestId('stop-confirm-hint')).toBeNull();
    fireEvent.change(screen.getByTestId('stop-reason'), { target: { value: 'Wrong audience list' } });
    expect(confirm).toBeEnabled();
    fireEvent.click(confirm);
    fireEvent.click(confirm);
    await waitFor(() => expect(screen.getByTestId('stop-progress')).toBeInTheDocument());
    expect(ipc.stopProject).toHaveBeenCalledTimes(1);
    expect(ipc.stopProject).toHaveBeenCalledWith('prj_spring', 'Wrong audience list');
    expect(ipc.stopAll).not.toHaveBeenCalled();
  });

  it('says the server refused the stop, and keeps the form to correct and send again', async () => {
    const refusal = {
      at: new Date().toISOString(),
      result: 'refused' as const,
      action: 'Stop Spring Sale',
      message: '`reason` is longer than 1000 characters.',
      approval_id: null,
      project_id: 'prj_spring',
    };
    vi.mocked(ipc.stopProject).mockResolvedValueOnce({ ...queued, delivered: false, outcome: refusal });
    renderAt(<StopFlow target={target} open onOpenChange={() => {}} />);
    fireEvent.change(screen.getByTestId('stop-confirm-input'), { target: { value: 'Spring Sale' } });
    fireEvent.click(screen.getByTestId('stop-confirm-button'));
    expect(await screen.findByTestId('stop-refused')).toHaveTextContent('nothing was stopped. `reason` is longer than 1000 characters.');
    expect(screen.queryByTestId('stop-progress')).toBeNull();
    fireEvent.click(screen.getByTestId('stop-confirm-button'));
    await waitFor(() => expect(screen.getByTestId('stop-progress')).toBeInTheDocument());
    expect(ipc.stopProject).toHaveBeenCalledTimes(2);
  });

  it('takes a name as it is seen: runs of spaces as one, without invisible marks', () => {
    const spaced = { ...target, projectName: 'Spring\u00a0 Sale\u200f' };
    expect(phraseMatches('Spring Sale', spaced)).toBe(true);
    expect(phraseMatches('Spring  Sale ', spaced)).toBe(true);
    expect(phraseMatches('Spring', spaced)).toBe(false);
    expect(phraseMatches('Cafe\u0301', { ...target, projectName: 'Café' })).toBe(true);
    // A name that shows as nothing asks for STOP ALL: an empty box never confirms.
    const blank = { ...target, projectName: '\u200b' };
    expect(phraseMatches('', blank)).toBe(false);
    expect(phraseMatches('STOP ALL', blank)).toBe(true);
  });

  it('shows a stop still under way that this one joins, not "waiting for the server"', async () => {
    const pending = {
      id: 'stp_1',
      scope: 'project' as const,
      project_id: 'prj_spring',
      requested_by: 'Olivia Park',
      reason: 'Wrong audience list',
      status: 'pending' as const,
      requested_at: new Date().toISOString(),
      completed_at: null,
      agents_total: 1,
      agents_stopped: 0,
      agents: [{ agent_id: 'a1', agent_name: 'Quill', project_id: 'prj_spring', acked_at: null, forced: false }],
      version: 1,
    };
    vi.mocked(ipc.latestStop).mockResolvedValue(pending);
    renderAt(<StopFlow target={target} open onOpenChange={() => {}} />);
    fireEvent.change(screen.getByTestId('stop-confirm-input'), { target: { value: 'Spring Sale' } });
    fireEvent.click(screen.getByTestId('stop-confirm-button'));
    await waitFor(() => expect(screen.getByTestId('stop-progress')).toHaveAttribute('data-stop-id', 'stp_1'));
  });

  it('asks for STOP ALL for the whole tenant', () => {
    expect(phraseMatches('STOP ALL', { scope: 'tenant' })).toBe(true);
    expect(phraseMatches('stop all', { scope: 'tenant' })).toBe(true);
    expect(phraseMatches('STOP', { scope: 'tenant' })).toBe(false);
  });

  it('takes the name as a keyboard types it: any dash, either quote, any case', () => {
    const dashed = { ...target, projectName: 'Spring Sale 2027 \u2014 Paid Social' };
    expect(phraseMatches('Spring Sale 2027 - Paid Social', dashed)).toBe(true);
    expect(phraseMatches('spring sale 2027 \u2013 paid social', dashed)).toBe(true);
    expect(phraseMatches('SPRING SALE 2027 \u2212 PAID SOCIAL', dashed)).toBe(true);
    expect(phraseMatches('Spring Sale 2027 Paid Social', dashed)).toBe(false);
    const quoted = { ...target, projectName: 'Mother\u2019s Day \u201cThank you\u201d' };
    expect(phraseMatches(`mother's day "thank you"`, quoted)).toBe(true);
    expect(phraseMatches('Mothers Day Thank you', quoted)).toBe(false);
    // Full-width letters fold too (NFKC).
    expect(phraseMatches('\uff33pring Sale', target)).toBe(true);
  });

  it('enables the stop for the name typed with a hyphen for its em dash, in another case', () => {
    renderAt(<StopFlow target={{ ...target, projectName: 'Spring Sale 2027 \u2014 Paid Social' }} open onOpenChange={() => {}} />);
    fireEvent.change(screen.getByTestId('stop-confirm-input'), { target: { value: 'spring sale 2027 - paid social' } });
    expect(screen.getByTestId('stop-confirm-button')).toBeEnabled();
    expect(screen.queryByTestId('stop-confirm-hint')).toBeNull();
  });

  it('shows each agent acknowledging, and the forced ones in red', async () => {
    vi.mocked(ipc.latestStop).mockResolvedValueOnce(null).mockResolvedValue({
      id: 'stp_2',
      scope: 'project',
      project_id: 'prj_spring',
      requested_by: 'Olivia Park',
      reason: 'Wrong audience list',
      status: 'partial',
      requested_at: new Date().toISOString(),
      completed_at: new Date().toISOString(),
      agents_total: 2,
      agents_stopped: 2,
      agents: [
        { agent_id: 'a1', agent_name: 'Quill', project_id: 'prj_spring', acked_at: '2025-03-04T10:41:07Z', forced: false },
        { agent_id: 'a2', agent_name: 'Ledger', project_id: 'prj_spring', acked_at: null, forced: true },
      ],
      version: 2,
    });
    renderAt(<StopFlow target={target} open onOpenChange={() => {}} />);
    fireEvent.change(screen.getByTestId('stop-confirm-input'), { target: { value: 'Spring Sale' } });
    fireEvent.click(screen.getByTestId('stop-confirm-button'));
    await waitFor(() => expect(screen.getByTestId('stop-progress')).toHaveAttribute('data-status', 'partial'));
    const [quill, ledger] = screen.getAllByTestId('stop-agent');
    expect(quill).toHaveAttribute('data-acked', 'true');
    expect(ledger).toHaveAttribute('data-forced', 'true');
    expect(ledger).toHaveTextContent('forced — never answered');
  });
});

describe('a stop lifted by a resume', () => {
  it('says which agents were resumed before they answered, without a spinner', () => {
    const stop = {
      id: 'stp_3',
      scope: 'project' as const,
      project_id: 'prj_spring',
      requested_by: 'Olivia Park',
      reason: 'Checking the list',
      status: 'completed' as const,
      requested_at: new Date().toISOString(),
      completed_at: new Date().toISOString(),
      agents_total: 2,
      agents_stopped: 1,
      agents: [
        { agent_id: 'a1', agent_name: 'Quill', project_id: 'prj_spring', acked_at: '2025-03-04T10:41:07Z', forced: false },
        { agent_id: 'a2', agent_name: 'Ledger', project_id: 'prj_spring', acked_at: null, forced: false, resumed_at: '2025-03-04T10:41:09Z' },
      ],
      version: 3,
    };
    render(<StopAgents stop={stop} />);
    const [quill, ledger] = screen.getAllByTestId('stop-agent');
    expect(quill).toHaveAttribute('data-resumed', 'false');
    expect(ledger).toHaveAttribute('data-resumed', 'true');
    expect(ledger).toHaveTextContent('before it stopped');
    expect(ledger).not.toHaveTextContent('waiting');
  });
});

describe('press-and-hold stop (phone)', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
    vi.mocked(ipc.stopAll).mockResolvedValue(queued);
    setPhone(true);
  });

  it('names the organisation that stop all stops', async () => {
    renderAt(<StopFlow target={{ scope: 'tenant' }} open onOpenChange={() => {}} />);
    expect(await screen.findByText(/Stop all projects of Acme Ads/)).toBeInTheDocument();
  });

  it('has no text field and fires only after a 1.5 s hold', async () => {
    vi.useFakeTimers({ toFake: ['requestAnimationFrame', 'cancelAnimationFrame', 'performance', 'Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      renderAt(<StopFlow target={{ scope: 'tenant' }} open onOpenChange={() => {}} />);
      expect(screen.queryByTestId('stop-confirm-input')).toBeNull();
      const hold = screen.getByTestId('stop-hold-button');

      // Let go early: nothing happens.
      fireEvent.keyDown(hold, { key: ' ' });
      await act(async () => vi.advanceTimersByTime(700));
      fireEvent.keyUp(hold, { key: ' ' });
      await act(async () => vi.advanceTimersByTime(2000));
      expect(ipc.stopAll).not.toHaveBeenCalled();
      expect(hold).toHaveAttribute('data-progress', '0');

      // Hold for the full time.
      fireEvent.keyDown(hold, { key: 'Enter' });
      await act(async () => vi.advanceTimersByTime(1600));
      expect(ipc.stopAll).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('says "Keep holding to stop" on a plain click (a screen reader\'s double-tap), and stops nothing', async () => {
    vi.useFakeTimers({ toFake: ['requestAnimationFrame', 'cancelAnimationFrame', 'performance', 'Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      renderAt(<StopFlow target={{ scope: 'tenant' }} open onOpenChange={() => {}} />);
      const hint = screen.getByTestId('stop-hold-button-hint');
      expect(hint).toHaveAttribute('role', 'status');
      expect(hint).toBeEmptyDOMElement();
      fireEvent.click(screen.getByTestId('stop-hold-button'));
      expect(hint).toHaveTextContent('Keep holding to stop');
      await act(async () => vi.advanceTimersByTime(HOLD_HINT_MS + 100));
      expect(hint).toBeEmptyDOMElement();
      expect(ipc.stopAll).not.toHaveBeenCalled();

      // The click that ends a full hold says nothing.
      const hold = screen.getByTestId('stop-hold-button');
      fireEvent.pointerDown(hold);
      await act(async () => vi.advanceTimersByTime(1600));
      fireEvent.pointerUp(hold);
      fireEvent.click(hold);
      expect(ipc.stopAll).toHaveBeenCalledTimes(1);
      expect(screen.queryByText('Keep holding to stop')).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it('can be held again after the stop failed to queue', async () => {
    vi.mocked(ipc.stopAll).mockRejectedValueOnce(Object.assign(new Error('No account is signed in.'), { code: 'no_account' }));
    vi.useFakeTimers({ toFake: ['requestAnimationFrame', 'cancelAnimationFrame', 'performance', 'Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    try {
      renderAt(<StopFlow target={{ scope: 'tenant' }} open onOpenChange={() => {}} />);
      const hold = screen.getByTestId('stop-hold-button');
      fireEvent.keyDown(hold, { key: 'Enter' });
      await act(async () => vi.advanceTimersByTime(1600));
      fireEvent.keyUp(hold, { key: 'Enter' });
      await act(async () => vi.advanceTimersByTime(100));
      expect(ipc.stopAll).toHaveBeenCalledTimes(1);
      expect(hold).toHaveAttribute('data-progress', '0');
      fireEvent.keyDown(hold, { key: 'Enter' });
      await act(async () => vi.advanceTimersByTime(1600));
      expect(ipc.stopAll).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
