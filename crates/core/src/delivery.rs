//! Delivering the outbox: in priority order (stops first), each with its Idempotency-Key, so a
//! retry after a crash or a cut link never acts twice. A refusal undoes the optimistic effect
//! and leaves an outcome the user sees.

use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use spartex_api::{Approval, EventPayload};

use crate::account::Account;
use crate::error::{CoreError, CoreResult};
use crate::store::{OutboxEntry, OutboxKind};
use crate::{Change, Outcome};

#[derive(Debug, Clone, Default, Serialize)]
pub struct FlushReport {
    pub delivered: usize,
    pub refused: usize,
    /// Still waiting: the link is down or the server failed.
    pub waiting: usize,
    pub outcomes: Vec<Outcome>,
}

impl Account {
    /// Sends everything in the outbox that the server will take now.
    pub async fn flush_outbox(&self) -> CoreResult<FlushReport> {
        let _one_at_a_time = self.delivery_lock().lock().await;
        let mut report = FlushReport::default();
        let entries = self.store().outbox().await?;
        for (index, entry) in entries.iter().enumerate() {
            match self
                .session()
                .call(
                    Method::POST,
                    &entry.path,
                    Some(&entry.body),
                    Some(&entry.idempotency_key),
                )
                .await
            {
                Ok(answer) => {
                    let outcome = delivered_outcome(entry, &answer);
                    let changes = self
                        .store()
                        .outbox_delivered(entry, &answer, outcome.as_ref())
                        .await?;
                    self.publish_all(changes);
                    if let Some(outcome) = outcome {
                        report.outcomes.push(outcome.clone());
                        self.publish(Change::Outcome { outcome });
                    }
                    report.delivered += 1;
                }
                Err(error)
                    if error.is_transient() || matches!(error, CoreError::SignedOut { .. }) =>
                {
                    self.store()
                        .outbox_attempt_failed(entry.id, &error.to_string())
                        .await?;
                    report.waiting = entries.len() - index;
                    self.publish(Change::Outbox);
                    if matches!(error, CoreError::SignedOut { .. }) {
                        return Err(error);
                    }
                    return Ok(report);
                }
                Err(error) => {
                    let (outcome, current) = refused_outcome(entry, &error);
                    self.store()
                        .outbox_refused(entry, &outcome, current)
                        .await?;
                    report.outcomes.push(outcome.clone());
                    self.publish(Change::Outcome { outcome });
                    report.refused += 1;
                }
            }
            self.publish(Change::Outbox);
        }
        Ok(report)
    }

    /// Delivers the outbox whenever something is queued or the link returns, retrying on a
    /// backoff: one second while a stop waits (stops are retried hardest), else up to 30 s.
    pub(crate) async fn run_delivery(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut failures: u32 = 0;
        loop {
            let waiting = match self.flush_outbox().await {
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
                let stop_waiting = self
                    .store()
                    .outbox()
                    .await
                    .map(|e| e.iter().any(|e| e.kind == OutboxKind::Stop))
                    .unwrap_or(false);
                if stop_waiting {
                    Duration::from_secs(1)
                } else {
                    crate::sync::backoff(failures).max(Duration::from_secs(1))
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.outbox_wakeup().notified() => {}
                _ = stop.changed() => return,
            }
        }
    }
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

fn outcome(entry: &OutboxEntry, result: &str, message: String) -> Outcome {
    Outcome {
        at: now(),
        result: result.into(),
        action: entry.label.clone(),
        message,
        approval_id: entry.approval_id.clone(),
        project_id: entry.project_id.clone(),
    }
}

/// What a delivered action leaves for the user: decisions and stops say they landed.
fn delivered_outcome(entry: &OutboxEntry, answer: &Value) -> Option<Outcome> {
    match entry.kind {
        OutboxKind::Decision => {
            let status = answer
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("decided");
            Some(outcome(
                entry,
                "delivered",
                format!("{} — {status}.", entry.label),
            ))
        }
        OutboxKind::Stop => {
            let total = answer
                .get("agents_total")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            Some(outcome(
                entry,
                "delivered",
                format!(
                    "{} delivered; waiting for {total} agents to acknowledge.",
                    entry.label
                ),
            ))
        }
        OutboxKind::Resume => Some(outcome(
            entry,
            "delivered",
            format!("{} — done.", entry.label),
        )),
        OutboxKind::Message => None,
    }
}

/// Why the server refused, in words, and the current state it sent back.
fn refused_outcome(entry: &OutboxEntry, error: &CoreError) -> (Outcome, Option<EventPayload>) {
    let current = |details: &Value| {
        details
            .get("approval")
            .and_then(|a| serde_json::from_value::<Approval>(a.clone()).ok())
            .map(EventPayload::Approval)
    };
    match error {
        CoreError::Conflict {
            code,
            message,
            details,
        } if code == "approval_already_decided" => (
            outcome(entry, "already_decided", message.clone()),
            current(details),
        ),
        CoreError::Conflict { code, details, .. } if code == "approval_changed" => (
            outcome(
                entry,
                "changed",
                "The request changed after you looked at it; review it again.".into(),
            ),
            current(details),
        ),
        CoreError::Gone {
            message, details, ..
        } => (outcome(entry, "expired", message.clone()), current(details)),
        other => (outcome(entry, "refused", other.to_string()), None),
    }
}
