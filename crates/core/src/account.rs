//! One signed-in account, the facade the faces use: its cache, its change channel, and the
//! actions a face can take. Reads come from the cache (they work offline); writes go through
//! the outbox. Keeping in step ([`Syncer`]) and delivering ([`Delivery`]) are parts of their own.

use std::path::Path;
use std::sync::Arc;

use chrono::Utc;
use serde::Serialize;
use spartex_api::{Decision, Stop};
use spartex_policy::{approval_blocker, DecisionContext};
use tokio::sync::{broadcast, watch, Notify};

use crate::actions::{PreparedAction, QueuedAction};
use crate::changes::{OutcomeResult, Publisher};
use crate::delivery::{Delivery, FlushReport};
use crate::devices::DeviceRecord;
use crate::error::{CoreError, CoreResult};
use crate::registry::AccountInfo;
use crate::session::Session;
use crate::settings::{PrefsFiles, SettingsSent, SettingsSync};
use crate::store::views::{
    ApprovalView, DashboardJson, MessageView, ProjectSummary, ProjectView, SearchHit, Thread,
};
use crate::store::{meta, unkept_entry, KeptForNewerVersion, OutboxEntry, Store, StoreError};
use crate::sync::{AlertsHere, SyncReport, Syncer};
use crate::{Change, LinkState, Outcome};

/// The last try to deliver the outbox before signing out waits this long at most.
const LAST_TRY: std::time::Duration = std::time::Duration::from_secs(10);

mod decisions;

#[derive(Clone)]
pub struct Account(Arc<Inner>);

struct Inner {
    info: AccountInfo,
    session: Arc<Session>,
    store: Store,
    publisher: Publisher,
    syncer: Syncer,
    delivery: Delivery,
    settings: SettingsSync,
    devices: DeviceRecord,
    /// Whether notifications raised on this device reach this person, and why not: the socket
    /// says whether, the shell shows why.
    alerts_here: watch::Sender<AlertsHere>,
}

/// What `status` shows: the link, how fresh the cache is, what waits to be sent.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Status {
    pub account: AccountInfo,
    pub link: LinkState,
    pub last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
    pub last_seq: i64,
    pub server_head: Option<i64>,
    pub outbox: Vec<OutboxEntry>,
    pub recent_outcomes: Vec<Outcome>,
    /// Events this version kept but cannot read (a newer server's): update to see them.
    pub unreadable_events: i64,
    /// Actions a newer build queued (the CLI updated before the app), in words: kept, never
    /// sent by this version; update it to send them.
    pub actions_for_a_newer_version: Vec<String>,
    /// The server's clock minus this machine's, in ms (0 while they agree within 2 s): the
    /// faces judge expiries and countdowns by the server's time.
    pub server_clock_ahead_ms: i64,
}

/// A queued action and whether it already reached the server. Its `entry.id` is 0 when it was
/// sent without being kept in the outbox (the cache's disk was full).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Queued {
    pub entry: OutboxEntry,
    pub delivered: bool,
    /// How it ended, when it did (delivered, or refused and undone).
    pub outcome: Option<Outcome>,
    /// Why it still waits, when it does.
    pub waiting_because: Option<String>,
}

impl Queued {
    /// The server (or the core's own rule) refused it: it left the outbox undone, and
    /// `outcome` says why.
    pub fn refused(&self) -> bool {
        self.outcome
            .as_ref()
            .is_some_and(|outcome| outcome.result != OutcomeResult::Delivered)
    }
}

impl Account {
    /// `dir` is the account's folder (settings, push registration); a save of the settings
    /// pokes `settings_wakeup`.
    pub(crate) fn new(
        info: AccountInfo,
        session: Session,
        store: Store,
        dir: &Path,
        settings_wakeup: Arc<Notify>,
    ) -> Account {
        let session = Arc::new(session);
        let publisher = Publisher::new();
        let outbox_wakeup = Arc::new(Notify::new());
        let (alerts_here, alerts_heard) = watch::channel(AlertsHere::default());
        let syncer = Syncer::new(
            &info.id,
            session.clone(),
            store.clone(),
            publisher.clone(),
            outbox_wakeup.clone(),
            alerts_heard,
        );
        let delivery = Delivery::new(
            session.clone(),
            store.clone(),
            publisher.clone(),
            outbox_wakeup,
        );
        let settings = SettingsSync::new(session.clone(), PrefsFiles::new(dir), settings_wakeup);
        Account(Arc::new(Inner {
            info,
            session,
            store,
            publisher,
            syncer,
            delivery,
            settings,
            devices: DeviceRecord::new(dir),
            alerts_here,
        }))
    }

