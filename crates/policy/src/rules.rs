//! What may be decided, decided once: the core's `Account::decide` enforces it, the
//! notification policy consults it, and the faces show its words, so no face (the app, a
//! notification's button, the CLI) can approve what another would refuse.

use chrono::{DateTime, Utc};
use serde::Serialize;
use spartex_api::{Approval, ApprovalStatus, Decision, Role};

/// Why a decision cannot be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ApprovalBlocker {
    /// Someone decided, or the server cancelled or expired it.
    AlreadyDecided,
    /// Its project is stopped, or a stop of it waits to be sent: its agents are halting.
    ProjectStopped,
    /// Pending in the cache, but past its expiry.
    Expired,
    /// Nothing shows what approving would do, so it may only be rejected.
    NoPreview,
    /// Viewers read; they do not decide.
    RoleTooLow,
    /// A decision made here is still on its way.
    Sending,
}

/// What is known of the person deciding and of the request's surroundings.
#[derive(Debug, Clone, Copy)]
pub struct DecisionContext {
    pub role: Role,
    /// A decision made here is still on its way to the server.
    pub sending: bool,
    /// The request's project is stopped, or a stop of it is queued.
    pub project_stopped: bool,
    pub now: DateTime<Utc>,
}

/// The first reason `decision` cannot be made on `approval` in `context`, if any.
pub fn approval_blocker(
    approval: &Approval,
    decision: Decision,
    context: &DecisionContext,
) -> Option<ApprovalBlocker> {
    if approval.status != ApprovalStatus::Pending {
        return Some(ApprovalBlocker::AlreadyDecided);
    }
    if context.sending {
        return Some(ApprovalBlocker::Sending);
    }
    if approval.expires_at <= context.now {
        return Some(ApprovalBlocker::Expired);
    }
    if context.project_stopped {
        return Some(ApprovalBlocker::ProjectStopped);
    }
    if !context.role.at_least(Role::Oncall) {
        return Some(ApprovalBlocker::RoleTooLow);
    }
    if decision == Decision::Approve && approval.preview.is_none() {
        return Some(ApprovalBlocker::NoPreview);
    }
    None
}

impl ApprovalBlocker {
    /// Why, in words any face can show, the same the server uses where it has any.
    pub fn message(self, approval: &Approval, role: Role) -> String {
        match self {
            ApprovalBlocker::AlreadyDecided => approval.already_decided_message(),
            ApprovalBlocker::ProjectStopped => {
                "Its project is stopped, so its agents are halting; this request can no longer \
                 be decided. Resume the project and the agent asks again."
                    .into()
            }
            ApprovalBlocker::Sending => {
                format!("A decision on “{}” is already on its way.", approval.title)
            }
            ApprovalBlocker::Expired => approval.past_expiry_message(),
            ApprovalBlocker::RoleTooLow => {
                format!("Your role ({role}) cannot decide approvals; it takes oncall or above.")
            }
            ApprovalBlocker::NoPreview => {
                "There is no preview of what will happen, so it cannot be approved. Reject it \
                 with a comment asking the agent for one."
                    .into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spartex_api::Preview;

    fn by(role: Role, sending: bool, now: DateTime<Utc>) -> DecisionContext {
        DecisionContext {
            role,
            sending,
            project_stopped: false,
            now,
        }
    }

    fn approval(preview: Option<Preview>) -> Approval {
        Approval {
            agent_id: None,
            title: "Publish".into(),
            preview,
            ..Approval::example()
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
            approval_blocker(&bare, Decision::Approve, &by(Role::Oncall, false, now)),
            Some(ApprovalBlocker::NoPreview)
        );
        assert_eq!(
            approval_blocker(&bare, Decision::Reject, &by(Role::Oncall, false, now)),
            None
        );
        assert_eq!(
            approval_blocker(
                &approval(amount()),
                Decision::Approve,
                &by(Role::Oncall, false, now)
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
                approval_blocker(&decided, decision, &by(Role::Owner, false, now)),
                Some(ApprovalBlocker::AlreadyDecided)
            );
            assert_eq!(
                approval_blocker(&late, decision, &by(Role::Owner, false, now)),
                Some(ApprovalBlocker::Expired)
            );
            assert_eq!(
                approval_blocker(&fresh, decision, &by(Role::Owner, true, now)),
                Some(ApprovalBlocker::Sending)
            );
            assert_eq!(
                approval_blocker(&fresh, decision, &by(Role::Viewer, false, now)),
                Some(ApprovalBlocker::RoleTooLow)
            );
            let stopped = DecisionContext {
                project_stopped: true,
                ..by(Role::Owner, false, now)
            };
            assert_eq!(
                approval_blocker(&fresh, decision, &stopped),
                Some(ApprovalBlocker::ProjectStopped)
            );
        }
    }

    #[test]
    fn every_blocker_says_why_in_words() {
        let mut decided = approval(None);
        decided.status = ApprovalStatus::Rejected;
        assert!(ApprovalBlocker::AlreadyDecided
            .message(&decided, Role::Oncall)
            .starts_with("Already rejected"));
        assert!(ApprovalBlocker::RoleTooLow
            .message(&decided, Role::Viewer)
            .contains("viewer"));
        assert!(ApprovalBlocker::NoPreview
            .message(&decided, Role::Oncall)
            .contains("no preview"));
    }
}
