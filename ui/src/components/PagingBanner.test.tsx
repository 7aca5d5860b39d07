import { beforeEach, describe, expect, it, vi } from 'vitest';
import { screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { appState } from '../test/fixtures';
import { renderAt } from '../test/render';
import { PagingBanner } from './PagingBanner';

vi.mock('../ipc');

const OFF =
  "Notifications are turned off for Spartex Control, so this phone will not be paged. Turn them on in the phone's settings, then open the app again.";

describe('a phone that will not be paged', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it('says so, in words the person can act on', async () => {
    vi.mocked(ipc.appState).mockResolvedValue({ ...appState(), desktop: false });
    vi.mocked(ipc.pagingProblem).mockResolvedValue(OFF);
    renderAt(<PagingBanner />);
    expect(await screen.findByTestId('paging-problem')).toHaveTextContent('this phone will not be paged');
  });

  it('says nothing once the phone is registered', async () => {
    vi.mocked(ipc.appState).mockResolvedValue({ ...appState(), desktop: false });
    renderAt(<PagingBanner />);
    await waitFor(() => expect(ipc.pagingProblem).toHaveBeenCalled());
    expect(screen.queryByTestId('paging-problem')).not.toBeInTheDocument();
  });

});

const NO_SERVICE =
  'No notification service answers on this computer, so you are not alerted here and the escalation ladder does not count on it. Start your desktop\'s notification daemon (such as dunst or mako), or make sure your phone is paged.';

describe('a desktop that alerts nobody', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
  });

  it('says no notification service shows its notifications', async () => {
    vi.mocked(ipc.pagingProblem).mockResolvedValue(NO_SERVICE);
    renderAt(<PagingBanner />);
    expect(await screen.findByTestId('paging-problem')).toHaveTextContent('not alerted here');
  });

  it('says nothing while its notifications are shown', async () => {
    renderAt(<PagingBanner />);
    await waitFor(() => expect(ipc.pagingProblem).toHaveBeenCalled());
    expect(screen.queryByTestId('paging-problem')).not.toBeInTheDocument();
  });
});
