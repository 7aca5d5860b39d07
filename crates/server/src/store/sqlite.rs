//! The SQLite store: WAL mode, one writer connection (SQLite has one writer anyway) whose
//! transactions take the write lock as they begin, a pool of readers, and one connection of
//! its own that moves the WAL into the database file off the commit path.
//!
//! With one writer, one turn serves every tenant: a write waits for the one before it to
//! commit and publish, whichever tenant that was.
//!
//! Here: the store, its pools and how it opens, and the queries reads and writes share. The
//! [`Store`](crate::store::Store) methods are in `sqlite_reads.rs`, the write transaction in
//! `sqlite_tx.rs`, folding the WAL in `sqlite_checkpoint.rs`.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use spartex_api::{Event, User};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool, Transaction};

use super::doc_query::{doc_query, Select};
use super::documents;
use super::read_cache::{ReadCache, WriteMark, Writes};
use super::sqlite_release::close_if_left_in_transaction;
use super::{DocFilter, DocKind, LogBounds, StoreResult};
use checkpoint::{CHECKPOINT_PATIENCE, WAL_SIZE_LIMIT_BYTES};

pub use checkpoint::WAL_RESTART_FRAMES;

/// Folding the WAL into the database file.
#[path = "sqlite_checkpoint.rs"]
mod checkpoint;
/// `Store` on SQLite: reads, pruning, and where writes begin.
#[path = "sqlite_reads.rs"]
mod reads;
/// One write transaction, in the writers' turn.
#[path = "sqlite_tx.rs"]
mod tx;

pub struct SqliteStore {
    reader: SqlitePool,
    writer: SqlitePool,
    /// Checkpoints need a connection that may write; a read-only one fails with
    /// `SQLITE_IOERR` (778), and taking the writer would hold up commits.
    checkpointer: SqlitePool,
    /// Commits since the last checkpoint: none means the database is idle.
    commits: std::sync::Arc<AtomicU64>,
    checkpointed_commits: AtomicU64,
    /// Set while checkpoints fail, so the failure is logged once, not every few seconds.
    checkpoint_failing: AtomicBool,
    /// Whose turn it is to write: held from `BEGIN` until the committed events are published.
    turn: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Every write to the database, so that reads can be answered from memory in between.
    writes: Arc<Writes>,
    bounds: ReadCache<String, Option<LogBounds>>,
    listings: ReadCache<ListingKey, Bytes>,
}

/// A listing kept in memory: every document of a kind in a tenant, or in one of its projects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ListingKey {
    tenant_id: String,
    kind: DocKind,
    project_id: Option<String>,
}

impl ListingKey {
    /// The listings worth keeping: whole ones, not pages or lookups.
    fn of(tenant_id: &str, filter: DocFilter<'_>) -> Option<Self> {
        let whole = filter.status.is_none()
            && filter.any_status.is_empty()
            && filter.lookup_key.is_none()
            && filter.before.is_none()
            && filter.limit.is_none()
            && !filter.newest_first;
        whole.then(|| ListingKey {
            tenant_id: tenant_id.to_owned(),
            kind: filter.kind,
            project_id: filter.project_id.map(str::to_owned),
        })
    }
}

/// Answers kept: one per tenant, and whole listing.
const KEPT_TENANTS: usize = 10_000;
const KEPT_LISTINGS: usize = 10_000;

/// Writes take the write lock when they begin. A deferred `BEGIN` would read first and upgrade
/// later, and an upgrade fails at once with `SQLITE_BUSY` (no busy wait helps) when the
/// checkpointer emptied the WAL in between; `IMMEDIATE` waits for the lock instead.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// Marks where a write's changes start, so `discard` can undo them and keep the transaction.
const CHANGES_SAVEPOINT: &str = "SAVEPOINT changes";

impl SqliteStore {
    pub(super) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// A write transaction of the store's own (push bookkeeping), in turn with the others.
    pub(super) async fn begin_own_write(
        &self,
    ) -> StoreResult<(OwnWriteTurn, Transaction<'static, Sqlite>)> {
        let turn = self.turn.clone().lock_owned().await;
        let mark = self.writes.begin();
        let tx = self.writer.begin_with(BEGIN_WRITE).await?;
        self.commits.fetch_add(1, Ordering::Relaxed);
        Ok((
            OwnWriteTurn {
                _turn: turn,
                _mark: mark,
            },
            tx,
        ))
    }

    pub async fn open(database_url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(database_url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            // Checkpoints run on the sweeper's timer, so no commit waits for one's fsync.
            .pragma("wal_autocheckpoint", "0")
            .pragma("journal_size_limit", WAL_SIZE_LIMIT_BYTES.to_string())
            .foreign_keys(true);
        let writer = super::pool_options::<Sqlite>()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_release(close_if_left_in_transaction)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&writer).await?;
        let checkpointer = super::pool_options::<Sqlite>()
            .max_connections(1)
            .connect_with(options.clone().busy_timeout(CHECKPOINT_PATIENCE))
            .await?;
        let reader = super::pool_options::<Sqlite>()
            .max_connections(8)
            .connect_with(options.read_only(true))
            .await?;
        let writes = Arc::new(Writes::default());
        Ok(SqliteStore {
            reader,
            writer,
            checkpointer,
            commits: std::sync::Arc::default(),
            checkpointed_commits: AtomicU64::new(0),
            checkpoint_failing: AtomicBool::new(false),
            turn: std::sync::Arc::default(),
            bounds: ReadCache::new(Arc::clone(&writes), KEPT_TENANTS),
            listings: ReadCache::new(Arc::clone(&writes), KEPT_LISTINGS),
            writes,
        })
    }
}

