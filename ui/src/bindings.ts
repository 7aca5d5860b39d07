// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs). Do not edit:
// run `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings`.
// Integers travel as JSON numbers and stay below 2^53, so they are `number` here.

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type Role = "viewer" | "oncall" | "manager" | "owner" | "unknown";

export type ProjectStatus = "active" | "paused" | "stopped" | "completed" | "failed" | "unknown";

export type AgentStatus = "idle" | "working" | "waiting_approval" | "stopping" | "stopped" | "error" | "unknown";

export type TaskStatus = "queued" | "running" | "blocked" | "done" | "failed" | "cancelled" | "unknown";

export type Risk = "low" | "medium" | "high" | "critical" | "unknown";

export type ApprovalStatus = "pending" | "approved" | "rejected" | "expired" | "cancelled" | "unknown";

export type OnExpiry = "reject" | "approve" | "unknown";

export type AuthorKind = "user" | "agent" | "system" | "unknown";

export type StopScope = "project" | "tenant" | "unknown";

export type StopStatus = "pending" | "completed" | "partial" | "unknown";

export type BudgetState = "ok" | "warning" | "exceeded" | "unknown";

export type Decision = "approve" | "reject";

export type Tenant = { id: string, name: string, slug: string, };

export type User = { id: string, email: string, name: string, role: Role, };

export type Project = { id: string, name: string, description: string, status: ProjectStatus, budget_usd: number, spent_usd: number, created_at: string, updated_at: string, version: number, };

export type Agent = { id: string, project_id: string, name: string, role: string, model: string, status: AgentStatus, current_task_id: string | null, last_heartbeat_at: string | null, tokens_used: number, cost_usd: number, version: number, };

export type Task = { id: string, project_id: string, agent_id: string | null, title: string, status: TaskStatus, progress: number, updated_at: string, version: number, };

export type Approval = { id: string, project_id: string, agent_id: string | null, task_id: string | null, kind: string, title: string, 
/**
 * Markdown.
 */
summary: string, 
/**
 * The exact arguments the agent will act with.
 */
payload: JsonValue, 
/**
 * What will change, as the approver should see it.
 */
preview: Preview | null, risk: Risk, status: ApprovalStatus, created_at: string, expires_at: string, on_expiry: OnExpiry, decided_by: DecidedBy | null, decided_at: string | null, comment: string | null, 
/**
 * The escalation ladder's trail, for an approval whose risk the tenant's policy covers
 * (or that someone acknowledged).
 */
escalation?: Escalation, 
/**
 * When someone asked the agent to propose again, after the approval expired.
 */
ask_again_requested_at?: string, ask_again_requested_by?: DecidedBy, 
/**
 * What they asked the agent to change, if they said.
 */
ask_again_comment?: string, 
/**
 * The request the agent proposed in answer, once it did.
 */
ask_again_answered_by?: string, 
/**
 * The asked request this one answers, when the agent named it (`answers_ask`).
 */
answers_ask?: string, version: number, };

export type DecidedBy = { 
/**
 * The user's id, or `system` for an expiry.
 */
id: string, name: string, email: string | null, role: Role | null, };

export type Escalation = { 
/**
 * Levels fired so far, counting repeats (level 4 of a three-level ladder is its first,
 * run again); 0 when the approval is not on a ladder.
 */
level: number, 
/**
 * When the next level fires; `None` once acknowledged, decided or past the last.
 */
next_at: string | null, acked_by: DecidedBy | null, acked_at: string | null, notified: Array<Notified>, };

export type Notified = { user_id: string, user_name: string, at: string, level: number, 
/**
 * `None` when they were skipped as unreachable.
 */
channel: NotifyChannel | null, result: NotifyResult, };

export type NotifyChannel = "push" | "socket" | "unknown";

export type NotifyResult = "sent" | "failed" | "skipped_unreachable" | "unknown";

