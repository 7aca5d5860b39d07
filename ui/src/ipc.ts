// Generated from the command list in src-tauri/src/commands.rs by src-tauri/src/bindings/ipc.rs.
// Do not edit: run `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings`.
//
// Every call into the Rust core goes through this module, so tests can mock it whole
// (`vi.mock('../ipc')`). Each function invokes the command of the same name; a failure rejects
// with a `CommandError`. The core reads from its local cache: these are fast and work offline.
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { call } from './invoke';
import type {
  AccountInfo,
  AppState,
  ApprovalView,
  Change,
  CommandError,
  DashboardJson,
  Decision,
  EscalationPolicy,
  MessageView,
  Navigate,
  NotificationPrefs,
  OnCallView,
  OutboxEntry,
  ProjectView,
  Queued,
  QuitRefused,
  SearchHit,
  Status,
  Stop,
  StopElsewhere,
  TenantSettings,
  Thread,
} from './bindings';

export type { CommandError };
export { isCommandError, toCommandError } from './invoke';

/** The accounts signed in and the one shown; waits for the last one to open again. */
export function appState(): Promise<AppState> {
  return call<AppState>('app_state');
}

/** Signs in and makes the account the active one. */
export function signIn(serverUrl: string, email: string, password: string): Promise<AccountInfo> {
  return call<AccountInfo>('sign_in', { serverUrl, email, password });
}

/** Makes another signed-in account the active one. */
export function switchAccount(accountId: string): Promise<AccountInfo> {
  return call<AccountInfo>('switch_account', { accountId });
}

/**
 * Signs the account out and wipes its cache; refused with `undelivered` while actions wait
 * to reach the server, unless `discard_undelivered`.
 */
export function signOut(accountId: string, discardUndelivered: boolean): Promise<null> {
  return call<null>('sign_out', { accountId, discardUndelivered });
}

/** Emergency stops still on their way from accounts not shown (another organisation). */
export function stopsElsewhere(): Promise<Array<StopElsewhere>> {
  return call<Array<StopElsewhere>>('stops_elsewhere');
}

/** The link, the last sync, the outbox and the recent outcomes. */
export function status(): Promise<Status> {
  return call<Status>('status');
}

/** One row per project, by name, from the cache. */
export function dashboard(): Promise<DashboardJson> {
  return call<DashboardJson>('dashboard');
}

/** One project with its agents, tasks, approvals, chat, stops, spend and timeline. */
export function project(projectId: string): Promise<ProjectView> {
  return call<ProjectView>('project', { projectId });
}

/** The approval requests, with the core's words for what may not be decided now. */
export function approvals(pendingOnly: boolean): Promise<Array<ApprovalView>> {
  return call<Array<ApprovalView>>('approvals', { pendingOnly });
}

/** One approval request, with the core's words for what may not be decided now. */
export function approval(approvalId: string): Promise<ApprovalView> {
  return call<ApprovalView>('approval', { approvalId });
}

/** One of a project's conversations; `limit` defaults to 200 messages. */
export function messages(projectId: string, thread: Thread, limit: number | null): Promise<Array<MessageView>> {
  return call<Array<MessageView>>('messages', { projectId, thread, limit });
}

/** Approves or rejects through the outbox; the core refuses what may not be decided. */
export function decide(approvalId: string, decision: Decision, comment: string | null): Promise<Queued> {
  return call<Queued>('decide', { approvalId, decision, comment });
}

/** "I'm on it": stops the request's escalation ladder; through the outbox. */
export function ackApproval(approvalId: string): Promise<Queued> {
  return call<Queued>('ack_approval', { approvalId });
}

/** Asks the agent of an expired request to propose it again; through the outbox. */
export function askAgain(approvalId: string, comment: string | null): Promise<Queued> {
  return call<Queued>('ask_again', { approvalId, comment });
}

/** Who is on call now and next, and the week ahead; worked out from the cache offline. */
export function oncall(): Promise<OnCallView> {
  return call<OnCallView>('oncall');
}

/** Someone covers a stretch of time ("cover for …"). Online only. */
export function coverShift(userId: string, startsAt: string, endsAt: string): Promise<OnCallView> {
  return call<OnCallView>('cover_shift', { userId, startsAt, endsAt });
}

/** Removes an override. Online only. */
export function removeOverride(overrideId: string): Promise<OnCallView> {
  return call<OnCallView>('remove_override', { overrideId });
}

/** The escalation policy. */
export function escalationPolicy(): Promise<EscalationPolicy> {
  return call<EscalationPolicy>('escalation_policy');
}

/** Saves the escalation policy (managers and owners). Online only. */
export function putEscalationPolicy(policy: EscalationPolicy): Promise<EscalationPolicy> {
  return call<EscalationPolicy>('put_escalation_policy', { policy });
}

/** Sends a message to the project, or to one agent, through the outbox. */
export function sendMessage(projectId: string, agentId: string | null, body: string): Promise<Queued> {
  return call<Queued>('send_message', { projectId, agentId, body });
}

/** The emergency stop of one project, first in the outbox; an empty reason gets a default. */
export function stopProject(projectId: string, reason: string): Promise<Queued> {
  return call<Queued>('stop_project', { projectId, reason });
}

/** The emergency stop of every project, first in the outbox. */
export function stopAll(reason: string): Promise<Queued> {
  return call<Queued>('stop_all', { reason });
}

