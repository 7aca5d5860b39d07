import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from '@tanstack/react-query';
import * as ipc from '../ipc';
import { useAppState } from '../state/queries';
import { usePageTitle } from '../state/pageTitle';
import { useAccountActions } from '../state/account';
import { ROLE_WORD } from '../lib/roles';
import { button, input } from '../lib/ui';
import { cx } from '../lib/cx';
import { AlertIcon, ChevronLeftIcon, LogoMark } from '../components/Icons';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export function SignIn() {
  const [params] = useSearchParams();
  usePageTitle('Sign in');
  const [server, setServer] = useState(params.get('server') ?? DEFAULT_SERVER);
  const [email, setEmail] = useState(params.get('email') ?? '');
  const [password, setPassword] = useState('');
  const { data: app } = useAppState();
  const { switchTo, reset } = useAccountActions();
  const navigate = useNavigate();

  const signIn = useMutation({
    mutationFn: () => ipc.signIn(server.trim(), email.trim(), password),
    onSuccess: async () => {
      setPassword('');
      await reset();
      void navigate('/', { replace: true });
    },
  });

  const accounts = app?.accounts ?? [];
  const active = app?.active ?? null;
  const error = signIn.error ?? switchTo.error;

  return (
    <div className="flex min-h-full items-start justify-center overflow-y-auto bg-canvas px-4 py-10 sm:items-center">
      <div className="w-full max-w-sm">
        {active && (
          <Link to="/" className="mb-4 inline-flex min-h-11 items-center gap-1 text-sm text-muted hover:text-fg sm:min-h-0">
            <ChevronLeftIcon /> Back to {active.tenant.name}
          </Link>
        )}
        <div className="mb-6 flex items-center gap-2.5">
          <LogoMark size={26} className="text-accent" />
          <div>
            <h1 className="text-lg leading-tight font-semibold">Spartex Control</h1>
            <p className="text-sm text-muted">{active ? 'Add another account' : 'Sign in to oversee your agents'}</p>
          </div>
        </div>

        <form
          noValidate
          className="space-y-3 rounded-xl border border-line bg-surface p-5 shadow-sm"
          onSubmit={(e) => {
            e.preventDefault();
            if (!signIn.isPending) signIn.mutate();
          }}
          aria-describedby={error ? 'signin-error' : undefined}
        >
          <label className="block text-sm">
            <span className="font-medium">Server</span>
            <input
              data-testid="signin-server"
              className={cx(input, 'mt-1 w-full font-mono text-[13px]')}
              type="text"
              inputMode="url"
              spellCheck={false}
              autoComplete="url"
              value={server}
              onChange={(e) => setServer(e.target.value)}
            />
          </label>
          <label className="block text-sm">
            <span className="font-medium">Email</span>
            <input
              data-testid="signin-email"
              className={cx(input, 'mt-1 w-full')}
              type="text"
              inputMode="email"
              autoCapitalize="none"
              spellCheck={false}
              autoComplete="username"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              placeholder="you@agency.com"
              autoFocus
            />
          </label>
          <label className="block text-sm">
            <span className="font-medium">Password</span>
            <input
              data-testid="signin-password"
              className={cx(input, 'mt-1 w-full')}
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </label>
          <button
            type="submit"
            data-testid="signin-submit"
            disabled={signIn.isPending}
            className={button('primary', 'w-full')}
          >
            {signIn.isPending ? 'Signing in…' : 'Sign in'}
          </button>
          {error && (
            <p
              id="signin-error"
              data-testid="signin-error"
              data-code={error.code}
              role="alert"
              className="flex items-start gap-2 rounded-md bg-red-soft p-2.5 text-sm text-fg"
            >
              <AlertIcon className="mt-0.5 shrink-0 text-red" />
              <span>{error.message}</span>
            </p>
          )}
        </form>

        {accounts.length > 0 && (
          <section className="mt-6" aria-labelledby="accounts-title">
            <h2 id="accounts-title" className="mb-2 text-xs font-semibold tracking-wide text-muted uppercase">
              Signed-in accounts
            </h2>
            <ul className="overflow-hidden rounded-xl border border-line bg-surface">
              {accounts.map((a) => (
                <li key={a.id} className="border-b border-line last:border-b-0">
                  <button
                    type="button"
                    data-testid="account-option"
                    data-account-id={a.id}
                    disabled={switchTo.isPending}
                    onClick={() => (a.id === active?.id ? void navigate('/') : switchTo.mutate(a.id))}
                    className="flex min-h-14 w-full items-center gap-3 px-4 py-2 text-left hover:bg-raised disabled:opacity-60"
                  >
                    <div className="min-w-0 flex-1">
                      <p className="truncate text-sm font-medium">
                        {a.user.name} <span className="font-normal text-muted">· {a.tenant.name}</span>
                      </p>
                      <p className="truncate text-xs text-muted">
                        {a.user.email} · {ROLE_WORD[a.user.role]} · {a.server_url}
                      </p>
                    </div>
                    <span className="text-xs text-accent">{a.id === active?.id ? 'Current' : 'Switch'}</span>
                  </button>
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
    </div>
  );
}
