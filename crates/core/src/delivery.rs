//! Delivering the outbox: in priority order (stops and resumes first, in the order they were
//! taken), each with its Idempotency-Key, so a retry after a crash or a cut link never acts
//! twice. A refusal undoes the optimistic effect and leaves an outcome the user sees.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use spartex_api::{Approval, ErrorCode, EventPayload};
use tokio::sync::{Mutex, Notify};

use crate::actions::{OutboxKind, OutboxRequest};
use crate::changes::{OutcomeResult, Publisher};
use crate::error::{CoreError, CoreResult};
use crate::session::Session;
use crate::store::{OutboxEntry, Store, StoreError, StoreResult};
use crate::{Change, Outcome};

/// How often an idle outbox worker looks for actions another process sharing the cache (the CLI
/// beside the app) queued: its own queue, the link coming back and its timer wake it, not
/// another process's write. Reading the outbox's keys is one small query.
const OTHER_PROCESSES_LOOKED_AT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Default, Serialize)]
pub struct FlushReport {
    pub delivered: usize,
    pub refused: usize,
    /// Still waiting: the link is down or the server failed.
    pub waiting: usize,
    /// Actions a newer build queued that this one cannot read, in words: kept for a build that
    /// can send them, never sent by this one (the rest is delivered around them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub for_a_newer_version: Vec<String>,
    pub outcomes: Vec<Outcome>,
    /// The wait the server asked for before the next attempt (`Retry-After`), if it did.
    #[serde(skip)]
    pub server_asks_to_wait: Option<Duration>,
}

/// When the server asked to be left alone, and until when.
#[derive(Clone, Copy)]
struct HeldOff {
    asked_at: Instant,
    until: Instant,
}

/// How an action the server answered ended, kept in memory while the cache cannot record it
/// (its disk is full): written once there is room.
#[derive(Clone)]
enum Unrecorded {
    Delivered {
        answer: EventPayload,
        outcome: Option<Outcome>,
    },
    TakenUnread {
        outcome: Outcome,
    },
    Refused {
        outcome: Outcome,
        current: Option<EventPayload>,
    },
}

/// One account's outbox delivery: owns what it needs (the session, the cache, where to
/// publish, its wake-up) and nothing of the rest of the account.
#[derive(Clone)]
pub struct Delivery {
    session: Arc<Session>,
    store: Store,
    publisher: Publisher,
    wakeup: Arc<Notify>,
    one_at_a_time: Arc<Mutex<()>>,
    /// The server asked to be left alone (`Retry-After`). The loop sends nothing before it is
    /// over but a stop; a person's own action is still tried once, at once.
    held_off: Arc<std::sync::Mutex<Option<HeldOff>>>,
    /// The Idempotency-Keys in the outbox as this worker last saw them (a flush, or a look for
    /// what other processes did): a key it has not seen was queued by another process.
    seen: Arc<std::sync::Mutex<HashSet<String>>>,
    /// Actions the server answered whose end the cache could not record (a full disk), by
    /// Idempotency-Key: not sent again nor shown as waiting, and recorded once there is room.
    unrecorded: Arc<std::sync::Mutex<HashMap<String, Unrecorded>>>,
    /// How far the cache's `seq` stood at the last look for other processes' syncing.
    synced_elsewhere_to: Arc<std::sync::Mutex<Option<i64>>>,
}

impl Delivery {
    pub(crate) fn new(
        session: Arc<Session>,
        store: Store,
        publisher: Publisher,
        wakeup: Arc<Notify>,
    ) -> Delivery {
        Delivery {
            session,
            store,
            publisher,
            wakeup,
            one_at_a_time: Arc::new(Mutex::new(())),
            held_off: Arc::default(),
            seen: Arc::default(),
            unrecorded: Arc::default(),
            synced_elsewhere_to: Arc::default(),
        }
    }

    /// Delivers soon: something was queued, or the link returned.
    pub(crate) fn wake(&self) {
        self.wakeup.notify_one();
    }

    /// Sends one request as the endpoint it is; the answer is the resource it changed.
    async fn send(&self, entry: &OutboxEntry) -> CoreResult<EventPayload> {
        let key = Some(entry.idempotency_key.as_str());
        let session = &self.session;
        Ok(match &entry.request {
            OutboxRequest::Decide(e) => EventPayload::Approval(session.call(e, key).await?),
            OutboxRequest::PostMessage(e) => EventPayload::Message(session.call(e, key).await?),
            OutboxRequest::StopProject(e) => EventPayload::Stop(session.call(e, key).await?),
            OutboxRequest::StopAll(e) => EventPayload::Stop(session.call(e, key).await?),
            OutboxRequest::ResumeProject(e) => EventPayload::Project(session.call(e, key).await?),
            OutboxRequest::AckApproval(e) => EventPayload::Approval(session.call(e, key).await?),
            OutboxRequest::AskAgain(e) => EventPayload::Approval(session.call(e, key).await?),
        })
    }