/// The turn of one of the store's own writes, held until it has committed.
pub(super) struct OwnWriteTurn {
    _turn: tokio::sync::OwnedMutexGuard<()>,
    _mark: WriteMark,
}

/// Every user of the tenant, by name.
async fn users(conn: &mut SqliteConnection, tenant_id: &str) -> StoreResult<Vec<User>> {
    let rows: Vec<super::UserRow> = sqlx::query_as(
        "SELECT id, email, name, role FROM users WHERE tenant_id = ? ORDER BY name, id",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?;
    Ok(super::users_of(rows))
}

async fn get_doc(
    conn: &mut SqliteConnection,
    tenant_id: &str,
    kind: DocKind,
    id: &str,
) -> StoreResult<Option<Value>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT data FROM resources WHERE tenant_id = ? AND kind = ? AND id = ?")
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

async fn list_docs(
    conn: &mut SqliteConnection,
    tenant_id: &str,
    filter: DocFilter<'_>,
) -> StoreResult<Vec<Value>> {
    documents::values(&list_doc_rows(conn, tenant_id, filter).await?)
}

/// The stored JSON of each listed document.
async fn list_doc_rows(
    conn: &mut SqliteConnection,
    tenant_id: &str,
    filter: DocFilter<'_>,
) -> StoreResult<Vec<String>> {
    let mut query = doc_query::<Sqlite>(Select::Data, tenant_id, filter);
    let rows: Vec<(String,)> = query.build_query_as().fetch_all(conn).await?;
    Ok(rows.into_iter().map(|(data,)| data).collect())
}

/// How many documents the filter finds.
async fn count_docs(
    conn: &mut SqliteConnection,
    tenant_id: &str,
    filter: DocFilter<'_>,
) -> StoreResult<i64> {
    let mut query = doc_query::<Sqlite>(Select::Count, tenant_id, filter);
    let (count,): (i64,) = query.build_query_as().fetch_one(conn).await?;
    Ok(count)
}

fn event_from_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<Event> {
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

/// The store conformance suite on a real SQLite file.
#[cfg(test)]
mod conformance {
    use super::SqliteStore;
    use crate::store::conformance::{store_conformance, Backend};

    /// A fresh database file in a temporary directory, as the server opens one.
    async fn open_in_temp_dir() -> Backend {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = SqliteStore::open(&url).await.expect("the store opens");
        Backend {
            store: std::sync::Arc::new(store),
            _keep: Box::new(dir),
        }
    }

    store_conformance!(open_in_temp_dir);
}

#[cfg(test)]
mod pools {
    use super::SqliteStore;

    /// sqlx's pool maintenance task can spin a worker for good (see `pool_options`): none of the
    /// store's pools may start one.
    #[tokio::test]
    async fn no_pool_runs_a_maintenance_task() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = SqliteStore::open(&url).await.expect("the store opens");
        for pool in [&store.reader, &store.writer, &store.checkpointer] {
            let options = pool.options();
            assert_eq!(
                (
                    options.get_min_connections(),
                    options.get_idle_timeout(),
                    options.get_max_lifetime()
                ),
                (0, None, None)
            );
        }
    }

    /// A client hanging up cancels its request's write wherever it is, `BEGIN` included; the
    /// next write still begins (see `sqlite_release.rs`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_begin_cancelled_at_any_moment_leaves_the_writer_usable() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = std::sync::Arc::new(SqliteStore::open(&url).await.expect("the store opens"));
        for round in 0..2_000u64 {
            let writer = store.writer.clone();
            let cancelled = tokio::spawn(async move {
                let _tx = writer.begin_with(super::BEGIN_WRITE).await;
                tokio::task::yield_now().await;
            });
            // Cancel it 0-300 µs in: before, during and after the worker's `BEGIN`.
            let spin = std::time::Instant::now();
            while spin.elapsed() < std::time::Duration::from_micros(round % 300) {
                std::hint::spin_loop();
            }
            cancelled.abort();
            let _ = cancelled.await;
            let next = store.writer.begin_with(super::BEGIN_WRITE).await;
            assert!(next.is_ok(), "round {round}: {:?}", next.err());
        }
    }

    /// A connection handed back as its pool closes is closed too (see `close_every_connection`):
    /// left open, it kept the writer, closing last, from folding the WAL in and removing it, so a
    /// stopped server's file was no backup on its own.
    #[tokio::test]
    async fn a_connection_handed_back_as_its_pool_closes_is_closed_too() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = SqliteStore::open(&url).await.expect("the store opens");
        drop(store.writer.acquire().await.expect("a connection"));
        // The hand-back starts (and finds the pool open) before the pool closes.
        tokio::task::yield_now().await;
        crate::store::close_every_connection(&store.writer).await;
        assert_eq!(store.writer.size(), 0, "no connection is left open");
    }
}

/// Table-rebuilding migrations held to keeping the rows of the database before them.
#[cfg(test)]
#[path = "sqlite_migration_tests.rs"]
mod migrations;
