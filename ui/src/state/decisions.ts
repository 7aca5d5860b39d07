// What became of decisions made here, by approval id: the conflict in words when someone
// else was first or the request expired ("Already rejected by Dana (oncall) at 10:32").
import { create } from 'zustand';
import type { ErrorKind, OutcomeResult } from '../bindings';

/** `result`: how the queued decision ended, or the code of the error that refused it. */
export type DecisionNote = { result: OutcomeResult | ErrorKind; message: string; at: string };

type DecisionState = {
  notes: Record<string, DecisionNote>;
  note: (approvalId: string, note: DecisionNote) => void;
  clear: (approvalId: string) => void;
};

export const useDecisions = create<DecisionState>((set) => ({
  notes: {},
  note: (approvalId, note) => set((s) => ({ notes: { ...s.notes, [approvalId]: note } })),
  clear: (approvalId) =>
    set((s) => {
      const notes = { ...s.notes };
      delete notes[approvalId];
      return { notes };
    }),
}));
