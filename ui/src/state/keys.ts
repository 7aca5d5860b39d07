import type { Thread } from '../bindings';

// Query keys, one place. Prefixes matter: invalidating ['project'] refreshes every project.
export const keys = {
  appState: ['appState'] as const,
  status: ['status'] as const,
  dashboard: ['dashboard'] as const,
  projects: ['project'] as const,
  project: (id: string) => ['project', id] as const,
  approvalsAll: ['approvals'] as const,
  approvals: (pendingOnly: boolean) => ['approvals', pendingOnly] as const,
  approvalAll: ['approval'] as const,
  approval: (id: string) => ['approval', id] as const,
  messagesAll: ['messages'] as const,
  messagesOf: (projectId: string) => ['messages', projectId] as const,
  messages: (projectId: string, thread: Thread) =>
    ['messages', projectId, thread.kind, thread.kind === 'agent' ? thread.agent_id : ''] as const,
  stopsAll: ['stop'] as const,
  stop: (projectId: string | null) => ['stop', projectId ?? ''] as const,
  outbox: ['outbox'] as const,
  stopsElsewhere: ['stopsElsewhere'] as const,
  pagingProblem: ['pagingProblem'] as const,
  search: (text: string) => ['search', text] as const,
  prefs: ['prefs'] as const,
  oncall: ['oncall'] as const,
  escalationPolicy: (accountId: string) => ['escalationPolicy', accountId] as const,
  tenantSettings: (accountId: string) => ['tenantSettings', accountId] as const,
};
