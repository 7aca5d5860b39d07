import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { outboxEntry, status } from '../test/fixtures';
import { StatusBar, linkWords } from './StatusBar';

vi.mock('../ipc');

describe('StatusBar', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it('never pretends to be live: the link in words', () => {
    expect(linkWords('connected', null)).toBe('Live');
    expect(linkWords('connecting', null)).toBe('Connecting…');
    expect(linkWords('offline', '2025-03-04T10:42:00')).toBe('Offline — data from 10:42');
    expect(linkWords('signed_out', null)).toBe('Signed out — sign in again');
    expect(linkWords('disk_full', '2025-03-04T10:42:00')).toBe('Disk full — free some space; data from 10:42');
    expect(linkWords('disk_full', null)).toBe('Disk full — free some space');
    const twoMinutesLater = Date.parse('2025-03-04T10:44:00');
    expect(linkWords('offline', '2025-03-04T10:42:00', twoMinutesLater)).toBe('Offline — data from 10:42 (2 min ago)');
    expect(linkWords('connecting', '2025-03-04T10:42:00', twoMinutesLater)).toBe('Connecting… — data from 10:42 (2 min ago)');
  });

  it.each([false, true])('says one thing when not connected, never "Synced just now" (phone: %s)', async (phone) => {
    const at = new Date(Date.now() - 2 * 60_000);
    const clock = `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
    vi.mocked(ipc.status).mockResolvedValue(status({ link: 'offline', last_sync_at: at.toISOString() }));
    renderAt(<StatusBar phone={phone} />);
    const link = await screen.findByTestId('status-link');
    expect(link).toHaveTextContent(`Offline — data from ${clock} (2 min ago)`);
    expect(screen.queryByTestId('status-last-sync')).toBeNull();
    expect(screen.getByRole('contentinfo')).not.toHaveTextContent(/Synced|Live/);
  });

  it('says when it last synced while live', async () => {
    vi.mocked(ipc.status).mockResolvedValue(status({ link: 'connected', last_sync_at: new Date().toISOString() }));
    renderAt(<StatusBar phone={false} />);
    expect(await screen.findByTestId('status-link')).toHaveTextContent('Live');
    expect(screen.getByTestId('status-last-sync')).toHaveTextContent('Synced just now');
  });

  it('shows the link, the outbox count and lists what waits', async () => {
    const entries = [outboxEntry(), outboxEntry({ id: 2, kind: 'message', label: 'Message to Quill', attempts: 0, last_error: null })];
    vi.mocked(ipc.status).mockResolvedValue(status({ link: 'offline', outbox: entries }));
    vi.mocked(ipc.outbox).mockResolvedValue(entries);
    renderAt(<StatusBar phone={false} />);
    expect(await screen.findByTestId('status-link')).toHaveAttribute('data-link', 'offline');
    const box = await screen.findByTestId('status-outbox');
    expect(box).toHaveAttribute('data-count', '2');
    expect(box).toHaveTextContent('2');
    fireEvent.click(box);
    const rows = await screen.findAllByTestId('outbox-entry');
    expect(rows[0]).toHaveTextContent('Stop “Spring Sale”');
    expect(rows[0]).toHaveTextContent('2 attempts');
    expect(rows[0]).toHaveTextContent('The server cannot be reached.');
  });

  it('asks for an update when the server sent what this version cannot read, and only then', async () => {
    vi.mocked(ipc.status).mockResolvedValue(status({ unreadable_events: 3 }));
    renderAt(<StatusBar phone={false} />);
    expect(await screen.findByTestId('status-unreadable')).toHaveTextContent('Update Spartex Control to show 3 updates from the server');
  });

  it('names the actions a newer version queued, which only it can send', async () => {
    vi.mocked(ipc.status).mockResolvedValue(status({ actions_for_a_newer_version: ['Pause the agents of Spring Sale'] }));
    renderAt(<StatusBar phone={false} />);
    expect(await screen.findByTestId('status-unreadable')).toHaveTextContent(
      'Update Spartex Control to send 1 queued action (Pause the agents of Spring Sale)',
    );
  });

  it('says nothing of updates when everything could be read', async () => {
    vi.mocked(ipc.status).mockResolvedValue(status());
    renderAt(<StatusBar phone={false} />);
    await screen.findByTestId('status-link');
    expect(screen.queryByTestId('status-unreadable')).toBeNull();
  });
});
