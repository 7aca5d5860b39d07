//! What the push dispatcher reads and writes: how far it has read each tenant's log, the
//! devices it may push to, and the queue of pushes waiting for their push service.

use std::collections::HashMap;

use async_trait::async_trait;
use spartex_api::{Platform, Role};

use super::StoreResult;

/// A person's devices kept at most: registering another drops their oldest. Each event a push
/// goes out for fans out to every device, so without a bound one user's registrations would
/// make the server send to any number of hosts they name.
pub const DEVICES_PER_PERSON: i64 = 10;

/// A device registration as the store keeps it.
#[derive(Debug, Clone)]
pub struct NewDevice<'a> {
    pub id: &'a str,
    pub platform: Platform,
    /// The token or Web Push endpoint: what makes the install unique.
    pub address: &'a str,
    /// The registration as sent (keys, APNs environment), JSON.
    pub registration: &'a str,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// The sign-in it is registered under, which it ends with; `None` only for devices
    /// registered before devices had one (they stay until registered again).
    pub session_id: Option<&'a str>,
}

/// A device the dispatcher may push to, with what it needs to decide.
#[derive(Debug, Clone)]
pub struct PushTarget {
    pub device_id: String,
    pub user_id: String,
    pub role: Role,
    /// The user's notification settings (JSON), if they saved any.
    pub settings: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the install last registered again (the app does at every start).
    pub seen_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When a push last reached its push service.
    pub last_push_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the last attempt failed, unless a push has got through since.
    pub last_error: Option<String>,
}

impl PushTarget {
    /// Whether a push is known to reach this device now: it took one in the last `window` (or
    /// was registered, or registered again, within it, so a new phone or one whose app just
    /// started is not taken for gone before its first push), and its last attempt did not
    /// fail. A device not known to be reachable is still pushed to.
    pub fn reachable(&self, now: chrono::DateTime<chrono::Utc>, window: chrono::Duration) -> bool {
        let heard_from = [self.last_push_at, self.seen_at]
            .into_iter()
            .flatten()
            .fold(self.created_at, chrono::DateTime::max);
        self.last_error.is_none() && now - heard_from <= window
    }
}

/// The last push-relevant state the dispatcher saw, by resource id (`pending@2`, `approved`).
pub type ResourceStates = HashMap<String, String>;

/// A push to enqueue for one device.
#[derive(Debug, Clone)]
pub struct NewPush {
    pub device_id: String,
    pub collapse_key: String,
    pub payload: String,
    pub urgent: bool,
    pub expires_at_ms: i64,
    /// When the event that caused it committed.
    pub committed_at_ms: i64,
    /// Not sent before this (a burst's notice updated soon after it was pushed), if later.
    pub not_before_ms: Option<i64>,
}

/// A push waiting for (or being sent to) its push service.
#[derive(Debug, Clone)]
pub struct QueuedPush {
    pub id: i64,
    pub version: i64,
    pub tenant_id: String,
    pub device_id: String,
    /// Whose device it is.
    pub user_id: String,
    pub platform: Platform,
    /// The device's registration (JSON): where and how to send.
    pub registration: String,
    pub collapse_key: String,
    pub payload: String,
    pub urgent: bool,
    pub expires_at_ms: i64,
    pub attempts: i64,
    /// When the event that caused it committed (what the push latency is counted from).
    pub committed_at_ms: i64,
}

/// How one attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The push service took it.
    Sent,
    /// Try again then, unless the push is of no use by then.
    Retry {
        error: String,
        next_attempt_at_ms: i64,
    },
    /// This push cannot be sent (refused as malformed); the device stays.
    Dropped { error: String },
    /// The push service says the device is gone (404/410): it is removed.
    Gone { error: String },
    /// No use any more (the approval it asks about has expired): dropped unsent.
    Expired,
}

/// One tenant whose log has events the dispatcher has not read yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    pub tenant_id: String,
    pub cursor: i64,
    pub head: i64,
}

/// What the dispatcher read of one tenant's log, to commit in one transaction.
#[derive(Debug, Default)]
pub struct Advance {
    /// The cursor this batch started from: if another dispatcher moved it meanwhile, the
    /// batch is not committed.
    pub from: i64,
    pub to: i64,
    /// New push-relevant states of resources, by resource id.
    pub states: Vec<(String, String)>,
    /// Resources no later event can make a push of (a settled request): their states go, so
    /// the table holds what is live, not every request ever made.
    pub forget: Vec<String>,
    pub pushes: Vec<NewPush>,
}

#[async_trait]
pub trait PushStore: Send + Sync {
    /// Tenants with events after their push cursor.
    async fn backlog(&self) -> StoreResult<Vec<Backlog>>;
    /// Every device of the tenant whose person is still of it, with their role and settings.
    async fn targets(&self, tenant_id: &str) -> StoreResult<Vec<PushTarget>>;
    /// The last states the dispatcher recorded for these resources.
    async fn states(&self, tenant_id: &str, resource_ids: &[&str]) -> StoreResult<ResourceStates>;
    /// Commits one batch: cursor, states and pushes together. False when the cursor had
    /// moved (nothing is written then).
    async fn advance(&self, tenant_id: &str, advance: &Advance, now_ms: i64) -> StoreResult<bool>;
    /// Pushes whose next attempt is due, oldest first, leaving out the `busy` tenants' (those
    /// with as many attempts in flight as they may have).
    async fn due(&self, now_ms: i64, limit: i64, busy: &[&str]) -> StoreResult<Vec<QueuedPush>>;
    /// When the next queued push falls due, if any is queued.
    async fn next_due_at(&self) -> StoreResult<Option<i64>>;
    /// Records attempts' outcomes on their pushes and devices, in one transaction. An outcome
    /// for a push that a newer one replaced meanwhile only updates the device.
    async fn settle_all(
        &self,
        settled: &[(QueuedPush, PushOutcome)],
        now_ms: i64,
    ) -> StoreResult<()>;

    /// [`PushStore::settle_all`] for one attempt.
    async fn settle(
        &self,
        push: &QueuedPush,
        outcome: &PushOutcome,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.settle_all(&[(push.clone(), outcome.clone())], now_ms)
            .await
    }
}
