//! The account's cache: one SQLCipher-encrypted SQLite file, WAL, migrations run at open.
//! Events are applied in `seq` order with the new `seq` in the same transaction.

mod apply;
mod crypto;
mod first_frame;
pub(crate) mod in_use;
mod messages;
mod outbox;
mod overlapped;
mod read;
mod release;
pub mod timeline;
mod upgrade;
mod upsert;
pub mod views;
mod write_tx;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqliteLockingMode, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions, SqlitePool};

pub use crate::actions::{OutboxKind, QueuedAction};
pub use apply::{AppliedBatch, Snapshot};
pub use first_frame::KeptFrame;
pub(crate) use outbox::{unkept_entry, Salvaged};
pub use outbox::{KeptForNewerVersion, OutboxAsRead, OutboxEntry};

use crate::Secret;
use in_use::InUse;
use write_tx::WriteTx;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is not a database this key opens (the key is gone, or the file is damaged).
    #[error(
        "the local cache at {path} cannot be read with its key; it will be rebuilt from the server"
    )]
    Unreadable { path: PathBuf },
    /// A page of the file is damaged (`SQLITE_CORRUPT`: a page that fails its check). Met while
    /// opening, the cache is rebuilt as an unreadable one is (what it still had to deliver is
    /// carried over when it can be read, else the person is told it was lost).
    #[error("the local cache{} is damaged ({detail}); sign out and in again to rebuild it from the server", at_path(path))]
    Damaged { path: PathBuf, detail: String },
    /// A newer build wrote the cache (it applied a migration this build does not know). It is
    /// kept as it is: the newer build reads it, and what it still has to deliver with it.
    #[error("the local cache{} was written by a newer Spartex Control; update the app (or sign out to start afresh, {})", at_path(path), losing(undelivered.as_deref()))]
    NewerVersion {
        path: PathBuf,
        /// What it still has to deliver, in words; `None` when that could not be read.
        undelivered: Option<Vec<String>>,
    },
    /// A cache that could not be used (damaged, or its key gone) could not be started afresh
    /// either, or what it still had to deliver not carried over (a full disk, most likely). The
    /// old one is kept (`kept`: where it was, so that the next start tries again), and with it
    /// what it still has to deliver, named here.
    #[error("the local cache{} cannot be used and could not be rebuilt from the server ({detail}); the old one is kept at {}, {}; open the account again once that is fixed", at_path(path), kept.display(), still_to_deliver(undelivered.as_deref()))]
    NotRebuilt {
        path: PathBuf,
        /// Where the old cache is kept.
        kept: PathBuf,
        /// Why it could not be rebuilt.
        detail: String,
        /// What it still has to deliver, in words; `None` when that could not be read.
        undelivered: Option<Vec<String>>,
    },
    #[error("the disk holding the local cache is full; free some space and try again. Nothing already kept was lost, but this was not saved: repeat it once there is space")]
    DiskFull,
    /// Another process holds the cache for itself (one that opened it on a full disk does).
    #[error("another Spartex Control process holds the local cache for itself (one started while the disk was full keeps it until it restarts): restart that process, or use it instead")]
    Locked,
    /// A gap in the event sequence: fill it from the log first.
    #[error("events jump from seq {last} to {next}; the gap is filled from the server first")]
    Gap { last: i64, next: i64 },
    #[error("local cache error: {0}")]
    Database(sqlx::Error),
    #[error("local cache migration failed: {0}")]
    Migration(sqlx::migrate::MigrateError),
    #[error("stored data is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// " at /path", or nothing when the path is not known where the error was met.
fn at_path(path: &Path) -> String {
    if path.as_os_str().is_empty() {
        String::new()
    } else {
        format!(" at {}", path.display())
    }
}

/// What starting afresh loses, in words.
fn losing(undelivered: Option<&[String]>) -> String {
    match undelivered {
        Some([]) => "which loses nothing: every action taken here reached the server".to_owned(),
        Some([one]) => format!("losing 1 undelivered action: {one}"),
        Some(many) => format!(
            "losing {} undelivered actions: {}",
            many.len(),
            many.join("; ")
        ),
        None => "losing any action taken here that has not reached the server".to_owned(),
    }
}

