import { beforeEach, describe, expect, it, vi } from 'vitest';
import { act, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import type { Stop } from '../bindings';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { StopProgress } from './StopProgress';

vi.mock('../ipc');

const stop = (over: Partial<Stop> = {}): Stop => ({
  id: 'stp_1',
  scope: 'project',
  project_id: 'prj_spring',
  requested_by: 'Olivia Park',
  reason: 'Wrong audience list',
  status: 'pending',
  requested_at: new Date().toISOString(),
  completed_at: null,
  agents_total: 2,
  agents_stopped: 1,
  agents: [
    { agent_id: 'a1', agent_name: 'Quill', project_id: 'prj_spring', acked_at: '2025-03-04T10:41:07Z', forced: false },
    { agent_id: 'a2', agent_name: 'Ledger', project_id: 'prj_spring', acked_at: null, forced: false },
  ],
  version: 1,
  ...over,
});

describe('StopProgress', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it('says each step in one status region a screen reader announces, up to every agent acknowledged', async () => {
    vi.mocked(ipc.latestStop).mockResolvedValue(null);
    const { client } = renderAt(<StopProgress projectId="prj_spring" sending={false} />);
    const region = await screen.findByRole('status');
    expect(region).toHaveAttribute('aria-live', 'polite');
    await waitFor(() => expect(region).toHaveTextContent('Waiting for the server to report the agents'));

    vi.mocked(ipc.latestStop).mockResolvedValue(stop());
    await act(() => client.invalidateQueries());
    await waitFor(() => expect(region).toHaveTextContent('Stopping — waiting for agents'));
    expect(region).toHaveTextContent('1 of 2 agents stopped');

    const acked = stop().agents.map((a) => ({ ...a, acked_at: '2025-03-04T10:41:08Z' }));
    vi.mocked(ipc.latestStop).mockResolvedValue(stop({ status: 'completed', agents_stopped: 2, agents: acked, version: 2 }));
    await act(() => client.invalidateQueries());
    // The same region, so the change is announced, not a new one.
    await waitFor(() => expect(region).toHaveTextContent('Stopped — every agent acknowledged'));
    expect(region).toHaveTextContent('2 of 2 agents stopped');
    expect(screen.getByRole('status')).toBe(region);
  });
});