    pub(crate) fn session(&self) -> &Session {
        &self.0.session
    }

    pub(crate) fn devices(&self) -> &DeviceRecord {
        &self.0.devices
    }

    pub(crate) fn settings(&self) -> &SettingsSync {
        &self.0.settings
    }

    pub fn info(&self) -> &AccountInfo {
        &self.0.info
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// Every change to this account's cache, as it is applied.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.0.publisher.subscribe()
    }

    pub fn link(&self) -> LinkState {
        self.0.publisher.link()
    }

    pub fn watch_link(&self) -> watch::Receiver<LinkState> {
        self.0.publisher.watch_link()
    }

    /// Says whether this device raises a notification when a request names this person (its
    /// notification service answers and notifications are on): only then does its live link
    /// count as a way to reach them on the escalation ladder. The socket says `alerts=false`
    /// otherwise, and is opened again when this changes. Not raised here until said: the task
    /// that raises this account's notifications says it while it runs.
    pub fn set_alerts_here(&self, found: AlertsHere) {
        self.0
            .alerts_here
            .send_if_modified(|now| std::mem::replace(now, found) != found);
    }

    /// What [`Account::set_alerts_here`] last said.
    pub fn alerts_here(&self) -> AlertsHere {
        *self.0.alerts_here.borrow()
    }

    /// Brings the cache up to the server's head over HTTP.
    pub async fn catch_up(&self) -> CoreResult<SyncReport> {
        self.0.syncer.catch_up().await
    }

    /// Sends everything in the outbox that the server will take now.
    pub async fn flush_outbox(&self) -> CoreResult<FlushReport> {
        self.0.delivery.flush().await
    }

    pub async fn status(&self) -> CoreResult<Status> {
        let store = self.store();
        let outbox = store.outbox_as_read().await?;
        Ok(Status {
            account: self.info().clone(),
            link: self.link(),
            last_sync_at: store
                .meta(meta::LAST_SYNC_AT)
                .await?
                .and_then(|t| t.parse().ok()),
            last_seq: store.last_seq().await?,
            server_head: store
                .meta(meta::SERVER_HEAD)
                .await?
                .and_then(|h| h.parse().ok()),
            outbox: self.0.delivery.waiting(outbox.entries),
            actions_for_a_newer_version: (outbox.for_a_newer_version.into_iter())
                .map(|kept| kept.label)
                .collect(),
            recent_outcomes: store.outcomes(10).await?,
            unreadable_events: store.unreadable_event_count().await?,
            server_clock_ahead_ms: self.session().http().clock().ahead().num_milliseconds(),
        })
    }

    pub async fn dashboard(&self) -> CoreResult<Vec<ProjectSummary>> {
        Ok(self.store().dashboard().await?)
    }

    /// [`Account::dashboard`] as JSON text, for a face that passes it on.
    pub async fn dashboard_json(&self) -> CoreResult<DashboardJson> {
        Ok(self.store().dashboard_json().await?)
    }

    /// A project by id or name, with everything its screen shows.
    pub async fn project(&self, id_or_name: &str) -> CoreResult<ProjectView> {
        let project = self
            .store()
            .find_project(id_or_name)
            .await?
            .ok_or_else(|| CoreError::NotCached {
                what: "project",
                id: id_or_name.to_owned(),
            })?;
        self.store()
            .project(&project.id)
            .await?
            .ok_or_else(|| CoreError::NotCached {
                what: "project",
                id: id_or_name.to_owned(),
            })
    }

