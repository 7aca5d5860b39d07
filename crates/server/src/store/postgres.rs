//! The PostgreSQL store: one pool of connections for reads and writes, the schema of
//! `migrations/postgres`, and a write turn per tenant instead of SQLite's one turn for all.
//!
//! A tenant's turn is two locks. Across server instances, a write takes its tenant's advisory
//! lock as it begins and keeps it to its commit, so two instances never number one tenant's
//! events at once and `seq` stays gapless. Within this process, a per-tenant mutex is taken
//! first and held past the commit by the [`WriteTurn`](crate::store::WriteTurn), so this
//! process publishes a tenant's events in `seq` order. Writes of different tenants
//! run side by side.
//!
//! Here: the store, its turns and how it opens, and the queries reads and writes share. The
//! [`Store`](crate::store::Store) methods are in `postgres_reads.rs`, the write transaction in
//! `postgres_tx.rs`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use spartex_api::{Event, User};
use sqlx::postgres::{PgConnectOptions, PgRow};
use sqlx::{PgConnection, PgPool, Postgres, Row};

use super::doc_query::{doc_query, Select};
use super::{documents, DocFilter, DocKind, StoreError, StoreResult};

/// `Store` on PostgreSQL: reads, pruning, and where writes begin.
#[path = "postgres_reads.rs"]
mod reads;

/// Connections per server instance. Each write holds one from its start to its commit, and
/// reads take one each; PostgreSQL's default `max_connections` (100) fits several instances.
const POOL_CONNECTIONS: u32 = 16;
/// Prepared statements kept per connection (sqlx's cache): every query here is a fixed text.
const STATEMENT_CACHE: usize = 256;
/// How long one statement on a pooled connection may run unless the server is told otherwise
/// ([`crate::config::Settings::statement_timeout`]).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

pub struct PostgresStore {
    pool: PgPool,
    turns: TenantTurns,
    /// This process's turn for server-wide writes (sign-ins, refreshes, sign-outs, pruning
    /// sessions), taken before a pooled connection: queued behind another instance's, they
    /// would otherwise each hold one while waiting on the database's server-wide lock, and
    /// after an outage, with every client refreshing at once, starve every other request of
    /// the pool.
    server_turn: Arc<tokio::sync::Mutex<Turn>>,
}

/// The per-tenant mutexes of this process.
#[derive(Default)]
struct TenantTurns {
    by_tenant: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Turn>>>>,
}

/// A turn to write in this process (a tenant's, or the server-wide writes'), and what the
/// write that held it last found.
#[derive(Default)]
pub(super) struct Turn {
    found_the_database_away_at: Option<Instant>,
}

pub(super) type HeldTurn = tokio::sync::OwnedMutexGuard<Turn>;

impl Turn {
    /// The write holding the turn could not begin: the database is out of reach.
    pub(super) fn found_the_database_away(&mut self) {
        self.found_the_database_away_at = Some(Instant::now());
    }

    /// Whether a write that held the turn since `asked` found the database out of reach.
    fn found_the_database_away_since(&self, asked: Instant) -> bool {
        self.found_the_database_away_at
            .is_some_and(|at| at >= asked)
    }
}

/// Mutexes no write holds or waits for are dropped once there are this many.
const TURNS_KEPT: usize = 1024;

impl TenantTurns {
    async fn take(&self, tenant_id: &str) -> HeldTurn {
        let turn = {
            let mut by_tenant = self
                .by_tenant
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if by_tenant.len() >= TURNS_KEPT {
                by_tenant.retain(|_, turn| Arc::strong_count(turn) > 1);
            }
            by_tenant.entry(tenant_id.to_owned()).or_default().clone()
        };
        turn.lock_owned().await
    }
}

/// Where a URL points, for messages: user, host, port and database, never the password.
fn describe(options: &PgConnectOptions) -> String {
    format!(
        "{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)")
    )
}

impl PostgresStore {
    /// Opens the database a `postgres://` URL names, creating it when it does not exist yet,
    /// and migrates it. A statement on a pooled connection that runs past `statement_timeout`
    /// is stopped by the database.
    pub async fn open(database_url: &str, statement_timeout: Duration) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(database_url).map_err(|source| {
            // The URL's text is not repeated: it may hold a password.
            StoreError::Unsupported(format!("the PostgreSQL URL does not parse: {source}"))
        })?;
        Self::connect_limited(options, statement_timeout).await
    }

    /// [`PostgresStore::open`] with the options given, and [`DEFAULT_STATEMENT_TIMEOUT`].
    pub async fn connect(options: PgConnectOptions) -> StoreResult<Self> {
        Self::connect_limited(options, DEFAULT_STATEMENT_TIMEOUT).await
    }

    async fn connect_limited(
        options: PgConnectOptions,
        statement_timeout: Duration,
    ) -> StoreResult<Self> {
        let options = options
            .statement_cache_capacity(STATEMENT_CACHE)
            .application_name("spartex-server")
            .options([
                // Not PostgreSQL's notices (a migration's "already exists, skipping") in our log.
                ("client_min_messages", "warning"),
                // A write stuck behind a hung transaction fails instead of holding a pooled
                // connection, and a tenant's turn, for ever; an instance cut off
                // mid-transaction lets go of its locks.
                ("lock_timeout", "10s"),
                ("idle_in_transaction_session_timeout", "60s"),
            ]);
        let unreachable = |source| StoreError::Connect {
            target: describe(&options),
            source,
        };
        // One connection first: its error says why (refused, unknown host, authentication),
        // where the pool would retry until its timeout and say only that it timed out.
        let connecting = <PgConnection as sqlx::Connection>::connect_with(&options).await;
        let mut first = match connecting {
            Ok(conn) => conn,
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(UNKNOWN_DATABASE) => {
                create_database(&options).await?;
                <PgConnection as sqlx::Connection>::connect_with(&options)
                    .await
                    .map_err(unreachable)?
            }
            Err(source) => return Err(unreachable(source)),
        };
        // Migrated on it, outside the pool and its statement timeout: a migration may rewrite
        // a large table for minutes, and instances starting meanwhile wait for its lock.
        sqlx::migrate!("./migrations/postgres")
            .run(&mut first)
            .await?;
        let _ = sqlx::Connection::close(first).await;
        // A statement running past it (a read over a project's whole history, say) is stopped
        // and the request answered 503, rather than holding a connection of the pool until it
        // ends. Nothing here waits longer on purpose: a lock is waited for 10 s at most, and
        // the leader's lock and the listener's checks never wait.
        let limited = options.clone().options([(
            "statement_timeout",
            statement_timeout.as_millis().max(1).to_string(),
        )]);
        let pool = pool(limited).await.map_err(unreachable)?;
        Ok(PostgresStore {
            pool,
            turns: TenantTurns::default(),
            server_turn: Arc::default(),
        })
    }

    pub(super) fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// SQLSTATE `invalid_catalog_name`: the database does not exist.
