import { useEffect } from 'react';
import { useMutation } from '@tanstack/react-query';
import { create } from 'zustand';
import * as ipc from '../ipc';
import { toast } from './toasts';

/** A quit held back because actions have not reached the server yet, awaiting the person's
 *  choice: keep the app running to deliver them, or quit and send them at the next launch. */
type QuitRefused = {
  message: string | null;
  refused: (message: string) => void;
  settle: () => void;
};

export const useQuitRefused = create<QuitRefused>((set) => ({
  message: null,
  refused: (message) => set({ message }),
  settle: () => set({ message: null }),
}));

/** Quits the desktop app; asks first (the dialog of `QuitRefused`) when actions still wait. */
export function useQuit() {
  return useMutation({
    mutationFn: (anyway: boolean) => ipc.quit(anyway),
    onError: (error) => {
      if (ipc.isCommandError(error) && error.code === 'undelivered') {
        useQuitRefused.getState().refused(error.message);
        return;
      }
      toast({ tone: 'error', title: 'Could not quit', message: error.message });
    },
  });
}

/** The tray's Quit asks here too; Ctrl+Q quits as on every Linux and Windows desktop app. */
export function useQuitControls(desktop: boolean) {
  const { mutate } = useQuit();
  useEffect(() => {
    if (!desktop) return;
    const unlisten = ipc.onQuitRefused(({ message }) => {
      useQuitRefused.getState().refused(message);
      // The tray's Quit quits anyway unless told that the question is on screen.
      ipc.quitAsked().catch(() => undefined);
    });
    const onKey = (event: KeyboardEvent) => {
      if (event.ctrlKey && !event.altKey && !event.shiftKey && event.key.toLowerCase() === 'q') {
        event.preventDefault();
        mutate(false);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
      // Outside Tauri (a plain browser) there is no event to stop listening to.
      void unlisten.then(
        (stop) => stop(),
        () => undefined,
      );
    };
  }, [desktop, mutate]);
}
