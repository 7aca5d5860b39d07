// First in the bundle: its mark tells the script's parse from its modules' evaluation.
import './lib/bundleStart';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import './index.css';
import { App } from './App';
import * as ipc from './ipc';
import { changeFeed } from './state/changeFeed';
import { keys } from './state/keys';
import { readStatus } from './state/queries';
import { makeQueryClient } from './state/queryClient';
import { markStartup } from './lib/startupMarks';
import { hasFirstFrame, showFirstFrame } from './lib/firstFrame';
import { applyChosenTheme } from './state/theme';

markStartup('script');

const MOUNT_AT_THE_LATEST_MS = 1_000;

const client = makeQueryClient();
/** `read`, noting in the startup marks when its first answer arrived. */
const marked =
  <T,>(step: string, read: () => Promise<T>) =>
  () =>
    read().then((value) => {
      markStartup(step);
      return value;
    });
// The first screen's reads start before React mounts: one wave of commands instead of a chain
// (app state, then the layout, then the dashboard). A read that fails here (nobody signed in
// yet) is simply read again when its screen mounts. They wait for the change listener, so that
// nothing that changes after them is missed and none has to be taken twice.
const prefetch = () => {
  markStartup('feed');
  return Promise.all([
    client.prefetchQuery({ queryKey: keys.appState, queryFn: marked('app_state', ipc.appState) }),
    client.prefetchQuery({ queryKey: keys.status, queryFn: marked('status', readStatus) }),
    client.prefetchQuery({ queryKey: keys.dashboard, queryFn: marked('dashboard', ipc.dashboard) }),
  ]);
};
const firstReads = changeFeed.start(ipc.onChanges).then(prefetch, prefetch); // outside Tauri there are no events

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
const mount = () =>
  createRoot(root).render(
    <StrictMode>
      <App client={client} />
    </StrictMode>,
  );
// With a first frame on screen, React waits until it has been painted and the first reads are
// in: its first commit then replaces the frame with the live dashboard, not with a spinner.
// Past a second (reads that slow), the app mounts anyway and shows what it has.
if (hasFirstFrame()) {
  applyChosenTheme();
  const longest = new Promise((resolve) => setTimeout(resolve, MOUNT_AT_THE_LATEST_MS));
  void Promise.race([Promise.all([showFirstFrame(), firstReads]), longest]).then(mount);
} else {
  mount();
}