    pub async fn approvals(&self, pending_only: bool) -> CoreResult<Vec<ApprovalView>> {
        let views = self.store().approvals(pending_only).await?;
        Ok(views.into_iter().map(|v| self.with_blockers(v)).collect())
    }

    pub async fn approval(&self, id: &str) -> CoreResult<ApprovalView> {
        let view = self
            .store()
            .approval(id)
            .await?
            .ok_or_else(|| CoreError::NotCached {
                what: "approval",
                id: id.to_owned(),
            })?;
        Ok(self.with_blockers(view))
    }

    /// What the signed-in person may decide on `view` now, and why not, in words.
    fn decision_context(&self, view: &ApprovalView) -> DecisionContext {
        DecisionContext {
            role: self.info().user.role,
            sending: view.sending.is_some(),
            project_stopped: view.project_stopped,
            now: self.server_now(),
        }
    }

    /// The server's clock as its answers tell it, shared: readings taken later show in it.
    pub fn server_clock(&self) -> crate::server_clock::ServerClock {
        self.session().http().clock().clone()
    }

    /// Now on the server's clock (this machine's, corrected by the server's answers), which
    /// every expiry is judged by.
    pub fn server_now(&self) -> chrono::DateTime<Utc> {
        self.session().http().clock().now()
    }

    fn with_blockers(&self, mut view: ApprovalView) -> ApprovalView {
        let context = self.decision_context(&view);
        let why_not = |decision| {
            approval_blocker(&view.approval, decision, &context)
                .map(|blocker| blocker.message(&view.approval, context.role))
        };
        view.approve_blocker = why_not(Decision::Approve);
        view.reject_blocker = why_not(Decision::Reject);
        view
    }

    /// The newest stop of a project (or, with `None`, of every project) in the cache.
    pub async fn latest_stop(&self, project_id: Option<&str>) -> CoreResult<Option<Stop>> {
        Ok(self.store().latest_stop(project_id).await?)
    }

    pub async fn messages(
        &self,
        project_id: &str,
        thread: &Thread,
        limit: i64,
    ) -> CoreResult<Vec<MessageView>> {
        Ok(self.store().messages(project_id, thread, limit).await?)
    }

    pub async fn search(&self, text: &str, limit: i64) -> CoreResult<Vec<SearchHit>> {
        Ok(self.store().search(text, limit).await?)
    }

    /// What waits to be sent, in delivery order: the actions this build can send (and not one
    /// the server took whose end a full disk keeps from being recorded yet).
    pub async fn outbox(&self) -> CoreResult<Vec<OutboxEntry>> {
        Ok(self.0.delivery.waiting(self.store().outbox().await?))
    }

    /// Actions a newer build queued (the CLI updated before the app) that this one cannot read:
    /// kept for a build that can send them, never sent by this one.
    pub async fn outbox_for_newer_version(&self) -> CoreResult<Vec<KeptForNewerVersion>> {
        Ok(self.store().outbox_as_read().await?.for_a_newer_version)
    }

    /// Tries once more to deliver what waits (a few seconds at most: offline, the try fails at
    /// once or times out), and refuses ([`CoreError::Undelivered`], naming each action) while
    /// any still waits: signing out would wipe it with the cache. Actions only a newer build can
    /// send refuse it too.
    pub async fn deliver_before_signing_out(&self) -> CoreResult<()> {
        if self.store().outbox_keys().await?.is_empty() {
            return Ok(());
        }
        let tried = tokio::time::timeout(LAST_TRY, self.flush_outbox()).await;
        if let Ok(Err(error)) = tried {
            tracing::info!(%error, "the outbox could not be delivered before signing out");
        }
        let waiting = self.store().outbox_as_read().await?;
        let waiting_here = self.0.delivery.waiting(waiting.entries);
        let actions: Vec<String> = (waiting_here.into_iter().map(|entry| entry.label))
            .chain(
                waiting
                    .for_a_newer_version
                    .iter()
                    .map(|kept| kept.waiting_label()),
            )
            .collect();
        if actions.is_empty() {
            return Ok(());
        }
        Err(CoreError::Undelivered { actions })
    }

