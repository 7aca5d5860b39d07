//! Keeping the cache in step with the server: catch-up through `GET /sync`, fresh snapshots
//! after `resync_required`, and the realtime socket resumed from the stored `seq`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use spartex_api::endpoints::{GetProject, ListApprovals, ListMessages, ListProjects, ListStops};
use spartex_api::{ControlFrame, Event, StreamFrame};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::changes::Publisher;
use crate::error::{CoreError, CoreResult};
use crate::session::Session;
use crate::store::{meta, AppliedBatch, Snapshot, Store, StoreError};
use crate::{Change, LinkState, Secret};

mod page;
mod reconnect;

use page::{unreadable_envelope, SyncLeniently, SyncPage};
use reconnect::WakeWatch;
pub(crate) use reconnect::WallClock;
pub use reconnect::{at_least_as_asked, backoff};

const PAGE: u32 = 1000;
/// Events a catch-up applies in one transaction (pages are fetched until this many wait). Every
/// commit rewrites each page its rows touched (an agent's row, a project's index leaf, the
/// search index's newest segment), so a cold sync in commits of 10,000 writes a fraction of
/// what it writes in commits of one page: `core_bench -- ingest` measured about 98,000
/// events/s against 53,000. The write lock is held about 100 ms per commit, and the events
/// waiting take a few tens of MB at most.
pub const CATCH_UP_EVENTS_PER_TRANSACTION: usize = 10_000;
/// Live frames applied in one transaction when many arrive at once (a replay after a reconnect
/// takes up to [`CATCH_UP_EVENTS_PER_TRANSACTION`]).
const MAX_BATCH: usize = 1000;
/// Silence after which the link is taken for dead (the server pings every 20 s).
pub const DEAD_LINK_AFTER: Duration = Duration::from_secs(45);
/// How long the event socket's connection and upgrade may take: a path that takes the
/// connection and then carries nothing (a network changed mid-handshake, a middlebox) would
/// otherwise hold the link at "connecting" until the kernel gives up, a quarter of an hour.
const HANDSHAKE_PATIENCE: Duration = Duration::from_secs(10);
/// How often a link whose cache found its disk full tries again: soon after a person frees
/// space for the first minute, when they are likely at it; then every 30 s, since each try
/// downloads the backlog again.
const DISK_FULL_RETRY: Duration = Duration::from_secs(3);
const DISK_FULL_RETRY_LATER: Duration = Duration::from_secs(30);
const DISK_FULL_QUICK_TRIES: u32 = 20;
const MAX_FRAME_BYTES: usize = 16 << 20;

#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub applied: usize,
    pub resynced: bool,
    pub last_seq: i64,
    pub head: i64,
}

/// One account's sync: owns what it needs (the session, the cache, where to publish) and
/// nothing of the rest of the account.
#[derive(Clone)]
pub struct Syncer {
    account_id: String,
    session: Arc<Session>,
    store: Store,
    publisher: Publisher,
    /// Poked when the link is live again, so queued actions leave at once.
    outbox_wakeup: Arc<Notify>,
    wall_clock: WallClock,
}

impl Syncer {
    pub(crate) fn new(
        account_id: &str,
        session: Arc<Session>,
        store: Store,
        publisher: Publisher,
        outbox_wakeup: Arc<Notify>,
    ) -> Syncer {
        Syncer {
            account_id: account_id.to_owned(),
            session,
            store,
            publisher,
            outbox_wakeup,
            wall_clock: Arc::new(SystemTime::now),
        }
    }

    /// This syncer, reading the wall clock from `wall_clock`.
    #[cfg(test)]
    pub(crate) fn with_wall_clock(mut self, wall_clock: WallClock) -> Syncer {
        self.wall_clock = wall_clock;
        self
    }

    fn store(&self) -> &Store {
        &self.store
    }

    fn session(&self) -> &Session {
        &self.session
    }

    fn set_link(&self, state: LinkState) {
        self.publisher.set_link(state);
    }

