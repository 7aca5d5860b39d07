import { beforeEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, screen, waitFor } from '@testing-library/react';
import * as ipc from '../ipc';
import type { QuitRefused as Refusal } from '../bindings';
import { mockIpc } from '../test/ipcMock';
import { appState } from '../test/fixtures';
import { renderAt } from '../test/render';
import { AccountMenu } from './AccountMenu';
import { QuitRefused } from './QuitRefused';
import { useQuitControls } from '../state/quit';

vi.mock('../ipc');

const WAITING =
  '1 action has not reached the server yet: Stop “Spring Sale”. Quitting holds it back until Spartex Control runs again; keep it running to deliver it, or quit anyway.';

function Desktop({ desktop = true }: { desktop?: boolean }) {
  useQuitControls(desktop);
  return (
    <>
      <AccountMenu />
      <QuitRefused />
    </>
  );
}

async function chooseQuit() {
  const menu = await screen.findByTestId('account-menu');
  fireEvent.pointerDown(menu, { button: 0, ctrlKey: false });
  fireEvent.click(await screen.findByTestId('quit-app'));
}

describe('quitting the desktop app', () => {
  beforeEach(() => {
    vi.clearAllMocks();
    mockIpc();
    vi.mocked(ipc.quit).mockRejectedValueOnce({ code: 'undelivered', message: WAITING }).mockResolvedValue(null);
  });

  it('names what waits for the server, and quits only when told to hold it back', async () => {
    renderAt(<Desktop />);
    await chooseQuit();
    const dialog = await screen.findByTestId('quit-refused');
    expect(dialog).toHaveTextContent('Stop “Spring Sale”');
    expect(ipc.quit).toHaveBeenCalledWith(false);

    fireEvent.click(screen.getByTestId('quit-anyway'));
    await waitFor(() => expect(ipc.quit).toHaveBeenCalledWith(true));
  });

  it('keeps running when the person says so', async () => {
    renderAt(<Desktop />);
    await chooseQuit();
    fireEvent.click(await screen.findByTestId('quit-keep-running'));
    await waitFor(() => expect(screen.queryByTestId('quit-refused')).not.toBeInTheDocument());
    expect(ipc.quit).toHaveBeenCalledTimes(1);
  });

  it('asks the same for Ctrl+Q and for the tray’s Quit', async () => {
    let trayRefused: ((payload: Refusal) => void) | undefined;
    vi.mocked(ipc.onQuitRefused).mockImplementation(async (handler) => {
      trayRefused = handler;
      return () => undefined;
    });
    renderAt(<Desktop />);
    await screen.findByTestId('account-menu');
    fireEvent.keyDown(window, { key: 'q', ctrlKey: true });
    expect(await screen.findByTestId('quit-refused')).toHaveTextContent('Spring Sale');
    fireEvent.click(screen.getByTestId('quit-keep-running'));
    await waitFor(() => expect(screen.queryByTestId('quit-refused')).not.toBeInTheDocument());

    await waitFor(() => expect(trayRefused).toBeDefined());
    act(() => trayRefused?.({ message: 'From the tray: 2 actions have not reached the server yet.' }));
    expect(await screen.findByTestId('quit-refused')).toHaveTextContent('From the tray');
    expect(ipc.quitAsked).toHaveBeenCalledTimes(1);
  });

  it('offers no Quit on a phone, whose OS ends its apps', async () => {
    vi.mocked(ipc.appState).mockResolvedValue({ ...appState(), desktop: false });
    renderAt(<Desktop desktop={false} />);
    const menu = await screen.findByTestId('account-menu');
    fireEvent.pointerDown(menu, { button: 0, ctrlKey: false });
    await screen.findByTestId('add-account');
    expect(screen.queryByTestId('quit-app')).not.toBeInTheDocument();
    fireEvent.keyDown(window, { key: 'q', ctrlKey: true });
    expect(ipc.quit).not.toHaveBeenCalled();
  });
});