const UNKNOWN_DATABASE: &str = "3D000";
/// SQLSTATE `duplicate_database`: another instance created it first.
const DUPLICATE_DATABASE: &str = "42P04";
/// SQLSTATE `unique_violation`: another instance's `CREATE DATABASE` ran at the same moment.
const UNIQUE_VIOLATION: &str = "23505";

async fn pool(options: PgConnectOptions) -> Result<PgPool, sqlx::Error> {
    super::pool_options::<Postgres>()
        .max_connections(POOL_CONNECTIONS)
        // While the database is away the pool retries connecting until this runs out: the
        // request is then answered 503 well before a client's own 30 s timeout.
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// Creates the database the options name, from the server's maintenance database.
async fn create_database(options: &PgConnectOptions) -> StoreResult<()> {
    let name = options.get_database().unwrap_or_default().to_owned();
    let maintenance = options.clone().database("postgres");
    let mut conn = <PgConnection as sqlx::Connection>::connect_with(&maintenance)
        .await
        .map_err(|source| StoreError::Connect {
            target: describe(&maintenance),
            source,
        })?;
    let created = sqlx::query(&format!("CREATE DATABASE {}", quote_identifier(&name)))
        .execute(&mut conn)
        .await;
    match created {
        // Another instance created it first: before us (`duplicate_database`), or at the same
        // moment (the catalog's unique index refuses the second row).
        Err(sqlx::Error::Database(e))
            if matches!(
                e.code().as_deref(),
                Some(DUPLICATE_DATABASE | UNIQUE_VIOLATION)
            ) => {}
        Err(e) => return Err(e.into()),
        Ok(_) => tracing::info!(database = %name, "created the PostgreSQL database"),
    }
    Ok(())
}

/// An identifier as PostgreSQL reads it whatever its characters.
pub(super) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

pub(super) async fn get_doc(
    conn: &mut PgConnection,
    tenant_id: &str,
    kind: DocKind,
    id: &str,
) -> StoreResult<Option<Value>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT data FROM resources WHERE tenant_id = $1 AND kind = $2 AND id = $3")
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(match row {
        Some((data,)) => Some(serde_json::from_str(&data)?),
        None => None,
    })
}

pub(super) async fn list_docs(
    conn: &mut PgConnection,
    tenant_id: &str,
    filter: DocFilter<'_>,
) -> StoreResult<Vec<Value>> {
    documents::values(&list_doc_rows(conn, tenant_id, filter).await?)
}

/// The stored JSON of each listed document.
async fn list_doc_rows(
    conn: &mut PgConnection,
    tenant_id: &str,
    filter: DocFilter<'_>,
) -> StoreResult<Vec<String>> {
    let mut query = doc_query::<Postgres>(Select::Data, tenant_id, filter);
    let rows: Vec<(String,)> = query.build_query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(data,)| data).collect())
}

/// How many documents the filter finds.
pub(super) async fn count_docs(
    conn: &mut PgConnection,
    tenant_id: &str,
    filter: DocFilter<'_>,
) -> StoreResult<i64> {
    let mut query = doc_query::<Postgres>(Select::Count, tenant_id, filter);
    let (count,): (i64,) = query.build_query_as().fetch_one(conn).await?;
    Ok(count)
}

/// Every user of the tenant, by name.
pub(super) async fn users(conn: &mut PgConnection, tenant_id: &str) -> StoreResult<Vec<User>> {
    let rows: Vec<super::UserRow> = sqlx::query_as(
        "SELECT id, email, name, role FROM users WHERE tenant_id = $1 ORDER BY name, id",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?;
    Ok(super::users_of(rows))
}

fn event_from_row(row: &PgRow) -> StoreResult<Event> {
    let at: String = row.try_get("at")?;
    let data: String = row.try_get("data")?;
    Ok(Event {
        seq: row.try_get("seq")?,
        kind: row.try_get("kind")?,
        at: DateTime::parse_from_rfc3339(&at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
        project_id: row.try_get("project_id")?,
        data: serde_json::from_str(&data)?,
    })
}

/// The store conformance suite on a fresh PostgreSQL database per story.
#[cfg(test)]
#[path = "postgres_conformance.rs"]
mod conformance;
