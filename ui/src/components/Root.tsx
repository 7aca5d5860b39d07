import { Navigate, Outlet, useLocation } from 'react-router';
import { useAppState } from '../state/queries';
import { useCoreEvents } from '../state/events';
import { useApplyTheme } from '../state/theme';
import { ErrorState } from './States';
import { LogoMark } from './Icons';
import { Toasts } from './Toasts';

/** Theme, core events, and the sign-in gate: nobody signed in → the sign-in screen. */
export function Root() {
  useApplyTheme();
  const { data, error, isPending, refetch } = useAppState();
  const signedIn = Boolean(data?.active);
  useCoreEvents(signedIn);
  const location = useLocation();

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
      <Toasts />
    </>
  );
}