/** Resumes a stopped project through the outbox. */
export function resume(projectId: string): Promise<Queued> {
  return call<Queued>('resume', { projectId });
}

/** The newest stop of a project, or of any project with `null`, from the cache. */
export function latestStop(projectId: string | null): Promise<Stop | null> {
  return call<Stop | null>('latest_stop', { projectId });
}

/** What waits to be sent, in the order it goes: stops first, then the oldest. */
export function outbox(): Promise<Array<OutboxEntry>> {
  return call<Array<OutboxEntry>>('outbox');
}

/** Projects, tasks, approvals and messages matching `text`, from the cache. */
export function search(text: string): Promise<Array<SearchHit>> {
  return call<Array<SearchHit>>('search', { text });
}

/** The shown account's notification settings. */
export function notificationPrefs(): Promise<NotificationPrefs> {
  return call<NotificationPrefs>('notification_prefs');
}

/** Saves the shown account's notification settings; they apply at once. */
export function setNotificationPrefs(prefs: NotificationPrefs): Promise<null> {
  return call<null>('set_notification_prefs', { prefs });
}

/** The shown account's organisation settings (what pushes show on a lock screen). */
export function tenantSettings(): Promise<TenantSettings> {
  return call<TenantSettings>('tenant_settings');
}

/** Saves the organisation's settings; owners only, online only. */
export function setTenantSettings(settings: TenantSettings): Promise<TenantSettings> {
  return call<TenantSettings>('set_tenant_settings', { settings });
}

/** Syncs with the server now instead of waiting. */
export function syncNow(): Promise<null> {
  return call<null>('sync_now');
}

/**
 * A phone's push token changed (the notification plugin's `push-token` event): registers
 * it with the server again; the core forgets the device registered before.
 */
export function pushTokenChanged(token: string): Promise<null> {
  return call<null>('push_token_changed', { token });
}

/**
 * A push arrived while the app runs (`push-message`, the event's JSON): the core says
 * whether to show a notification, take one down, or nothing.
 */
export function pushReceived(event: string): Promise<null> {
  return call<null>('push_received', { event });
}

/**
 * Why this phone will not be paged for the account shown (notifications turned off, no
 * push token, the server refused it), or why this desktop alerts nobody (notifications
 * on, but no notification service answers); nothing when they will be.
 */
export function pagingProblem(): Promise<string | null> {
  return call<string | null>('paging_problem');
}

/**
 * The UI listens to the notification plugin's events now: a tap that started the app,
 * held until someone listens, is passed on.
 */
export function listeningToPushes(): Promise<null> {
  return call<null>('listening_to_pushes');
}

/**
 * A button or the body pressed on a notification the app showed (`actionPerformed`, the
 * event's JSON): Approve and Reject go through the outbox; anything else opens a screen.
 */
export function notificationAction(event: string): Promise<null> {
  return call<null>('notification_action', { event });
}

/**
 * A tap on a notification the OS showed from a push (`notificationClicked`, the event's
 * JSON): opens what it is about (a stop's opens the hold-to-stop screen, never a stop).
 */
export function notificationClicked(event: string): Promise<null> {
  return call<null>('notification_clicked', { event });
}

/** Where a deep link or a notification click asked to go before the UI listened, once. */
export function takeNavigation(): Promise<string | null> {
  return call<string | null>('take_navigation');
}

/** The UI's first screen is ready to be drawn: the window, hidden until now, shows itself. */
export function showWindow(): Promise<null> {
  return call<null>('show_window');
}

/**
 * Quits the app. Refused with `undelivered`, naming them, while actions wait for the
 * server (they would wait for the next launch), unless `anyway`.
 */
export function quit(anyway: boolean): Promise<null> {
  return call<null>('quit', { anyway });
}

/**
 * The UI shows the question a Quit from the tray asked (`onQuitRefused`): the tray's
 * Quit, which quits anyway when nobody asks, leaves it to the person.
 */
export function quitAsked(): Promise<null> {
  return call<null>('quit_asked');
}

/**
 * Keeps the markup of the dashboard as shown to `account_id`, and whether in the dark
 * theme, for that account's next launch to paint first.
 */
export function keepFirstFrame(accountId: string, html: string, dark: boolean): Promise<null> {
  return call<null>('keep_first_frame', { accountId, html, dark });
}

/**
 * The UI says when a screen first painted with its data: the startup benchmark reads this
 * line. `page_ms` is the time since the page started loading, to tell the webview's share
 * from the shell's.
 */
export function reportPainted(screen: string, items: number, pageMs: number | null): Promise<null> {
  return call<null>('report_painted', { screen, items, pageMs });
}

/** Subscribes to the core's changes, a burst to an event; resolves to the function that unsubscribes. */
export function onChanges(handler: (payload: Change[]) => void): Promise<UnlistenFn> {
  return listen<Change[]>('core-changes', (event) => handler(event.payload));
}

/** Subscribes to navigation requests (deep links, notification clicks). */
export function onNavigate(handler: (payload: Navigate) => void): Promise<UnlistenFn> {
  return listen<Navigate>('navigate', (event) => handler(event.payload));
}

/** Subscribes to a Quit from the tray held back because actions still wait for the server. */
export function onQuitRefused(handler: (payload: QuitRefused) => void): Promise<UnlistenFn> {
  return listen<QuitRefused>('quit-refused', (event) => handler(event.payload));
}
