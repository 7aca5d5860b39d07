import type { OutboxEntry, ProjectSummary } from '../bindings';
import { useDashboard, useOutbox } from './queries';

/** An emergency stop (of a project or of everything) waiting in the outbox. */
export function isStopEntry(entry: OutboxEntry): boolean {
  return entry.kind === 'stop';
}

/** True when a stop (of `projectId`, or of anything when omitted) is not yet delivered. */
export function stopSending(
  outbox: readonly OutboxEntry[] | undefined,
  summaries: readonly ProjectSummary[] | undefined,
  projectId?: string,
): boolean {
  const queued = (outbox ?? []).some(
    (e) => isStopEntry(e) && (projectId === undefined || e.project_id === null || e.project_id === projectId),
  );
  if (queued) return true;
  return (summaries ?? []).some(
    (s) => s.stop_sending && (projectId === undefined || s.project.id === projectId),
  );
}

export function useStopSending(projectId?: string): boolean {
  const outbox = useOutbox();
  const dashboard = useDashboard();
  return stopSending(outbox.data, dashboard.data, projectId);
}