/// What a cache kept for later still has to deliver, in words.
fn still_to_deliver(undelivered: Option<&[String]>) -> String {
    match undelivered {
        Some([]) => "with no action waiting to be delivered".to_owned(),
        Some([one]) => format!("with 1 action still to deliver: {one}"),
        Some(many) => format!(
            "with {} actions still to deliver: {}",
            many.len(),
            many.join("; ")
        ),
        None => "with any action taken here that has not reached the server".to_owned(),
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_disk_full(&error) {
            StoreError::DiskFull
        } else if has_sqlite_code(&error, SQLITE_NOTADB) {
            StoreError::Unreadable {
                path: PathBuf::new(),
            }
        } else if has_primary_code(&error, SQLITE_CORRUPT) {
            StoreError::Damaged {
                path: PathBuf::new(),
                detail: error.to_string(),
            }
        } else {
            StoreError::Database(error)
        }
    }
}

/// A migration that runs out of disk is told as a full disk, what the person can fix; it ran in
/// one transaction, so nothing is half-done and the next start runs it again.
impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError::{Execute, ExecuteMigration, VersionMissing};
        match error {
            Execute(cause) | ExecuteMigration(cause, _)
                if is_disk_full(&cause)
                    || has_sqlite_code(&cause, SQLITE_NOTADB)
                    || has_primary_code(&cause, SQLITE_CORRUPT) =>
            {
                StoreError::from(cause)
            }
            VersionMissing(_) => StoreError::NewerVersion {
                path: PathBuf::new(),
                undelivered: None,
            },
            error => StoreError::Migration(error),
        }
    }
}

/// SQLite's result codes the cache tells apart.
const SQLITE_BUSY: &str = "5";
/// A page failed its check (SQLCipher's HMAC, or SQLite's own): the file is damaged. Compared
/// as the primary code, which every `SQLITE_CORRUPT_*` extends.
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_FULL: &str = "13";
const SQLITE_NOTADB: &str = "26";
/// The WAL index (`cache.db-shm`) could not be grown: what a process that opens the cache on
/// a full disk meets first, before any write of its own.
const SQLITE_IOERR_SHMSIZE: &str = "4874";

fn is_disk_full(error: &sqlx::Error) -> bool {
    has_sqlite_code(error, SQLITE_FULL) || has_sqlite_code(error, SQLITE_IOERR_SHMSIZE)
}

fn has_sqlite_code(error: &sqlx::Error, code: &str) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some(code))
}

/// Whether SQLite's (extended) result code is one of `primary`'s: its low byte.
fn has_primary_code(error: &sqlx::Error, primary: i64) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if db.code().and_then(|code| code.parse::<i64>().ok()).is_some_and(|code| code & 0xff == primary))
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Page caches, in KiB as SQLite's negative `cache_size` says. The writer's is large because a
/// cold sync rewrites the same index pages batch after batch; a reader's needs to hold what a
/// screen reads (`core_bench` prints the size of a cache of 1,000 projects and 10,000 agents).
const WRITER_CACHE_KIB: &str = "-32000";
const READER_CACHE_KIB: &str = "-8000";
const READERS: u32 = 3;
/// What the WAL file keeps of its size once checkpointed (`journal_size_limit`): 16 MiB.
const WAL_KEPT_BYTES: &str = "16777216";

#[derive(Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
    path: PathBuf,
    /// The account's mark that it is open in this process, given up when the cache is closed.
    in_use: Arc<std::sync::Mutex<Option<InUse>>>,
}

