import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { create } from 'zustand';
import * as ipc from '../ipc';
import { keys } from './keys';
import { toast } from './toasts';
import { useSync } from './sync';
import { forgetKeptFrame } from './keepFirstFrame';

type SignOut = { accountId: string; discardUndelivered?: boolean };

/** A sign-out refused because actions have not reached the server yet, awaiting the person's
 *  choice: keep them (stay signed in) or sign out and lose them. */
type SignOutRefused = {
  refusal: { accountId: string; message: string } | null;
  refused: (accountId: string, message: string) => void;
  settle: () => void;
};

export const useSignOutRefused = create<SignOutRefused>((set) => ({
  refusal: null,
  refused: (accountId, message) => set({ refusal: { accountId, message } }),
  settle: () => set({ refusal: null }),
}));

/** Switching or signing out changes every read: drop the whole cache and start over. */
export function useAccountActions() {
  const client = useQueryClient();
  const navigate = useNavigate();

  const reset = async () => {
    forgetKeptFrame();
    useSync.getState().setProgress(0, 0);
    client.removeQueries({ predicate: (q) => q.queryKey[0] !== keys.appState[0] });
    await client.invalidateQueries({ queryKey: keys.appState });
  };

  const switchTo = useMutation({
    mutationFn: (accountId: string) => ipc.switchAccount(accountId),
    onSuccess: async (info) => {
      await reset();
      toast({ tone: 'info', message: `Now showing ${info.tenant.name} as ${info.user.name}.` }, 4000);
      void navigate('/');
    },
    onError: (error) => toast({ tone: 'error', title: 'Could not switch account', message: error.message }),
  });

  const signOut = useMutation({
    mutationFn: ({ accountId, discardUndelivered = false }: SignOut) => ipc.signOut(accountId, discardUndelivered),
    onSuccess: async () => {
      useSignOutRefused.getState().settle();
      await reset();
      const state = client.getQueryData<Awaited<ReturnType<typeof ipc.appState>>>(keys.appState);
      if (!state?.active) void navigate('/sign-in');
    },
    onError: (error, { accountId }) => {
      // Actions still wait for the server: the person decides whether to lose them.
      if (ipc.isCommandError(error) && error.code === 'undelivered') {
        useSignOutRefused.getState().refused(accountId, error.message);
        return;
      }
      toast({ tone: 'error', title: 'Could not sign out', message: error.message });
    },
  });

  return { switchTo, signOut, reset };
}
