//! Keeping the cache in step with the server: catch-up through `GET /sync`, fresh snapshots
//! after `resync_required`, and the realtime socket resumed from the stored `seq`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use spartex_api::{ControlFrame, Event, StreamFrame};
use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::changes::Publisher;
use crate::error::{CoreError, CoreResult};
use crate::session::Session;
use crate::store::{meta, AppliedBatch, Store, StoreError};
use crate::{Change, LinkState, Secret};

mod catch_up;
mod page;
mod reconnect;

use page::unreadable_envelope;
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

/// Whether notifications raised on this device reach its person, as the task that raises
/// them last found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertsHere {
    /// No task raises them here: a phone (its alerts are the server's pushes), a CLI command
    /// other than `watch` (or `watch --no-notify`), or an account the desktop no longer shows.
    #[default]
    NotRaisedHere,
    /// Turned off in this device's settings.
    TurnedOff,
    /// Turned on, but no notification service answered twice in a row.
    NoService,
    /// Turned on, and the notification service answers.
    Raised,
}

impl AlertsHere {
    fn raised(self) -> bool {
        self == AlertsHere::Raised
    }
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
    /// Whether this device raises a notification when a request names this person: the
    /// socket says so (`alerts`), and is opened again when that changes.
    alerts_here: tokio::sync::watch::Receiver<AlertsHere>,
}

impl Syncer {
    pub(crate) fn new(
        account_id: &str,
        session: Arc<Session>,
        store: Store,
        publisher: Publisher,
        outbox_wakeup: Arc<Notify>,
        alerts_here: tokio::sync::watch::Receiver<AlertsHere>,
    ) -> Syncer {
        Syncer {
            account_id: account_id.to_owned(),
            session,
            store,
            publisher,
            outbox_wakeup,
            wall_clock: Arc::new(SystemTime::now),
            alerts_here,
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
        let mut alerts_here = self.alerts_here.clone();
        while !*stop.borrow() {
            let said = alerts_here.borrow_and_update().raised();
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
                Ok(_) = alerts_here.wait_for(|found| found.raised() != said) => {
                    tracing::info!("notifications here turned on or off; opening the event socket again to tell the server");
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
        // The server takes a socket for a way to reach its person unless told otherwise.
        let alerts = if self.alerts_here.borrow().raised() {
            ""
        } else {
            "&alerts=false"
        };
        let path = format!("/api/v1/events?since={since}{since_at}{alerts}");
        let url = self.session().http().socket_url(&path);
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
