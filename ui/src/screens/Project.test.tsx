import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import type { Role } from '../bindings';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { agent, appState, project, projectView } from '../test/fixtures';
import { ProjectPage } from './Project';

vi.mock('../ipc');

function show(role: Role, status: 'active' | 'stopped' = 'active') {
  mockIpc();
  vi.mocked(ipc.appState).mockResolvedValue(appState(role));
  vi.mocked(ipc.project).mockResolvedValue(
    projectView({
      project: project({ status }),
      agents: [agent(), agent({ id: 'agt_ledger', name: 'Ledger', role: 'Media Buyer', status: 'waiting_approval' })],
      tasks: [
        { id: 't1', project_id: 'prj_spring', agent_id: 'agt_quill', title: 'Draft three headlines', status: 'running', progress: 60, updated_at: '2025-03-04T10:30:00Z', version: 1 },
      ],
      timeline: [{ at: '2025-03-04T10:31:00Z', kind: 'approval', actor: 'Ledger', text: 'asked to raise the daily budget', approval_id: 'apr_1' }],
    }),
  );
  return renderAt(<ProjectPage />, { path: '/projects/prj_spring', pattern: '/projects/:projectId' });
}

describe('ProjectPage', () => {
  beforeEach(() => vi.clearAllMocks());

  it('shows agents with their status, tasks, the timeline and the chat', async () => {
    show('oncall');
    expect(await screen.findByTestId('project-page')).toHaveAttribute('data-project-id', 'prj_spring');
    expect(screen.getByTestId('project-title')).toHaveTextContent('Spring Sale');
    const rows = screen.getAllByTestId('agent-row');
    expect(rows.map((r) => r.dataset.agentName)).toEqual(['Quill', 'Ledger']);
    expect(rows[1]).toHaveAttribute('data-status', 'waiting_approval');
    expect(rows[1]).toHaveTextContent('Waiting for approval');
    expect(screen.getByTestId('task-row')).toHaveTextContent('60 %');
    expect(screen.getByTestId('timeline-item')).toHaveTextContent('Ledger asked to raise the daily budget');
    // The chart is a chunk of its own (recharts), imported on first use: on a busy machine that
    // takes longer than the default second.
    expect(await screen.findByTestId('spend-chart', {}, { timeout: 10_000 })).toBeInTheDocument();
    expect(screen.getByTestId('chat-target')).toBeInTheDocument();
    expect(screen.getByTestId('project-budget')).toHaveTextContent('$412 of $1,000 (41 %)');
  });

  it('gives on-call staff the emergency stop but not resume', async () => {
    show('oncall', 'stopped');
    expect(await screen.findByTestId('project-stop-button')).toBeInTheDocument();
    expect(screen.queryByTestId('project-resume-button')).toBeNull();
  });

  it('lets a manager resume a stopped project', async () => {
    show('manager', 'stopped');
    vi.mocked(ipc.resume).mockResolvedValue({ entry: {} as never, delivered: true, outcome: null, waiting_because: null });
    fireEvent.click(await screen.findByTestId('project-resume-button'));
    await waitFor(() => expect(ipc.resume).toHaveBeenCalledWith('prj_spring'));
  });

  it('shows a viewer no stop, no resume and no chat input', async () => {
    show('viewer', 'stopped');
    await screen.findByTestId('project-page');
    await waitFor(() => expect(ipc.appState).toHaveBeenCalled());
    await new Promise((r) => setTimeout(r, 10));
    expect(screen.queryByTestId('project-stop-button')).toBeNull();
    expect(screen.queryByTestId('project-resume-button')).toBeNull();
    expect(screen.queryByTestId('chat-input')).toBeNull();
  });

  it('sends a chat message with Enter', async () => {
    show('oncall');
    vi.mocked(ipc.sendMessage).mockResolvedValue({ entry: {} as never, delivered: true, outcome: null, waiting_because: null });
    const input = await screen.findByTestId('chat-input');
    fireEvent.change(input, { target: { value: "What's the status?" } });
    fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(ipc.sendMessage).toHaveBeenCalledWith('prj_spring', null, "What's the status?"));
    await waitFor(() => expect(input).toHaveValue(''));
  });

  it('shows the project thread apart from the agents’ threads, with "sending…" for local messages', async () => {
    show('oncall');
    const msg = (id: string, agent_id: string | null, author_kind: 'user' | 'agent', sending: boolean) => ({
      message: { id, project_id: 'prj_spring', agent_id, author_kind, author_id: author_kind === 'user' ? 'usr_oncall' : agent_id, author_name: author_kind === 'user' ? 'Olivia Park' : 'Quill', body: `body ${id}`, created_at: '2025-03-04T10:30:00Z', client_msg_id: null },
      sending,
    });
    const local = msg('m1', null, 'user', true);
    const quills = msg('m2', 'agt_quill', 'agent', false);
    // The core reads each thread by itself (an agent's chatter cannot push the project's out).
    vi.mocked(ipc.messages).mockImplementation(async (_project, thread) => (thread.kind === 'project' ? [local] : [quills]));
    await screen.findByTestId('project-page');
    const shown = await screen.findAllByTestId('chat-message');
    expect(ipc.messages).toHaveBeenCalledWith('prj_spring', { kind: 'project' }, 200);
    expect(shown).toHaveLength(1);
    expect(shown[0]).toHaveAttribute('data-sending', 'true');
    expect(shown[0]).toHaveTextContent('sending…');
    fireEvent.change(screen.getByTestId('chat-target'), { target: { value: 'agt_quill' } });
    await waitFor(() => expect(ipc.messages).toHaveBeenCalledWith('prj_spring', { kind: 'agent', agent_id: 'agt_quill' }, 200));
    await waitFor(() => expect(screen.getByTestId('chat-message')).toHaveTextContent('body m2'));
  });

  it('scrolls to a new message when the thread is a full page, whose count does not change', async () => {
    show('oncall');
    const page = (first: number) =>
      Array.from({ length: 200 }, (_, i) => ({
        message: { id: `m${first + i}`, project_id: 'prj_spring', agent_id: null, author_kind: 'agent' as const, author_id: 'agt_quill', author_name: 'Quill', body: `body ${first + i}`, created_at: '2025-03-04T10:30:00Z', client_msg_id: null },
        sending: false,
      }));
    vi.mocked(ipc.messages).mockResolvedValue(page(0));
    await screen.findByTestId('project-page');
    await waitFor(() => expect(screen.getAllByTestId('chat-message')).toHaveLength(200));
    const list = screen.getByRole('list', { name: 'Messages' });
    const scrolledTo: number[] = [];
    Object.defineProperty(list, 'scrollHeight', { configurable: true, get: () => 9_000 });
    Object.defineProperty(list, 'scrollTop', { configurable: true, get: () => 0, set: (v: number) => scrolledTo.push(v) });
    // The oldest leaves the page as the newest arrives (here, after the manager writes).
    vi.mocked(ipc.messages).mockResolvedValue(page(1));
    const input = screen.getByTestId('chat-input');
    fireEvent.change(input, { target: { value: 'Ship it' } });
    fireEvent.keyDown(input, { key: 'Enter' });
    await waitFor(() => expect(screen.getAllByTestId('chat-message').at(-1)).toHaveTextContent('body 200'));
    await waitFor(() => expect(scrolledTo).toContain(9_000));
  });
});
