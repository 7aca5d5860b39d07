//! The data layer: one trait for what the server reads and writes, one implementation per
//! database (SQLite for one machine, PostgreSQL for several instances on one database).
//!
//! Resources are stored as their wire JSON plus the columns that queries filter on.

#[cfg(test)]
pub(crate) mod conformance;
mod doc_query;
mod documents;
mod error;
mod log_pruning;
mod postgres;
mod postgres_bus;
mod postgres_counters;
mod postgres_presence;
mod postgres_push;
mod postgres_tx;
pub mod push;
mod read_cache;
mod records;
mod sessions;
mod shared;
mod sqlite;
mod sqlite_push;
mod sqlite_release;
mod write_tx;

use async_trait::async_trait;
use serde_json::Value;
use spartex_api::{Device, Event, MetricsBucket, Tenant, User};

pub use documents::{
    asked_again_key, decode_all, decode_one, pending_of_key, DocKind, Document, Resource,
    Versioned, ONCALL_ID, POLICY_ID,
};
pub use error::{StoreError, StoreResult};
pub use log_pruning::{prune_log, PrunedBatch};
pub use postgres::{PostgresStore, DEFAULT_STATEMENT_TIMEOUT};
pub use push::{NewDevice, PushStore};
pub use records::{Checkpoint, DocFilter, LogBounds, NewCost, StoredResponse};
use sessions::{live_session_of, users_of, SessionRow, UserRow};
pub use sessions::{LiveSession, RefreshTokenRow, UserCredentials};
pub use shared::{FailureCount, Heard, Listening, SharedCounters, SharedPresence};
pub use sqlite::{SqliteStore, WAL_RESTART_FRAMES};
pub use write_tx::{WriteScope, WriteTurn, WriteTx, MAX_ANNOUNCEMENT_BYTES};

/// Pool options with no background maintenance task. sqlx 0.8.6 runs one whenever a pool has an
/// idle timeout, a maximum lifetime (both on by default) or a minimum size, and it can spin a
/// worker thread at 100% CPU for good (launchbadge/sqlx#3645, fixed after 0.8.6): its idle count
/// can wrap below zero while a connection is handed back, and its sweep loops that many times
/// without yielding. Seen here as a test server that hung after a restart. A server that runs
/// for weeks keeps its connections (at most `max_connections`) instead of recycling them.
pub(crate) fn pool_options<DB: sqlx::Database>() -> sqlx::pool::PoolOptions<DB> {
    sqlx::pool::PoolOptions::new()
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
}

/// Closes `pool` and returns once it holds no connection. sqlx 0.8.6's `Pool::close` can return
/// with one still open (launchbadge/sqlx#3217; the fix, #3952, came after 0.8.6): a connection
/// handed back as the pool closes passes its is-closed check, is pinged, then parked idle after
/// `close` emptied the idle queue for the last time. On SQLite that connection holds the
/// database file, so the writer, closing last, can neither fold the WAL in nor remove it.
/// Closing again closes what was parked; a connection still checked out is awaited, as `close`
/// does. The client's cache has the same workaround (`core/src/store/mod.rs`); the two crates
/// share no database code.
pub(crate) async fn close_every_connection<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) {
    pool.close().await;
    while pool.size() > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        pool.close().await;
    }
}