export type Preview = { "type": "diff", path: string, unified_diff: string, } | { "type": "copy", channel: string, headline: string | null, body: string, image_description: string | null, audience: string | null, } | { "type": "amount", currency: string, old_amount: number | null, new_amount: number, period: string | null, };

export type Rotation = "daily" | "weekly" | "unknown";

export type ActiveHours = { 
/**
 * Local `HH:MM`.
 */
from: string, 
/**
 * Local `HH:MM`; before `from` when the hours wrap past midnight.
 */
to: string, };

export type ScheduleLayer = { name: string, 
/**
 * In turn order; the first is on call from `starts_at` to the first handoff.
 */
user_ids: Array<string>, rotation: Rotation, 
/**
 * Local `HH:MM` of each handoff; a weekly rotation hands over on the weekday of `starts_at`.
 */
handoff_at: string, 
/**
 * An IANA time zone name, e.g. `Europe/Berlin`.
 */
timezone: string, starts_at: string, 
/**
 * Only these local hours; a later layer wins wherever it applies.
 */
active_hours: ActiveHours | null, };

export type Schedule = { 
/**
 * Later layers win where they apply; none means everyone with role `oncall` is on call.
 */
layers: Array<ScheduleLayer>, 
/**
 * In a change: the `version` of `GET /oncall` it was made from. A change made from a
 * version someone changed since (the layers or an override) is refused (409
 * `schedule_changed`, who is on call as it is now in `details`), so two managers editing
 * at once lose no edit; one that sends none replaces the layers whatever is there.
 * Never in an answer: the version is `OnCall::version`.
 */
version: number | null, };

export type OnCallOverride = { id: string, user_id: string, starts_at: string, ends_at: string, 
/**
 * The user who made it.
 */
created_by: string, };

export type OnCallShift = { starts_at: string, ends_at: string, user_ids: Array<string>, };

export type OnCall = { now: Array<User>, 
/**
 * When the people on call next change; `None` when they never do (no schedule).
 */
next_handoff_at: string | null, schedule: Schedule, overrides: Array<OnCallOverride>, 
/**
 * The next seven days as shifts, from now.
 */
week: Array<OnCallShift>, 
/**
 * Everyone who may be on call (role `oncall` and above), to name the ids above.
 */
people: Array<User>, version: number, };

export type EscalationLevel = { 
/**
 * Seconds after the approval was created; the first level's is 0.
 */
after_s: number, 
/**
 * `oncall_now`, `role:<role>` or `user:<id>`.
 */
targets: Array<string>, };

export type EscalationPolicy = { 
/**
 * The risks that climb the ladder; others notify everyone who may act, as before.
 */
applies_to: Array<Risk>, levels: Array<EscalationLevel>, 
/**
 * How many times the whole ladder runs again after its last level.
 */
repeat: number, 
/**
 * Set by the server: one more at each change (0 before the first). A change that sends
 * the version it was made from is refused (409 `policy_changed`, the policy as it is now
 * in `details`) when someone changed the policy since, so two managers editing at once
 * lose no edit; one that sends none replaces whatever is there.
 */
version: number | null, };

export type Message = { id: string, project_id: string, 
/**
 * `None` for the project-wide thread.
 */
agent_id: string | null, author_kind: AuthorKind, author_id: string | null, author_name: string, 
/**
 * Markdown.
 */
body: string, created_at: string, client_msg_id: string | null, };

export type CostRecord = { project_id: string, agent_id: string, at: string, model: string, tokens_in: number, tokens_out: number, cost_usd: number, 
/**
 * The project's spend against its budget after this record.
 */
budget_state: BudgetState, project_spent_usd: number, project_budget_usd: number, };

export type Stop = { id: string, scope: StopScope, project_id: string | null, requested_by: string, reason: string, status: StopStatus, requested_at: string, completed_at: string | null, agents_total: number, agents_stopped: number, 
/**
 * Each agent in scope and whether it acknowledged.
 */
agents: Array<StopAgent>, version: number, };

