//! The data layer: one trait for what the server reads and writes, one implementation per
//! database (SQLite for one machine, PostgreSQL for several instances on one database).
//!
//! Resources are stored as their wire JSON plus the columns that queries filter on.

#[cfg(test)]
pub(crate) mod conformance;
mod doc_query;
mod documents;
mod log_pruning;
mod postgres;
mod postgres_bus;
mod postgres_counters;
mod postgres_presence;
mod postgres_push;
mod postgres_tx;
pub mod push;
mod read_cache;
mod sqlite;
mod sqlite_push;
mod sqlite_release;

use async_trait::async_trait;
use serde_json::Value;
use spartex_api::{Device, Event, EventKind, MetricsBucket, Tenant, User};

pub use documents::{
    asked_again_key, decode_all, decode_one, pending_of_key, DocKind, Document, Resource,
    Versioned, ONCALL_ID, POLICY_ID,
};
pub use log_pruning::{prune_log, PrunedBatch};
pub use postgres::{PostgresStore, DEFAULT_STATEMENT_TIMEOUT};
pub use push::{NewDevice, PushStore};
pub use sqlite::{SqliteStore, WAL_RESTART_FRAMES};

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

/// The SQLSTATEs of a database that cannot take the request now: the connection exceptions
/// (class 08, less `08P01`, a protocol violation, which is a bug of ours), `admin_shutdown`,
/// `crash_shutdown`, `cannot_connect_now` (starting up, shutting down), `too_many_connections`,
/// `55000`, which is what a database set to `ALLOW_CONNECTIONS false` answers a new
/// connection (no query of this server raises it otherwise), and `55P03`, a lock not had
/// within the connection's `lock_timeout` (a write behind a hung transaction): a 503 the
/// client retries, said once a minute, not a 500 logged with every request.
const REFUSING: &[&str] = &[
    "08000", "08001", "08003", "08004", "08006", "08007", "57P01", "57P02", "57P03", "53300",
    "55000", "55P03",
];

/// A failure of the database itself; the services turn it into a 5xx without its text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database server could not be reached or refused us; `target` names the user, host,
    /// port and database, never the password.
    #[error("cannot connect to PostgreSQL at {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("{0}")]
    Unsupported(String),
    /// A write tried to append to the log of a tenant it did not begin for.
    #[error("this write did not begin for the tenant whose log it tried to append to")]
    WrongTenant,
    /// The connection other instances' announcements arrive on could not be had.
    #[error("cannot listen for other instances' writes: {0}")]
    NotListening(#[from] postgres_bus::ListenerLost),
    /// A write waited for its tenant's turn behind one that found the database out of reach
    /// (or got no connection from the pool in time).
    #[error("the write before this one could not reach the database or get a connection in time")]
    AwayForTheWriteBefore,
}

impl StoreError {
    /// The database's disk is full: SQLite's `SQLITE_FULL` (or its WAL index that cannot
    /// grow, `SQLITE_IOERR_SHMSIZE`), PostgreSQL's `disk_full`. Nothing was written; the same
    /// request succeeds once space is freed.
    pub fn is_disk_full(&self) -> bool {
        const SQLITE_FULL: &str = "13";
        const SQLITE_IOERR_SHMSIZE: &str = "4874";
        const POSTGRES_DISK_FULL: &str = "53100";
        matches!(self, StoreError::Database(sqlx::Error::Database(e))
            if matches!(e.code().as_deref(), Some(SQLITE_FULL | SQLITE_IOERR_SHMSIZE | POSTGRES_DISK_FULL)))
    }

    /// The database cannot be reached, or gave no connection in time, though nothing is wrong
    /// with the request: its connections fail or time out (a restart, a failover, a network
    /// cut, every pooled connection busy past the pool's wait), or it says it is starting up,
    /// shutting down, out of connections, or set to refuse them. The same request succeeds
    /// once it is back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::AwayForTheWriteBefore => true,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_),
            ) => true,
            StoreError::Database(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|code| REFUSING.contains(&code.as_ref())),
            _ => false,
        }
    }

    /// PostgreSQL ended this transaction to break a deadlock (`40P01`): two transactions each
    /// waited for a row the other held. Nothing of it was kept; run from its start again, it
    /// meets the other one finished.
    pub fn is_deadlock(&self) -> bool {
        const DEADLOCK_DETECTED: &str = "40P01";
        self.has_sqlstate(DEADLOCK_DETECTED)
    }

    /// PostgreSQL stopped a statement that ran past the connection's `statement_timeout`
    /// (`57014`, `query_canceled`): a read too large to answer in time, not a fault of the
    /// database or of the request's form.
    pub fn is_statement_timeout(&self) -> bool {
        const QUERY_CANCELED: &str = "57014";
        self.has_sqlstate(QUERY_CANCELED)
    }

    /// The database refused a string holding U+0000 (PostgreSQL's `TEXT` cannot; SQLite's
    /// can): the caller's input, not a fault of the server.
    pub fn is_text_with_nul(&self) -> bool {
        /// SQLSTATE `character_not_in_repertoire`.
        const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
        self.has_sqlstate(CHARACTER_NOT_IN_REPERTOIRE)
    }

    /// The database answered with the SQLSTATE `code`.
    fn has_sqlstate(&self, code: &str) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e))
            if e.code().as_deref() == Some(code))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which documents of one kind a listing returns.
