import { beforeEach, describe, expect, it, vi } from 'vitest';
import { screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { account, outboxEntry, summary } from '../test/fixtures';
import { StopBanner } from './StopBanner';

vi.mock('../ipc');

describe('StopBanner', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it('is loud while a project says its stop is sending', async () => {
    vi.mocked(ipc.dashboard).mockResolvedValue([summary({ stop_sending: true })]);
    renderAt(<StopBanner />);
    expect(await screen.findByTestId('stop-not-delivered-banner')).toHaveTextContent(
      'Emergency stop not yet delivered — it will be sent the moment the connection returns',
    );
  });

  it('is loud while a stop waits in the outbox', async () => {
    vi.mocked(ipc.outbox).mockResolvedValue([outboxEntry({ kind: 'stop' })]);
    renderAt(<StopBanner />);
    expect(await screen.findByTestId('stop-not-delivered-banner')).toBeInTheDocument();
  });

  it('names the organisation no longer shown whose stop is still on its way', async () => {
    vi.mocked(ipc.stopsElsewhere).mockResolvedValue([{ account: account(), label: 'Stop “Spring Sale”' }]);
    renderAt(<StopBanner />);
    expect(await screen.findByTestId('stop-not-delivered-banner')).toHaveTextContent(
      `Emergency stop in ${account().tenant.name} not yet delivered — it will be sent the moment the connection returns`,
    );
  });

  it('stays away when only other actions are queued', async () => {
    vi.mocked(ipc.dashboard).mockResolvedValue([summary()]);
    vi.mocked(ipc.outbox).mockResolvedValue([outboxEntry({ kind: 'decision', label: 'Approve “Publish”' })]);
    renderAt(<StopBanner />);
    await waitFor(() => expect(ipc.outbox).toHaveBeenCalled());
    await waitFor(() => expect(ipc.dashboard).toHaveBeenCalled());
    expect(screen.queryByTestId('stop-not-delivered-banner')).toBeNull();
  });
});
