//! After the app is updated: what the version before could not read is read again.
//!
//! A version older than its server keeps the events it cannot read (a kind it does not know)
//! in `rejected_events`, and a value it does not know (a new risk, a new status) as `unknown`
//! in the resource. The first catch-up of another version applies the events it can now read
//! and, when some resource holds an `unknown`, rebuilds the cache from snapshots, the only
//! place the value it stood for is still told.

use spartex_api::{Event, EventKind};

use super::apply::{read_message, write_batch, Grouped};
use super::{messages, meta, Store, StoreResult};
use crate::Change;

/// This build's version, recorded as the cache's reader.
const THIS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The resource tables whose rows are the wire JSON, where `unknown` is kept as written.
const RESOURCE_TABLES: [&str; 5] = ["projects", "agents", "tasks", "approvals", "stops"];

impl Store {
    /// True until this version has read the cache once (another version, or none, did last).
    pub async fn read_by_another_version(&self) -> StoreResult<bool> {
        Ok(self.meta(meta::READ_BY_VERSION).await?.as_deref() != Some(THIS_VERSION))
    }

    /// Whether a resource holds a value an older version kept as `unknown`. A string field
    /// that is just "unknown" (a title) also counts: it costs one rebuild after an update.
    pub async fn holds_unknown_values(&self) -> StoreResult<bool> {
        for table in RESOURCE_TABLES {
            let found: bool = sqlx::query_scalar(&format!(
                "SELECT EXISTS (SELECT 1 FROM {table} WHERE data LIKE '%\"unknown\"%')"
            ))
            .fetch_one(&self.reader)
            .await?;
            if found {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Applies the set-aside events this version reads (each resource's `version` keeps the
    /// newest, so an old event changes nothing newer), forgets them, and records this version
    /// as the cache's reader. The changes applied are returned to be published.
    pub async fn read_by_this_version(&self) -> StoreResult<Vec<Change>> {
        let mut tx = self.begin_write().await?;
        let kept: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, raw FROM rejected_events ORDER BY seq")
                .fetch_all(&mut *tx)
                .await?;
        let mut read = Vec::new();
        let mut grouped = Grouped::default();
        let mut received = Vec::new();
        for (seq, raw) in kept {
            let Some(event) = readable_event(&raw) else {
                continue;
            };
            if event.kind == EventKind::MessageCreated.as_str() {
                match read_message(&event) {
                    Ok(message) => received.push(message),
                    Err(_) => continue,
                }
            } else {
                match event.payload() {
                    Ok(payload) => grouped.add(seq, payload),
                    Err(_) => continue,
                }
            }
            read.push(seq);
        }
        let inserted = messages::insert_received(&mut tx, received.into_iter(), || false).await?;
        let changes = write_batch(&mut tx, grouped, inserted).await?;
        for seq in &read {
            sqlx::query("DELETE FROM rejected_events WHERE seq = ?")
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES (?, ?) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(meta::READ_BY_VERSION)
        .bind(THIS_VERSION)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if !read.is_empty() {
            tracing::info!(
                events = read.len(),
                "read the events an older version could not"
            );
        }
        Ok(changes)
    }
}

/// A kept event, as the version that kept it wrote it; `None` when even its envelope is not
/// one (such an event stands in for one whose seq alone could be read).
fn readable_event(raw: &str) -> Option<Event> {
    serde_json::from_str(raw).ok()
}

/// Makes the cache look as if an older version had read it: for tests of an update.
#[cfg(test)]
impl Store {
    pub(crate) async fn as_if_read_by(&self, version: &str) {
        self.set_meta(meta::READ_BY_VERSION, version)
            .await
            .expect("meta is written");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use spartex_api::{ApprovalStatus, Risk};

    use super::super::tests::{approval_event, event, store};
    use crate::Change;

    #[tokio::test]
    async fn another_version_applies_what_the_last_set_aside_and_keeps_what_it_cannot_read() {
        let (store, _dir) = store().await;
        store
            .apply_events(&[event(1, "budget.rebalanced", json!({"by": 3}))])
            .await
            .expect("kept unread");
        // What an older version, which did not know approvals yet, set aside.
        let readable =
            serde_json::to_string(&approval_event(2, 1, ApprovalStatus::Pending)).expect("json");
        sqlx::query(
            "INSERT INTO rejected_events (seq, kind, error, raw) VALUES (2, 'approval.upserted', 'unknown', ?)",
        )
        .bind(readable)
        .execute(&store.writer)
        .await
        .expect("kept");
        store.as_if_read_by("0.0.1").await;

        assert!(store.read_by_another_version().await.expect("meta"));
        let changes = store.read_by_this_version().await.expect("reads");
        assert!(
            matches!(changes.as_slice(), [Change::Approval { after, .. }] if after.id == "apr_1"),
            "{changes:?}"
        );
        assert!(store.approval("apr_1").await.expect("reads").is_some());
        assert_eq!(
            store.unreadable_event_count().await.expect("count"),
            1,
            "the kind this version does not know either is still kept"
        );
        assert!(!store.read_by_another_version().await.expect("meta"));
        assert!(
            store
                .read_by_this_version()
                .await
                .expect("again")
                .is_empty(),
            "applied once"
        );
    }

    #[tokio::test]
    async fn a_value_kept_as_unknown_is_found() {
        let (store, _dir) = store().await;
        assert!(!store.holds_unknown_values().await.expect("reads"));
        let mut approval = approval_event(1, 1, ApprovalStatus::Pending);
        approval.data["risk"] = json!("catastrophic");
        store.apply_events(&[approval]).await.expect("applies");
        let kept = store.approval("apr_1").await.expect("reads").expect("kept");
        assert_eq!(kept.approval.risk, Risk::Unknown);
        assert!(store.holds_unknown_values().await.expect("reads"));
    }
}
