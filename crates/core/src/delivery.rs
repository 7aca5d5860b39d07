//! Delivering the outbox: in priority order (stops and resumes first, in the order they were
//! taken), each with its Idempotency-Key, so a retry after a crash or a cut link never acts
//! twice. A refusal undoes the optimistic effect and leaves an outcome the user sees.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use spartex_api::EventPayload;
use tokio::sync::{Mutex, Notify};

use crate::actions::OutboxRequest;
use crate::changes::Publisher;
use crate::error::{CoreError, CoreResult};
use crate::session::Session;
use crate::store::{OutboxEntry, Store};
use crate::{Change, Outcome};

mod ends;
mod held_off;
mod lanes;
mod outcomes;
mod worker;

use ends::Unrecorded;
use held_off::HeldOff;
use lanes::{holds_a_stop, Lane};
use outcomes::{delivered_outcome, refused_outcome, taken_unread};

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

    /// What became of an action, for the flush's caller and every face.
    fn tell(&self, report: &mut FlushReport, outcome: Outcome) {
        report.outcomes.push(outcome.clone());
        self.publisher.publish(Change::Outcome { outcome });
    }
}

#[cfg(test)]
#[path = "delivery_tests.rs"]
pub(crate) mod with_a_server;