export type StopAgent = { agent_id: string, agent_name: string, project_id: string, acked_at: string | null, 
/**
 * True when the agent never answered and the server stopped it by force.
 */
forced: boolean, 
/**
 * Set when a resume of its project lifted the stop before the agent answered; a late
 * acknowledgement then changes nothing.
 */
resumed_at?: string, };

export type AccountInfo = { 
/**
 * Short and readable, e.g. `acme-ads-oncall`; what `--account` takes.
 */
id: string, server_url: string, user: User, tenant: Tenant, added_at: string, };

export type Status = { account: AccountInfo, link: LinkState, last_sync_at: string | null, last_seq: number, server_head: number | null, outbox: Array<OutboxEntry>, recent_outcomes: Array<Outcome>, 
/**
 * Events this version kept but cannot read (a newer server's): update to see them.
 */
unreadable_events: number, 
/**
 * Actions a newer build queued (the CLI updated before the app), in words: kept, never
 * sent by this version; update it to send them.
 */
actions_for_a_newer_version: Array<string>, 
/**
 * The server's clock minus this machine's, in ms (0 while they agree within 2 s): the
 * faces judge expiries and countdowns by the server's time.
 */
server_clock_ahead_ms: number, };

export type Queued = { entry: OutboxEntry, delivered: boolean, 
/**
 * How it ended, when it did (delivered, or refused and undone).
 */
outcome: Outcome | null, 
/**
 * Why it still waits, when it does.
 */
waiting_because: string | null, };

export type OutboxEntry = { id: number, kind: OutboxKind, idempotency_key: string, 
/**
 * `POST`, for people and scripts reading the outbox (`spartex status --json`).
 */
method: string, 
/**
 * `/api/v1/…`, as the request will be sent.
 */
path: string, 
/**
 * The request's JSON body.
 */
body: JsonValue, 
/**
 * What it is, in words: "Approve “Publish the spring hero ad”".
 */
label: string, approval_id: string | null, project_id: string | null, client_msg_id: string | null, created_at: string, attempts: number, last_error: string | null, };

export type OutboxKind = "stop" | "resume" | "decision" | "ack" | "ask_again" | "message";

export type Outcome = { at: string, result: OutcomeResult, 
/**
 * What the action was, e.g. "Approve “Publish the spring hero ad”".
 */
action: string, 
/**
 * What happened, e.g. "Already rejected by Dana Whitfield (oncall) at 10:32 UTC."
 */
message: string, approval_id: string | null, project_id: string | null, };

export type OutcomeResult = "delivered" | "already_decided" | "expired" | "changed" | "refused";

export type LinkState = "connected" | "connecting" | "offline" | "signed_out" | "disk_full";

export type Change = { "kind": "project", before: Project | null, after: Project, } | { "kind": "agent", before: Agent | null, after: Agent, } | { "kind": "task", after: Task, } | { "kind": "approval", before: Approval | null, after: Approval, } | { "kind": "message", message: Message, } | { "kind": "cost", record: CostRecord, } | { "kind": "stop", before: Stop | null, after: Stop, } | { "kind": "on_call" } | { "kind": "resynced" } | { "kind": "outbox" } | { "kind": "outcome", outcome: Outcome, } | { "kind": "link", state: LinkState, } | { "kind": "progress", applied_seq: number, head: number, };

export type ProjectSummary = { project: Project, agents_total: number, agents_working: number, agents_waiting: number, agents_stopped: number, agents_error: number, pending_approvals: number, 
/**
 * The highest risk among the pending approvals; `None` when none is pending. A risk this
 * build does not know (`unknown`) ranks above critical.
 */
pending_top_risk: Risk | null, last_activity: string | null, 
/**
 * A stop of this project (or of everything) waits in the outbox.
 */
stop_sending: boolean, };

export type DashboardJson = Array<ProjectSummary>;

export type ProjectView = { project: Project, agents: Array<Agent>, 
/**
 * Open tasks first, then the most recently finished.
 */
tasks: Array<Task>, approvals: Array<ApprovalView>, messages: Array<MessageView>, stops: Array<Stop>, spend_by_day: Array<SpendPoint>, 
/**
 * What happened, newest first.
 */
timeline: Array<TimelineEntry>, stop_sending: boolean, };

