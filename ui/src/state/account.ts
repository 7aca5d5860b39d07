import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import * as ipc from '../ipc';
import { keys } from './keys';
import { toast } from './toasts';
import { useSync } from './sync';
import { forgetKeptFrame } from './keepFirstFrame';

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
    mutationFn: (accountId: string) => ipc.signOut(accountId),
    onSuccess: async () => {
      await reset();
      const state = client.getQueryData<Awaited<ReturnType<typeof ipc.appState>>>(keys.appState);
      if (!state?.active) void navigate('/sign-in');
    },
    onError: (error) => toast({ tone: 'error', title: 'Could not sign out', message: error.message }),
  });

  return { switchTo, signOut, reset };
}