    /// Sends an action the cache could not keep (its disk is full) once, now: delivered or
    /// refused, it ends with its outcome; when the server cannot be reached either, the
    /// error says so and nothing was sent. The server's answer reaches the cache with the
    /// events, once the disk has room.
    pub(crate) async fn deliver_unkept(&self, entry: &OutboxEntry) -> CoreResult<Option<Outcome>> {
        let outcome = match self.send(entry).await {
            Ok(answer) => delivered_outcome(entry, &answer),
            Err(CoreError::UnreadableAnswer { detail, .. }) => Some(taken_unread(entry, &detail)),
            Err(error) if error.is_refusal() => Some(refused_outcome(entry, &error).0),
            Err(error) => return Err(error),
        };
        if let Some(outcome) = &outcome {
            self.publisher.publish(Change::Outcome {
                outcome: outcome.clone(),
            });
        }
        Ok(outcome)
    }

    /// Sends everything in the outbox that the server will take now.
    pub async fn flush(&self) -> CoreResult<FlushReport> {
        let called = Instant::now();
        let _one_at_a_time = self.one_at_a_time.lock().await;
        let mut report = FlushReport::default();
        let read = self.store.outbox_as_read().await?;
        let entries = read.entries;
        *self.seen() = (entries.iter().map(|e| &e.idempotency_key))
            .chain(read.for_a_newer_version.iter().map(|k| &k.idempotency_key))
            .cloned()
            .collect();
        if !read.for_a_newer_version.is_empty() {
            tracing::debug!(
                actions = read.for_a_newer_version.len(),
                "the outbox holds actions only a newer build can send; delivering the rest"
            );
        }
        report.for_a_newer_version = (read.for_a_newer_version.iter())
            .map(|kept| kept.waiting_label())
            .collect();
        // What the server answered already and the cache could not record: recorded now if
        // there is room, never sent again. One another process recorded meanwhile is forgotten.
        self.unrecorded_ends()
            .retain(|key, _| entries.iter().any(|e| e.idempotency_key == *key));
        let (unrecorded, entries): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .partition(|entry| self.unrecorded_end(entry).is_some());
        for entry in &unrecorded {
            self.record_again(entry).await?;
        }
        // The flush before this one (the loop's, as an action was queued) was asked to wait
        // while this one waited its turn: the server is not asked again before then, for what
        // was queued meanwhile either (the caller says why it waits).
        if self.asked_to_wait_since(called) && !holds_a_stop(&entries) {
            report.waiting = entries.len();
            report.server_asks_to_wait = self.held_off_for();
            return Ok(report);
        }
        // Lanes whose first action the server failed (a 500 for that request alone): what
        // must follow it waits, the rest still goes.
        let mut held_back: HashSet<Lane> = HashSet::new();
        for (index, entry) in entries.iter().enumerate() {
            let lane = Lane::of(entry);
            if held_back.contains(&lane) || lane.follows_a_held_stop(&held_back) {
                report.waiting += 1;
                continue;
            }
            let sent = self.send(entry).await;
            self.note_how_the_server_answered(&sent);
            match sent {
                Ok(answer) => {
                    let outcome = delivered_outcome(entry, &answer);
                    self.record(
                        entry,
                        Unrecorded::Delivered {
                            answer,
                            outcome: outcome.clone(),
                        },
                    )
                    .await?;
                    if let Some(outcome) = outcome {
                        self.tell(&mut report, outcome);
                    }
                    report.delivered += 1;
                }
                Err(CoreError::UnreadableAnswer { detail, .. }) => {
                    // Taken (a success): sent again, it would only get the same answer back.
                    let outcome = taken_unread(entry, &detail);
                    self.record(
                        entry,
                        Unrecorded::TakenUnread {
                            outcome: outcome.clone(),
                        },
                    )
                    .await?;
                    self.tell(&mut report, outcome);
                    report.delivered += 1;
                }
                Err(error) if error.is_refusal() => {
                    let (outcome, current) = refused_outcome(entry, &error);
                    self.record(
                        entry,
                        Unrecorded::Refused {
                            outcome: outcome.clone(),
                            current,
                        },
                    )
                    .await?;
                    self.tell(&mut report, outcome);
                    report.refused += 1;
                }
                Err(error) if error.failed_this_request_only() => {
                    self.attempt_failed(entry, &error).await?;
                    held_back.insert(lane);
                    report.waiting += 1;
                }
                Err(error) => {
                    self.attempt_failed(entry, &error).await?;
                    report.waiting += entries.len() - index;
                    report.server_asks_to_wait = error.retry_after();
                    self.publisher.publish(Change::Outbox);
                    if matches!(error, CoreError::SignedOut { .. }) {
                        return Err(error);
                    }
                    return Ok(report);
                }
            }
            self.publisher.publish(Change::Outbox);
        }
        Ok(report)
    }

