//! The cache's writer connection is never handed out again while it holds a transaction
//! nobody can end.
//!
//! sqlx 0.8.6's SQLite worker runs a `BEGIN` on its own thread and sends the answer back; when
//! the caller's future is dropped after the answer was sent but before it was read (a task
//! aborted at sign-out or shutdown), no `Transaction` exists to roll it back, and the
//! connection goes back to the pool inside that transaction. Every later write then fails
//! (`InvalidSavePointStatement`): the app would stop taking in events and decisions until it
//! restarts (upstream: sqlx#3932). The reference server guards its writer the same way (its
//! `sqlite_release.rs`).

use futures_util::future::BoxFuture;
use sqlx::pool::PoolConnectionMetadata;
use sqlx::{Connection, SqliteConnection};

/// For `PoolOptions::after_release`: keeps the connection unless it is still inside a
/// transaction once the rollbacks queued by dropped `Transaction`s have run (the ping runs
/// after them). Closing it ends the transaction; the pool opens a fresh connection.
pub(super) fn close_if_left_in_transaction(
    conn: &mut SqliteConnection,
    _: PoolConnectionMetadata,
) -> BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        conn.ping().await?;
        let left_open = conn.is_in_transaction();
        if left_open {
            tracing::warn!(
                "the cache's writer was left inside a transaction (a write cancelled as it \
                 began, or a rollback that failed); its connection is closed, not reused"
            );
        }
        Ok(!left_open)
    })
}