impl Store {
    /// Opens (creating if needed) the cache at `path`, encrypted with `key` (64 hex digits).
    ///
    /// On a full disk SQLite cannot create the WAL index other processes share (`cache.db-shm`),
    /// so the cache is opened for this process alone, its WAL index kept in memory: what was
    /// kept can still be read (a person offline reviews their projects), and writes work again
    /// once space is freed. Another process cannot open the cache until this one ends
    /// ([`StoreError::Locked`] says so).
    pub async fn open(path: &Path, key: &Secret) -> StoreResult<Store> {
        match Self::open_as(path, key, Sharing::WithOtherProcesses).await {
            Err(StoreError::DiskFull) => {
                tracing::warn!(
                    "the local cache's disk is full: opened for this process alone until it restarts"
                );
                match Self::open_as(path, key, Sharing::ThisProcessAlone).await {
                    // Another connection has the file open: the full disk is the news.
                    Err(StoreError::Locked) => Err(StoreError::DiskFull),
                    alone => alone,
                }
            }
            opened => opened,
        }
    }

    async fn open_as(path: &Path, key: &Secret, sharing: Sharing) -> StoreResult<Store> {
        // What an error at opening means: a key that does not read this file, or a lock
        // another process keeps.
        let at_open = |error: StoreError| match error {
            StoreError::Unreadable { .. } => StoreError::Unreadable {
                path: path.to_owned(),
            },
            StoreError::Damaged { detail, .. } => StoreError::Damaged {
                path: path.to_owned(),
                detail,
            },
            StoreError::NewerVersion { undelivered, .. } => StoreError::NewerVersion {
                path: path.to_owned(),
                undelivered,
            },
            StoreError::Database(e) if has_sqlite_code(&e, SQLITE_BUSY) => StoreError::Locked,
            other => other,
        };
        let options = connect_options(path, key)?.locking_mode(sharing.locking_mode());
        let writer = pool_options()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .after_release(release::close_if_left_in_transaction)
            .connect_with(options.clone())
            .await
            .map_err(|e| at_open(e.into()))?;
        let ready = async {
            // SQLCipher only checks the key when a page is read.
            sqlx::query("SELECT count(*) FROM sqlite_master")
                .execute(&writer)
                .await?;
            restamp_edited_migrations(&writer).await?;
            match sqlx::migrate!("./migrations").run(&writer).await {
                // Nothing was changed: say what it still has to deliver, which a newer build
                // keeps in the same table.
                Err(error @ sqlx::migrate::MigrateError::VersionMissing(_)) => {
                    tracing::warn!(%error, "the local cache was written by a newer build");
                    let undelivered =
                        sqlx::query_scalar("SELECT label FROM outbox ORDER BY priority, id")
                            .fetch_all(&writer)
                            .await
                            .ok();
                    return Err(StoreError::NewerVersion {
                        path: PathBuf::new(),
                        undelivered,
                    });
                }
                migrated => migrated?,
            }
            // What the cache must carry over a rebuild is read whole, so that a damaged page in
            // it is met here, where the cache can still be rebuilt, and not at the first flush.
            sqlx::query("SELECT count(*), total(length(request) + length(label)) FROM outbox")
                .execute(&writer)
                .await?;
            Ok::<_, StoreError>(())
        };
        if let Err(error) = ready.await {
            writer.close().await;
            return Err(at_open(error));
        }
        if sharing == Sharing::ThisProcessAlone {
            return Ok(Store {
                reader: writer.clone(),
                writer,
                path: path.to_owned(),
                in_use: Arc::default(),
            });
        }
        // Each reader keeps a page cache of its own: a few are enough for a person's screens.
        let reader = pool_options()
            .max_connections(READERS)
            .connect_with(options.pragma("cache_size", READER_CACHE_KIB))
            .await?;
        Ok(Store {
            writer,
            reader,
            path: path.to_owned(),
            in_use: Arc::default(),
        })
    }

