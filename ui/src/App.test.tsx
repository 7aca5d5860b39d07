import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import * as ipc from './ipc';
import { mockIpc } from './test/ipcMock';
import { setPhone } from './test/setup';
import { account, appState, projectView, summary } from './test/fixtures';
import { App } from './App';

vi.mock('./ipc');

describe('App', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    window.location.hash = '';
    mockIpc();
  });

  it('asks a signed-out user to sign in and shows the server’s refusal in words', async () => {
    vi.mocked(ipc.appState).mockResolvedValue({ accounts: [], active: null, desktop: true });
    vi.mocked(ipc.signIn).mockRejectedValue({ code: 'forbidden', message: 'Wrong email or password.' });
    render(<App />);
    expect(await screen.findByTestId('signin-server')).toHaveValue('http://127.0.0.1:8080');
    fireEvent.change(screen.getByTestId('signin-email'), { target: { value: 'oncall@acme.test' } });
    fireEvent.change(screen.getByTestId('signin-password'), { target: { value: 'nope' } });
    fireEvent.click(screen.getByTestId('signin-submit'));
    expect(await screen.findByTestId('signin-error')).toHaveTextContent('Wrong email or password.');
    expect(ipc.signIn).toHaveBeenCalledWith('http://127.0.0.1:8080', 'oncall@acme.test', 'nope');
  });

  it('shows its window, hidden at launch, with the sign-in screen', async () => {
    vi.mocked(ipc.appState).mockResolvedValue({ accounts: [], active: null, desktop: true });
    render(<App />);
    await screen.findByTestId('signin-server');
    await waitFor(() => expect(ipc.showWindow).toHaveBeenCalledTimes(1));
  });

  it('shows its window with the dashboard only once the projects are read', async () => {
    let answer: (projects: Awaited<ReturnType<typeof ipc.dashboard>>) => void = () => undefined;
    vi.mocked(ipc.dashboard).mockReturnValue(new Promise((resolve) => (answer = resolve)));
    render(<App />);
    await screen.findByTestId('dashboard');
    await waitFor(() => expect(ipc.dashboard).toHaveBeenCalled());
    expect(ipc.showWindow).not.toHaveBeenCalled();
    answer([summary()]);
    await screen.findByTestId('project-row');
    await waitFor(() => expect(ipc.showWindow).toHaveBeenCalledTimes(1));
  });

  it('offers the accounts already signed in', async () => {
    const a = account('manager');
    vi.mocked(ipc.appState).mockResolvedValue({ accounts: [a], active: null, desktop: true });
    vi.mocked(ipc.switchAccount).mockResolvedValue(a);
    render(<App />);
    const option = await screen.findByTestId('account-option');
    expect(option).toHaveAttribute('data-account-id', 'acme-manager');
    fireEvent.click(option);
    await waitFor(() => expect(ipc.switchAccount).toHaveBeenCalledWith('acme-manager'));
  });

  it('names the screen in the document title, and the project on its page', async () => {
    vi.mocked(ipc.dashboard).mockResolvedValue([summary()]);
    vi.mocked(ipc.project).mockResolvedValue(projectView());
    render(<App />);
    await screen.findByTestId('project-row');
    expect(document.title).toBe('Dashboard — Spartex Control');
    fireEvent.click(screen.getByTestId('nav-approvals'));
    await waitFor(() => expect(document.title).toBe('Approvals — Spartex Control'));
    fireEvent.click(screen.getByTestId('nav-dashboard'));
    fireEvent.click(await screen.findByTestId('project-row'));
    await screen.findByTestId('project-title');
    await waitFor(() => expect(document.title).toBe('Spring Sale — Spartex Control'));
  });

  it('shows each navigation target once on desktop, with the pending count', async () => {
    render(<App />);
    for (const id of ['nav-dashboard', 'nav-approvals', 'nav-projects', 'nav-oncall', 'nav-settings']) {
      expect(await screen.findAllByTestId(id)).toHaveLength(1);
    }
    expect(screen.getByTestId('nav-approvals-count')).toHaveTextContent('0');
    expect(await screen.findByTestId('stop-all-button')).toBeInTheDocument();
    expect(screen.getByTestId('account-menu')).toBeInTheDocument();
  });

  it('uses the bottom navigation on a phone', async () => {
    setPhone(true);
    render(<App />);
    const nav = await screen.findByTestId('nav-approvals');
    expect(nav.closest('nav')).toHaveClass('grid-cols-5');
    expect(screen.getAllByTestId('nav-dashboard')).toHaveLength(1);
  });

  it('shows a viewer no Stop all', async () => {
    vi.mocked(ipc.appState).mockResolvedValue(appState('viewer'));
    render(<App />);
    await screen.findByTestId('dashboard');
    expect(screen.queryByTestId('stop-all-button')).toBeNull();
  });
});
