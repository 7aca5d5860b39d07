import * as Menu from '@radix-ui/react-dropdown-menu';
import { useNavigate } from 'react-router';
import { useAppState } from '../state/queries';
import { useAccountActions } from '../state/account';
import { useQuit } from '../state/quit';
import { ROLE_WORD } from '../lib/roles';
import { ChevronDownIcon } from './Icons';

const item =
  'flex min-h-10 cursor-default items-center gap-2 rounded px-2.5 text-sm outline-none select-none data-[highlighted]:bg-raised sm:min-h-8';

function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((w) => w[0]?.toUpperCase())
    .join('');
}

export function AccountMenu() {
  const { data } = useAppState();
  const navigate = useNavigate();
  const { switchTo, signOut } = useAccountActions();
  const quit = useQuit();
  const active = data?.active;
  if (!active) return null;
  const others = (data?.accounts ?? []).filter((a) => a.id !== active.id);
  return (
    <Menu.Root>
      <Menu.Trigger
        data-testid="account-menu"
        aria-label={`Account: ${active.user.name}, ${ROLE_WORD[active.user.role]} at ${active.tenant.name}`}
        className="flex min-h-11 items-center gap-2 rounded-md px-1.5 hover:bg-raised sm:min-h-9"
      >
        <span className="flex h-7 w-7 items-center justify-center rounded-full bg-accent text-xs font-semibold text-accent-fg">
          {initials(active.user.name)}
        </span>
        <span className="hidden text-left leading-tight md:block">
          <span className="block text-sm font-medium">{active.user.name}</span>
          <span className="block text-xs text-muted">
            {ROLE_WORD[active.user.role]} · {active.tenant.name}
          </span>
        </span>
        <ChevronDownIcon className="hidden text-muted md:block" />
      </Menu.Trigger>
      <Menu.Portal>
        <Menu.Content
          align="end"
          sideOffset={6}
          className="z-50 min-w-64 rounded-lg border border-line bg-surface p-1 text-fg shadow-xl"
        >
          <div className="px-2.5 py-2">
            <p className="text-sm font-medium">{active.user.name}</p>
            <p className="text-xs text-muted">{active.user.email}</p>
            <p className="mt-0.5 text-xs text-muted">
              {ROLE_WORD[active.user.role]} at {active.tenant.name} · {active.server_url}
            </p>
          </div>
          {others.length > 0 && (
            <>
              <Menu.Separator className="my-1 h-px bg-line" />
              <Menu.Label className="px-2.5 py-1 text-xs text-faint">Switch to</Menu.Label>
              {others.map((a) => (
                <Menu.Item
                  key={a.id}
                  data-testid="switch-account"
                  data-account-id={a.id}
                  className={item}
                  disabled={switchTo.isPending}
                  onSelect={() => switchTo.mutate(a.id)}
                >
                  <span className="min-w-0 flex-1 truncate">
                    {a.user.name} · {a.tenant.name}
                  </span>
                  <span className="text-xs text-muted">{ROLE_WORD[a.user.role]}</span>
                </Menu.Item>
              ))}
            </>
          )}
          <Menu.Separator className="my-1 h-px bg-line" />
          <Menu.Item data-testid="add-account" className={item} onSelect={() => void navigate('/sign-in')}>
            Add account…
          </Menu.Item>
          <Menu.Item className={item} onSelect={() => void navigate('/settings')}>
            Settings
          </Menu.Item>
          <Menu.Item className={item + ' text-red'} onSelect={() => signOut.mutate({ accountId: active.id })}>
            Sign out of {active.tenant.name}
          </Menu.Item>
          {data?.desktop && (
            <>
              <Menu.Separator className="my-1 h-px bg-line" />
              <Menu.Item data-testid="quit-app" className={item} onSelect={() => quit.mutate(false)}>
                <span className="flex-1">Quit Spartex Control</span>
                <span className="text-xs text-faint">Ctrl+Q</span>
              </Menu.Item>
            </>
          )}
        </Menu.Content>
      </Menu.Portal>
    </Menu.Root>
  );
}
