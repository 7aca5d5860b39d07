import * as Dialog from '@radix-ui/react-dialog';
import { useAccountActions, useSignOutRefused } from '../state/account';
import { button } from '../lib/ui';

/** Asks before a sign-out drops actions the server has not taken yet: staying signed in keeps
 *  them for when the link returns; signing out anyway loses them with the cache. */
export function SignOutRefused() {
  const refusal = useSignOutRefused((s) => s.refusal);
  const settle = useSignOutRefused((s) => s.settle);
  const { signOut } = useAccountActions();
  return (
    <Dialog.Root open={refusal !== null} onOpenChange={(open) => !open && settle()}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <Dialog.Content
          data-testid="sign-out-refused"
          className="fixed top-[18vh] left-1/2 z-50 w-[min(30rem,calc(100vw-2rem))] -translate-x-1/2 rounded-xl border border-line bg-surface p-5 text-fg shadow-2xl outline-none"
        >
          <Dialog.Title className="text-base font-semibold">Not delivered yet</Dialog.Title>
          <Dialog.Description className="mt-2 text-sm text-muted">{refusal?.message}</Dialog.Description>
          <div className="mt-5 flex flex-wrap justify-end gap-2">
            <Dialog.Close data-testid="sign-out-stay" className={button('secondary')}>
              Stay signed in
            </Dialog.Close>
            <button
              type="button"
              data-testid="sign-out-anyway"
              className={button('danger')}
              disabled={signOut.isPending || refusal === null}
              onClick={() => refusal && signOut.mutate({ accountId: refusal.accountId, discardUndelivered: true })}
            >
              Sign out anyway
            </button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
