//! What changed in an account's cache, published on a broadcast channel after each applied
//! batch, so that faces (desktop UI, CLI `watch`, the notifier) react without polling.

use serde::Serialize;
use spartex_api::{Agent, Approval, CostRecord, Message, Project, Stop, Task};
use tokio::sync::{broadcast, watch};

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
    /// Someone changed the on-call schedule or its overrides (`oncall.updated`).
    OnCall,
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

impl Change {
    /// The resource before and after, for the notification policy; `None` for changes that
    /// are not a resource's (sync progress, the link, the outbox).
    pub fn transition(&self) -> Option<spartex_policy::Transition<'_>> {
        use spartex_policy::Transition;
        Some(match self {
            Change::Approval { before, after } => Transition::Approval {
                before: before.as_deref(),
                after,
            },
            Change::Agent { before, after } => Transition::Agent {
                before: before.as_deref(),
                after,
            },
            Change::Stop { before, after } => Transition::Stop {
                before: before.as_deref(),
                after,
            },
            Change::Project { before, after } => Transition::Project {
                before: before.as_deref(),
                after,
            },
            _ => return None,
        })
    }
}

/// The result of a queued action, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Outcome {
    pub at: chrono::DateTime<chrono::Utc>,
    pub result: OutcomeResult,
    /// What the action was, e.g. "Approve “Publish the spring hero ad”".
    pub action: String,
    /// What happened, e.g. "Already rejected by Dana Whitfield (oncall) at 10:32 UTC."
    pub message: String,
    pub approval_id: Option<String>,
    pub project_id: Option<String>,
}

/// How a queued action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OutcomeResult {
    /// The server took it.
    Delivered,
    /// Someone decided the request first.
    AlreadyDecided,
    /// The request expired before the decision reached the server.
    Expired,
    /// The request changed after it was looked at; review it again.
    Changed,
    /// The server refused it for another reason, named in the message.
    Refused,
}

impl std::fmt::Display for OutcomeResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutcomeResult::Delivered => "delivered",
            OutcomeResult::AlreadyDecided => "already_decided",
            OutcomeResult::Expired => "expired",
            OutcomeResult::Changed => "changed",
            OutcomeResult::Refused => "refused",
        })
    }
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
    /// The server is reachable but the disk holding the cache is full: nothing new can be
    /// kept, so the cache is shown as of its last sync and the link retries until space is
    /// freed. Nothing is lost: the events wait on the server.
    DiskFull,
}

/// Where an account's changes and link state are published; cloned into each part of the
/// account (sync, delivery) that makes changes.
#[derive(Clone)]
pub(crate) struct Publisher {
    changes: broadcast::Sender<Change>,
    link: watch::Sender<LinkState>,
    /// The highest `seq` this process applied, or is applying, to the cache: one the cache
    /// holds beyond it was applied by another process sharing it (the CLI's `watch` beside the
    /// app), which published nothing here.
    applied_here: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl Publisher {
    pub(crate) fn new() -> Publisher {
        let (changes, _) = broadcast::channel(4096);
        let (link, _) = watch::channel(LinkState::Offline);
        Publisher {
            changes,
            link,
            applied_here: Default::default(),
        }
    }

    /// This process is about to apply events up to `seq` (or a snapshot at that head).
    pub(crate) fn applying_up_to(&self, seq: i64) {
        self.applied_here
            .fetch_max(seq, std::sync::atomic::Ordering::SeqCst);
    }

    /// See [`Publisher::applying_up_to`].
    pub(crate) fn applied_here(&self) -> i64 {
        self.applied_here.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    pub(crate) fn link(&self) -> LinkState {
        *self.link.borrow()
    }

    pub(crate) fn watch_link(&self) -> watch::Receiver<LinkState> {
        self.link.subscribe()
    }

    pub(crate) fn set_link(&self, state: LinkState) {
        if self.link.send_replace(state) != state {
            self.publish(Change::Link { state });
        }
    }

    pub(crate) fn publish(&self, change: Change) {
        // Nobody listening is fine.
        let _ = self.changes.send(change);
    }

    pub(crate) fn publish_all(&self, changes: Vec<Change>) {
        for change in changes {
            self.publish(change);
        }
    }
}
