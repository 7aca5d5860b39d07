//! The app's state: the core, the account being shown, and its background work (sync, the
//! bridge of changes to the UI, notifications). Switching accounts stops one and starts the
//! other; an account set aside with actions still waiting goes on delivering them.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use serde::Serialize;
use spartex_core::notify::{NotificationPrefs, NotificationResponse, Notifier};
use spartex_core::store::OutboxKind;
use spartex_core::{Account, AccountInfo, Core, Running, Undelivered};
use tauri::AppHandle;
use tokio::sync::Mutex;

use crate::error::{CommandError, CommandResult};
use crate::{bridge, responses, shutdown};

/// What the UI needs before its first screen.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AppState {
    pub accounts: Vec<AccountInfo>,
    pub active: Option<AccountInfo>,
    /// A desktop app, which runs on with its window closed and is quit from its own menu; a
    /// phone's OS ends its apps.
    pub desktop: bool,
}

/// An emergency stop taken in an account no longer shown, still on its way to the server.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StopElsewhere {
    pub account: AccountInfo,
    /// What it does, in words ("Stop “Spring Sale”").
    pub label: String,
}

pub struct Shell {
    core: Core,
    active: Mutex<Option<Active>>,
    /// Accounts no longer shown whose outbox still held actions when another was shown: each
    /// goes on delivering (a stop pulled offline reaches the server when the link returns,
    /// whichever organisation is on screen), until it is shown again or signed out.
    delivering: Mutex<HashMap<String, Delivering>>,
    /// Held while the account shown changes (shown, set aside, signed out): two switches at
    /// once would otherwise both show theirs, and the one overwritten would go on running
    /// (syncing, notifying with live Approve buttons) behind another organisation.
    switching: Mutex<()>,
    /// A route asked for (deep link, notification) that the UI has not taken yet.
    pending_route: std::sync::Mutex<Option<String>>,
    /// Set once the account shown last time is open again (or there is none): the window
    /// loads meanwhile, and the first commands wait for it.
    restored: tokio::sync::watch::Sender<bool>,
    /// The steps of [`Shell::shutdown`], timed in the log.
    shutdown_steps: Steps,
}

struct Active {
    account: Account,
    running: Running,
    prefs: Arc<RwLock<NotificationPrefs>>,
    /// What serves the screen: the UI bridge and tray, the notifications' clicks.
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// What raises this account's notifications (`spartex_core::alerts`).
    alerts: Option<tokio::task::JoinHandle<()>>,
    /// What shows this account's notifications, to take them back when it stops.
    notifier: Option<Arc<dyn Notifier>>,
}

impl Shell {
    pub fn new(core: Core) -> Shell {
        Shell {
            core,
            active: Mutex::new(None),
            delivering: Mutex::default(),
            switching: Mutex::default(),
            pending_route: std::sync::Mutex::new(None),
            restored: tokio::sync::watch::Sender::new(false),
            shutdown_steps: Steps::logged(),
        }
    }

    pub fn core(&self) -> &Core {
        &self.core
    }

    pub async fn account(&self) -> CommandResult<Account> {
        self.wait_restored().await;
        self.active
            .lock()
            .await
            .as_ref()
            .map(|a| a.account.clone())
            .ok_or_else(CommandError::no_account)
    }

    pub async fn app_state(&self) -> CommandResult<AppState> {
        self.wait_restored().await;
        Ok(AppState {
            accounts: self.core.accounts()?,
            active: self
                .active
                .lock()
                .await
                .as_ref()
                .map(|a| a.account.info().clone()),
            desktop: cfg!(desktop),
        })
    }

    /// Whether anything goes on with the window closed: an account shown (its sync and
    /// notifications), or one set aside still delivering its outbox.
    #[cfg(desktop)]
    pub async fn works_in_background(&self) -> bool {
        // Mid-switch, the account set aside is in neither list until the switch is over.
        let _switching = self.switching.lock().await;
        self.active.lock().await.is_some() || !self.delivering.lock().await.is_empty()
    }

