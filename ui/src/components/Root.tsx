import { useEffect } from 'react';
import { Navigate, Outlet, useLocation } from 'react-router';
import * as ipc from '../ipc';
import { useAppState } from '../state/queries';
import { useCoreEvents } from '../state/events';
import { useApplyTheme } from '../state/theme';
import { ErrorState } from './States';
import { LogoMark } from './Icons';
import { SignOutRefused } from './SignOutRefused';
import { QuitRefused } from './QuitRefused';
import { useQuitControls } from '../state/quit';
import { Toasts } from './Toasts';

/** Theme, core events, and the sign-in gate: nobody signed in → the sign-in screen. */
export function Root() {
  useApplyTheme();
  const { data, error, isPending, refetch } = useAppState();
  const signedIn = Boolean(data?.active);
  useCoreEvents(signedIn);
  useQuitControls(Boolean(data?.desktop));
  const location = useLocation();
  // The window starts hidden and appears once the first screen has what it shows. The dashboard
  // says so itself, when its projects are read; a redirect waits for the screen it leads to.
  const awaitsItsScreen = !error && (location.pathname === '/' || (!signedIn && location.pathname !== '/sign-in'));
  const firstScreenReady = !isPending && !awaitsItsScreen;
  useEffect(() => {
    if (firstScreenReady) void ipc.showWindow().catch(() => undefined);
  }, [firstScreenReady]);

  let body;
  if (isPending) {
    body = (
      <div className="flex h-full items-center justify-center" role="status" aria-label="Opening Spartex Control">
        <LogoMark size={28} className="animate-pulse text-faint motion-reduce:animate-none" />
      </div>
    );
  } else if (error) {
    body = (
      <ErrorState
        title="Spartex Control could not start"
        error={error}
        action={
          <button type="button" className="underline" onClick={() => void refetch()}>
            Try again
          </button>
        }
      />
    );
  } else if (!signedIn && location.pathname !== '/sign-in') {
    body = <Navigate to="/sign-in" replace />;
  } else {
    body = <Outlet />;
  }
  return (
    <>
      {body}
      <SignOutRefused />
      <QuitRefused />
      <Toasts />
    </>
  );
}
