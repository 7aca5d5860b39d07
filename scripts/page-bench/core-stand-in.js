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
  let changeListener = null;
  // `?refreshes=N`: once the dashboard has painted, N times over, every project's spend moves and
  // a change is delivered as the core sends it; the page re-reads the dashboard (a fresh copy,
  // as IPC hands over) and repaints. Each round's ms from the change to the repainted frame are
  // written on one line: the JavaScript a live session runs for every event.
  const refreshes = Number(new URLSearchParams(location.search).get('refreshes') ?? 0);
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  // Both measures wait for the first row's spend cell to show the spend just sent, so that
  // nothing else that changes on the page (a relative time ticking) ends a round early.
  const firstRow = () => {
    const row = document.querySelector('[data-testid="project-row"]');
    return { row, project: projects.find((entry) => entry.project.id === row.dataset.projectId).project };
  };
  const spendShown = ({ row, project }, withinMs) => {
    const shown = `$${project.spent_usd.toLocaleString('en-US')}`;
    const showing = () => row.isConnected && (row.querySelector('[data-testid="project-spend"]')?.textContent ?? '').includes(shown);
    return new Promise((resolve, reject) => {
      if (showing()) return resolve();
      const observer = new MutationObserver(() => {
        if (!showing()) return;
        observer.disconnect();
        clearTimeout(timer);
        resolve();
      });
      const timer = setTimeout(() => {
        observer.disconnect();
        reject(new Error(`the spend ${shown} was not shown within ${withinMs} ms`));
      }, withinMs);
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    });
  };
  async function measureRefreshes() {
    const rounds = [];
    for (let round = 1; round <= refreshes; round++) {
      // Longer than the UI's spell between re-reads (REFRESH_SPACING_MS), so none waits for it.
      await new Promise((resolve) => setTimeout(resolve, 150));
      for (const entry of projects) entry.project.spent_usd += 10;
      const changed = spendShown(firstRow(), 2000);
      const start = performance.now();
      window[`_${changeListener}`]({
        event: 'core-changes',
        id: 1,
        payload: [{ kind: 'cost', record: { project_id: 'prj_0' } }],
      });
      await changed;
      await nextFrame();
      rounds.push((performance.now() - start).toFixed(1));
    }
    console.log(`PAGE-BENCH refreshes ${rounds.join(' ')}`);
    await measureBurst();
  }
  // Then a busy tenant: BURST changes, one every 5 ms. How many times the page reads the
  // dashboard for them, and how long after the last one its effect is painted.
  const BURST = 100;
  let dashboardReads = 0;
  async function measureBurst() {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const readsBefore = dashboardReads;
    const busyBefore = performance.now();
    for (let change = 1; change <= BURST; change++) {
      for (const entry of projects) entry.project.spent_usd += 10;
      window[`_${changeListener}`]({ event: 'core-changes', id: 1, payload: [{ kind: 'cost', record: { project_id: 'prj_0' } }] });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const last = performance.now();
    await spendShown(firstRow(), 5000);
    await nextFrame();
    const settled = performance.now();
    console.log(`PAGE-BENCH burst reads=${dashboardReads - readsBefore} sent=${(last - busyBefore).toFixed(0)} settled=${(settled - last).toFixed(0)} took=${(settled - busyBefore).toFixed(0)}`);
  }
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
        if (refreshes > 0) measureRefreshes().catch((e) => console.log(`PAGE-BENCH failed: ${e}`));
      }
      if (command === 'plugin:event|listen' && args?.event === 'core-changes') changeListener = args.handler;
      // A build from before 10189ed listened to one change an event: the same page, compared.
      if (command === 'plugin:event|listen' && args?.event === 'core-change') {
        const single = args.handler;
        changeListener = nextCallback++;
        window[`_${changeListener}`] = (event) => event.payload.forEach((payload) => window[`_${single}`]({ ...event, payload }));
      }
      if (command === 'dashboard') dashboardReads += 1;
      const known = command in answers ? JSON.parse(JSON.stringify(answers[command])) : undefined;
      const answer = known !== undefined ? known : command.startsWith('plugin:event') ? nextCallback++ : null;
      return new Promise((resolve) => setTimeout(() => resolve(answer), 1));
    },
  };
})();