    /// What the cache at `path`, which could not be opened, still had to deliver: its outbox
    /// read on a connection of its own, without migrations or checks, so that a damaged page
    /// elsewhere does not stand in the way.
    pub(crate) async fn salvage_outbox(path: &Path, key: &Secret) -> Salvaged {
        use sqlx::Connection;
        let read = async {
            let options = connect_options(path, key)?.create_if_missing(false);
            let mut connection = sqlx::SqliteConnection::connect_with(&options).await?;
            let rows = sqlx::query_as(&format!(
                "SELECT {} FROM outbox ORDER BY priority, id",
                outbox::SALVAGED_COLUMNS
            ))
            .fetch_all(&mut connection)
            .await;
            connection.close().await.ok();
            Ok::<_, StoreError>(rows?)
        };
        match read.await {
            Ok(rows) => Salvaged::Read(rows),
            Err(error) => {
                tracing::warn!(%error, "nothing of the old cache's outbox could be read");
                Salvaged::Lost
            }
        }
    }

    /// A write transaction that holds the write lock from its first statement. Another process
    /// (the app beside the CLI) may write the same file: a deferred `BEGIN` reads first and
    /// upgrades later, and an upgrade after the other's commit fails at once with
    /// `SQLITE_BUSY_SNAPSHOT` ("database is locked"); `IMMEDIATE` waits its turn instead.
    /// Its commit also brings the search index up to date (see [`WriteTx`]).
    pub(crate) async fn begin_write(&self) -> StoreResult<WriteTx> {
        Ok(WriteTx::new(
            self.writer.begin_with("BEGIN IMMEDIATE").await?,
        ))
    }

    /// Copies the WAL into the database without blocking readers or the writer; called on a
    /// timer so that no commit pays for a checkpoint's fsync.
    pub async fn checkpoint(&self) -> StoreResult<()> {
        sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&self.reader)
            .await?;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection before returning: none is left to be torn down after. The
    /// account is no longer marked open by this cache: another process may sign it out.
    pub async fn close(&self) {
        close_every_connection(&self.reader).await;
        close_every_connection(&self.writer).await;
        drop(self.in_use().take());
    }

    /// Keeps the account marked open (`in_use`) as long as this cache is.
    pub(crate) fn hold(&self, in_use: InUse) {
        *self.in_use() = Some(in_use);
    }

    fn in_use(&self) -> std::sync::MutexGuard<'_, Option<InUse>> {
        self.in_use
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub async fn meta(&self, key: &str) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.reader)
            .await?)
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> StoreResult<()> {
        set_meta_in(&mut *self.writer.acquire().await?, key, value).await
    }

    /// When the event the cache applied last was (RFC 3339, to the second), which the server
    /// checks its own event at that `seq` against; `None` when the cache does not know (a
    /// rebuild from snapshots, a cache older than this).
    pub async fn last_event_at(&self) -> StoreResult<Option<String>> {
        Ok(self
            .meta(meta::LAST_EVENT_AT)
            .await?
            .filter(|at| !at.is_empty()))
    }

    /// The last applied `seq` (0 for an empty cache).
    pub async fn last_seq(&self) -> StoreResult<i64> {
        Ok(self
            .meta(meta::LAST_SEQ)
            .await?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    /// The writer's pool, for tests outside the store that write what another build or process
    /// would have.
    #[cfg(test)]
    pub(crate) fn writer_for_tests(&self) -> &SqlitePool {
        &self.writer
    }

    /// Queues a stop of `project_id` (named `project_name`) without trying to send it, as a CLI
    /// offline leaves it.
    #[cfg(test)]
    pub(crate) async fn queue_a_stop_for_tests(
        &self,
        project_id: &str,
        project_name: &str,
    ) -> OutboxEntry {
        let stop = QueuedAction::StopProject {
            project_id: project_id.to_owned(),
            project_name: project_name.to_owned(),
            reason: "Wrong audience list".into(),
        };
        self.enqueue(stop.prepare(chrono::Utc::now()))
            .await
            .expect("queued")
    }

    /// The file may grow no more (SQLite's page limit, on the writer's connection, after a
    /// `VACUUM` left no free page): every write that needs a new page fails as on a full disk.
    #[cfg(test)]
    pub(crate) async fn fill_the_disk_for_tests(&self) {
        sqlx::query("VACUUM")
            .execute(&self.writer)
            .await
            .expect("no free page left");
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&self.writer)
            .await
            .expect("pages");
        sqlx::query(&format!("PRAGMA max_page_count = {pages}"))
            .execute(&self.writer)
            .await
            .expect("the disk is full");
    }

    /// Events kept but not applied because this build cannot read them (a newer server's kinds),
    /// the newest 1,000 at most.
    pub async fn unreadable_event_count(&self) -> StoreResult<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM rejected_events")
            .fetch_one(&self.reader)
            .await?)
    }

    /// `PRAGMA integrity_check`: "ok" for a sound file.
    pub async fn integrity_check(&self) -> StoreResult<String> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&self.writer)
            .await?)
    }
}

