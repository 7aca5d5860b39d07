// The core's `core-change` events → which cached reads to refresh. The UI never patches data
// itself (except the link state, which the event carries whole): it re-reads from the core.
import type { QueryClient, QueryKey } from '@tanstack/react-query';
import type { Change, Status } from '../bindings';
import { keys } from './keys';

/** The query keys (prefixes) a change makes stale. */
export function keysFor(change: Change): QueryKey[] {
  switch (change.kind) {
    case 'project':
      return [keys.dashboard, keys.project(change.after.id)];
    case 'agent':
      return [keys.dashboard, keys.project(change.after.project_id)];
    case 'task':
      return [keys.dashboard, keys.project(change.after.project_id)];
    case 'approval':
      return [
        keys.dashboard,
        keys.approvalsAll,
        keys.approval(change.after.id),
        keys.project(change.after.project_id),
      ];
    case 'message':
      return [
        keys.dashboard,
        keys.messagesOf(change.message.project_id),
        keys.project(change.message.project_id),
      ];
    case 'cost':
      return [keys.dashboard, keys.project(change.record.project_id)];
    case 'stop':
      return [
        keys.dashboard,
        keys.stopsAll,
        change.after.project_id ? keys.project(change.after.project_id) : keys.projects,
      ];
    case 'outbox':
      // Something was queued, sent or dropped: "sending…" marks and the stop banner move.
      return [
        keys.outbox,
        keys.status,
        keys.dashboard,
        keys.projects,
        keys.approvalsAll,
        keys.approvalAll,
        keys.messagesAll,
        keys.stopsAll,
      ];
    case 'outcome':
      return [
        keys.status,
        keys.outbox,
        keys.approvalsAll,
        ...(change.outcome.approval_id ? [keys.approval(change.outcome.approval_id)] : []),
        ...(change.outcome.project_id ? [keys.project(change.outcome.project_id)] : []),
      ];
    case 'on_call':
      return [keys.oncall];
    case 'link':
      return [keys.status];
    case 'resynced':
      return [[]]; // everything
    case 'progress':
      return [];
  }
}

/** Marks what `change` affects as stale (active queries refetch at once). */
export function applyChange(client: QueryClient, change: Change): void {
  if (change.kind === 'link') {
    client.setQueryData<Status>(keys.status, (old) => (old ? { ...old, link: change.state } : old));
  }
  for (const queryKey of keysFor(change)) {
    if (queryKey.length === 0) void client.invalidateQueries();
    else void client.invalidateQueries({ queryKey });
  }
}
