import { keepPreviousData, useQuery } from '@tanstack/react-query';
import * as ipc from '../ipc';
import type { Status, Thread } from '../bindings';
import { keys } from './keys';
import { setServerClockAhead } from '../lib/serverTime';

export const useAppState = () => useQuery({ queryKey: keys.appState, queryFn: ipc.appState });

/** The signed-in account and its role; null while nobody is. */
export function useMe() {
  const { data } = useAppState();
  const active = data?.active ?? null;
  return { account: active, role: active?.user.role ?? null, userId: active?.user.id ?? null };
}

/** Refetched every 30 s so "synced 2 min ago" labels stay true between events. */
/** Stops still on their way from accounts not shown: read every few seconds while there are
 *  any (their delivery has no bridge to this window), else now and then. */
export const useStopsElsewhere = () =>
  useQuery({
    queryKey: keys.stopsElsewhere,
    queryFn: ipc.stopsElsewhere,
    refetchInterval: (query) => ((query.state.data?.length ?? 0) > 0 ? 3_000 : 30_000),
    // Behind other windows too: the banner must be right the moment the window is looked at.
    refetchIntervalInBackground: true,
  });

/** Why this phone will not be paged, re-read often: turning notifications on in the phone's
 *  settings and coming back must clear it. A desktop has no such problem and never asks. */
export const usePagingProblem = () => {
  const { data } = useAppState();
  return useQuery({
    queryKey: keys.pagingProblem,
    queryFn: ipc.pagingProblem,
    enabled: data !== undefined,
    refetchInterval: 10_000,
  });
};

export const useStatus = () => useQuery({ queryKey: keys.status, queryFn: readStatus, refetchInterval: 30_000 });

/** The status, noting how far ahead the server's clock is for every "now" the UI reads: the
 *  one query function of `keys.status`, the first read at launch included. */
export async function readStatus(): Promise<Status> {
  const answer = await ipc.status();
  setServerClockAhead(answer.server_clock_ahead_ms);
  return answer;
}

export const useDashboard = () => useQuery({ queryKey: keys.dashboard, queryFn: ipc.dashboard });

export const useProject = (projectId: string) =>
  useQuery({ queryKey: keys.project(projectId), queryFn: () => ipc.project(projectId) });

export const useApprovals = (pendingOnly: boolean) =>
  useQuery({
    queryKey: keys.approvals(pendingOnly),
    queryFn: () => ipc.approvals(pendingOnly),
  });

export const useApproval = (approvalId: string | undefined) =>
  useQuery({
    queryKey: keys.approval(approvalId ?? ''),
    queryFn: () => ipc.approval(approvalId ?? ''),
    enabled: Boolean(approvalId),
  });

export const useMessages = (projectId: string, thread: Thread) =>
  useQuery({
    queryKey: keys.messages(projectId, thread),
    queryFn: () => ipc.messages(projectId, thread, 200),
  });

export const useLatestStop = (projectId: string | null, enabled = true) =>
  useQuery({
    queryKey: keys.stop(projectId),
    queryFn: () => ipc.latestStop(projectId),
    enabled,
    // Stop changes refresh it; while agents still answer, a local re-read every 2 s as well.
    refetchInterval: (query) => (query.state.data?.status === 'pending' ? 2000 : false),
  });

export const useOutbox = () => useQuery({ queryKey: keys.outbox, queryFn: ipc.outbox });

export const useSearch = (text: string) =>
  useQuery({
    queryKey: keys.search(text),
    queryFn: () => ipc.search(text),
    enabled: text.trim().length > 0,
    staleTime: 0,
    placeholderData: keepPreviousData,
  });

export const usePrefs = () => useQuery({ queryKey: keys.prefs, queryFn: ipc.notificationPrefs });