/// Migrations whose text was edited after builds had applied it, by comments only: the schema
/// they make is the same, but sqlx compares each applied migration's checksum (SHA-384 of its
/// text) and would refuse those caches (`VersionMismatch`). The checksum such a build recorded,
/// replaced at opening by the text's as it is now. A migration is never edited again
/// (`migration_tests::every_migration_is_as_it_was_committed`): a change is a new migration.
const EDITED_MIGRATIONS: &[(i64, &str)] = &[
    // 229a705, before 440aed9 added a comment on REPLACE.
    (
        20261206000001,
        "93e74f0b5985101c94fdabaaf718453f0f5105327dd1cdfe8561aaa02a1cba2a68d9fb38fa36f1d12c2e70c9ef4e8a5b",
    ),
    // a0fb779, before 7d73b4a reworded a comment.
    (
        20261206000002,
        "5ae52f1e8983e8f4489e00ae8f176dd2e8877b3ad47600d3877d5488771ea734ed9531f6f50e08c54e7367b87f104225",
    ),
];

/// Gives the migrations in [`EDITED_MIGRATIONS`] that a cache applied as first written the
/// checksum of their text as it is now.
async fn restamp_edited_migrations(writer: &SqlitePool) -> StoreResult<()> {
    let kept: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
    )
    .fetch_one(writer)
    .await?;
    if !kept {
        return Ok(());
    }
    let migrator = sqlx::migrate!("./migrations");
    for (version, earlier) in EDITED_MIGRATIONS {
        let Some(now) = migrator.iter().find(|m| m.version == *version) else {
            continue;
        };
        let Some(earlier) = hex_bytes(earlier) else {
            continue;
        };
        sqlx::query("UPDATE _sqlx_migrations SET checksum = ? WHERE version = ? AND checksum = ?")
            .bind(now.checksum.as_ref())
            .bind(version)
            .bind(earlier)
            .execute(writer)
            .await?;
    }
    Ok(())
}

fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    (0..hex.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect()
}

/// Rows per multi-row statement: per-statement overhead dominates in sqlx, and 100 rows of the
/// widest table stay far below SQLite's limit of 32,766 bound values.
const ROWS_PER_STATEMENT: usize = 100;

/// Fixed-width UTC to the microsecond, so that text order is time order (the reference
/// server's stores keep times to the microsecond too; its wire JSON may carry nanoseconds).
fn sortable_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Whether the cache is shared with other processes (the app beside the CLI) through the WAL
/// index file, or kept by this process alone with the WAL index in memory (a full disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sharing {
    WithOtherProcesses,
    ThisProcessAlone,
}

impl Sharing {
    /// sqlx sets `locking_mode` before `journal_mode`, as SQLite needs to keep the WAL index
    /// in memory.
    fn locking_mode(self) -> SqliteLockingMode {
        match self {
            Sharing::WithOtherProcesses => SqliteLockingMode::Normal,
            Sharing::ThisProcessAlone => SqliteLockingMode::Exclusive,
        }
    }
}

/// The cache file at `path`, opened with `key`, in WAL with the settings its writes are tuned for.
/// Sets OpenSSL up as a cache needs it (`crypto.rs`), for a SQLCipher connection made without
/// [`Store`] (the bench's floor): before SQLCipher is the first to touch it.
pub fn set_up_crypto() {
    crypto::keep_until_exit();
}

