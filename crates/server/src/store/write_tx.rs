//! Writing: whose turn a write takes, the turn it holds past its commit, and the transaction
//! every change and its events go through.

use async_trait::async_trait;
use serde_json::Value;
use spartex_api::{Device, Event, EventKind, Tenant, User};

use super::{
    push, DocFilter, DocKind, Document, NewCost, NewDevice, RefreshTokenRow, StoreResult,
    StoredResponse,
};
// Named in doc links only.
#[cfg(doc)]
use super::{PushStore, SharedPresence, Store, StoreError};

/// Whose writes a transaction takes turns with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteScope<'a> {
    /// One tenant's resources and its event log: the transaction holds that tenant's turn,
    /// and its events take the next numbers of that tenant's `seq` counter.
    Tenant(&'a str),
    /// Rows that no tenant's log records (sessions, tokens, settings). Such a transaction
    /// cannot append events.
    Server,
}

/// A write's turn, held past its commit until the committed events are published. Dropping it
/// lets the next write of the same tenant begin, so sockets see a tenant's events in `seq`
/// order. How a turn is kept is the store's business: one lock for SQLite's single writer, an
/// advisory or row lock per tenant for a database with several writers.
#[must_use = "dropping the turn lets the next write begin"]
pub struct WriteTurn {
    _held: Box<dyn Send + Sync>,
}

impl WriteTurn {
    /// A turn that lasts as long as `held` lives (a lock guard, say).
    pub fn new(held: impl Send + Sync + 'static) -> Self {
        WriteTurn {
            _held: Box::new(held),
        }
    }
}

impl std::fmt::Debug for WriteTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteTurn")
    }
}

