import { addPluginListener, type PluginListener } from '@tauri-apps/api/core';
import * as ipc from '../ipc';

/** The notification plugin's events the shell acts on, and the command each goes to. Only a
 *  phone has the plugin: Rust cannot hear its events, so the UI passes them on as JSON. */
const FORWARDED: Array<[event: string, command: (event: string) => Promise<null>]> = [
  ['push-message', ipc.pushReceived],
  ['actionPerformed', ipc.notificationAction],
  ['notificationClicked', ipc.notificationClicked],
];

function report(event: string) {
  return (error: unknown) => console.warn(`Spartex: the shell did not take ${event}`, error);
}

/** Listens to the phone's pushes, token changes and notification taps; resolves to the
 *  function that stops. Rejects where there is no notification plugin (a desktop). */
export async function listenToPushes(): Promise<() => void> {
  const listeners: PluginListener[] = [];
  const stop = () => listeners.forEach((listener) => void listener.unregister());
  try {
    listeners.push(
      await addPluginListener<{ token?: string }>('notifications', 'push-token', ({ token }) => {
        if (token) ipc.pushTokenChanged(token).catch(report('push-token'));
      }),
    );
    for (const [event, command] of FORWARDED) {
      listeners.push(
        await addPluginListener<unknown>('notifications', event, (payload) => {
          command(JSON.stringify(payload ?? {})).catch(report(event));
        }),
      );
    }
  } catch (error) {
    stop();
    throw error;
  }
  // A tap that started the app waits in the plugin until it is told someone listens.
  ipc.listeningToPushes().catch(report('the listeners'));
  return stop;
}
