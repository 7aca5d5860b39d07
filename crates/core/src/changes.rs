//! What changed in an account's cache, published on a broadcast channel after each applied
//! batch, so that faces (desktop UI, CLI `watch`, the notifier) react without polling.

use serde::Serialize;
use spartex_api::{Agent, Approval, CostRecord, Message, Project, Stop, Task};

/// One change to the cache, with the state before it where that matters for notifications.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Project {
        before: Option<Box<Project>>,
        after: Box<Project>,
    },
    Agent {
        before: Option<Box<Agent>>,
        after: Box<Agent>,
    },
    Task {
        after: Box<Task>,
    },
    Approval {
        before: Option<Box<Approval>>,
        after: Box<Approval>,
    },
    Message {
        message: Box<Message>,
    },
    Cost {
        record: Box<CostRecord>,
    },
    Stop {
        before: Option<Box<Stop>>,
        after: Box<Stop>,
    },
    /// The cache was rebuilt from fresh snapshots: re-read everything.
    Resynced,
    /// The outbox changed: something queued, delivered or refused.
    Outbox,
    /// A queued action was settled in a way the user must see.
    Outcome {
        outcome: Outcome,
    },
    /// The link to the server changed.
    Link {
        state: LinkState,
    },
    /// Sync progress during a long catch-up.
    Progress {
        applied_seq: i64,
        head: i64,
    },
}

/// The result of a queued action, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Outcome {
    pub at: chrono::DateTime<chrono::Utc>,
    /// `delivered`, `already_decided`, `expired`, `changed`, `refused`, `failed`
    pub result: String,
    /// What the action was, e.g. "Approve “Publish the spring hero ad”".
    pub action: String,
    /// What happened, e.g. "Already rejected by Dana Whitfield (oncall) at 10:32 UTC."
    pub message: String,
    pub approval_id: Option<String>,
    pub project_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Live: the event socket is connected and caught up.
    Connected,
    Connecting,
    /// No link; the cache is shown as of its last sync.
    Offline,
    /// The server refused the session: sign in again.
    SignedOut,
}