/// One write transaction: every change and its events commit together or not at all.
#[async_trait]
pub trait WriteTx: Send {
    async fn get_doc(
        &mut self,
        tenant_id: &str,
        kind: DocKind,
        id: &str,
    ) -> StoreResult<Option<Value>>;
    async fn list_docs(
        &mut self,
        tenant_id: &str,
        filter: DocFilter<'_>,
    ) -> StoreResult<Vec<Value>>;
    /// How many documents `filter` finds (all of them: its `limit` aside), without reading them.
    async fn count_docs(&mut self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<i64>;
    /// [`Store::users`], read inside this write. What a write reads goes through it: a read
    /// through the pool would take a second connection while the write holds one, and enough
    /// such writes at once would hold every connection, each waiting for another.
    async fn users(&mut self, tenant_id: &str) -> StoreResult<Vec<User>>;
    /// [`PushStore::targets`], read inside this write.
    async fn push_targets(&mut self, tenant_id: &str) -> StoreResult<Vec<push::PushTarget>>;
    /// [`SharedPresence::online_users`], read inside this write; none where no other instance
    /// shares the database.
    async fn online_users(
        &mut self,
        tenant_id: &str,
        fresh_for: std::time::Duration,
    ) -> StoreResult<Vec<String>>;
    async fn put_doc(&mut self, tenant_id: &str, doc: &Document) -> StoreResult<()>;
    /// Appends to the log of the tenant this write began for, with that tenant's next
    /// gapless `seq`; [`StoreError::WrongTenant`] for a write of [`WriteScope::Server`].
    async fn append_event(
        &mut self,
        kind: EventKind,
        project_id: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
        data: &Value,
    ) -> StoreResult<Event>;

    async fn stored_response(
        &mut self,
        principal_id: &str,
        key: &str,
    ) -> StoreResult<Option<StoredResponse>>;
    async fn store_response(
        &mut self,
        principal_id: &str,
        key: &str,
        response: &StoredResponse,
        now_ms: i64,
    ) -> StoreResult<()>;

    async fn insert_tenant(&mut self, tenant: &Tenant) -> StoreResult<()>;
    async fn insert_user(
        &mut self,
        tenant_id: &str,
        user: &User,
        password_hash: &str,
    ) -> StoreResult<()>;
    async fn insert_session(
        &mut self,
        session_id: &str,
        tenant_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> StoreResult<()>;
    /// Only through [`crate::write::Write::end_session`], which tells the instances that keep
    /// the session in memory ([`crate::live_sessions`]). The devices registered under it go
    /// with it: a phone signed out takes no more pushes, even one offline as it signed out.
    async fn revoke_session(&mut self, session_id: &str, now_ms: i64) -> StoreResult<()>;
    /// The user's sessions still live, all but the `keep` used last (by their newest refresh
    /// token: an app refreshes as it is used), least recently used first.
    async fn live_sessions_beyond(&mut self, user_id: &str, keep: i64) -> StoreResult<Vec<String>>;
    /// Drops a session's refresh tokens (an ended session's are never exchanged again).
    async fn forget_refresh_tokens(&mut self, session_id: &str) -> StoreResult<()>;
    async fn insert_refresh_token(
        &mut self,
        token_hash: &str,
        session_id: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()>;
    async fn refresh_token(&mut self, token_hash: &str) -> StoreResult<Option<RefreshTokenRow>>;
    async fn mark_refresh_token_used(&mut self, token_hash: &str, now_ms: i64) -> StoreResult<()>;
    async fn insert_agent_token(
        &mut self,
        token_hash: &str,
        tenant_id: &str,
        agent_id: &str,
    ) -> StoreResult<()>;
    /// Forgets every token of the agent: none signs in from the moment this commits. Only
    /// through [`crate::write::Write::revoke_agent_tokens`], which closes the control sockets
    /// opened with them. Answers how many there were.
    async fn delete_agent_tokens(&mut self, tenant_id: &str, agent_id: &str) -> StoreResult<u64>;

    async fn insert_cost(&mut self, tenant_id: &str, cost: &NewCost<'_>) -> StoreResult<()>;
    /// Registers a device under its sign-in: the same address again in this organisation is
    /// the same device (another person's before, it is this one's now, as a new device), and
    /// belongs to the sign-in that registered it last. Answers the device and whether it is
    /// new; `None`, registering nothing, when the sign-in has ended by the time this runs (a
    /// device registered then would outlive it).
    async fn insert_device(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        device: &NewDevice<'_>,
    ) -> StoreResult<Option<(Device, bool)>>;
    async fn delete_device(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        device_id: &str,
    ) -> StoreResult<bool>;

    async fn put_notification_settings(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        data: &str,
    ) -> StoreResult<()>;

    async fn put_tenant_settings(&mut self, tenant_id: &str, data: &str) -> StoreResult<()>;

    async fn setting(&mut self, key: &str) -> StoreResult<Option<String>>;
    async fn put_setting(&mut self, key: &str, value: &str) -> StoreResult<()>;

    /// Undoes every change made so far (events too), keeping the transaction open and the
    /// turn held, so that what is written next (a refusal kept under its Idempotency-Key)
    /// commits in the same turn.
    async fn discard(&mut self) -> StoreResult<()>;

    /// Tells every instance listening on this database (see [`Store::listen`]) once, and only
    /// if, this transaction commits; announcements arrive in commit order. At most
    /// [`MAX_ANNOUNCEMENT_BYTES`]. A database only one instance can use ignores it.
    async fn announce(&mut self, _announcement: &str) -> StoreResult<()> {
        Ok(())
    }

    /// Whether [`WriteTx::announce`] reaches anyone: false where no other instance can share
    /// the database, so a write there spends nothing on announcements.
    fn announces(&self) -> bool {
        false
    }

    /// Commits. The turn stays held until the returned [`WriteTurn`] is dropped.
    async fn commit(self: Box<Self>) -> StoreResult<WriteTurn>;
}

/// The longest announcement a write may make (PostgreSQL's `NOTIFY` takes under 8000 bytes).
pub const MAX_ANNOUNCEMENT_BYTES: usize = 7900;
