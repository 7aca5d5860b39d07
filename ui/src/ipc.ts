// Every call into the Rust core goes through this module, so tests can mock it whole
// (`vi.mock('../ipc')`). The core reads from its local cache: these are fast and work offline.
import { invoke } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import type {
  AccountInfo,
  AppState,
  ApprovalView,
  Change,
  CommandError,
  Decision,
  MessageView,
  NotificationPrefs,
  OutboxEntry,
  ProjectSummary,
  ProjectView,
  Queued,
  SearchHit,
  Status,
  Stop,
} from './bindings';

export type { CommandError };

/** What the shell sends with a `navigate` event (deep links, notification clicks). */
export type NavigatePayload = { path: string };

export const CHANGE_EVENT = 'core-change';
export const NAVIGATE_EVENT = 'navigate';

/** True when `value` looks like the `{ code, message }` a failed command rejects with. */
export function isCommandError(value: unknown): value is CommandError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** Any rejection as a CommandError: the core's own, or a local one in words. */
export function toCommandError(error: unknown): CommandError {
  if (isCommandError(error)) return error;
  if (error instanceof Error) return { code: 'local', message: error.message };
  if (typeof error === 'string') return { code: 'local', message: error };
  return { code: 'local', message: 'Something went wrong inside the app. Try again.' };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (error) {
    throw toCommandError(error);
  }
}

export const appState = () => call<AppState>('app_state');
export const signIn = (serverUrl: string, email: string, password: string) =>
  call<AccountInfo>('sign_in', { serverUrl, email, password });
export const switchAccount = (accountId: string) =>
  call<AccountInfo>('switch_account', { accountId });
export const signOut = (accountId: string) => call<null>('sign_out', { accountId });

export const status = () => call<Status>('status');
export const dashboard = () => call<ProjectSummary[]>('dashboard');
export const project = (projectId: string) => call<ProjectView>('project', { projectId });
export const approvals = (pendingOnly: boolean) =>
  call<ApprovalView[]>('approvals', { pendingOnly });
export const approval = (approvalId: string) => call<ApprovalView>('approval', { approvalId });
export const messages = (projectId: string, agentId: string | null, limit = 200) =>
  call<MessageView[]>('messages', { projectId, agentId, limit });

export const decide = (approvalId: string, decision: Decision, comment: string | null) =>
  call<Queued>('decide', { approvalId, decision, comment });
export const sendMessage = (projectId: string, agentId: string | null, body: string) =>
  call<Queued>('send_message', { projectId, agentId, body });
export const stopProject = (projectId: string, reason: string) =>
  call<Queued>('stop_project', { projectId, reason });
export const stopAll = (reason: string) => call<Queued>('stop_all', { reason });
export const resume = (projectId: string) => call<Queued>('resume', { projectId });
export const latestStop = (projectId: string | null) =>
  call<Stop | null>('latest_stop', { projectId });

export const outbox = () => call<OutboxEntry[]>('outbox');
export const search = (text: string) => call<SearchHit[]>('search', { text });
export const notificationPrefs = () => call<NotificationPrefs>('notification_prefs');
export const setNotificationPrefs = (prefs: NotificationPrefs) =>
  call<null>('set_notification_prefs', { prefs });
export const syncNow = () => call<null>('sync_now');
export const takeNavigation = () => call<string | null>('take_navigation');
/** Tells the shell a screen first painted with its data (the startup benchmark reads it). */
export const reportPainted = (screen: string, items: number) =>
  // pageMs: since the page started loading, to tell the webview's share from the shell's.
  call<null>('report_painted', { screen, items, pageMs: performance.now() });

/** Subscribes to the core's changes; resolves to the function that unsubscribes. */
export const onChange = (handler: (change: Change) => void): Promise<UnlistenFn> =>
  listen<Change>(CHANGE_EVENT, (event) => handler(event.payload));

/** Subscribes to navigation requests (deep links, notification clicks). */
export const onNavigate = (handler: (path: string) => void): Promise<UnlistenFn> =>
  listen<NavigatePayload>(NAVIGATE_EVENT, (event) => handler(event.payload.path));
