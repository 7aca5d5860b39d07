// Cold-sync progress from `progress` changes: applied_seq of head.
import { create } from 'zustand';

type SyncState = {
  progress: { applied: number; head: number } | null;
  setProgress: (applied: number, head: number) => void;
};

export const useSync = create<SyncState>((set) => ({
  progress: null,
  setProgress: (applied, head) =>
    set({ progress: head > 0 && applied < head ? { applied, head } : null }),
}));
