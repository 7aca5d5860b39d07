//! What the instances of one deployment share through its database: who holds event sockets
//! where, sign-in failure counters, and the announcements of each other's writes.

use async_trait::async_trait;

use super::StoreResult;
// Named in doc links only.
#[cfg(doc)]
use super::{Store, WriteTx};

/// The people each instance holds event sockets of (see [`crate::presence`]).
#[async_trait]
pub trait SharedPresence: Send + Sync {
    /// Says this instance is alive (now, by the database's clock), holds sockets of `added`
    /// and no longer of `removed`; with `replace`, `added` is everyone it holds (what it said
    /// before is dropped).
    async fn publish(
        &self,
        instance_id: &str,
        added: &[crate::presence::Key],
        removed: &[crate::presence::Key],
        replace: bool,
    ) -> StoreResult<()>;
    /// The users of `tenant_id` with a socket open on an instance heard from in the last
    /// `fresh_for` (by the database's clock).
    async fn online_users(
        &self,
        tenant_id: &str,
        fresh_for: std::time::Duration,
    ) -> StoreResult<Vec<String>>;
    /// Forgets this instance and its sockets: it is stopping.
    async fn withdraw(&self, instance_id: &str) -> StoreResult<()>;
}

/// Failed sign-ins of one key (see [`crate::throttle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    pub count: u32,
    /// When the last was counted, in ms since the epoch.
    pub last_ms: i64,
}

/// Counters that several instances update in turn.
#[async_trait]
pub trait SharedCounters: Send + Sync {
    /// Reads the counters of `keys` (`None` for one never counted or forgotten), lets
    /// `decide` say what they become, and stores that, with every other update of the same
    /// keys waiting meanwhile. `Err(wait)` from `decide` changes nothing and is returned.
    async fn update_counters(
        &self,
        keys: &[String],
        decide: &crate::throttle::Decide,
    ) -> StoreResult<Result<(), u64>>;

    /// Forgets counters last changed before `older_than_ms`.
    async fn prune_counters(&self, older_than_ms: i64) -> StoreResult<u64>;
}

/// What [`Store::listen`] gives: the announcements, in order, and whether they are heard now.
pub struct Listening {
    pub heard: tokio::sync::mpsc::Receiver<Heard>,
    /// The number of the connection announcements arrive on while it listens (one more for
    /// each new one), `None` from the moment its loss is noticed: not queued behind what was
    /// heard before, so whatever trusts that it hears every write stops at once.
    pub connection: tokio::sync::watch::Receiver<Option<u64>>,
}

/// What [`Listening::heard`] brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// One announcement, as another instance's [`WriteTx::announce`] sent it.
    Announcement(String),
    /// Listening again after the connection was lost: announcements may have been missed
    /// meanwhile, so whatever they would have said is to be read from the database. Those
    /// said over the last `unheard_for`: since the old connection last proved it carried them.
    Reconnected { unheard_for: std::time::Duration },
}
