import type { ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import * as ipc from '../ipc';
import type { NotificationPrefs, PushDetail } from '../bindings';
import { useAppState, useDashboard, usePrefs } from '../state/queries';
import { keys } from '../state/keys';
import { useTheme, type ThemeChoice } from '../state/theme';
import { usePageTitle } from '../state/pageTitle';
import { useAccountActions } from '../state/account';
import { toast } from '../state/toasts';
import { ROLE_WORD } from '../lib/roles';
import { inputToTime, timeToInput } from '../lib/format';
import { button, card, input, sectionTitle } from '../lib/ui';
import { cx } from '../lib/cx';
import { Toggle } from '../components/Toggle';
import { ErrorState, LoadingRows } from '../components/States';
import { PlusIcon } from '../components/Icons';
import { EscalationPolicyForm } from '../components/EscalationPolicyForm';
import { atLeast } from '../lib/roles';

const DEFAULT_QUIET = { start: '22:00:00', end: '07:00:00' };

function Row({ title, hint, children }: { title: string; hint?: ReactNode; children: ReactNode }) {
  return (
    <div className="flex min-h-14 items-center justify-between gap-4 px-4 py-3">
      <div className="min-w-0">
        <p className="text-sm font-medium">{title}</p>
        {hint && <p className="text-xs text-muted">{hint}</p>}
      </div>
      <div className="shrink-0">{children}</div>
    </div>
  );
}

function Notifications() {
  const { data: prefs, error, isPending } = usePrefs();
  const { data: projects } = useDashboard();
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (next: NotificationPrefs) => ipc.setNotificationPrefs(next),
    onMutate: (next) => {
      const before = client.getQueryData<NotificationPrefs>(keys.prefs);
      client.setQueryData(keys.prefs, next);
      return { before };
    },
    onError: (e, _next, ctx) => {
      if (ctx?.before) client.setQueryData(keys.prefs, ctx.before);
      toast({ tone: 'error', title: 'Notification settings not saved', message: e.message });
    },
  });

  if (isPending) return <LoadingRows rows={2} />;
  if (error) return <ErrorState error={error} title="Could not read notification settings" />;
  const set = (patch: Partial<NotificationPrefs>) => save.mutate({ ...prefs, ...patch });
  const quiet = prefs.quiet_hours;
  const setQuiet = (which: 'start' | 'end', value: string) => {
    if (!/^\d{2}:\d{2}$/.test(value)) return;
    set({ quiet_hours: { ...(quiet ?? DEFAULT_QUIET), [which]: inputToTime(value) } });
  };
  const muted = new Set(prefs.muted_projects);

  return (
    <div className="divide-y divide-line">
      <Row title="Notifications" hint="Approvals, stops and agents in error, with Approve / Reject on the notification.">
        <Toggle testId="notifications-enabled" label="Notifications" checked={prefs.enabled} onChange={(enabled) => set({ enabled })} />
      </Row>
      <div className={cx('px-4 py-3', !prefs.enabled && 'opacity-60')}>
        <div className="flex items-center justify-between gap-4">
          <div>
            <p className="text-sm font-medium">Quiet hours</p>
            <p className="text-xs text-muted">Only urgent notifications (critical approvals, stops) in this window.</p>
          </div>
          <Toggle label="Quiet hours" checked={quiet !== null} onChange={(on) => set({ quiet_hours: on ? DEFAULT_QUIET : null })} />
        </div>
        <div className="mt-3 flex flex-wrap items-center gap-3 text-sm">
          <label className="flex items-center gap-2">
            From
            <input
              type="time"
              data-testid="quiet-start"
              className={cx(input, 'w-32')}
              value={timeToInput((quiet ?? DEFAULT_QUIET).start)}
              onChange={(e) => setQuiet('start', e.target.value)}
            />
          </label>
          <label className="flex items-center gap-2">
            to
            <input
              type="time"
              data-testid="quiet-end"
              className={cx(input, 'w-32')}
              value={timeToInput((quiet ?? DEFAULT_QUIET).end)}
              onChange={(e) => setQuiet('end', e.target.value)}
            />
          </label>
          {quiet === null && <span className="text-xs text-muted">Off — setting a time turns it on.</span>}
        </div>
      </div>
      <div className="px-4 py-3">
        <p className="text-sm font-medium">Projects</p>
        <p className="text-xs text-muted">A muted project only raises urgent notifications.</p>
        <ul className="mt-2 divide-y divide-line">
          {(projects ?? []).map((p) => (
            <li key={p.project.id} className="flex min-h-11 items-center justify-between gap-3 py-1">
              <span className="min-w-0 truncate text-sm">{p.project.name}</span>
              <span className="flex items-center gap-2 text-xs text-muted">
                {muted.has(p.project.id) ? 'Muted' : 'All notifications'}
                <Toggle
                  testId="mute-project"
                  extra={{ 'data-project-id': p.project.id }}
                  label={`Mute ${p.project.name}`}
                  checked={muted.has(p.project.id)}
                  onChange={(on) =>
                    set({
                      muted_projects: on
                        ? [...prefs.muted_projects, p.project.id]
                        : prefs.muted_projects.filter((id) => id !== p.project.id),
                    })
                  }
                />
              </span>
            </li>
          ))}
          {projects?.length === 0 && <li className="py-2 text-sm text-muted">No projects yet.</li>}
        </ul>
      </div>
    </div>
  );
}

