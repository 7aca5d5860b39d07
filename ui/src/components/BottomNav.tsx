import { NavLink } from 'react-router';
import { cx } from '../lib/cx';
import { CountBadge, NAV_ITEMS, usePendingCount } from './NavLinks';

/** Phone navigation: five targets, each at least 44 px tall. */
export function BottomNav() {
  const pending = usePendingCount();
  return (
    <nav aria-label="Main" className="pb-safe grid shrink-0 grid-cols-5 border-t border-line bg-surface">
      {NAV_ITEMS.map((item) => (
        <NavLink
          key={item.to}
          to={item.to}
          end={item.end}
          data-testid={item.testId}
          className={({ isActive }) =>
            cx(
              'relative flex min-h-14 flex-col items-center justify-center gap-0.5 text-[11px]',
              isActive ? 'font-semibold text-accent' : 'text-muted',
            )
          }
        >
          <span className="relative">
            {item.icon}
            {item.testId === 'nav-approvals' && (
              <span className="absolute -top-2 left-3">
                <CountBadge count={pending} />
              </span>
            )}
          </span>
          {item.label}
        </NavLink>
      ))}
    </nav>
  );
}