    /// Records how an action the server answered ended. On a full disk the end is kept in memory
    /// instead, so that the action is neither sent again every second nor shown as waiting; the
    /// next flush records it once there is room.
    async fn record(&self, entry: &OutboxEntry, end: Unrecorded) -> CoreResult<()> {
        match self.write_end(entry, end.clone()).await {
            Ok(()) => Ok(()),
            Err(StoreError::DiskFull) => {
                tracing::warn!(action = %entry.label, "the server took the action, but the cache's disk is full: its end is recorded once there is room");
                self.unrecorded_ends()
                    .insert(entry.idempotency_key.clone(), end);
                self.publisher.publish(Change::Outbox);
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn write_end(&self, entry: &OutboxEntry, end: Unrecorded) -> StoreResult<()> {
        match end {
            Unrecorded::Delivered { answer, outcome } => {
                let changes = (self.store)
                    .outbox_delivered(entry, answer, outcome.as_ref())
                    .await?;
                self.publisher.publish_all(changes);
            }
            Unrecorded::TakenUnread { outcome } => {
                self.store.outbox_taken_unread(entry, &outcome).await?;
            }
            Unrecorded::Refused { outcome, current } => {
                self.store.outbox_refused(entry, &outcome, current).await?;
            }
        }
        Ok(())
    }

    /// Tries again to record the end of an action the server answered before the disk had
    /// room; on a full disk it stays in memory.
    async fn record_again(&self, entry: &OutboxEntry) -> CoreResult<()> {
        let Some(end) = self.unrecorded_end(entry) else {
            return Ok(());
        };
        match self.write_end(entry, end).await {
            Ok(()) => {
                self.unrecorded_ends().remove(&entry.idempotency_key);
                self.publisher.publish(Change::Outbox);
                Ok(())
            }
            Err(StoreError::DiskFull) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// A failed attempt is noted on the entry; on a full disk it is not, and the entry waits
    /// as it was.
    async fn attempt_failed(&self, entry: &OutboxEntry, error: &CoreError) -> CoreResult<()> {
        match (self.store)
            .outbox_attempt_failed(entry.id, &error.to_string())
            .await
        {
            Err(StoreError::DiskFull) => Ok(()),
            noted => Ok(noted?),
        }
    }

    fn unrecorded_end(&self, entry: &OutboxEntry) -> Option<Unrecorded> {
        self.unrecorded_ends().get(&entry.idempotency_key).cloned()
    }

    fn unrecorded_ends(&self) -> std::sync::MutexGuard<'_, HashMap<String, Unrecorded>> {
        self.unrecorded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What still waits of `entries`: those the server answered whose end the cache could not
    /// record yet are left out.
    pub(crate) fn waiting(&self, entries: Vec<OutboxEntry>) -> Vec<OutboxEntry> {
        let unrecorded = self.unrecorded_ends();
        if unrecorded.is_empty() {
            return entries;
        }
        (entries.into_iter())
            .filter(|entry| !unrecorded.contains_key(&entry.idempotency_key))
            .collect()
    }

    /// What became of an action, for the flush's caller and every face.
    fn tell(&self, report: &mut FlushReport, outcome: Outcome) {
        report.outcomes.push(outcome.clone());
        self.publisher.publish(Change::Outcome { outcome });
    }

    /// Delivers the outbox whenever something is queued or the link returns, retrying on a
    /// backoff: one second while a stop waits (stops are retried hardest), else up to 30 s, or
    /// as long as the server asked (`Retry-After`: the hold-off the loop starts with).
    pub(crate) async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        // Where the cache stands as this worker starts: what another process applies from here
        // on is news to this one.
        if let Ok(cached) = self.store.last_seq().await {
            *self.noted_elsewhere() = Some(cached);
        }
        let mut failures: u32 = 0;
        loop {
            // Woken (something queued, the link back) while the server asked to be left alone:
            // what waits goes when that wait is over, but a stop, which goes every second.
            while let Some(left) = self.held_off_for() {
                if self.a_stop_waits().await {
                    break;
                }
                if self.idle(left, &mut stop).await.is_none() {
                    return;
                }
            }
            let waiting = match self.flush().await {
                Ok(report) => report.waiting,
                Err(CoreError::SignedOut { .. }) => return,
                Err(error) => {
                    tracing::warn!(%error, "outbox delivery failed");
                    1
                }
            };
            let wait = if waiting == 0 {
                failures = 0;
                Duration::from_secs(3600)
            } else {
                failures = failures.saturating_add(1);
                if self.a_stop_waits().await {
                    Duration::from_secs(1)
                } else {
                    crate::sync::backoff(failures).max(Duration::from_secs(1))
                }
            };
            if self.idle(wait, &mut stop).await.is_none() {
                return;
            }
        }
    }

    /// Waits `wait` at most: less when this process wakes the worker (something queued, the
    /// link back) or another process queued an action in the same cache, which is looked for
    /// every few seconds. `None`: told to stop.
    async fn idle(
        &self,
        wait: Duration,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Option<()> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let look = until.min(tokio::time::Instant::now() + OTHER_PROCESSES_LOOKED_AT);
            tokio::select! {
                _ = tokio::time::sleep_until(look) => {}
                _ = self.wakeup.notified() => return Some(()),
                _ = stop.changed() => return None,
            }
            self.another_process_synced().await;
            if look >= until || self.another_process_queued().await {
                return Some(());
            }
        }
    }

    /// Whether another process queued an action this worker has not seen. What another process
    /// changed in the outbox (queued, delivered, refused) is published, for the faces to show.
    async fn another_process_queued(&self) -> bool {
        let keys = match self.store.outbox_keys().await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::debug!(%error, "could not look at the outbox for other processes' actions");
                return false;
            }
        };
        let mut seen = self.seen();
        if *seen == keys {
            return false;
        }
        let queued_elsewhere = !keys.is_subset(&seen);
        *seen = keys;
        drop(seen);
        self.publisher.publish(Change::Outbox);
        queued_elsewhere
    }

    /// Events another process sharing the cache applied (the CLI's `watch` beside the app)
    /// published nothing here, so this app neither showed nor raised what they brought: once
    /// seen, everything is read again, as after a resync, and requests among them are raised.
    /// A first look with nothing noted (the cache unreadable as the worker started) only
    /// notes where it stands.
    async fn another_process_synced(&self) {
        let Ok(cached) = self.store.last_seq().await else {
            return;
        };
        let mut noted = self.noted_elsewhere();
        let known = noted.unwrap_or(cached).max(self.publisher.applied_here());
        *noted = Some(cached.max(known));
        if cached > known {
            drop(noted);
            self.publisher.publish(Change::Resynced);
        }
    }

    fn noted_elsewhere(&self) -> std::sync::MutexGuard<'_, Option<i64>> {
        self.synced_elsewhere_to
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn a_stop_waits(&self) -> bool {
        self.store
            .outbox()
            .await
            .is_ok_and(|entries| holds_a_stop(&self.waiting(entries)))
    }

    /// A server that asked to wait is left alone that long; one that answered is not.
    fn note_how_the_server_answered(&self, sent: &CoreResult<EventPayload>) {
        let held_off = match sent {
            Err(error) if error.is_transient() => match error.retry_after() {
                Some(asked) => {
                    let asked_at = Instant::now();
                    // Spread as the loop's own waits are: the clients turned away together do
                    // not all come back at the same moment.
                    let wait = crate::sync::at_least_as_asked(Duration::ZERO, Some(asked));
                    Some(HeldOff {
                        asked_at,
                        until: asked_at + wait,
                    })
                }
                None => return,
            },
            Err(CoreError::SignedOut { .. }) => return,
            _ => None,
        };
        *self.held_off() = held_off;
    }

    /// How much longer the server asked to be left alone, if it did.
    fn held_off_for(&self) -> Option<Duration> {
        let held_off = (*self.held_off())?;
        held_off
            .until
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
    }

    /// Whether the server asked, since `when`, to be left alone, and still does.
    fn asked_to_wait_since(&self, when: Instant) -> bool {
        self.held_off()
            .is_some_and(|held| held.asked_at >= when && held.until > Instant::now())
    }

    fn held_off(&self) -> std::sync::MutexGuard<'_, Option<HeldOff>> {
        self.held_off
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What must reach the server in the order it was taken: a failing action holds back only
/// those in its lane.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Lane<'a> {
    /// Stops and resumes together: a resume must not overtake the stop taken before it.
    StopsAndResumes,
    /// Everything said about one approval: a decision after the acknowledgement.
    Approval(&'a str),
    /// One conversation's messages, and anything else sent to one route.
    Route(&'a str),
}

impl<'a> Lane<'a> {
    /// What is said of an approval waits behind a stop the server failed: the stop would have
    /// cancelled the request a decision answers. Messages still go.
    fn follows_a_held_stop(&self, held_back: &HashSet<Lane>) -> bool {
        matches!(self, Lane::Approval(_)) && held_back.contains(&Lane::StopsAndResumes)
    }

    fn of(entry: &'a OutboxEntry) -> Lane<'a> {
        match (entry.kind, &entry.approval_id) {
            (OutboxKind::Stop | OutboxKind::Resume, _) => Lane::StopsAndResumes,
            (_, Some(approval)) => Lane::Approval(approval),
            (_, None) => Lane::Route(&entry.path),
        }
    }
}

fn holds_a_stop(entries: &[OutboxEntry]) -> bool {
    entries.iter().any(|e| e.kind == OutboxKind::Stop)
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn outcome(entry: &OutboxEntry, result: OutcomeResult, message: String) -> Outcome {
    Outcome {
        at: now(),
        result,
        action: entry.label.clone(),
        message,
        approval_id: entry.approval_id.clone(),
        project_id: entry.project_id.clone(),
    }
}

/// What a delivered action leaves for the user: decisions and stops say they landed.
fn delivered_outcome(entry: &OutboxEntry, answer: &EventPayload) -> Option<Outcome> {
    let delivered = |message| Some(outcome(entry, OutcomeResult::Delivered, message));
    match answer {
        EventPayload::Approval(_) if entry.kind == OutboxKind::Ack => {
            delivered(format!("{} — everyone sees you are on it.", entry.label))
        }
        EventPayload::Approval(_) if entry.kind == OutboxKind::AskAgain => {
            delivered(format!("{} — the agent was asked.", entry.label))
        }
        EventPayload::Approval(approval) => {
            delivered(format!("{} — {}.", entry.label, approval.status))
        }
        EventPayload::Stop(stop) => delivered(format!(
            "{} delivered; waiting for {} agents to acknowledge.",
            entry.label, stop.agents_total
        )),
        EventPayload::Project(_) => delivered(format!("{} — done.", entry.label)),
        _ => None,
    }
}

/// What an action the server took, with an answer this version cannot read, leaves.
fn taken_unread(entry: &OutboxEntry, detail: &str) -> Outcome {
    outcome(
        entry,
        OutcomeResult::Delivered,
        format!(
            "{} — sent. This version of the app could not read the server's answer ({detail}); \
             what it did shows once synced.",
            entry.label
        ),
    )
}

/// Why the server refused, in words, and the current state it sent back.
fn refused_outcome(entry: &OutboxEntry, error: &CoreError) -> (Outcome, Option<EventPayload>) {
    let current = |details: &serde_json::Value| {
        details
            .get("approval")
            .and_then(|a| serde_json::from_value::<Approval>(a.clone()).ok())
            .map(EventPayload::Approval)
    };
    match error {
        CoreError::Conflict {
            code: ErrorCode::ApprovalAlreadyDecided,
            message,
            details,
        } => (
            outcome(entry, OutcomeResult::AlreadyDecided, message.clone()),
            current(details),
        ),
        CoreError::Conflict {
            code: ErrorCode::ApprovalChanged,
            details,
            ..
        } => (
            outcome(
                entry,
                OutcomeResult::Changed,
                "The request changed after you looked at it; review it again.".into(),
            ),
            current(details),
        ),
        CoreError::Gone {
            message, details, ..
        } => (
            outcome(entry, OutcomeResult::Expired, message.clone()),
            current(details),
        ),
        other => (
            outcome(entry, OutcomeResult::Refused, other.to_string()),
            None,
        ),
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
pub(crate) mod with_a_server;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_stop_holds_back_decisions_but_not_messages() {
        let held: HashSet<Lane> = [Lane::StopsAndResumes].into();
        assert!(Lane::Approval("apr_1").follows_a_held_stop(&held));
        assert!(!Lane::Route("/api/v1/projects/prj_1/messages").follows_a_held_stop(&held));
        let only_a_chat: HashSet<Lane> = [Lane::Route("/api/v1/projects/prj_1/messages")].into();
        assert!(!Lane::Approval("apr_1").follows_a_held_stop(&only_a_chat));
    }
}