    pub async fn outcomes(&self, limit: i64) -> CoreResult<Vec<Outcome>> {
        Ok(self.store().outcomes(limit).await?)
    }

    pub async fn send_message(
        &self,
        project_id: &str,
        agent_id: Option<&str>,
        body: &str,
    ) -> CoreResult<Queued> {
        if body.trim().is_empty() {
            return Err(CoreError::EmptyMessage);
        }
        let action = QueuedAction::Message {
            project_id: project_id.to_owned(),
            agent_id: agent_id.map(str::to_owned),
            body: body.trim().to_owned(),
            author_name: self.info().user.name.clone(),
        };
        self.queue(action).await
    }

    pub async fn stop_project(&self, project_id: &str, reason: &str) -> CoreResult<Queued> {
        let view = self.project(project_id).await?;
        self.queue(QueuedAction::StopProject {
            project_id: view.project.id,
            project_name: view.project.name,
            reason: reason.to_owned(),
        })
        .await
    }

    async fn send_unkept(&self, prepared: PreparedAction) -> CoreResult<Queued> {
        let entry = unkept_entry(prepared)?;
        tracing::warn!(action = %entry.label, "the cache's disk is full: sending without keeping it");
        // What waits in the outbox was done first: it goes first (a stop before its resume).
        if let Err(error) = self.flush_outbox().await {
            tracing::info!(%error, "the outbox did not empty before an action sent unkept");
        }
        let outcome = self
            .0
            .delivery
            .deliver_unkept(&entry)
            .await
            .map_err(|unsent| {
                let why = match unsent {
                    CoreError::SignedOut { .. } => return unsent,
                    CoreError::Offline { server, reason } => {
                        format!("the server at {server} cannot be reached ({reason})")
                    }
                    other => other.to_string(),
                };
                // A timeout or a 5xx may come after the server acted: say so, so that a person
                // checks before repeating it under a new key.
                CoreError::Local(format!(
                    "{} is not confirmed: the disk holding the local cache is full, so it cannot \
                     wait in the outbox, and sending it now failed: {why}. It may still have \
                     reached the server; check before repeating it.",
                    entry.label
                ))
            })?;
        Ok(Queued {
            delivered: outcome
                .as_ref()
                .is_none_or(|o| o.result == OutcomeResult::Delivered),
            entry,
            outcome,
            waiting_because: None,
        })
    }

    pub async fn stop_all(&self, reason: &str) -> CoreResult<Queued> {
        self.queue(QueuedAction::StopAll {
            reason: reason.to_owned(),
        })
        .await
    }

    pub async fn resume(&self, project_id: &str) -> CoreResult<Queued> {
        let view = self.project(project_id).await?;
        self.queue(QueuedAction::Resume {
            project_id: view.project.id,
            project_name: view.project.name,
        })
        .await
    }

    /// Writes the action and its local effect, then tries to deliver at once. On a full disk
    /// the action cannot be kept to deliver later, so it is sent now or not at all: an
    /// emergency stop must not wait for disk space.
    async fn queue(&self, action: QueuedAction) -> CoreResult<Queued> {
        // On the server's clock, as every time the faces set against their "now".
        let prepared = action.prepare(self.server_now());
        let entry = match self.store().enqueue(prepared.clone()).await {
            Err(StoreError::DiskFull) => return self.send_unkept(prepared).await,
            kept => kept?,
        };
        self.0.publisher.publish(Change::Outbox);
        // Tried here, once; the outbox's loop is woken only after, to plan what follows (had it
        // been woken first, it would send the same action beside this try).
        let report = self.flush_outbox().await;
        self.0.delivery.wake();
        // The action is kept: what follows only says how far it got, and a failure to read that
        // must not read as a failure to act (the person would take it again).
        let still_waiting = match self.outbox().await {
            Ok(waiting) => waiting
                .iter()
                .any(|e| e.idempotency_key == entry.idempotency_key),
            Err(error) => {
                tracing::warn!(%error, "could not read the outbox after queueing");
                true
            }
        };
        let outcome = match self.store().outcomes(20).await {
            Ok(outcomes) => outcomes
                .into_iter()
                .find(|o| o.action == entry.label && o.at >= entry.created_at),
            Err(error) => {
                tracing::warn!(%error, "could not read the outcomes after queueing");
                None
            }
        };
        let waiting_because = match (&report, still_waiting) {
            (_, false) => None,
            (Err(error), true) => Some(error.to_string()),
            (Ok(report), true) => match entry_error(self, entry.id).await {
                Some(error) => Some(error),
                None => report.server_asks_to_wait.map(|wait| {
                    format!(
                        "The server asked to be left alone for {} s; this goes then.",
                        wait.as_secs().max(1)
                    )
                }),
            },
        };
        Ok(Queued {
            delivered: !still_waiting
                && outcome
                    .as_ref()
                    .is_none_or(|o| o.result == OutcomeResult::Delivered),
            entry,
            outcome,
            waiting_because,
        })
    }

