import { beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import { mockIpc } from '../test/ipcMock';
import { renderAt } from '../test/render';
import { useAccountActions } from '../state/account';
import { SignOutRefused } from './SignOutRefused';

vi.mock('../ipc');

const WAITING = '1 action has not reached the server yet (Approve “Spring hero ad”): signing out would lose it.';

function SignOutButton() {
  const { signOut } = useAccountActions();
  return (
    <button type="button" onClick={() => signOut.mutate({ accountId: 'acc_1' })}>
      Sign out
    </button>
  );
}

describe('signing out with actions not delivered yet', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
    vi.mocked(ipc.signOut)
      .mockRejectedValueOnce({ code: 'undelivered', message: WAITING })
      .mockResolvedValue(null);
  });

  it('names what would be lost, and signs out only when told to lose it', async () => {
    renderAt(
      <>
        <SignOutButton />
        <SignOutRefused />
      </>,
    );
    fireEvent.click(screen.getByText('Sign out'));
    const dialog = await screen.findByTestId('sign-out-refused');
    expect(dialog).toHaveTextContent('Spring hero ad');
    expect(ipc.signOut).toHaveBeenCalledWith('acc_1', false);

    fireEvent.click(screen.getByTestId('sign-out-anyway'));
    await waitFor(() => expect(ipc.signOut).toHaveBeenCalledWith('acc_1', true));
    await waitFor(() => expect(screen.queryByTestId('sign-out-refused')).not.toBeInTheDocument());
  });

  it('stays signed in when the person keeps them', async () => {
    renderAt(
      <>
        <SignOutButton />
        <SignOutRefused />
      </>,
    );
    fireEvent.click(screen.getByText('Sign out'));
    fireEvent.click(await screen.findByText('Stay signed in'));
    await waitFor(() => expect(screen.queryByTestId('sign-out-refused')).not.toBeInTheDocument());
    expect(ipc.signOut).toHaveBeenCalledTimes(1);
  });
});
