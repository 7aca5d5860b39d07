import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../../ipc';
import { mockIpc } from '../../test/ipcMock';
import { renderAt } from '../../test/render';
import { outboxEntry } from '../../test/fixtures';
import { ChatPanel } from './ChatPanel';

vi.mock('../../ipc');

const refused = {
  entry: outboxEntry(),
  delivered: false,
  outcome: {
    at: new Date().toISOString(),
    result: 'refused' as const,
    action: 'Message Spring Sale',
    message: '`body` is longer than 16000 characters.',
    approval_id: null,
    project_id: 'prj_spring',
  },
  waiting_because: null,
};

describe('chat', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it('keeps a message the server refused in the box, with why', async () => {
    vi.mocked(ipc.sendMessage).mockResolvedValueOnce(refused);
    renderAt(<ChatPanel projectId="prj_spring" agents={[]} />);
    const box = await screen.findByTestId('chat-input');
    fireEvent.change(box, { target: { value: 'Hold the newsletter until legal signs off' } });
    fireEvent.click(screen.getByTestId('chat-send'));
    expect(await screen.findByTestId('chat-refused')).toHaveTextContent('Not sent: `body` is longer than 16000 characters.');
    expect(box).toHaveValue('Hold the newsletter until legal signs off');
  });

  it('empties the box once the message is taken or queued', async () => {
    vi.mocked(ipc.sendMessage).mockResolvedValueOnce({ ...refused, delivered: true, outcome: null });
    renderAt(<ChatPanel projectId="prj_spring" agents={[]} />);
    const box = await screen.findByTestId('chat-input');
    fireEvent.change(box, { target: { value: 'Thanks, go ahead' } });
    fireEvent.click(screen.getByTestId('chat-send'));
    await waitFor(() => expect(box).toHaveValue(''));
    expect(screen.queryByTestId('chat-refused')).toBeNull();
  });
});
