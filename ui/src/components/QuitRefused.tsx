import * as Dialog from '@radix-ui/react-dialog';
import { useQuit, useQuitRefused } from '../state/quit';
import { button } from '../lib/ui';

/** Asks before a quit holds back actions the server has not taken yet: keeping the app running
 *  delivers them as soon as the link allows; quitting sends them at the next launch. */
export function QuitRefused() {
  const message = useQuitRefused((s) => s.message);
  const settle = useQuitRefused((s) => s.settle);
  const quit = useQuit();
  return (
    <Dialog.Root open={message !== null} onOpenChange={(open) => !open && settle()}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/50" />
        <Dialog.Content
          data-testid="quit-refused"
          className="fixed top-[18vh] left-1/2 z-50 w-[min(30rem,calc(100vw-2rem))] -translate-x-1/2 rounded-xl border border-line bg-surface p-5 text-fg shadow-2xl outline-none"
        >
          <Dialog.Title className="text-base font-semibold">Not delivered yet</Dialog.Title>
          <Dialog.Description className="mt-2 text-sm text-muted">{message}</Dialog.Description>
          <div className="mt-5 flex flex-wrap justify-end gap-2">
            <Dialog.Close data-testid="quit-keep-running" className={button('primary')}>
              Keep running
            </Dialog.Close>
            <button
              type="button"
              data-testid="quit-anyway"
              className={button('secondary')}
              disabled={quit.isPending}
              onClick={() => quit.mutate(true)}
            >
              Quit anyway
            </button>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
