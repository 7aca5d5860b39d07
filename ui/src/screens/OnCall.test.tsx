import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import type { OnCallView, User } from '../bindings';
import { appState } from '../test/fixtures';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { msUntilHandoff, OnCall } from './OnCall';

vi.mock('../ipc');

const HOUR = 3_600_000;
const at = (hours: number) => new Date(Date.now() + hours * HOUR).toISOString();
const dana: User = { id: 'usr_dana', email: 'oncall@acme.test', name: 'Dana Whitfield', role: 'oncall' };
const priya: User = { id: 'usr_priya', email: 'priya@acme.test', name: 'Priya Raman', role: 'oncall' };
const marco: User = { id: 'usr_manager', email: 'manager@acme.test', name: 'Marco Rossi', role: 'manager' };

function view(over: Partial<OnCallView> = {}): OnCallView {
  return {
    now: [dana],
    next_handoff_at: at(3),
    schedule: { layers: [], version: null },
    overrides: [],
    week: [
      { starts_at: at(0), ends_at: at(3), user_ids: [dana.id] },
      { starts_at: at(3), ends_at: at(16), user_ids: [priya.id] },
      { starts_at: at(16), ends_at: at(27), user_ids: [dana.id] },
    ],
    people: [dana, priya, marco],
    version: 3,
    live: true,
    ...over,
  };
}

function show(data: OnCallView, role: 'oncall' | 'manager' = 'manager') {
  mockIpc();
  vi.mocked(ipc.appState).mockResolvedValue(appState(role));
  vi.mocked(ipc.oncall).mockResolvedValue(data);
  vi.mocked(ipc.coverShift).mockResolvedValue(view({ now: [priya] }));
  return renderAt(<OnCall />);
}

describe('On call', () => {
  beforeEach(() => vi.clearAllMocks());

  it('shows who is on call now, who is next and the week ahead', async () => {
    show(view());
    expect(await screen.findByTestId('oncall-now')).toHaveTextContent('Dana Whitfield');
    expect(screen.getByTestId('oncall-next')).toHaveTextContent('Priya Raman');
    expect(screen.getAllByTestId('oncall-shift')).toHaveLength(3);
    expect(screen.getByTestId('oncall-page')).toHaveAttribute('data-live', 'true');
    expect(screen.queryByTestId('oncall-offline')).toBeNull();
  });

  it('says when it was worked out offline, and saves no override then', async () => {
    show(view({ live: false }));
    expect(await screen.findByTestId('oncall-offline')).toHaveTextContent('worked out from the schedule last synced');
    expect(screen.getByTestId('cover-button')).toBeDisabled();
  });

  it('lets a manager name who covers, and sends the times as instants', async () => {
    show(view());
    fireEvent.change(await screen.findByTestId('cover-who'), { target: { value: priya.id } });
    fireEvent.click(screen.getByTestId('cover-button'));
    await waitFor(() => expect(ipc.coverShift).toHaveBeenCalledTimes(1));
    const [who, from, to] = vi.mocked(ipc.coverShift).mock.calls[0] ?? ['', '', ''];
    expect(who).toBe(priya.id);
    expect(Date.parse(to) - Date.parse(from)).toBe(4 * HOUR);
    expect(await screen.findByTestId('oncall-now')).toHaveTextContent('Priya Raman');
  });

  it('offers an on-call person only themselves to cover', async () => {
    show(view({ people: [dana, priya, { ...marco, id: 'usr_oncall' }] }), 'oncall');
    const options = Array.from((await screen.findByTestId('cover-who')).querySelectorAll('option'));
    expect(options.map((o) => o.value)).toEqual(['usr_oncall']);
  });
});

describe('msUntilHandoff', () => {
  const now = Date.parse('2026-12-02T12:00:00Z');
  it('reads again just after the next handoff', () => {
    expect(msUntilHandoff(view({ next_handoff_at: '2026-12-02T12:04:00Z' }), now)).toBe(241_000);
  });
  it('never waits more than ten minutes, nor polls faster than every five seconds', () => {
    expect(msUntilHandoff(view({ next_handoff_at: '2026-12-02T18:00:00Z' }), now)).toBe(600_000);
    expect(msUntilHandoff(view({ next_handoff_at: '2026-12-02T11:00:00Z' }), now)).toBe(5_000);
    expect(msUntilHandoff(view({ next_handoff_at: null }), now)).toBe(600_000);
    expect(msUntilHandoff(undefined, now)).toBe(600_000);
  });
});
