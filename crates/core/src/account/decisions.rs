//! What a person does with an approval: decide it, say they are on it, or ask its agent
//! again once it expired. Each is judged on the cache first, then queued in the outbox.

use spartex_api::{ApprovalStatus, Decision, ErrorCode, Role};
use spartex_policy::{approval_blocker, ApprovalBlocker, DecisionContext};

use super::Account;
use crate::actions::QueuedAction;
use crate::error::{CoreError, CoreResult};
use crate::store::views::ApprovalView;
use crate::Queued;

impl Account {
    /// Approves or rejects a pending approval as last seen in the cache.
    pub async fn decide(
        &self,
        approval_id: &str,
        decision: Decision,
        comment: Option<String>,
    ) -> CoreResult<Queued> {
        let view = self.approval(approval_id).await?;
        let approval = &view.approval;
        let context = self.decision_context(&view);
        if let Some(blocker) = decision_blocker(&view, decision, context) {
            return Err(CoreError::Blocked {
                blocker,
                message: blocker.message(approval, context.role),
            });
        }
        let action = QueuedAction::Decide {
            approval_id: approval.id.clone(),
            title: approval.title.clone(),
            decision,
            comment: comment.filter(|c| !c.trim().is_empty()),
            seen_version: approval.version,
        };
        self.queue(action).await
    }

    /// "I'm on it": stops the approval's escalation ladder and shows everyone who took it.
    /// Allowed wherever a decision would be; queued like one when offline.
    pub async fn ack(&self, approval_id: &str) -> CoreResult<Queued> {
        let view = self.approval(approval_id).await?;
        let context = self.decision_context(&view);
        match decision_blocker(&view, Decision::Reject, context) {
            Some(blocker) if blocker != ApprovalBlocker::NoPreview => {
                return Err(CoreError::Blocked {
                    blocker,
                    message: blocker.message(&view.approval, context.role),
                })
            }
            _ => {}
        }
        self.queue(QueuedAction::Ack {
            approval_id: view.approval.id.clone(),
            title: view.approval.title.clone(),
        })
        .await
    }

    /// Asks the agent of an expired approval to propose it again, with an optional comment.
    pub async fn ask_again(
        &self,
        approval_id: &str,
        comment: Option<String>,
    ) -> CoreResult<Queued> {
        let view = self.approval(approval_id).await?;
        let approval = &view.approval;
        let role = self.decision_context(&view).role;
        if !role.at_least(Role::Oncall) {
            let blocker = ApprovalBlocker::RoleTooLow;
            return Err(CoreError::Blocked {
                blocker,
                message: blocker.message(approval, role),
            });
        }
        if approval.status != ApprovalStatus::Expired {
            return Err(CoreError::Conflict {
                code: ErrorCode::ApprovalNotExpired,
                message: format!(
                    "Only an expired request can be asked again; “{}” is {}.",
                    approval.title, approval.status
                ),
                details: serde_json::json!({ "approval": approval }),
            });
        }
        self.queue(QueuedAction::AskAgain {
            approval_id: approval.id.clone(),
            title: approval.title.clone(),
            comment: comment
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty()),
        })
        .await
    }
}

/// What stops a decision made here, judged on the cache. This machine's clock may disagree
/// with the server's, which judges expiry: an expiry seen only here is left to the server (the
/// outbox reports its answer), but every other rule still holds, judged as if the request were
/// still open.
fn decision_blocker(
    view: &ApprovalView,
    decision: Decision,
    context: DecisionContext,
) -> Option<ApprovalBlocker> {
    let approval = &view.approval;
    match approval_blocker(approval, decision, &context) {
        Some(ApprovalBlocker::Expired) => {
            let still_open = DecisionContext {
                now: approval.created_at,
                ..context
            };
            approval_blocker(approval, decision, &still_open)
        }
        other => other,
    }
}
