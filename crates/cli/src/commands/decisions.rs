//! `spartex approve|reject`, and finding a pending approval by its id or a unique prefix.

use serde::Serialize;
use spartex_api::Decision;
use spartex_core::rules::ApprovalBlocker;
use spartex_core::{Account, CoreError, Outcome, OutcomeResult};

use super::acting::Acting;
use super::{print, refresh};
use crate::out::outln;
use crate::{CliError, CliResult, Ended};

/// `spartex approve|reject --json` when the cache already shows why the decision cannot apply.
#[derive(Serialize)]
struct NotApplied<'a> {
    delivered: bool,
    outcome: &'a Outcome,
}

/// Finds a pending approval by id or unique prefix.
pub(super) async fn find_approval(account: &Account, id: &str) -> CliResult<String> {
    let matches: Vec<String> = account
        .approvals(false)
        .await?
        .into_iter()
        .map(|v| v.approval.id)
        .filter(|full| full == id || full.starts_with(id))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(CoreError::NotCached {
            what: "approval",
            id: id.to_owned(),
        }
        .into()),
        _ => Err(CliError::Usage(format!(
            "`{id}` matches several approvals; give more of the id."
        ))),
    }
}

pub(super) async fn decide(
    acting: &Acting<'_>,
    id: &str,
    decision: Decision,
    comment: Option<String>,
    json: bool,
    offline: bool,
) -> CliResult<Ended> {
    let account = acting.account;
    refresh(account, offline).await;
    let id = find_approval(account, id).await?;
    let view = account.approval(&id).await?;
    // What may be decided is the core's rule (`spartex_core::rules`), the same for every face.
    match account.decide(&id, decision, comment).await {
        Ok(queued) => acting.report(&queued, json).await,
        // Decided elsewhere first, and the cache already knows: the same report, on the same
        // stream and with the same exit code, as when the server refuses the decision.
        Err(CoreError::Blocked {
            blocker:
                blocker @ (ApprovalBlocker::AlreadyDecided
                | ApprovalBlocker::Sending
                | ApprovalBlocker::ProjectStopped),
            message,
        }) => {
            let verb = match decision {
                Decision::Approve => "Approve",
                Decision::Reject => "Reject",
            };
            let outcome = Outcome {
                at: chrono::Utc::now(),
                result: if blocker == ApprovalBlocker::AlreadyDecided {
                    OutcomeResult::AlreadyDecided
                } else {
                    OutcomeResult::Refused
                },
                action: format!("{verb} “{}”", view.approval.title),
                message,
                approval_id: Some(id),
                project_id: Some(view.approval.project_id.clone()),
            };
            print(
                json,
                &NotApplied {
                    delivered: false,
                    outcome: &outcome,
                },
                || outln!("{} — not applied: {}", outcome.action, outcome.message),
            );
            Ok(Ended::Refused)
        }
        Err(other) => Err(other.into()),
    }
}
