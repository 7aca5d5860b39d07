//! The SQLite store: WAL mode, one writer connection (SQLite has one writer anyway) whose
//! transactions take the write lock as they begin, a pool of readers, and one connection of
//! its own that moves the WAL into the database file off the commit path.
//!
//! With one writer, one turn serves every tenant: a write waits for the one before it to
//! commit and publish, whichever tenant that was.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use serde_json::Value;
use spartex_api::{Device, Event, EventKind, MetricsBucket, Tenant, User};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool, Transaction};

use super::doc_query::{doc_query, Select};
use super::documents::{self, wire_array};
use super::push::PushStore;
use super::read_cache::{ReadCache, WriteMark, Writes};
use super::sqlite_release::close_if_left_in_transaction;
use super::{
    live_session_of, Checkpoint, DocFilter, DocKind, Document, LiveSession, LogBounds, NewCost,
    PrunedBatch, RefreshTokenRow, SessionRow, Store, StoreError, StoreResult, StoredResponse,
    UserCredentials, WriteScope, WriteTurn, WriteTx,
};
use super::{sqlite_push, NewDevice};

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

/// The WAL file is cut back to this size after a checkpoint that emptied it.
const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;
/// A WAL of this many pages (16 MiB of 4 KiB pages) is emptied even while commits come in.
pub const WAL_RESTART_FRAMES: i64 = 4096;
/// How long a checkpoint that empties the WAL waits for readers on an older snapshot before it
/// gives up until the next one. Writes wait while it does (SQLite holds them back, and it holds
/// the writers' turn), so this bounds what a write (an emergency stop) can wait behind it; with
/// 10 s, a long read used to fail a write behind it with "database is locked".
const CHECKPOINT_PATIENCE: Duration = Duration::from_millis(200);

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

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self, scope: WriteScope<'_>) -> StoreResult<Box<dyn WriteTx>> {
        let turn = self.turn.clone().lock_owned().await;
        let mark = self.writes.begin();
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        sqlx::query(CHANGES_SAVEPOINT).execute(&mut *tx).await?;
        Ok(Box::new(SqliteTx {
            tx,
            tenant_id: match scope {
                WriteScope::Tenant(tenant_id) => Some(tenant_id.to_owned()),
                WriteScope::Server => None,
            },
            commits: self.commits.clone(),
            mark,
            turn,
        }))
    }

    async fn get_doc(
        &self,
        tenant_id: &str,
        kind: DocKind,
        id: &str,
    ) -> StoreResult<Option<Value>> {
        get_doc(&mut *self.reader.acquire().await?, tenant_id, kind, id).await
    }

    async fn list_docs(&self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<Vec<Value>> {
        list_docs(&mut *self.reader.acquire().await?, tenant_id, filter).await
    }

    async fn list_docs_json(&self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<Bytes> {
        let read = async {
            let rows = list_doc_rows(&mut *self.reader.acquire().await?, tenant_id, filter).await?;
            Ok(wire_array(tenant_id, filter.kind, &rows))
        };
        match ListingKey::of(tenant_id, filter) {
            Some(key) => self.listings.get_or_read(&key, read).await,
            None => read.await,
        }
    }

    async fn due_docs(
        &self,
        kind: DocKind,
        status: &str,
        due_by_ms: i64,
    ) -> StoreResult<Vec<(String, Value)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, data FROM resources WHERE kind = ? AND status = ? AND due_at_ms <= ? \
             ORDER BY due_at_ms LIMIT 500",
        )
        .bind(kind.as_str())
        .bind(status)
        .bind(due_by_ms)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|(tenant, data)| Ok((tenant, serde_json::from_str(&data)?)))
            .collect()
    }

    async fn events_after(
        &self,
        tenant_id: &str,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, kind, at, project_id, data FROM events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(tenant_id)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn log_bounds(&self, tenant_id: &str) -> StoreResult<Option<LogBounds>> {
        let read = async {
            let row: Option<(i64, i64)> =
                sqlx::query_as("SELECT log_floor, head_seq FROM tenants WHERE id = ?")
                    .bind(tenant_id)
                    .fetch_optional(&self.reader)
                    .await?;
            Ok(row.map(|(floor, head)| LogBounds { floor, head }))
        };
        self.bounds.get_or_read(tenant_id, read).await
    }

    async fn tenant(&self, tenant_id: &str) -> StoreResult<Option<Tenant>> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT id, name, slug FROM tenants WHERE id = ?")
                .bind(tenant_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.map(|(id, name, slug)| Tenant { id, name, slug }))
    }

    async fn user(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT id, email, name, role FROM users WHERE tenant_id = ? AND id = ?",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.and_then(|(id, email, name, role)| {
            Some(User {
                id,
                email,
                name,
                role: role.parse().ok()?,
            })
        }))
    }

    async fn users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        users(&mut *self.reader.acquire().await?, tenant_id).await
    }

    async fn user_credentials(&self, email: &str) -> StoreResult<Option<UserCredentials>> {
        let row: Option<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, email, name, role, tenant_id, password_hash FROM users WHERE email = ? COLLATE NOCASE",
        )
        .bind(email)
        .fetch_optional(&self.reader)
        .await?;
        Ok(
            row.and_then(|(id, email, name, role, tenant_id, password_hash)| {
                Some(UserCredentials {
                    user: User {
                        id,
                        email,
                        name,
                        role: role.parse().ok()?,
                    },
                    tenant_id,
                    password_hash,
                })
            }),
        )
    }

    async fn refresh_token_known(&self, token_hash: &str) -> StoreResult<bool> {
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM refresh_tokens WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
        Ok(known.is_some())
    }

    async fn live_session(&self, session_id: &str) -> StoreResult<Option<LiveSession>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.user_id, s.tenant_id, u.tenant_id, u.role, u.email, u.name, \
               (SELECT MAX(expires_at_ms) FROM refresh_tokens r WHERE r.session_id = s.id) \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = ? AND s.revoked_at_ms IS NULL",
        )
        .bind(session_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.and_then(live_session_of))
    }

    async fn sessions_revoked_since(
        &self,
        since_ms: i64,
        at_most: i64,
    ) -> StoreResult<Vec<String>> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM sessions WHERE revoked_at_ms >= ? ORDER BY revoked_at_ms LIMIT ?",
        )
        .bind(since_ms)
        .bind(at_most)
        .fetch_all(&self.reader)
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn agent_for_token(&self, token_hash: &str) -> StoreResult<Option<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT tenant_id, agent_id FROM agent_tokens WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    async fn cost_buckets(
        &self,
        tenant_id: &str,
        project_id: &str,
        bucket_s: i64,
    ) -> StoreResult<Vec<MetricsBucket>> {
        let rows: Vec<(i64, String, i64, i64, f64)> = sqlx::query_as(
            "SELECT (at_s / ?1) * ?1 AS bucket, agent_id, SUM(tokens_in), SUM(tokens_out), SUM(cost_usd) \
             FROM cost_records WHERE tenant_id = ?2 AND project_id = ?3 \
             GROUP BY bucket, agent_id ORDER BY bucket, agent_id",
        )
        .bind(bucket_s)
        .bind(tenant_id)
        .bind(project_id)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(bucket, agent_id, tokens_in, tokens_out, cost_usd)| MetricsBucket {
                    at: DateTime::from_timestamp(bucket, 0).unwrap_or_default(),
                    agent_id,
                    tokens_in,
                    tokens_out,
                    cost_usd,
                },
            )
            .collect())
    }

    async fn log_floors(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as("SELECT id, log_floor FROM tenants")
            .fetch_all(&self.reader)
            .await?)
    }

    async fn prune_log_batch(
        &self,
        tenant_id: &str,
        floor: i64,
        older_than_ms: i64,
        at_most: i64,
    ) -> StoreResult<Option<PrunedBatch>> {
        let above: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT seq, at_ms FROM events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(tenant_id)
        .bind(floor)
        .bind(at_most)
        .fetch_all(&self.reader)
        .await?;
        let Some((new_floor, more)) = PrunedBatch::of(&above, older_than_ms, at_most) else {
            return Ok(None);
        };
        let _mark = self.writes.begin();
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        sqlx::query("UPDATE tenants SET log_floor = MAX(log_floor, ?) WHERE id = ?")
            .bind(new_floor)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM events WHERE tenant_id = ? AND seq <= ?")
            .bind(tenant_id)
            .bind(new_floor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(Some(PrunedBatch {
            floor: new_floor,
            deleted,
            more,
        }))
    }

    async fn prune_idempotency_keys(&self, older_than_ms: i64) -> StoreResult<u64> {
        let _mark = self.writes.begin();
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at_ms < ?")
                .bind(older_than_ms)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }

    async fn prune_sessions(&self, now_ms: i64) -> StoreResult<u64> {
        let _mark = self.writes.begin();
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at_ms <= ?")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "DELETE FROM sessions WHERE NOT EXISTS \
               (SELECT 1 FROM refresh_tokens r WHERE r.session_id = sessions.id)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    async fn devices(&self, tenant_id: &str, user_id: &str) -> StoreResult<Vec<Device>> {
        let mut conn = self.reader.acquire().await?;
        sqlite_push::devices(&mut conn, tenant_id, user_id).await
    }

    async fn notification_settings(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<String>> {
        let mut conn = self.reader.acquire().await?;
        sqlite_push::notification_settings(&mut conn, tenant_id, user_id).await
    }

    async fn tenant_settings(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        let settings: Option<Option<String>> =
            sqlx::query_scalar("SELECT settings FROM tenants WHERE id = ?")
                .bind(tenant_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(settings.flatten())
    }

    fn push(&self) -> &dyn PushStore {
        self
    }

    async fn close(&self) {
        // Read-only connections cannot fold the WAL: the writer closes last.
        self.reader.close().await;
        self.checkpointer.close().await;
        self.writer.close().await;
    }

    async fn checkpoint(&self) -> StoreResult<Checkpoint> {
        let result = self.checkpoint_now().await;
        match &result {
            Ok(_) if self.checkpoint_failing.swap(false, Ordering::Relaxed) => {
                tracing::info!("checkpoints work again; the WAL is being folded into the database");
            }
            Err(e) if !self.checkpoint_failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!(error = %e, "checkpoint failed; the WAL grows until one succeeds (retrying quietly)");
            }
            _ => {}
        }
        result
    }
}

impl SqliteStore {
    /// A PASSIVE checkpoint while writes come in (it never waits for them); a TRUNCATE one
    /// once no commit happened since the last checkpoint, or when the WAL outgrew
    /// [`WAL_RESTART_FRAMES`]: under a steady stream of commits a PASSIVE checkpoint never
    /// catches the WAL's end, so SQLite never starts it over and the file grows without bound.
    /// TRUNCATE takes the writers' turn first, so it never races this server's own writer for
    /// SQLite's write lock and its patience ([`CHECKPOINT_PATIENCE`]) covers readers only;
    /// writes wait for it that long at most, and while it copies what PASSIVE has not.
    async fn checkpoint_now(&self) -> StoreResult<Checkpoint> {
        let commits = self.commits.load(Ordering::Relaxed);
        let idle = self.checkpointed_commits.swap(commits, Ordering::Relaxed) == commits;
        let mut mode = if idle { "TRUNCATE" } else { "PASSIVE" };
        loop {
            let _turn = match mode {
                "TRUNCATE" => Some(self.turn.lock().await),
                _ => None,
            };
            let (busy, wal_frames, moved_frames): (i64, i64, i64) =
                sqlx::query_as(&format!("PRAGMA wal_checkpoint({mode})"))
                    .fetch_one(&self.checkpointer)
                    .await?;
            if mode == "PASSIVE" && wal_frames >= WAL_RESTART_FRAMES {
                mode = "TRUNCATE";
                continue;
            }
            return Ok(Checkpoint {
                truncated: mode == "TRUNCATE" && busy == 0,
                wal_frames: wal_frames.max(0),
                moved_frames: moved_frames.max(0),
            });
        }
    }
}

pub struct SqliteTx {
    // Dropped first (rolling back), then the turn is released.
    tx: Transaction<'static, Sqlite>,
    /// The tenant whose log this write appends to; `None` for `WriteScope::Server`.
    tenant_id: Option<String>,
    commits: std::sync::Arc<AtomicU64>,
    /// Ends the reads kept in memory; released once the write committed or was undone.
    mark: WriteMark,
    turn: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl WriteTx for SqliteTx {
    async fn get_doc(
        &mut self,
        tenant_id: &str,
        kind: DocKind,
        id: &str,
    ) -> StoreResult<Option<Value>> {
        get_doc(&mut self.tx, tenant_id, kind, id).await
    }

    async fn list_docs(
        &mut self,
        tenant_id: &str,
        filter: DocFilter<'_>,
    ) -> StoreResult<Vec<Value>> {
        list_docs(&mut self.tx, tenant_id, filter).await
    }

    async fn count_docs(&mut self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<i64> {
        count_docs(&mut self.tx, tenant_id, filter).await
    }

    async fn users(&mut self, tenant_id: &str) -> StoreResult<Vec<User>> {
        users(&mut self.tx, tenant_id).await
    }

    async fn push_targets(&mut self, tenant_id: &str) -> StoreResult<Vec<super::push::PushTarget>> {
        sqlite_push::targets(&mut self.tx, tenant_id).await
    }

    /// Nobody: no other instance shares a SQLite file.
    async fn online_users(
        &mut self,
        _tenant_id: &str,
        _fresh_for: Duration,
    ) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }

    async fn put_doc(&mut self, tenant_id: &str, doc: &Document) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO resources (tenant_id, kind, id, project_id, status, sort_key, due_at_ms, lookup_key, data) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant_id, kind, id) DO UPDATE SET project_id = excluded.project_id, \
               status = excluded.status, sort_key = excluded.sort_key, due_at_ms = excluded.due_at_ms, \
               lookup_key = excluded.lookup_key, data = excluded.data",
        )
        .bind(tenant_id)
        .bind(doc.kind.as_str())
        .bind(&doc.id)
        .bind(&doc.project_id)
        .bind(&doc.status)
        .bind(&doc.sort_key)
        .bind(doc.due_at_ms)
        .bind(&doc.lookup_key)
        .bind(doc.data.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn append_event(
        &mut self,
        kind: EventKind,
        project_id: Option<&str>,
        at: DateTime<Utc>,
        data: &Value,
    ) -> StoreResult<Event> {
        let tenant_id = self.tenant_id.as_deref().ok_or(StoreError::WrongTenant)?;
        let (seq,): (i64,) = sqlx::query_as(
            "UPDATE tenants SET head_seq = head_seq + 1 WHERE id = ? RETURNING head_seq",
        )
        .bind(tenant_id)
        .fetch_one(&mut *self.tx)
        .await?;
        sqlx::query("INSERT INTO events (tenant_id, seq, kind, at, at_ms, project_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(tenant_id)
            .bind(seq)
            .bind(kind.as_str())
            .bind(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .bind(at.timestamp_millis())
            .bind(project_id)
            .bind(data.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(Event {
            seq,
            kind: kind.as_str().to_owned(),
            at,
            project_id: project_id.map(str::to_owned),
            data: data.clone(),
        })
    }

    async fn stored_response(
        &mut self,
        principal_id: &str,
        key: &str,
    ) -> StoreResult<Option<StoredResponse>> {
        let row: Option<(String, String, Option<String>, i64, String)> = sqlx::query_as(
            "SELECT method, path, request_hash, status, body FROM idempotency_keys \
             WHERE principal_id = ? AND key = ?",
        )
        .bind(principal_id)
        .bind(key)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(
            |(method, path, request_hash, status, body)| StoredResponse {
                method,
                path,
                request_hash,
                status: u16::try_from(status).unwrap_or(500),
                body,
            },
        ))
    }

    async fn store_response(
        &mut self,
        principal_id: &str,
        key: &str,
        response: &StoredResponse,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO idempotency_keys (principal_id, key, method, path, request_hash, status, body, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(principal_id)
        .bind(key)
        .bind(&response.method)
        .bind(&response.path)
        .bind(&response.request_hash)
        .bind(i64::from(response.status))
        .bind(&response.body)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_tenant(&mut self, tenant: &Tenant) -> StoreResult<()> {
        sqlx::query("INSERT INTO tenants (id, name, slug) VALUES (?, ?, ?)")
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.slug)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_user(
        &mut self,
        tenant_id: &str,
        user: &User,
        password_hash: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO users (id, tenant_id, email, name, role, password_hash) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&user.id)
            .bind(tenant_id)
            .bind(&user.email)
            .bind(&user.name)
            .bind(user.role.as_str())
            .bind(password_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_session(
        &mut self,
        session_id: &str,
        tenant_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, tenant_id, user_id, created_at_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(session_id)
        .bind(tenant_id)
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn live_sessions_beyond(&mut self, user_id: &str, keep: i64) -> StoreResult<Vec<String>> {
        let mut beyond: Vec<String> = sqlx::query_scalar(
            "SELECT s.id FROM sessions s WHERE s.user_id = ? AND s.revoked_at_ms IS NULL \
             ORDER BY (SELECT MAX(r.expires_at_ms) FROM refresh_tokens r WHERE r.session_id = s.id) DESC, \
               s.created_at_ms DESC, s.id DESC \
             LIMIT -1 OFFSET ?",
        )
        .bind(user_id)
        .bind(keep)
        .fetch_all(&mut *self.tx)
        .await?;
        beyond.reverse();
        Ok(beyond)
    }

    async fn forget_refresh_tokens(&mut self, session_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM refresh_tokens WHERE session_id = ?")
            .bind(session_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn revoke_session(&mut self, session_id: &str, now_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at_ms = COALESCE(revoked_at_ms, ?) WHERE id = ?")
            .bind(now_ms)
            .bind(session_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM devices WHERE session_id = ?")
            .bind(session_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_refresh_token(
        &mut self,
        token_hash: &str,
        session_id: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at_ms) VALUES (?, ?, ?)",
        )
        .bind(token_hash)
        .bind(session_id)
        .bind(expires_at_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn refresh_token(&mut self, token_hash: &str) -> StoreResult<Option<RefreshTokenRow>> {
        let row: Option<(String, String, String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT r.session_id, s.tenant_id, s.user_id, r.expires_at_ms, r.used_at_ms, s.revoked_at_ms \
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(
            |(session_id, tenant_id, user_id, expires_at_ms, used_at, revoked_at)| {
                RefreshTokenRow {
                    session_id,
                    tenant_id,
                    user_id,
                    expires_at_ms,
                    used_at_ms: used_at,
                    session_revoked: revoked_at.is_some(),
                }
            },
        ))
    }

    async fn mark_refresh_token_used(&mut self, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE refresh_tokens SET used_at_ms = ? WHERE token_hash = ?")
            .bind(now_ms)
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_agent_token(
        &mut self,
        token_hash: &str,
        tenant_id: &str,
        agent_id: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO agent_tokens (token_hash, tenant_id, agent_id) VALUES (?, ?, ?)")
            .bind(token_hash)
            .bind(tenant_id)
            .bind(agent_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_agent_tokens(&mut self, tenant_id: &str, agent_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM agent_tokens WHERE tenant_id = ? AND agent_id = ?")
            .bind(tenant_id)
            .bind(agent_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert_cost(&mut self, tenant_id: &str, cost: &NewCost<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO cost_records (tenant_id, project_id, agent_id, at_s, model, tokens_in, tokens_out, cost_usd) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(tenant_id)
        .bind(cost.project_id)
        .bind(cost.agent_id)
        .bind(cost.at_s)
        .bind(cost.model)
        .bind(cost.tokens_in)
        .bind(cost.tokens_out)
        .bind(cost.cost_usd)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_device(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        device: &NewDevice<'_>,
    ) -> StoreResult<Option<(Device, bool)>> {
        sqlite_push::insert_device(&mut self.tx, tenant_id, user_id, device).await
    }

    async fn delete_device(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        device_id: &str,
    ) -> StoreResult<bool> {
        sqlite_push::delete_device(&mut self.tx, tenant_id, user_id, device_id).await
    }

    async fn put_notification_settings(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        data: &str,
    ) -> StoreResult<()> {
        sqlite_push::put_notification_settings(&mut self.tx, tenant_id, user_id, data).await
    }

    async fn put_tenant_settings(&mut self, tenant_id: &str, data: &str) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET settings = ? WHERE id = ?")
            .bind(data)
            .bind(tenant_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn setting(&mut self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM server_settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    async fn put_setting(&mut self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO server_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn discard(&mut self) -> StoreResult<()> {
        sqlx::query("ROLLBACK TO changes")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<WriteTurn> {
        let SqliteTx {
            tx,
            commits,
            mark,
            turn,
            ..
        } = *self;
        tx.commit().await?;
        drop(mark);
        commits.fetch_add(1, Ordering::Relaxed);
        Ok(WriteTurn::new(turn))
    }
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
}

/// Table-rebuilding migrations held to keeping the rows of the database before them.
#[cfg(test)]
#[path = "sqlite_migration_tests.rs"]
mod migrations;
