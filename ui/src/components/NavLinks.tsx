import { NavLink } from 'react-router';
import type { ReactNode } from 'react';
import { useApprovals } from '../state/queries';
import { DashboardIcon, FolderIcon, GearIcon, InboxIcon, PhoneIcon } from './Icons';

export type NavItem = { to: string; label: string; testId: string; icon: ReactNode; end?: boolean };

export const NAV_ITEMS: NavItem[] = [
  { to: '/', label: 'Dashboard', testId: 'nav-dashboard', icon: <DashboardIcon />, end: true },
  { to: '/approvals', label: 'Approvals', testId: 'nav-approvals', icon: <InboxIcon /> },
  { to: '/projects', label: 'Projects', testId: 'nav-projects', icon: <FolderIcon /> },
  { to: '/oncall', label: 'On call', testId: 'nav-oncall', icon: <PhoneIcon /> },
  { to: '/settings', label: 'Settings', testId: 'nav-settings', icon: <GearIcon /> },
];

/** Pending approvals, for the badge. */
export function usePendingCount(): number {
  const { data } = useApprovals(true);
  return (data ?? []).filter((a) => a.approval.status === 'pending').length;
}

export function CountBadge({ count }: { count: number }) {
  return (
    <span
      data-testid="nav-approvals-count"
      data-count={count}
      aria-label={`${count} pending`}
      className={
        count > 0
          ? 'tabular min-w-5 rounded-full bg-amber px-1.5 text-center text-[11px] leading-5 font-semibold text-white dark:text-black'
          : 'tabular min-w-5 rounded-full bg-raised px-1.5 text-center text-[11px] leading-5 text-muted'
      }
    >
      {count}
    </span>
  );
}

export { NavLink };