    /// What waits for the server in every account's outbox, in words ("Stop “Spring Sale”"):
    /// what quitting would hold back until the app runs again.
    pub async fn undelivered(&self) -> Vec<String> {
        let _switching = self.switching.lock().await;
        let mut accounts: Vec<Account> = (self.active.lock().await.iter())
            .map(|active| active.account.clone())
            .collect();
        accounts.extend(
            (self.delivering.lock().await.values()).map(|delivering| delivering.account.clone()),
        );
        let mut waiting = Vec::new();
        for account in accounts {
            match account.outbox().await {
                Ok(outbox) => waiting.extend(outbox.into_iter().map(|entry| entry.label)),
                Err(error) => tracing::warn!(%error, "could not read an outbox before quitting"),
            }
        }
        waiting
    }

    /// Where the account shown raises its notifications, if it has one here.
    #[cfg(desktop)]
    pub async fn notifier(&self) -> Option<Arc<dyn Notifier>> {
        (self.active.lock().await.as_ref()).and_then(|active| active.notifier.clone())
    }

    /// Emergency stops waiting in the outboxes of accounts not shown (each delivered by its
    /// own loop): the banner that says a stop has not reached the server yet stays up, naming
    /// the organisation, whichever is shown.
    pub async fn stops_elsewhere(&self) -> Vec<StopElsewhere> {
        let delivering = self.delivering.lock().await;
        let mut stops = Vec::new();
        for delivering in delivering.values() {
            let account = &delivering.account;
            let Ok(outbox) = account.outbox().await else {
                continue;
            };
            stops.extend(
                outbox
                    .into_iter()
                    .filter(|entry| entry.kind == OutboxKind::Stop)
                    .map(|entry| StopElsewhere {
                        account: account.info().clone(),
                        label: entry.label,
                    }),
            );
        }
        stops
    }

    /// Shows `account`: stops the one shown before, starts sync, the UI bridge and notifications.
    pub async fn activate(&self, app: &AppHandle, account: Account) -> CommandResult<AccountInfo> {
        let _switching = self.switching.lock().await;
        let prefs = Arc::new(RwLock::new(
            self.core.notification_prefs(&account.info().id)?,
        ));
        let previous = self.active.lock().await.take();
        if let Some(previous) = previous {
            self.set_aside(previous).await;
        }
        let delivering = self.delivering.lock().await.remove(&account.info().id);
        if let Some(delivering) = delivering {
            // This account's own loops take over.
            delivering.stop(&Steps::unlogged()).await;
        }
        let (clicks, clicked) = tokio::sync::mpsc::unbounded_channel();
        // A phone's notifications are the server's pushes: it registers for them (again).
        #[cfg_attr(desktop, allow(unused_mut))]
        let mut tasks = vec![
            bridge::spawn(app.clone(), &account),
            responses::spawn(app.clone(), account.clone(), clicked),
        ];
        #[cfg(mobile)]
        tasks.push(crate::paging::spawn_registration(
            app.clone(),
            account.clone(),
        ));
        let notifications = spawn_notifications(&account, clicks, &prefs);
        let notifier = notifications.as_ref().map(|(_, notifier)| notifier.clone());
        let alerts = notifications.map(|(task, _)| task);
        let running = account.start();
        let info = account.info().clone();
        remember_active(&self.core, &info.id);
        *self.active.lock().await = Some(Active {
            account,
            running,
            prefs,
            tasks,
            alerts,
            notifier,
        });
        Ok(info)
    }

    /// Stops showing `previous`; what its outbox still holds goes on being delivered.
    async fn set_aside(&self, previous: Active) {
        let id = previous.account.info().id.clone();
        if let Some(delivering) = previous.stop_showing().await {
            self.delivering.lock().await.insert(id, delivering);
        }
    }

