import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { appState } from '../test/fixtures';
import { Settings } from './Settings';

vi.mock('../ipc');

describe('Settings', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it("lets an owner keep project and request names off every member's lock screen", async () => {
    vi.mocked(ipc.appState).mockResolvedValue(appState('owner'));
    vi.mocked(ipc.setTenantSettings).mockResolvedValue({ push_detail: 'minimal' });
    renderAt(<Settings />);
    const select = await screen.findByTestId<HTMLSelectElement>('push-detail-select');
    await waitFor(() => expect(select.value).toBe('full'));
    fireEvent.change(select, { target: { value: 'minimal' } });
    await waitFor(() => expect(ipc.setTenantSettings).toHaveBeenCalledWith({ push_detail: 'minimal' }));
    await waitFor(() => expect(select.value).toBe('minimal'));
  });

  it('shows the organisation settings to owners only', async () => {
    vi.mocked(ipc.appState).mockResolvedValue(appState('manager'));
    renderAt(<Settings />);
    await screen.findByTestId('notifications-enabled');
    expect(screen.queryByTestId('push-detail-select')).toBeNull();
    expect(ipc.tenantSettings).not.toHaveBeenCalled();
  });
});