#[derive(Debug, Clone, Copy)]
pub struct DocFilter<'a> {
    pub kind: DocKind,
    pub project_id: Option<&'a str>,
    pub status: Option<&'a str>,
    /// Any of these statuses (none: any status), read in one query.
    pub any_status: &'a [&'a str],
    pub lookup_key: Option<&'a str>,
    /// Only documents ordered before this sort key (pagination).
    pub before: Option<&'a str>,
    pub limit: Option<i64>,
    pub newest_first: bool,
}

impl<'a> DocFilter<'a> {
    pub fn all(kind: DocKind) -> Self {
        DocFilter {
            kind,
            project_id: None,
            status: None,
            any_status: &[],
            lookup_key: None,
            before: None,
            limit: None,
            newest_first: false,
        }
    }

    pub fn in_project(kind: DocKind, project_id: &'a str) -> Self {
        DocFilter {
            project_id: Some(project_id),
            ..Self::all(kind)
        }
    }

    pub fn with_status(self, status: &'a str) -> Self {
        DocFilter {
            status: Some(status),
            ..self
        }
    }

    /// The `limit` newest of these documents, newest first.
    pub fn newest(self, limit: i64) -> Self {
        DocFilter {
            newest_first: true,
            limit: Some(limit),
            ..self
        }
    }
}

/// The oldest and newest sequence numbers a tenant's log can still serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    /// Events with `seq <= floor` were pruned.
    pub floor: i64,
    pub head: i64,
}

/// What one checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The WAL was emptied (no commit since the previous checkpoint, no reader in the way).
    pub truncated: bool,
    /// Frames in the WAL, and how many of them are now in the database file.
    pub wal_frames: i64,
    pub moved_frames: i64,
}

pub struct UserCredentials {
    pub user: User,
    pub tenant_id: String,
    pub password_hash: String,
}

/// A session that may be used, and whose it is now: its person as the database has them at
/// this moment (their role, their organisation), not as the access token said at sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Its last refresh token's expiry, in ms since the epoch.
    pub until_ms: i64,
    pub user_id: String,
    pub tenant_id: String,
    pub role: spartex_api::Role,
    pub email: String,
    pub name: String,
}

/// A session's row as both stores read it: (user, the session's organisation, the person's
/// organisation now, role, email, name, the last refresh token's expiry).
type SessionRow = (String, String, String, String, String, String, Option<i64>);

/// A user as both stores read one: `(id, email, name, role)`; a role this server does not
/// know leaves the user out, as signing in refuses it.
type UserRow = (String, String, String, String);

fn users_of(rows: Vec<UserRow>) -> Vec<User> {
    rows.into_iter()
        .filter_map(|(id, email, name, role)| {
            Some(User {
                id,
                email,
                name,
                role: role.parse().ok()?,
            })
        })
        .collect()
}

/// What a live session's row says, if it may be used: it has a refresh token left, and its
/// person is still of the organisation they signed in to, with a role this server knows.
fn live_session_of(row: SessionRow) -> Option<LiveSession> {
    let (user_id, tenant_id, user_tenant_id, role, email, name, until_ms) = row;
    if tenant_id != user_tenant_id {
        return None;
    }
    Some(LiveSession {
        until_ms: until_ms?,
        user_id,
        tenant_id,
        role: role.parse().ok()?,
        email,
        name,
    })
}

pub struct RefreshTokenRow {
    pub session_id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub expires_at_ms: i64,
    /// When it was exchanged for its successor.
    pub used_at_ms: Option<i64>,
    pub session_revoked: bool,
}

/// A response kept under its Idempotency-Key, answered again for a repeat.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub method: String,
    pub path: String,
    /// A hash of the request's body; `None` for keys kept before hashes were.
    pub request_hash: Option<String>,
    pub status: u16,
    pub body: String,
}

pub struct NewCost<'a> {
    pub project_id: &'a str,
    pub agent_id: &'a str,
    pub at_s: i64,
    pub model: &'a str,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

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

#[cfg(test)]
mod unavailable_tests {
    use std::borrow::Cow;

    use super::StoreError;

    /// A database's error with a SQLSTATE, as PostgreSQL's driver hands them over.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for Sqlstate {}

    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn with_code(code: &'static str) -> StoreError {
        StoreError::Database(sqlx::Error::Database(Box::new(Sqlstate(code))))
    }

    #[test]
    fn a_database_out_of_reach_is_unavailable_and_a_bug_of_ours_is_not() {
        for away in [
            "08006", "08001", "57P01", "57P03", "53300", "55000", "55P03",
        ] {
            assert!(with_code(away).is_unavailable(), "{away}");
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(StoreError::Database(sqlx::Error::Io(refused)).is_unavailable());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_unavailable());
        // A protocol violation, a syntax error, a constraint: the server's own doing, a 500.
        for ours in ["08P01", "42601", "23505", "22021"] {
            assert!(!with_code(ours).is_unavailable(), "{ours}");
        }
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::WrongTenant.is_unavailable());
    }

    #[test]
    fn a_deadlock_and_a_statement_past_its_timeout_are_told_apart_from_the_rest() {
        assert!(with_code("40P01").is_deadlock());
        assert!(with_code("57014").is_statement_timeout());
        for other in ["40001", "55P03", "57P01", "23505"] {
            assert!(!with_code(other).is_deadlock(), "{other}");
            assert!(!with_code(other).is_statement_timeout(), "{other}");
        }
    }
}