    /// Signs the account out and wipes its cache; when it was the one shown, shows no account
    /// afterwards. Actions the server has not taken yet refuse it (tried once more first),
    /// unless `discard_undelivered`: the person chose to lose them.
    pub async fn sign_out(
        &self,
        app: &AppHandle,
        account_id: &str,
        discard_undelivered: bool,
    ) -> CommandResult<()> {
        let mut undelivered = Undelivered::discarded_if(discard_undelivered);
        // Asked of the account open here, whose own delivery goes on if the person stays signed
        // in, not of a second copy (one not open here, the core opens to ask); without holding
        // the account shown meanwhile (the last try may take seconds), so other commands go on.
        if let (Undelivered::Keep, Some(open_here)) =
            (undelivered, self.open_here(account_id).await)
        {
            open_here.deliver_before_signing_out().await?;
            undelivered = Undelivered::Discard; // nothing is left to lose
        }
        let switching = self.switching.lock().await;
        let delivering = self.delivering.lock().await.remove(account_id);
        if let Some(delivering) = delivering {
            delivering.stop(&Steps::unlogged()).await;
        }
        let mut active = self.active.lock().await;
        let shown = active
            .as_ref()
            .is_some_and(|a| a.account.info().id == account_id);
        if shown {
            if let Some(previous) = active.take() {
                previous.stop(&Steps::unlogged()).await;
            }
        }
        let signed_out = self.core.logout(Some(account_id), undelivered).await;
        drop(active);
        drop(switching);
        match signed_out {
            Ok(_) => {
                if shown {
                    forget_active(&self.core);
                }
                Ok(())
            }
            // Refused (the account open in another process, say): the account shown before
            // is shown again, syncing and notifying, where it was left stopped and followed
            // nothing until someone chose it again.
            Err(refused) => {
                if shown {
                    match self.core.open(Some(account_id)).await {
                        Ok(account) => {
                            self.activate(app, account).await?;
                        }
                        Err(error) => tracing::warn!(%error, "could not show the account again"),
                    }
                }
                Err(refused.into())
            }
        }
    }

    /// The account if it is open here: shown, or delivering what it still holds.
    async fn open_here(&self, account_id: &str) -> Option<Account> {
        let shown = self
            .active
            .lock()
            .await
            .as_ref()
            .filter(|a| a.account.info().id == account_id)
            .map(|a| a.account.clone());
        match shown {
            Some(account) => Some(account),
            None => self
                .delivering
                .lock()
                .await
                .get(account_id)
                .map(|d| d.account.clone()),
        }
    }

    pub async fn set_prefs(&self, prefs: NotificationPrefs) -> CommandResult<()> {
        let active = self.active.lock().await;
        let active = active.as_ref().ok_or_else(CommandError::no_account)?;
        self.core
            .set_notification_prefs(&active.account.info().id, &prefs)?;
        *active
            .prefs
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = prefs;
        Ok(())
    }

    pub fn ask_route(&self, route: String) {
        *self
            .pending_route
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(route);
    }

    pub fn has_route(&self) -> bool {
        self.pending_route
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }

    pub fn take_route(&self) -> Option<String> {
        self.pending_route
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }

    /// Ends the accounts' work and closes their caches before the process exits
    /// (`shutdown`), each step timed in the log.
    pub async fn shutdown(&self) {
        let steps = &self.shutdown_steps;
        // After a switch under way: the account it shows would otherwise be left running.
        let _switching = steps
            .run(
                "wait for an account switch under way",
                self.switching.lock(),
            )
            .await;
        let active = self.active.lock().await.take();
        if let Some(active) = active {
            active.stop(steps).await;
        }
        let delivering: Vec<Delivering> = self
            .delivering
            .lock()
            .await
            .drain()
            .map(|(_, d)| d)
            .collect();
        for delivering in delivering {
            delivering.stop(steps).await;
        }
    }

    /// The step of [`Shell::shutdown`] under way, if any: what holds up a shutdown that did
    /// not end in time.
    pub fn shutdown_step_under_way(&self) -> Option<&'static str> {
        self.shutdown_steps.under_way()
    }

    pub fn mark_restored(&self) {
        self.restored.send_replace(true);
    }

    async fn wait_restored(&self) {
        let mut restored = self.restored.subscribe();
        let _ = restored.wait_for(|done| *done).await;
    }

    /// The account shown last time, or the only one signed in.
    pub async fn open_last(&self) -> Option<Account> {
        let accounts = self.core.accounts().ok()?;
        let remembered = std::fs::read_to_string(active_file(&self.core)).ok();
        let id = match remembered {
            Some(id) if accounts.iter().any(|a| a.id == id.trim()) => id.trim().to_owned(),
            _ if accounts.len() == 1 => accounts[0].id.clone(),
            _ => return None,
        };
        match self.core.open(Some(&id)).await {
            Ok(account) => Some(account),
            Err(error) => {
                tracing::warn!(%error, account = %id, "could not open the last account");
                None
            }
        }
    }
}

/// An account no longer shown, delivering what its outbox holds.
struct Delivering {
    account: Account,
    running: Running,
}

impl Delivering {
    async fn stop(self, steps: &Steps) {
        steps
            .run(
                "stop delivering a set-aside account's outbox",
                self.running.stop(),
            )
            .await;
        steps
            .run(
                "close a set-aside account's cache",
                self.account.store().close(),
            )
            .await;
    }
}

