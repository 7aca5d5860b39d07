// A stand-in for the Rust core, for scripts/page-bench.py only: the page runs in WebKitGTK's
// MiniBrowser without the shell, and this answers the commands its dashboard sends at launch
// (app state, status, 1,000 projects) the way the core's cache would. It is not the app's IPC:
// the desktop bench measures that. When the dashboard has painted, the page's steps and its
// markup are written to the console, one line each.
(() => {
  const names = ['Spring Sale', 'Black Friday', 'Summer Launch', 'Brand Refresh', 'Holiday Push',
    'Back to School', 'Winter Clearance', 'App Install Drive', 'Loyalty Program', 'Creator Collab'];
  const statuses = ['active', 'active', 'active', 'paused', 'stopped', 'completed'];
  const account = {
    id: 'acme-manager',
    server_url: 'http://127.0.0.1:8080',
    user: { id: 'usr_manager', email: 'manager@acme.test', name: 'Maya Chen', role: 'manager' },
    tenant: { id: 'ten_acme', name: 'Acme Ads', slug: 'acme' },
    added_at: '2026-11-01T09:00:00Z',
  };
  const projects = Array.from({ length: 1000 }, (_, i) => ({
    project: {
      id: `prj_${i}`,
      name: `${names[i % names.length]} ${i + 1}`,
      description: `Meta and Google ads for client ${i}`,
      status: statuses[i % statuses.length],
      budget_usd: 1000 + i * 7,
      spent_usd: (i * 37) % 1500,
      created_at: '2026-11-01T09:00:00Z',
      updated_at: '2026-12-01T10:38:00Z',
      version: 3,
    },
    agents_total: 4,
    agents_working: i % 3,
    agents_waiting: i % 2,
    agents_stopped: 0,
    agents_error: i % 7 === 0 ? 1 : 0,
    pending_approvals: i % 5,
    last_activity: '2026-12-01T10:38:00Z',
    stop_sending: false,
  }));
  const answers = {
    app_state: { accounts: [account], active: account },
    status: {
      account,
      link: 'connected',
      last_sync_at: '2026-12-01T10:39:30Z',
      last_seq: 120,
      server_head: 120,
      outbox: [],
      recent_outcomes: [],
    },
    dashboard: projects,
  };
  let nextCallback = 1;
  window.__TAURI_INTERNALS__ = {
    metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
    transformCallback(callback) {
      const id = nextCallback++;
      window[`_${id}`] = callback;
      return id;
    },
    invoke(command, args) {
      if (command === 'report_painted' && String(args?.screen).startsWith('page steps')) {
        console.log(`PAGE-BENCH steps ${args.screen}`);
      }
      if (command === 'report_painted' && args?.screen === 'dashboard') {
        console.log(`PAGE-BENCH markup ${JSON.stringify(document.body.innerHTML)}`);
      }
      const answer = command in answers ? answers[command] : command.startsWith('plugin:event') ? nextCallback++ : null;
      return new Promise((resolve) => setTimeout(() => resolve(answer), 1));
    },
  };
})();
