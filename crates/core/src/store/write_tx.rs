//! The cache's write transaction, which brings the search index up to date as it commits.
//!
//! Triggers note each row whose indexed text changed in a queue per search table (see the
//! migration `20261206000001_search_index_at_commit.sql`); [`WriteTx::commit`] indexes them in
//! one statement at the end, so FTS5 writes one index segment per table per transaction instead
//! of one per statement. Every write to a searched table goes through a [`WriteTx`], so nothing
//! committed is ever missing from search.

use std::ops::{Deref, DerefMut};

use sqlx::{Sqlite, SqliteConnection, Transaction};

use super::StoreResult;

/// A `BEGIN IMMEDIATE` transaction on the cache's writer.
pub(crate) struct WriteTx(Transaction<'static, Sqlite>);

impl WriteTx {
    pub(super) fn new(tx: Transaction<'static, Sqlite>) -> Self {
        Self(tx)
    }

    /// Indexes what the transaction changed, then commits both together.
    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        index_queued(&mut self.0).await?;
        self.0.commit().await?;
        Ok(())
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.0
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.0
    }
}

/// Indexes every row queued since the last commit, in one statement (the migration's
/// `index_fts_queues` view and its triggers). The queues are tables: a write made outside a
/// `WriteTx` would be indexed at the next commit, not lost.
async fn index_queued(conn: &mut SqliteConnection) -> StoreResult<()> {
    sqlx::query("INSERT INTO index_fts_queues VALUES (NULL)")
        .execute(conn)
        .await?;
    Ok(())
}