/** The organisation's own settings, which only an owner changes (and only online). */
function Organisation({ accountId }: { accountId: string }) {
  const key = keys.tenantSettings(accountId);
  const { data: settings, error, isPending } = useQuery({ queryKey: key, queryFn: ipc.tenantSettings });
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: (push_detail: PushDetail) => ipc.setTenantSettings({ push_detail }),
    onSuccess: (saved) => client.setQueryData(key, saved),
    onError: (e) => toast({ tone: 'error', title: 'Organisation settings not saved', message: e.message }),
  });
  if (isPending) return <LoadingRows rows={1} />;
  if (error) return <ErrorState error={error} title="Could not read the organisation's settings (they need a connection)" />;
  return (
    <Row
      title="What phones show on a lock screen"
      hint="Minimal: “Approval needed (critical)”, with no project or request named, for every member's pushes."
    >
      <select
        data-testid="push-detail-select"
        aria-label="What phones show on a lock screen"
        className={cx(input, 'w-48')}
        value={settings.push_detail}
        disabled={save.isPending}
        onChange={(e) => save.mutate(e.target.value as PushDetail)}
      >
        <option value="full">Project and request</option>
        <option value="minimal">Minimal</option>
      </select>
    </Row>
  );
}

function Accounts() {
  const { data } = useAppState();
  const { switchTo, signOut } = useAccountActions();
  const navigate = useNavigate();
  const active = data?.active ?? null;
  const accounts = [...(data?.accounts ?? [])].sort((a, b) => Number(b.id === active?.id) - Number(a.id === active?.id));
  return (
    <div>
      <ul className="divide-y divide-line">
        {accounts.map((a) => (
          <li key={a.id} className="flex flex-wrap items-center gap-3 px-4 py-3">
            <div className="min-w-0 flex-1">
              <p className="truncate text-sm font-medium">
                {a.user.name} · {a.tenant.name}
                {a.id === active?.id && <span className="ml-2 rounded bg-accent/15 px-1.5 text-xs text-accent">Shown now</span>}
              </p>
              <p className="truncate text-xs text-muted">
                {a.user.email} · {ROLE_WORD[a.user.role]} · {a.server_url}
              </p>
            </div>
            {a.id !== active?.id && (
              <button type="button" className={button('secondary')} onClick={() => switchTo.mutate(a.id)} disabled={switchTo.isPending}>
                Switch
              </button>
            )}
            <button
              type="button"
              data-testid="sign-out-button"
              data-account-id={a.id}
              className={button('ghost', 'text-red')}
              onClick={() => signOut.mutate({ accountId: a.id })}
              disabled={signOut.isPending}
            >
              Sign out
            </button>
          </li>
        ))}
      </ul>
      <div className="border-t border-line px-4 py-3">
        <button type="button" className={button('secondary')} onClick={() => void navigate('/sign-in')}>
          <PlusIcon /> Add account
        </button>
      </div>
    </div>
  );
}

export function Settings() {
  const { theme, setTheme } = useTheme();
  usePageTitle('Settings');
  const { data: app } = useAppState();
  const owner = app?.active?.user.role === 'owner' ? app.active : null;
  const manager = app?.active && atLeast(app.active.user.role, 'manager') ? app.active : null;
  return (
    <div data-testid="settings-page" className="mx-auto w-full max-w-2xl space-y-6 px-3 py-4 sm:px-6 sm:py-6">
      <h1 className="text-lg font-semibold">Settings</h1>
      <section aria-labelledby="s-notify">
        <h2 id="s-notify" className={cx(sectionTitle, 'mb-2')}>Notifications</h2>
        <div className={card}>
          <Notifications />
        </div>
      </section>
      {owner && (
        <section aria-labelledby="s-org">
          <h2 id="s-org" className={cx(sectionTitle, 'mb-2')}>
            {owner.tenant.name}
          </h2>
          <div className={card}>
            <Organisation accountId={owner.id} />
          </div>
        </section>
      )}
      {manager && (
        <section aria-labelledby="s-escalation">
          <h2 id="s-escalation" className={cx(sectionTitle, 'mb-2')}>
            Escalation
          </h2>
          <div className={card}>
            <EscalationPolicyForm accountId={manager.id} />
          </div>
        </section>
      )}
      <section aria-labelledby="s-look">
        <h2 id="s-look" className={cx(sectionTitle, 'mb-2')}>Appearance</h2>
        <div className={card}>
          <Row title="Theme" hint="System follows your computer's or phone's light or dark setting.">
            <select
              data-testid="theme-select"
              aria-label="Theme"
              className={cx(input, 'w-36')}
              value={theme}
              onChange={(e) => setTheme(e.target.value as ThemeChoice)}
            >
              <option value="system">System</option>
              <option value="light">Light</option>
              <option value="dark">Dark</option>
            </select>
          </Row>
        </div>
      </section>
      <section aria-labelledby="s-accounts">
        <h2 id="s-accounts" className={cx(sectionTitle, 'mb-2')}>Accounts</h2>
        <div className={card}>
          <Accounts />
        </div>
      </section>
    </div>
  );
}
