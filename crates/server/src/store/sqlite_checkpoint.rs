//! Folding the WAL into the database file, on the checkpointer's connection and the sweeper's
//! timer, so that no commit waits for a checkpoint's fsync.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::SqliteStore;
use crate::store::{Checkpoint, StoreResult};

/// The WAL file is cut back to this size after a checkpoint that emptied it.
pub(super) const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;
/// A WAL of this many pages (16 MiB of 4 KiB pages) is emptied even while commits come in.
pub const WAL_RESTART_FRAMES: i64 = 4096;
/// How long a checkpoint that empties the WAL waits for readers on an older snapshot before it
/// gives up until the next one. Writes wait while it does (SQLite holds them back, and it holds
/// the writers' turn), so this bounds what a write (an emergency stop) can wait behind it; with
/// 10 s, a long read used to fail a write behind it with "database is locked".
pub(super) const CHECKPOINT_PATIENCE: Duration = Duration::from_millis(200);

impl SqliteStore {
    /// A PASSIVE checkpoint while writes come in (it never waits for them); a TRUNCATE one
    /// once no commit happened since the last checkpoint, or when the WAL outgrew
    /// [`WAL_RESTART_FRAMES`]: under a steady stream of commits a PASSIVE checkpoint never
    /// catches the WAL's end, so SQLite never starts it over and the file grows without bound.
    /// TRUNCATE takes the writers' turn first, so it never races this server's own writer for
    /// SQLite's write lock and its patience ([`CHECKPOINT_PATIENCE`]) covers readers only;
    /// writes wait for it that long at most, and while it copies what PASSIVE has not.
    pub(super) async fn checkpoint_now(&self) -> StoreResult<Checkpoint> {
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