/// What the server reads outside a write, and how it starts one.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Starts a write transaction, once it is this scope's turn: until the transaction is
    /// rolled back, or committed and its [`WriteTurn`] dropped, no other write of the same
    /// tenant begins.
    async fn begin(&self, scope: WriteScope<'_>) -> StoreResult<Box<dyn WriteTx>>;

    async fn get_doc(&self, tenant_id: &str, kind: DocKind, id: &str)
        -> StoreResult<Option<Value>>;
    async fn list_docs(&self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<Vec<Value>>;
    /// The listing as the JSON array the API answers with ([`documents::wire_array`]).
    async fn list_docs_json(
        &self,
        tenant_id: &str,
        filter: DocFilter<'_>,
    ) -> StoreResult<axum::body::Bytes>;
    /// Documents of every tenant whose deadline has passed, e.g. approvals to expire.
    async fn due_docs(
        &self,
        kind: DocKind,
        status: &str,
        due_by_ms: i64,
    ) -> StoreResult<Vec<(String, Value)>>;

    async fn events_after(
        &self,
        tenant_id: &str,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<Event>>;
    async fn log_bounds(&self, tenant_id: &str) -> StoreResult<Option<LogBounds>>;

    async fn tenant(&self, tenant_id: &str) -> StoreResult<Option<Tenant>>;
    async fn user(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>>;
    /// Every user of the tenant, by name.
    async fn users(&self, tenant_id: &str) -> StoreResult<Vec<User>>;
    async fn user_credentials(&self, email: &str) -> StoreResult<Option<UserCredentials>>;
    /// The session while it may be used, with its person's role and organisation now: `None`
    /// when it was revoked, is unknown, has no refresh token left, or its person is gone or
    /// belongs to another organisation than the one they signed in to. Read on every call:
    /// [`crate::live_sessions`] keeps answers.
    async fn live_session(&self, session_id: &str) -> StoreResult<Option<LiveSession>>;
    /// Whether a refresh token with this hash was ever issued and is still kept.
    async fn refresh_token_known(&self, token_hash: &str) -> StoreResult<bool>;
    /// Sessions revoked at or after `since_ms` (by the revoking instance's clock), at most
    /// `at_most` of them, earliest first: what an instance that could not hear the others
    /// meanwhile missed.
    async fn sessions_revoked_since(&self, since_ms: i64, at_most: i64)
        -> StoreResult<Vec<String>>;
    /// The (tenant, agent) a hashed agent token belongs to.
    async fn agent_for_token(&self, token_hash: &str) -> StoreResult<Option<(String, String)>>;

    async fn cost_buckets(
        &self,
        tenant_id: &str,
        project_id: &str,
        bucket_s: i64,
    ) -> StoreResult<Vec<MetricsBucket>>;

    /// Every tenant with its log's floor (see [`prune_log`]).
    async fn log_floors(&self) -> StoreResult<Vec<(String, i64)>>;
    /// Drops the tenant's events older than the cut-off among the `at_most` just above `floor`,
    /// in one short write, raising its floor: `None` when none of them is that old.
    async fn prune_log_batch(
        &self,
        tenant_id: &str,
        floor: i64,
        older_than_ms: i64,
        at_most: i64,
    ) -> StoreResult<Option<PrunedBatch>>;
    async fn prune_idempotency_keys(&self, older_than_ms: i64) -> StoreResult<u64>;
    /// Drops refresh tokens past their expiry, and sessions left without any (with the devices
    /// registered under them).
    async fn prune_sessions(&self, now_ms: i64) -> StoreResult<u64>;

    /// Moves committed writes into the main database file off the commit path, and empties
    /// the WAL when the database is idle. A failure is logged once until one succeeds again.
    async fn checkpoint(&self) -> StoreResult<Checkpoint>;

    /// Closes the database once the connections in use are given back: on SQLite the last
    /// connection to close folds the WAL into the main file and removes it, so a stopped
    /// server leaves one file to copy. Queries after it fail.
    async fn close(&self);

    /// The user's own devices, oldest first.
    async fn devices(&self, tenant_id: &str, user_id: &str) -> StoreResult<Vec<Device>>;
    /// The user's notification settings as saved (JSON), if any.
    async fn notification_settings(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<String>>;

    /// The tenant's settings as its owner saved them (JSON), if ever.
    async fn tenant_settings(&self, tenant_id: &str) -> StoreResult<Option<String>>;

    /// What the push dispatcher reads and writes.
    fn push(&self) -> &dyn PushStore;

    /// What the other server instances on this database announce as their writes commit
    /// (see [`WriteTx::announce`]), from a task that runs until [`Listening::heard`] is dropped.
    /// `None` where no other instance can share the database (SQLite).
    async fn listen(&self) -> StoreResult<Option<Listening>> {
        Ok(None)
    }

    /// Whether this instance runs the jobs a deployment runs once (the deadline sweeper, the
    /// push dispatcher): it campaigns for that from a task that runs until the receiver is
    /// dropped, and the value flips as leadership is won and lost. Always `true` where no
    /// other instance can share the database.
    fn campaign(&self) -> tokio::sync::watch::Receiver<bool> {
        tokio::sync::watch::channel(true).1
    }

    /// Sign-in failure counters every instance shares; `None` where one instance keeps them
    /// in memory (SQLite).
    fn shared_counters(&self) -> Option<&dyn SharedCounters> {
        None
    }

    /// Who has an event socket open on each instance of the deployment; `None` where one
    /// instance holds every socket (SQLite).
    fn shared_presence(&self) -> Option<&dyn SharedPresence> {
        None
    }
}

/// Opens the store a database URL names (`sqlite://PATH`, `postgres://…` or
/// `postgresql://…`), creating and migrating it when needed. On PostgreSQL a statement that
/// runs past `statement_timeout` is stopped (SQLite has no such limit).
pub async fn open(
    database_url: &str,
    statement_timeout: std::time::Duration,
) -> StoreResult<std::sync::Arc<dyn Store>> {
    if database_url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::open(database_url).await?))
    } else if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            PostgresStore::open(database_url, statement_timeout).await?,
        ))
    } else {
        Err(StoreError::Unsupported(format!(
            "unknown database URL scheme in `{}`: use sqlite://PATH or postgres://USER@HOST/DATABASE",
            database_url.split(':').next().unwrap_or_default()
        )))
    }
}
