//! Example resources for the workspace's tests (the `fixtures` feature, which crates turn on in
//! their dev-dependencies only). A test spells out what it is about and takes the rest from
//! here, so that a field added to a resource is added once for every test:
//! `Approval { risk: Risk::Critical, ..Approval::example() }`.

use chrono::{Duration, Utc};

use crate::{Approval, ApprovalStatus, OnExpiry, Risk};

impl Approval {
    /// A pending, high-risk request from `agt_1` in `prj_1` to publish an ad, made now and open
    /// for ten minutes, rejected if nobody answers; undecided, not escalated, not asked again.
    pub fn example() -> Approval {
        let now = Utc::now();
        Approval {
            id: "apr_1".into(),
            project_id: "prj_1".into(),
            agent_id: Some("agt_1".into()),
            task_id: None,
            kind: "publish_ad".into(),
            title: "Publish the spring hero ad".into(),
            summary: String::new(),
            payload: serde_json::json!({}),
            preview: None,
            risk: Risk::High,
            status: ApprovalStatus::Pending,
            created_at: now,
            expires_at: now + Duration::minutes(10),
            on_expiry: OnExpiry::Reject,
            decided_by: None,
            decided_at: None,
            comment: None,
            escalation: None,
            ask_again_requested_at: None,
            ask_again_requested_by: None,
            ask_again_comment: None,
            ask_again_answered_by: None,
            answers_ask: None,
            version: 1,
        }
    }
}
