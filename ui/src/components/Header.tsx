import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { useMe } from '../state/queries';
import { canAct } from '../lib/roles';
import { button } from '../lib/ui';
import { AccountMenu } from './AccountMenu';
import { SearchBox } from './SearchBox';
import { StopIcon, LogoMark } from './Icons';
import { StopFlow } from './StopFlow';

export function Header({ phone }: { phone: boolean }) {
  const { role, account } = useMe();
  const [stopOpen, setStopOpen] = useState(false);
  // `?stop=all` (a tap on a stop's notification) opens the stop panel: hold to stop, never a stop.
  const [params, setParams] = useSearchParams();
  const askedToStop = params.get('stop') === 'all' && canAct(role);
  const stopShown = stopOpen || askedToStop;
  const showStop = (open: boolean) => {
    setStopOpen(open);
    if (!open && askedToStop) setParams({}, { replace: true });
  };
  return (
    <header className="flex h-12 shrink-0 items-center gap-2 border-b border-line bg-surface px-3 sm:px-4">
      {phone && (
        <div className="flex min-w-0 items-center gap-2">
          <LogoMark size={18} className="shrink-0 text-accent" />
          <span className="truncate text-sm font-semibold">{account?.tenant.name ?? 'Spartex'}</span>
        </div>
      )}
      <div className="min-w-0 flex-1">{!phone && <SearchBox />}</div>
      {phone && <SearchBox compact />}
      {canAct(role) && (
        <button
          type="button"
          data-testid="stop-all-button"
          onClick={() => setStopOpen(true)}
          className={button('secondary', 'border-danger/60 text-red hover:bg-red-soft')}
          aria-label="Emergency stop: stop every agent in every project"
        >
          <StopIcon />
          <span>Stop all</span>
        </button>
      )}
      <AccountMenu />
      {stopShown && <StopFlow target={{ scope: 'tenant' }} open={stopShown} onOpenChange={showStop} />}
    </header>
  );
}