    fn publish(&self, change: Change) {
        self.publisher.publish(change);
    }

    /// Says this process applies `events`, before it does, so that what the cache holds up to
    /// them is not taken for another process's work; answers how far this process had applied.
    fn applying(&self, events: &[Event]) -> i64 {
        let mine = self.publisher.applied_here();
        if let Some(last) = events.iter().map(|e| e.seq).max() {
            self.publisher.applying_up_to(last);
        }
        mine
    }

    /// Publishes what a batch changed. Events the cache held before it that this process never
    /// applied (above `mine`) were applied first by another process sharing the cache (the
    /// spartex command's `watch` beside the app), and nothing here told of them: everything is
    /// read again, as after a resync (requests among them are raised then).
    fn publish_applied(&self, events: &[Event], batch: AppliedBatch, mine: i64) {
        let applied_elsewhere = events
            .iter()
            .any(|e| e.seq > mine && e.seq <= batch.kept_before);
        self.publisher.publish_all(batch.changes);
        if applied_elsewhere {
            self.publish(Change::Resynced);
        }
    }

    /// Applies events and publishes what changed. A gap is filled from the log first, once:
    /// events that still do not follow the cache then are the server's fault.
    pub(crate) async fn apply(&self, events: &[Event]) -> CoreResult<usize> {
        let mine = self.applying(events);
        match self.store().apply_events(events).await {
            Ok(batch) => {
                let applied = batch.applied;
                self.publish_applied(events, batch, mine);
                Ok(applied)
            }
            Err(StoreError::Gap { .. }) => {
                self.catch_up().await?;
                self.commit(events).await
            }
            Err(other) => Err(other.into()),
        }
    }

    /// Applies events that follow the cache's `seq` and publishes what changed; a gap here is
    /// the server's log skipping a `seq`, never filled from that log again (which would ask
    /// it for the same again, for ever).
    async fn commit(&self, events: &[Event]) -> CoreResult<usize> {
        let mine = self.applying(events);
        match self.store().apply_events(events).await {
            Ok(batch) => {
                let applied = batch.applied;
                self.publish_applied(events, batch, mine);
                Ok(applied)
            }
            Err(StoreError::Gap { last, next }) => {
                Err(self.protocol(format!("its event log skips from seq {last} to seq {next}")))
            }
            Err(other) => Err(other.into()),
        }
    }

    fn protocol(&self, detail: String) -> CoreError {
        CoreError::Protocol {
            server: self.session().http().base().to_owned(),
            detail,
        }
    }