impl Active {
    /// Stops what showing the account needed; its outbox goes on being delivered when it
    /// still holds actions.
    async fn stop_showing(self) -> Option<Delivering> {
        let waiting = self
            .account
            .outbox()
            .await
            .is_ok_and(|outbox| !outbox.is_empty());
        let steps = Steps::unlogged();
        if !waiting {
            self.stop(&steps).await;
            return None;
        }
        let account = self.stop_tasks(&steps).await;
        let running = account.start_delivery();
        Some(Delivering { account, running })
    }

    async fn stop(self, steps: &Steps) {
        let account = self.stop_tasks(steps).await;
        steps
            .run("close the shown account's cache", account.store().close())
            .await;
    }

    /// Ends the account's tasks; its cache stays open.
    async fn stop_tasks(self, steps: &Steps) -> Account {
        // First: nothing the screen shows (the tray) is updated while the rest stops; each
        // query they have under way ends and hands its connection back before the cache closes.
        for task in &self.tasks {
            task.abort();
        }
        // Their buttons would answer nobody once this account stops. Before the alerts task is
        // ended: a notification it is showing at this moment is waited for and taken back too,
        // where an aborted showing left it on screen unrecorded.
        if let Some(notifier) = &self.notifier {
            steps
                .run(
                    "take back the shown account's notifications",
                    notifier.withdraw_all(),
                )
                .await;
        }
        if let Some(alerts) = &self.alerts {
            alerts.abort();
        }
        steps
            .run("stop the shown account's sync", self.running.stop())
            .await;
        self.account
    }
}

/// The steps of ending an account's work, and the one under way; when the app shuts down, each
/// is timed in the log (`shutdown::LOG_TARGET`), never with what the account holds.
struct Steps {
    logged: bool,
    under_way: std::sync::Mutex<Option<&'static str>>,
}

impl Steps {
    fn logged() -> Steps {
        Steps {
            logged: true,
            under_way: std::sync::Mutex::new(None),
        }
    }

    /// A switch's or a sign-out's, not logged.
    fn unlogged() -> Steps {
        Steps {
            logged: false,
            ..Steps::logged()
        }
    }

    async fn run<T>(&self, step: &'static str, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        *self.lock() = Some(step);
        if self.logged {
            tracing::debug!(target: shutdown::LOG_TARGET, step, "started");
        }
        let done = work.await;
        *self.lock() = None;
        if self.logged {
            tracing::info!(
                target: shutdown::LOG_TARGET,
                step,
                ms = started.elapsed().as_millis() as u64,
                "done"
            );
        }
        done
    }

    fn under_way(&self) -> Option<&'static str> {
        *self.lock()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<&'static str>> {
        self.under_way
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Raises the account's notifications on the desktop's notification server; the buttons and
/// clicks come back through `clicks`.
#[cfg(desktop)]
fn spawn_notifications(
    account: &Account,
    clicks: tokio::sync::mpsc::UnboundedSender<NotificationResponse>,
    prefs: &Arc<RwLock<NotificationPrefs>>,
) -> Option<(tokio::task::JoinHandle<()>, Arc<dyn Notifier>)> {
    let notifier: Arc<dyn Notifier> = Arc::new(spartex_core::notify::DesktopNotifier::new(clicks));
    let task = spartex_core::alerts::spawn_notifications(account, notifier.clone(), prefs.clone());
    Some((task, notifier))
}

/// A phone has no notification server to call: its notifications are the server's pushes,
/// shown by the OS while the app is closed (`mobile/README.md`). Their action taps will come
/// back through `clicks` like the desktop's buttons.
#[cfg(mobile)]
fn spawn_notifications(
    _account: &Account,
    _clicks: tokio::sync::mpsc::UnboundedSender<NotificationResponse>,
    _prefs: &Arc<RwLock<NotificationPrefs>>,
) -> Option<(tokio::task::JoinHandle<()>, Arc<dyn Notifier>)> {
    None
}

fn active_file(core: &Core) -> PathBuf {
    core.data_dir().join("desktop-active-account")
}

fn remember_active(core: &Core, id: &str) {
    if let Err(error) = std::fs::write(active_file(core), id) {
        tracing::warn!(%error, "could not remember the account shown");
    }
}

fn forget_active(core: &Core) {
    let _ = std::fs::remove_file(active_file(core));
}
