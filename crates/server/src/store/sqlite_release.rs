//! A writer connection is never handed out again while it holds a transaction nobody can end.
//!
//! sqlx 0.8.6's SQLite worker runs a `BEGIN` on its own thread and sends the answer back; when
//! the caller's future is dropped after the answer was sent but before it was read (a client
//! that hangs up mid-request cancels its handler), no `Transaction` exists to roll it back, and
//! the connection goes back to the pool inside that transaction. Every later `begin` on it then
//! fails (`InvalidSavePointStatement`): with one writer connection, every write of the server
//! would answer 500 until a restart (reproduced by `pools::a_begin_cancelled_at_any_moment_
//! leaves_the_writer_usable`, which failed within 100 rounds before this; upstream:
//! sqlx#3932). PostgreSQL's `begin` has a hole of the same kind (sqlx#4385), closed the other
//! way, since its pool serves reads too and a check on every release would cost each read a
//! round trip: its writes begin in a task of their own (`postgres_tx::begin_uncancelled`).

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
                "the writer was left inside a transaction (a write cancelled as it began, or a \
                 rollback that failed, as after a full disk); its connection is closed, not reused"
            );
        }
        Ok(!left_open)
    })
}
