//! What may be decided, decided once: [`Account::decide`](crate::Account::decide) enforces it
//! and the notification policy consults it, so no face (the app, a notification's button, the
//! CLI) can approve what another would refuse.

use chrono::{DateTime, Utc};
use serde_json::json;
use spartex_api::{Approval, ApprovalStatus, Decision, Role};

use crate::error::CoreError;

/// Why a decision cannot be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalBlocker {
    /// Someone decided, or the server cancelled or expired it.
    AlreadyDecided,
    /// Pending in the cache, but past its expiry.
    Expired,
    /// Nothing shows what approving would do, so it may only be rejected.
    NoPreview,
    /// Viewers read; they do not decide.
    RoleTooLow,
    /// A decision made here is still on its way.
    Sending,
}

/// The first reason `decision` cannot be made on `approval` by someone of `role`, if any.
pub fn approval_blocker(
    approval: &Approval,
    decision: Decision,
    role: Role,
    sending: bool,
    now: DateTime<Utc>,
) -> Option<ApprovalBlocker> {
    if approval.status != ApprovalStatus::Pending {
        return Some(ApprovalBlocker::AlreadyDecided);
    }
    if sending {
        return Some(ApprovalBlocker::Sending);
    }
    if approval.expires_at <= now {
        return Some(ApprovalBlocker::Expired);
    }
    if !role.at_least(Role::Oncall) {
        return Some(ApprovalBlocker::RoleTooLow);
    }
    if decision == Decision::Approve && approval.preview.is_none() {
        return Some(ApprovalBlocker::NoPreview);
    }
    None
}

impl ApprovalBlocker {
    /// The refusal, in the same words the server uses where it has any.
    pub fn into_error(self, approval: &Approval, role: Role) -> CoreError {
        match self {
            ApprovalBlocker::AlreadyDecided => {
                let by = approval
                    .decided_by
                    .as_ref()
                    .map(|d| match d.role {
                        Some(role) => format!(" by {} ({role})", d.name),
                        None => format!(" by {}", d.name),
                    })
                    .unwrap_or_default();
                let at = approval
                    .decided_at
                    .map(|t| format!(" at {} UTC", t.format("%H:%M")))
                    .unwrap_or_default();
                CoreError::Conflict {
                    code: "approval_already_decided".into(),
                    message: format!(
                        "Already {}{by}{at}. Your decision was not applied.",
                        approval.status
                    ),
                    details: json!({ "approval": approval }),
                }
            }
            ApprovalBlocker::Sending => CoreError::Conflict {
                code: "decision_sending".into(),
                message: format!("A decision on “{}” is already on its way.", approval.title),
                details: serde_json::Value::Null,
            },
            ApprovalBlocker::Expired => CoreError::Gone {
                code: "approval_expired".into(),
                message: format!(
                    "This request expired at {} UTC; it can no longer be decided.",
                    approval.expires_at.format("%H:%M")
                ),
                details: json!({ "approval": approval }),
            },
            ApprovalBlocker::RoleTooLow => CoreError::Forbidden {
                message: format!(
                    "Your role ({role}) cannot decide approvals; it takes oncall or above."
                ),
            },
            ApprovalBlocker::NoPreview => CoreError::Invalid {
                code: "no_preview".into(),
                message: "This request has no preview of what will change, so it cannot be \
                          approved. Reject it with a comment asking for one."
                    .into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spartex_api::{OnExpiry, Preview, Risk};

    fn approval(preview: Option<Preview>) -> Approval {
        let now = Utc::now();
        Approval {
            id: "apr_1".into(),
            project_id: "prj_1".into(),
            agent_id: None,
            task_id: None,
            kind: "publish_ad".into(),
            title: "Publish".into(),
            summary: String::new(),
            payload: json!({}),
            preview,
            risk: Risk::High,
            status: ApprovalStatus::Pending,
            created_at: now,
            expires_at: now + chrono::Duration::minutes(10),
            on_expiry: OnExpiry::Reject,
            decided_by: None,
            decided_at: None,
            comment: None,
            version: 1,
        }
    }

    fn amount() -> Option<Preview> {
        Some(Preview::Amount {
            currency: "USD".into(),
            old_amount: None,
            new_amount: 10.0,
            period: None,
        })
    }

    #[test]
    fn approve_needs_a_preview_and_reject_does_not() {
        let now = Utc::now();
        let bare = approval(None);
        assert_eq!(
            approval_blocker(&bare, Decision::Approve, Role::Oncall, false, now),
            Some(ApprovalBlocker::NoPreview)
        );
        assert_eq!(
            approval_blocker(&bare, Decision::Reject, Role::Oncall, false, now),
            None
        );
        assert_eq!(
            approval_blocker(
                &approval(amount()),
                Decision::Approve,
                Role::Oncall,
                false,
                now
            ),
            None
        );
    }

    #[test]
    fn expired_decided_sending_and_viewers_are_refused_whatever_the_decision() {
        let now = Utc::now();
        let mut decided = approval(amount());
        decided.status = ApprovalStatus::Approved;
        let mut late = approval(amount());
        late.expires_at = now - chrono::Duration::seconds(1);
        for decision in [Decision::Approve, Decision::Reject] {
            let fresh = approval(amount());
            assert_eq!(
                approval_blocker(&decided, decision, Role::Owner, false, now),
                Some(ApprovalBlocker::AlreadyDecided)
            );
            assert_eq!(
                approval_blocker(&late, decision, Role::Owner, false, now),
                Some(ApprovalBlocker::Expired)
            );
            assert_eq!(
                approval_blocker(&fresh, decision, Role::Owner, true, now),
                Some(ApprovalBlocker::Sending)
            );
            assert_eq!(
                approval_blocker(&fresh, decision, Role::Viewer, false, now),
                Some(ApprovalBlocker::RoleTooLow)
            );
        }
    }
}