    /// Brings the cache up to the server's head over HTTP, pages of events gathered into
    /// transactions of [`CATCH_UP_EVENTS_PER_TRANSACTION`].
    ///
    /// Bounded whatever the server answers: every page must go on from the `seq` before it;
    /// a page that skips a `seq` (or says `resync_required`) rebuilds the cache from snapshots
    /// once per catch-up, and a second time is a [`CoreError::Protocol`], as is a page that
    /// does not advance. The link then backs off as for any error.
    pub async fn catch_up(&self) -> CoreResult<SyncReport> {
        let mut report = SyncReport::default();
        self.after_an_update().await;
        let mut since = self.store().last_seq().await?;
        // Asked with the first page only: later pages follow on from the same log.
        let mut since_at = self.store().last_event_at().await?;
        let mut waiting: Vec<Event> = Vec::new();
        loop {
            let asked = SyncLeniently {
                since,
                since_at: since_at.take(),
                limit: PAGE,
            };
            let fetched = self.session().call(&asked, None).await.map(SyncPage::read);
            let page = match fetched {
                Ok(page) => page,
                Err(error) => {
                    // A link that drops every few pages still makes progress: what arrived
                    // is kept, and the next catch-up resumes after it.
                    if !waiting.is_empty() {
                        let applied = self.commit(&waiting).await?;
                        tracing::debug!(applied, "kept the pages fetched before the link failed");
                    }
                    return Err(error);
                }
            };
            report.head = page.head;
            if page.resync_required || page.head < since {
                // A head behind what the cache applied is a log restored from a backup: the
                // seqs it gives from now on are not the ones the cache has (followed from
                // `since`, new ones up to it would be dropped as replays).
                let why = if page.resync_required {
                    "it asked for a rebuild from snapshots".to_owned()
                } else {
                    format!("its log's head {} is behind seq {since}", page.head)
                };
                waiting.clear();
                self.resync_once(&mut report, &why).await?;
                since = self.store().last_seq().await?;
                continue;
            }
            let answered = page.events.len();
            let mut events = page.events;
            // A replay of what the cache has changes nothing.
            events.retain(|event| event.seq > since);
            let (mut follows, mut reached) = (0, since);
            for event in &events {
                match reached.checked_add(1) {
                    Some(next) if event.seq == next => (follows, reached) = (follows + 1, next),
                    _ => break,
                }
            }
            if follows < events.len() {
                // The log skips a `seq`: what follows on is kept, the rest comes from snapshots.
                let skipped = reached.saturating_add(1);
                events.truncate(follows);
                waiting.extend(events);
                if !waiting.is_empty() {
                    report.applied += self.commit(&waiting).await?;
                    waiting.clear();
                }
                let why = format!("its event log skips seq {skipped}");
                self.resync_once(&mut report, &why).await?;
                since = self.store().last_seq().await?;
                continue;
            }
            if events.is_empty() && answered > 0 && since < page.head {
                // Only what the cache has, again: a server that ignores `since`.
                if !waiting.is_empty() {
                    self.commit(&waiting).await?;
                }
                return Err(self.protocol(format!(
                    "its events after seq {since} did not go past it (head {})",
                    page.head
                )));
            }
            let no_more = events.is_empty();
            let fetched_to = events.last().map_or(since, |event| event.seq);
            waiting.extend(events);
            since = fetched_to;
            if !no_more && since < page.head && waiting.len() < CATCH_UP_EVENTS_PER_TRANSACTION {
                continue;
            }
            if !waiting.is_empty() {
                report.applied += self.commit(&waiting).await?;
                waiting.clear();
                since = self.store().last_seq().await?;
                self.publish(Change::Progress {
                    applied_seq: since,
                    head: page.head,
                });
            }
            if no_more || since >= page.head {
                break;
            }
        }
        report.last_seq = self.store().last_seq().await?;
        self.store().checkpoint().await?;
        let now = self.session().http().clock().now().to_rfc3339();
        self.store().set_meta(meta::LAST_SYNC_AT, &now).await?;
        self.store()
            .set_meta(meta::SERVER_HEAD, &report.head.to_string())
            .await?;
        Ok(report)
    }