    /// Catches up with the server and delivers the outbox (and notification settings saved
    /// while offline).
    pub async fn sync_now(&self) -> CoreResult<(SyncReport, FlushReport)> {
        let flushed = self.flush_outbox().await?;
        let report = self.catch_up().await?;
        if let Err(error) = self.send_notification_settings().await {
            tracing::info!(%error, "notification settings still wait for the server");
        }
        Ok((report, flushed))
    }

    /// Sends the notification settings saved here that the server has not taken yet
    /// (`PUT /api/v1/me/notification-settings`). Offline they keep waiting; the account's
    /// background task sends them when the link returns.
    pub async fn send_notification_settings(&self) -> CoreResult<SettingsSent> {
        self.0.settings.send_unsent().await
    }

    /// Whether settings saved here still wait to reach the server.
    pub fn notification_settings_waiting(&self) -> bool {
        self.0.settings.files().unsent().is_some()
    }

    /// Delivers the outbox, and does nothing else: for an account no longer shown whose actions
    /// still wait for the server (the one shown is another organisation's).
    pub fn start_delivery(&self) -> Running {
        let (stop, _) = watch::channel(false);
        let delivery = tokio::spawn({
            let delivery = self.0.delivery.clone();
            let stop = stop.subscribe();
            async move { delivery.run(stop).await }
        });
        Running {
            stop,
            tasks: vec![delivery],
        }
    }

    /// The outbox worker alone, for a test that runs it without the link.
    #[cfg(test)]
    pub(crate) fn delivery(&self) -> &Delivery {
        &self.0.delivery
    }

    /// Starts the realtime link and the outbox worker; they run until [`Running::stop`].
    pub fn start(&self) -> Running {
        let (stop, _) = watch::channel(false);
        let realtime = tokio::spawn({
            let syncer = self.0.syncer.clone();
            let stop = stop.subscribe();
            async move { syncer.run_realtime(stop).await }
        });
        let delivery = tokio::spawn({
            let delivery = self.0.delivery.clone();
            let stop = stop.subscribe();
            async move { delivery.run(stop).await }
        });
        let checkpoints = tokio::spawn({
            let store = self.store().clone();
            let mut stop = stop.subscribe();
            async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
                loop {
                    tokio::select! {
                        _ = tick.tick() => {
                            if let Err(error) = store.checkpoint().await {
                                tracing::warn!(%error, "cache checkpoint failed; retrying later");
                            }
                        }
                        _ = stop.changed() => return,
                    }
                }
            }
        });
        let settings = tokio::spawn({
            let settings = self.0.settings.clone();
            let link = self.watch_link();
            let stop = stop.subscribe();
            async move { settings.run(link, stop).await }
        });
        Running {
            stop,
            tasks: vec![realtime, delivery, checkpoints, settings],
        }
    }
}

async fn entry_error(account: &Account, id: i64) -> Option<String> {
    account
        .store()
        .outbox()
        .await
        .ok()?
        .into_iter()
        .find(|e| e.id == id)?
        .last_error
}

/// The background tasks of an account; `stop` ends them cleanly.
pub struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub async fn stop(self) {
        self.stop.send_replace(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}
