// Default answers for every command of the mocked `ipc` module (tests call
// `vi.mock('<path>/ipc')` first, then `mockIpc()` in beforeEach).
import { vi } from 'vitest';
import * as ipc from '../ipc';
import { appState, status } from './fixtures';

type Ipc = typeof ipc;

export function mockIpc(overrides: Partial<{ [K in keyof Ipc]: Ipc[K] }> = {}) {
  const m = vi.mocked(ipc);
  m.appState.mockResolvedValue(appState());
  m.status.mockResolvedValue(status());
  m.dashboard.mockResolvedValue([]);
  m.approvals.mockResolvedValue([]);
  m.outbox.mockResolvedValue([]);
  m.stopsElsewhere.mockResolvedValue([]);
  m.latestStop.mockResolvedValue(null);
  m.messages.mockResolvedValue([]);
  m.search.mockResolvedValue([]);
  m.takeNavigation.mockResolvedValue(null);
  m.reportPainted.mockResolvedValue(null);
  m.showWindow.mockResolvedValue(null);
  m.keepFirstFrame.mockResolvedValue(null);
  m.onChanges.mockResolvedValue(() => undefined);
  m.onNavigate.mockResolvedValue(() => undefined);
  m.onQuitRefused.mockResolvedValue(() => undefined);
  m.quitAsked.mockResolvedValue(null);
  m.pagingProblem.mockResolvedValue(null);
  m.listeningToPushes.mockResolvedValue(null);
  m.notificationPrefs.mockResolvedValue({ enabled: true, muted_projects: [], quiet_hours: null });
  m.tenantSettings.mockResolvedValue({ push_detail: 'full' });
  m.isCommandError.mockImplementation(
    (v: unknown): v is ipc.CommandError => typeof v === 'object' && v !== null && 'code' in v && 'message' in v,
  );
  for (const [name, impl] of Object.entries(overrides)) {
    (m as unknown as Record<string, { mockImplementation: (f: unknown) => void }>)[name]?.mockImplementation(impl);
  }
  return m;
}
