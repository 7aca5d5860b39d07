//! Sentences that the server and the clients both say, written once so a person reads the same
//! words whichever side noticed first.

use crate::{Approval, ApprovalStatus, OnExpiry};

impl Approval {
    /// Why a decision on an approval someone already decided was not applied: "Already approved
    /// by Marco Rossi (manager) at 14:02 UTC. Your decision was not applied."
    pub fn already_decided_message(&self) -> String {
        if self.status == ApprovalStatus::Unknown {
            return "This request is in a state this version of Spartex Control does not know, \
                    so it cannot be decided here. Update the app to see what became of it."
                .into();
        }
        let who = self.decided_by.as_ref().map_or_else(
            || " by someone".to_owned(),
            |by| match by.role {
                Some(role) => format!(" by {} ({role})", by.name),
                None => format!(" by {}", by.name),
            },
        );
        let when = self
            .decided_at
            .map(|t| format!(" at {} UTC", t.format("%H:%M")))
            .unwrap_or_default();
        format!(
            "Already {}{who}{when}. Your decision was not applied.",
            self.status
        )
    }

    /// Why a decision on an expired approval was not applied.
    pub fn expired_message(&self) -> String {
        format!(
            "This request expired at {} UTC and was {} without a decision. Nothing was changed.",
            self.expires_at.format("%H:%M"),
            match self.on_expiry {
                OnExpiry::Reject => "rejected",
                OnExpiry::Approve => "approved",
                OnExpiry::Unknown => "settled",
            }
        )
    }

    /// Why a request still pending but past its expiry can no longer be decided (the server
    /// settles it at its next sweep, by its `on_expiry`).
    pub fn past_expiry_message(&self) -> String {
        format!(
            "This request expired at {} UTC; it can no longer be decided.",
            self.expires_at.format("%H:%M")
        )
    }

    /// What became of a request that is no longer waiting: "Approved by Dana Kim", "Expired
    /// before anyone decided". What replaces its notification for those who were told.
    pub fn resolution_sentence(&self) -> String {
        let who = self
            .decided_by
            .as_ref()
            .map_or("someone", |by| by.name.as_str());
        match self.status {
            ApprovalStatus::Approved => format!("Approved by {who}"),
            ApprovalStatus::Rejected => format!("Rejected by {who}"),
            ApprovalStatus::Expired => "Expired before anyone decided".into(),
            _ => "No longer waiting for a decision".into(),
        }
    }
}
