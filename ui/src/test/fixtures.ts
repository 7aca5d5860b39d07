// Demo-like data for component tests: an agency's ad projects and their agents.
import type {
  AccountInfo,
  Agent,
  Approval,
  ApprovalView,
  AppState,
  OutboxEntry,
  Project,
  ProjectSummary,
  ProjectView,
  Role,
  Status,
} from '../bindings';

export const NOW = Date.parse('2025-03-04T10:40:00Z');

export function account(role: Role = 'oncall'): AccountInfo {
  return {
    id: `acme-${role}`,
    server_url: 'http://127.0.0.1:8080',
    user: { id: `usr_${role}`, email: `${role}@acme.test`, name: role === 'oncall' ? 'Olivia Park' : `Acme ${role}`, role },
    tenant: { id: 'ten_acme', name: 'Acme Ads', slug: 'acme' },
    added_at: '2025-03-01T09:00:00Z',
  };
}

export function appState(role: Role = 'oncall'): AppState {
  const a = account(role);
  return { accounts: [a], active: a, desktop: true };
}

export function project(over: Partial<Project> = {}): Project {
  return {
    id: 'prj_spring',
    name: 'Spring Sale',
    description: 'Meta and Google ads for the spring collection',
    status: 'active',
    budget_usd: 1000,
    spent_usd: 412,
    created_at: '2025-03-01T09:00:00Z',
    updated_at: '2025-03-04T10:38:00Z',
    version: 3,
    ...over,
  };
}

export function summary(over: Partial<ProjectSummary> = {}, p: Partial<Project> = {}): ProjectSummary {
  return {
    project: project(p),
    agents_total: 4,
    agents_working: 2,
    agents_waiting: 1,
    agents_stopped: 0,
    agents_error: 1,
    pending_approvals: 2,
    pending_top_risk: 'medium',
    last_activity: '2025-03-04T10:38:00Z',
    stop_sending: false,
    ...over,
  };
}

export function agent(over: Partial<Agent> = {}): Agent {
  return {
    id: 'agt_quill',
    project_id: 'prj_spring',
    name: 'Quill',
    role: 'Copywriter',
    model: 'claude-sonnet',
    status: 'working',
    current_task_id: null,
    last_heartbeat_at: '2025-03-04T10:39:48Z',
    tokens_used: 120_000,
    cost_usd: 84.2,
    version: 1,
    ...over,
  };
}

export function approval(over: Partial<Approval> = {}): Approval {
  return {
    id: 'apr_1',
    project_id: 'prj_spring',
    agent_id: 'agt_quill',
    task_id: null,
    kind: 'publish_ad',
    title: 'Publish the spring hero ad',
    summary: 'CTR on the draft is **2.1 %** in tests.',
    payload: { network: 'meta', daily_budget_usd: 250 },
    preview: { type: 'copy', channel: 'Meta Ads — Feed', headline: 'Spring is here', body: 'Free returns on everything.', image_description: 'A sunlit café table', audience: 'UK, 25–44' },
    risk: 'medium',
    status: 'pending',
    created_at: '2025-03-04T10:30:00Z',
    expires_at: '2025-03-04T10:44:32Z',
    on_expiry: 'reject',
    decided_by: null,
    decided_at: null,
    comment: null,
    version: 1,
    ...over,
  };
}

/** What the core decides about a view: whether its project is stopped, and why Approve or
 *  Reject is refused now (its words), as `Account::approvals` fills them in. */
type Blockers = Pick<ApprovalView, 'project_stopped' | 'approve_blocker' | 'reject_blocker'>;

export function approvalView(
  over: Partial<Approval> = {},
  sending: ApprovalView['sending'] = null,
  blockers: Partial<Blockers> = {},
): ApprovalView {
  return {
    approval: approval(over),
    project_name: 'Spring Sale',
    agent_name: 'Quill',
    sending,
    project_stopped: false,
    approve_blocker: null,
    reject_blocker: null,
    ...blockers,
  };
}

export function projectView(over: Partial<ProjectView> = {}): ProjectView {
  return {
    project: project(),
    agents: [agent()],
    tasks: [],
    approvals: [],
    messages: [],
    stops: [],
    spend_by_day: [],
    timeline: [],
    stop_sending: false,
    ...over,
  };
}

export function outboxEntry(over: Partial<OutboxEntry> = {}): OutboxEntry {
  return {
    id: 1,
    kind: 'stop',
    idempotency_key: 'k1',
    method: 'POST',
    path: '/api/v1/projects/prj_spring/stop',
    body: {},
    label: 'Stop “Spring Sale”',
    approval_id: null,
    project_id: 'prj_spring',
    client_msg_id: null,
    created_at: '2025-03-04T10:39:00Z',
    attempts: 2,
    last_error: 'The server cannot be reached.',
    ...over,
  };
}

export function status(over: Partial<Status> = {}): Status {
  return {
    account: account(),
    link: 'connected',
    last_sync_at: '2025-03-04T10:39:30Z',
    last_seq: 120,
    server_head: 120,
    outbox: [],
    recent_outcomes: [],
    unreadable_events: 0,
    actions_for_a_newer_version: [],
    server_clock_ahead_ms: 0,
    ...over,
  };
}