export type ApprovalView = { approval: Approval, project_name: string, agent_name: string | null, 
/**
 * A decision made here that is still on its way.
 */
sending: Decision | null, 
/**
 * Its project is stopped, or a stop of it waits in the outbox: no decision is taken.
 */
project_stopped: boolean, 
/**
 * Why Approve is refused now, in the core's words ([`spartex_policy::approval_blocker`]
 * for the signed-in person); `None` when it is allowed. Filled by the account's reads.
 */
approve_blocker: string | null, 
/**
 * Why Reject is refused now; `None` when it is allowed.
 */
reject_blocker: string | null, };

export type MessageView = { message: Message, 
/**
 * Written here, still on its way.
 */
sending: boolean, };

export type Thread = { "kind": "project" } | { "kind": "agent", agent_id: string, } | { "kind": "everything" };

export type SpendPoint = { 
/**
 * `YYYY-MM-DD` (UTC).
 */
day: string, agent_id: string, cost_usd: number, tokens: number, };

export type SearchHit = { kind: SearchHitKind, id: string, project_id: string, title: string, snippet: string, };

export type SearchHitKind = "project" | "task" | "approval" | "message";

export type TimelineEntry = { at: string, 
/**
 * `task`, `approval`, `stop` or `message`
 */
kind: string, 
/**
 * Who acted: an agent's or a person's name; `None` for the server.
 */
actor: string | null, text: string, approval_id: string | null, };

export type NotificationPrefs = { 
/**
 * Off: no notification at all, urgent ones included.
 */
enabled: boolean, 
/**
 * Project ids that only raise urgent notifications (critical approvals, stops). An id sent
 * twice is kept once.
 */
muted_projects: Array<string>, 
/**
 * A daily window in which only urgent notifications are raised.
 */
quiet_hours: QuietHours | null, 
/**
 * The IANA time zone quiet hours are read in (`Europe/Berlin`); UTC when absent. The
 * app fills it in, so the server keeps the user's quiet hours while the app is closed.
 */
time_zone?: string, };

export type PushDetail = "full" | "minimal";

export type TenantSettings = { 
/**
 * `minimal`: pushes name neither the project nor the request, only its kind and risk
 * ("Approval needed (critical)"), for tenants that want nothing readable on a lock
 * screen. The app opens the approval from its cache, or fetches it.
 */
push_detail: PushDetail, };

export type QuietHours = { start: string, end: string, };

export type ErrorKind = "offline" | "signed_out" | "forbidden" | "not_found" | "conflict" | "gone" | "invalid" | "rate_limited" | "server_error" | "bad_server" | "secret_store" | "local_storage" | "account" | "no_account" | "local" | "undelivered";

export type OnCallView = { 
/**
 * False when worked out offline from the cached schedule.
 */
live: boolean, now: Array<User>, 
/**
 * When the people on call next change; `None` when they never do (no schedule).
 */
next_handoff_at: string | null, schedule: Schedule, overrides: Array<OnCallOverride>, 
/**
 * The next seven days as shifts, from now.
 */
week: Array<OnCallShift>, 
/**
 * Everyone who may be on call (role `oncall` and above), to name the ids above.
 */
people: Array<User>, version: number, };

export type AppState = { accounts: Array<AccountInfo>, active: AccountInfo | null, 
/**
 * A desktop app, which runs on with its window closed and is quit from its own menu; a
 * phone's OS ends its apps.
 */
desktop: boolean, };

export type StopElsewhere = { account: AccountInfo, 
/**
 * What it does, in words ("Stop “Spring Sale”").
 */
label: string, };

export type CommandError = { 
/**
 * What kind of failure, a closed set the UI branches on.
 */
code: ErrorKind, message: string, };

export type Navigate = { path: string, };

export type QuitRefused = { message: string, };
