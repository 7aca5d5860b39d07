//! Outcomes: what a delivered, taken or refused action leaves for the user, in words.

use spartex_api::{Approval, ErrorCode, EventPayload};

use crate::actions::OutboxKind;
use crate::changes::OutcomeResult;
use crate::error::CoreError;
use crate::store::OutboxEntry;
use crate::Outcome;

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
pub(super) fn delivered_outcome(entry: &OutboxEntry, answer: &EventPayload) -> Option<Outcome> {
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
pub(super) fn taken_unread(entry: &OutboxEntry, detail: &str) -> Outcome {
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
pub(super) fn refused_outcome(
    entry: &OutboxEntry,
    error: &CoreError,
) -> (Outcome, Option<EventPayload>) {
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