    /// The first sync of a version newer than the last to read the cache: values that one
    /// kept as `unknown` are read again from snapshots, and the events it set aside are
    /// applied where this version reads them; then the faces and the notifier read everything
    /// again (a request among them is raised). A failure is told in the log and tried again at
    /// the next sync; it never holds the sync back.
    async fn after_an_update(&self) {
        match self.store().newer_than_its_last_reader().await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, "could not tell which version last read the cache");
                return;
            }
        }
        if let Err(error) = self.read_what_the_last_version_could_not().await {
            tracing::warn!(
                %error,
                "could not read again what the last version could not; trying at the next sync"
            );
        }
    }

    async fn read_what_the_last_version_could_not(&self) -> CoreResult<()> {
        let rebuild = self.store().holds_unknown_values().await?;
        if rebuild {
            tracing::info!(
                account = %self.account_id,
                "rebuilding the cache from snapshots: this version reads values the last kept as unknown"
            );
            self.resync().await?;
        }
        let changes = self.store().read_by_this_version(rebuild).await?;
        if !changes.is_empty() {
            self.publisher.publish_all(changes);
            self.publish(Change::Resynced);
        }
        Ok(())
    }

    /// The one rebuild from snapshots a catch-up may make; asked for a second, the server's
    /// log is not one to follow, and the catch-up ends with a [`CoreError::Protocol`].
    async fn resync_once(&self, report: &mut SyncReport, why: &str) -> CoreResult<()> {
        if report.resynced {
            return Err(self.protocol(format!(
                "{why} right after the cache was rebuilt from its snapshots"
            )));
        }
        tracing::info!(account = %self.account_id, %why, "rebuilding the cache from snapshots");
        self.resync().await?;
        report.resynced = true;
        Ok(())
    }

    /// Rebuilds the cache from fresh snapshots and resumes from the head read before them.
    pub async fn resync(&self) -> CoreResult<()> {
        let head = self
            .session()
            .call(
                &SyncLeniently {
                    since: 0,
                    since_at: None,
                    limit: 1,
                },
                None,
            )
            .await?
            .head;
        let mut snapshot = Snapshot::default();
        let projects = self.session().call(&ListProjects {}, None).await?;
        for project in &projects {
            let project_id = project.id.clone();
            let detail = self
                .session()
                .call(
                    &GetProject {
                        project_id: project_id.clone(),
                    },
                    None,
                )
                .await?;
            snapshot.agents.extend(detail.agents);
            snapshot.tasks.extend(detail.tasks);
            let messages = self
                .session()
                .call(
                    &ListMessages {
                        project_id,
                        limit: 200,
                    },
                    None,
                )
                .await?;
            snapshot.messages.extend(messages);
        }
        snapshot.projects = projects;
        snapshot.approvals = self.session().call(&ListApprovals {}, None).await?;
        snapshot.stops = self.session().call(&ListStops {}, None).await?;
        self.publisher.applying_up_to(head);
        self.store().replace_with_snapshot(snapshot, head).await?;
        tracing::info!(account = %self.account_id, head, "cache rebuilt from snapshots");
        self.publish(Change::Resynced);
        Ok(())
    }

    /// Keeps the event socket open until `stop` fires: reconnects with full-jitter backoff
    /// (a random wait under a ceiling of 250 ms doubling to 30 s, reset after a link that lived
    /// 60 s) and treats 45 s of silence as dead.
    /// A full disk is not a lost link: it shows as such, and is tried again every 3 s for a
    /// minute, then every 30 s.
    /// A machine that slept (or whose clock was set) is noticed within a few seconds of waking
    /// ([`WakeWatch`]): the socket, likely dead and at best stale, is dropped and opened again
    /// at once, its catch-up with it, where the link showed "live" for up to 45 s more (the
    /// runtime's timeouts do not count time asleep) and then waited out a backoff.
    pub(crate) async fn run_realtime(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        let mut tries_on_a_full_disk: u32 = 0;
        let mut wake = WakeWatch::new(self.wall_clock.clone());
        while !*stop.borrow() {
            // Until a retry catches up, a full disk stays the news, not "connecting".
            if self.publisher.link() != LinkState::DiskFull {
                self.set_link(LinkState::Connecting);
            }
            let started = tokio::time::Instant::now();
            let ended = tokio::select! {
                ended = self.stream_once() => Some(ended),
                jump = wake.jumped() => {
                    tracing::info!(
                        jump_s = jump.as_secs(),
                        "the machine slept or its clock was set; opening the event socket again"
                    );
                    None
                }
                _ = stop.changed() => return,
            };
            let Some(ended) = ended else {
                failures = 0;
                continue;
            };
            let mut asked = None;
            match ended {
                Err(CoreError::SignedOut { message }) => {
                    tracing::warn!(%message, "the server refused the session; realtime stopped");
                    self.set_link(LinkState::SignedOut);
                    return;
                }
                Err(CoreError::Store(StoreError::DiskFull)) => {
                    if self.publisher.link() != LinkState::DiskFull {
                        tracing::warn!("the cache's disk is full; live updates wait for space");
                    }
                    self.set_link(LinkState::DiskFull);
                    tries_on_a_full_disk = tries_on_a_full_disk.saturating_add(1);
                    let wait = if tries_on_a_full_disk <= DISK_FULL_QUICK_TRIES {
                        DISK_FULL_RETRY
                    } else {
                        DISK_FULL_RETRY_LATER
                    };
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => return,
                    }
                    continue;
                }
                Err(error) => {
                    tracing::info!(%error, "event link lost");
                    asked = error.retry_after();
                }
                Ok(()) => tracing::info!("event link closed by the server"),
            }
            tries_on_a_full_disk = 0;
            self.set_link(LinkState::Offline);
            if started.elapsed() >= Duration::from_secs(60) {
                failures = 0;
            }
            // A server that said how long to leave it alone (`Retry-After`) is left that long.
            let wait = at_least_as_asked(backoff(failures), asked);
            failures = failures.saturating_add(1);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                // Woken on another network, perhaps: no reason to wait out the rest.
                jump = wake.jumped() => {
                    tracing::info!(jump_s = jump.as_secs(), "the machine slept or its clock was set; reconnecting now");
                    failures = 0;
                }
                _ = stop.changed() => return,
            }
        }
    }

    /// One connection: hello, replay, live. Returns when the link ends.
    /// An access token the handshake refuses (401) is refreshed, as a REST call's is, and
    /// the connection tried once more with the new one: only a refused refresh, or a second
    /// 401, ends live updates as signed out.
    async fn stream_once(&self) -> CoreResult<()> {
        self.after_an_update().await;
        let token = self.session().access_token().await?;
        let mut token_refused = false;
        match self.stream_with(&token, &mut token_refused).await {
            Err(CoreError::SignedOut { .. }) if token_refused => {
                tracing::info!("the event socket refused the access token; refreshing it");
                let token = self.session().renewed_after_refusal(&token).await?;
                self.stream_with(&token, &mut false).await
            }
            other => other,
        }
    }

    /// [`Syncer::stream_once`] with `token`; sets `token_refused` when the handshake answers
    /// 401.
    async fn stream_with(&self, token: &Secret, token_refused: &mut bool) -> CoreResult<()> {
        let since = self.store().last_seq().await?;
        let since_at = match self.store().last_event_at().await? {
            Some(at) => format!("&since_at={at}"),
            None => String::new(),
        };
        let url = self
            .session()
            .http()
            .socket_url(&format!("/api/v1/events?since={since}{since_at}"));
        let mut request = url
            .into_client_request()
            .map_err(|e| CoreError::Local(format!("bad socket URL: {e}")))?;
        let header = format!("Bearer {}", token.expose())
            .parse()
            .map_err(|_| CoreError::Local("token is not a valid header".into()))?;
        request.headers_mut().insert("authorization", header);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_BYTES))
            .max_frame_size(Some(MAX_FRAME_BYTES));
        let connecting = crate::dial::dial(request, config);
        let connected = tokio::time::timeout(HANDSHAKE_PATIENCE, connecting)
            .await
            .map_err(|_| CoreError::Offline {
                server: self.session().http().base().to_owned(),
                reason: format!(
                    "the event socket's handshake got no answer within {} s",
                    HANDSHAKE_PATIENCE.as_secs()
                ),
            })?;
        let (socket, _) = connected.map_err(|e| match e {
            tokio_tungstenite::tungstenite::Error::Http(response) if response.status() == 401 => {
                *token_refused = true;
                CoreError::SignedOut {
                    message: "The server refused the session on the event socket.".into(),
                }
            }
            // Busy or its database away: the wait it asks for is kept for the reconnect.
            tokio_tungstenite::tungstenite::Error::Http(response)
                if response.status() == 429 || response.status().is_server_error() =>
            {
                CoreError::Server {
                    status: response.status().as_u16(),
                    message: "the event socket was refused".into(),
                    retry_after_s: crate::http::retry_after_s(response.headers()),
                }
            }
            other => CoreError::Offline {
                server: self.session().http().base().to_owned(),
                reason: other.to_string(),
            },
        })?;
        let (mut sink, mut frames) = socket.split();
        let offline = |reason: String| CoreError::Offline {
            server: self.session().http().base().to_owned(),
            reason,
        };
        let mut caught_up = false;
        let mut resynced_at_hello = false;
        loop {
            let first = match tokio::time::timeout(DEAD_LINK_AFTER, frames.next()).await {
                Err(_) => return Err(offline("no frame or ping for 45 s".into())),
                Ok(None) => return Ok(()),
                Ok(Some(Err(e))) => return Err(offline(e.to_string())),
                Ok(Some(Ok(frame))) => frame,
            };
            let mut batch = Vec::new();
            let mut next = Some(first);
            while let Some(frame) = next.take() {
                match frame {
                    WsMessage::Text(text) => match serde_json::from_str::<StreamFrame>(&text) {
                        Ok(StreamFrame::Event(event)) => {
                            resynced_at_hello = false;
                            batch.push(event);
                        }
                        Ok(StreamFrame::Control(ControlFrame::Hello { head })) => {
                            self.store()
                                .set_meta(meta::SERVER_HEAD, &head.to_string())
                                .await?;
                            caught_up = since >= head;
                            if head < since {
                                // Its log is behind the cache (restored from a backup): the
                                // seqs it gives next are new, not the cache's, so the cache is
                                // rebuilt from snapshots (a server that says
                                // `resync_required` too is not asked twice).
                                tracing::warn!(head, since, "the server's log is behind this cache; rebuilding it from snapshots");
                                self.resync().await?;
                                resynced_at_hello = true;
                            }
                        }
                        Ok(StreamFrame::Control(ControlFrame::ResyncRequired { .. })) => {
                            if !std::mem::take(&mut resynced_at_hello) {
                                self.resync().await?;
                            }
                            caught_up = true;
                        }
                        Err(error) => match unreadable_envelope(&text, &error) {
                            Some(event) => batch.push(event),
                            None => {
                                let shown: String = text.chars().take(120).collect();
                                tracing::warn!(%error, frame = %shown, "skipped a frame that is not a Spartex event");
                            }
                        },
                    },
                    WsMessage::Ping(payload) => sink
                        .send(WsMessage::Pong(payload))
                        .await
                        .map_err(|e| offline(e.to_string()))?,
                    WsMessage::Close(frame) => {
                        if !batch.is_empty() {
                            self.apply(&batch).await?;
                        }
                        if frame.is_some_and(|f| {
                            u16::from(f.code) == spartex_api::SESSION_ENDED_CLOSE_CODE
                        }) {
                            return Err(CoreError::SignedOut {
                                message: "This sign-in ended on the server (signed out elsewhere, \
                                          revoked, or expired)."
                                    .into(),
                            });
                        }
                        return Ok(());
                    }
                    _ => {}
                }
                let most = if caught_up {
                    MAX_BATCH
                } else {
                    CATCH_UP_EVENTS_PER_TRANSACTION
                };
                if batch.len() < most {
                    // Take whatever else already arrived, to apply it in the same transaction.
                    next = match futures_util::FutureExt::now_or_never(frames.next()) {
                        Some(Some(Ok(frame))) => Some(frame),
                        _ => None,
                    };
                }
            }
            if !batch.is_empty() {
                self.apply(&batch).await?;
                let now = self.session().http().clock().now().to_rfc3339();
                self.store().set_meta(meta::LAST_SYNC_AT, &now).await?;
            }
            if !caught_up {
                let head: i64 = self
                    .store()
                    .meta(meta::SERVER_HEAD)
                    .await?
                    .and_then(|h| h.parse().ok())
                    .unwrap_or(0);
                caught_up = self.store().last_seq().await? >= head;
            }
            if caught_up && self.publisher.link() != LinkState::Connected {
                self.set_link(LinkState::Connected);
                let now = self.session().http().clock().now().to_rfc3339();
                self.store().set_meta(meta::LAST_SYNC_AT, &now).await?;
                self.outbox_wakeup.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests;