/// How every connection to a cache is made; OpenSSL is set up first, before SQLCipher can be
/// the first to touch it (`crypto.rs`: a test that opened a cache its own way aborted at exit).
fn connect_options(path: &Path, key: &Secret) -> StoreResult<SqliteConnectOptions> {
    crypto::keep_until_exit();
    Ok(SqliteConnectOptions::from_str("sqlite://")
        .map_err(StoreError::from)?
        .filename(path)
        .create_if_missing(true)
        .pragma("key", format!("\"x'{}'\"", key.expose()))
        // SQLCipher wipes every freed buffer by default; the key and pages are already in
        // this process's memory, and the wiping halves write throughput.
        .pragma("cipher_memory_security", "OFF")
        .pragma("cache_size", WRITER_CACHE_KIB)
        .pragma("temp_store", "MEMORY")
        // Checkpoints run in the background (see `checkpoint`), not inside a commit.
        .pragma("wal_autocheckpoint", "0")
        // The WAL grows with a burst of writes (a cold sync: tens of MiB) and is reused from its
        // start after a checkpoint, at its largest size for good; cut back to this then.
        .pragma("journal_size_limit", WAL_KEPT_BYTES)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        // sqlx logs a statement slower than a second with its text, and the first statement of
        // every connection is `PRAGMA key = "x'…'"`: a connect that waits on a lock would write
        // the cache's key to the log.
        .disable_statement_logging())
}

/// sqlx 0.8's `Pool::close` can return with a connection still open (launchbadge/sqlx#3217,
/// fixed after 0.8.6): one whose query had just ended is handed back by a spawned task, which
/// may look at the pool before the close and put the connection back in the idle queue after
/// the close's last look. A closed pool opens no new connection, so closing again until none is
/// left ends; a process that then exits cannot race a connection's SQLCipher teardown.
async fn close_every_connection(pool: &SqlitePool) {
    pool.close().await;
    while pool.size() > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
        pool.close().await;
    }
}

/// Pool options with no background maintenance task. sqlx 0.8.6 runs one whenever a pool has an
/// idle timeout, a maximum lifetime (both on by default) or a minimum size, and it can spin a
/// thread at 100% CPU for good (launchbadge/sqlx#3645, fixed after 0.8.6): its idle count can
/// wrap below zero while a connection is handed back, and its sweep loops that many times without
/// yielding. An app open for days keeps its few connections instead.
fn pool_options() -> SqlitePoolOptions {
    SqlitePoolOptions::new()
        .min_connections(0)
        .idle_timeout(None)
        .max_lifetime(None)
}

/// Keys of the `meta` table.
pub mod meta {
    pub const LAST_SEQ: &str = "last_seq";
    pub const LAST_SYNC_AT: &str = "last_sync_at";
    pub const SERVER_HEAD: &str = "server_head";
    /// When the event at `LAST_SEQ` was, to the second; empty after a rebuild from snapshots.
    pub const LAST_EVENT_AT: &str = "last_event_at";
    /// The version of the app that last read the cache (`store::upgrade`).
    pub const READ_BY_VERSION: &str = "read_by_version";
}

/// Sets `key` of the cache's meta table on `conn` (within a write's transaction, or alone).
pub(super) async fn set_meta_in(
    conn: &mut sqlx::SqliteConnection,
    key: &str,
    value: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES (?, ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

/// A fresh random cache key: 32 bytes as 64 hex digits.
pub fn new_cache_key() -> Secret {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    Secret::new(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod agent_counts_tests;

#[cfg(test)]
mod fuzz;

#[cfg(test)]
mod messages_tests;

#[cfg(test)]
mod search_index_tests;

#[cfg(test)]
mod disk_full_tests;

#[cfg(test)]
mod outbox_tests;

#[cfg(test)]
mod migration_tests;
