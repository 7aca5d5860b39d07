//! After the app is updated: what the version before could not read is read again.
//!
//! A version older than its server keeps the events it cannot read (a kind it does not know)
//! in `rejected_events`, and a value it does not know (a new risk, a new status) as `unknown`
//! in the resource. The first sync of a newer version rebuilds the cache from snapshots when a
//! resource holds an `unknown` (the only place the value it stood for is still told), and
//! applies the set-aside events it can now read. An older version than the last to read the
//! cache (the CLI not updated yet, beside an updated app) changes nothing: it could not do
//! better, and two versions taking turns must not rebuild the cache at every turn.

use std::cmp::Ordering;

use spartex_api::{Event, EventKind};

use super::apply::{read_message, write_batch, Grouped};
use super::{messages, meta, set_meta_in, Store, StoreResult};
use crate::Change;

/// This build's version, recorded as the cache's reader.
const THIS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where the resources keep the values an older version may have written as `unknown`.
const OPEN_VALUES: &str = "SELECT \
    EXISTS (SELECT 1 FROM projects WHERE json_extract(data, '$.status') = 'unknown') \
    OR EXISTS (SELECT 1 FROM agents WHERE json_extract(data, '$.status') = 'unknown') \
    OR EXISTS (SELECT 1 FROM tasks WHERE json_extract(data, '$.status') = 'unknown') \
    OR EXISTS (SELECT 1 FROM approvals WHERE 'unknown' IN (json_extract(data, '$.risk'), \
        json_extract(data, '$.status'), json_extract(data, '$.on_expiry'))) \
    OR EXISTS (SELECT 1 FROM stops WHERE 'unknown' IN (json_extract(data, '$.status'), \
        json_extract(data, '$.scope')))";

/// The kinds fresh snapshots carry: after a rebuild, their set-aside events are older than it.
const SNAPSHOT_KINDS: [EventKind; 5] = [
    EventKind::ProjectUpserted,
    EventKind::AgentUpserted,
    EventKind::TaskUpserted,
    EventKind::ApprovalUpserted,
    EventKind::StopUpserted,
];

/// `a` against `b`, both `major.minor.patch` (a part that is not a number counts as 0).
fn compare_versions(a: &str, b: &str) -> Ordering {
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '+'])
            .take(3)
            .map(|part| part.parse().unwrap_or(0))
            .collect()
    };
    parts(a).cmp(&parts(b))
}

impl Store {
    /// True when this version is newer than the last to read the cache (or none recorded it):
    /// it may read what that one could not.
    pub async fn newer_than_its_last_reader(&self) -> StoreResult<bool> {
        Ok(match self.meta(meta::READ_BY_VERSION).await? {
            None => true,
            Some(last) => compare_versions(THIS_VERSION, &last) == Ordering::Greater,
        })
    }

    /// Whether a resource holds a value an older version kept as `unknown`.
    pub async fn holds_unknown_values(&self) -> StoreResult<bool> {
        Ok(sqlx::query_scalar(OPEN_VALUES)
            .fetch_one(&self.reader)
            .await?)
    }

    /// Applies the set-aside events this version reads, forgets them, and records this version
    /// as the cache's reader. After a rebuild from snapshots (`rebuilt`), the resources' own
    /// events are older than what the snapshots brought and are only forgotten; costs, chat
    /// and kinds the snapshots do not carry are applied (a message the cache has is not
    /// applied twice). The changes applied are returned to be published.
    pub async fn read_by_this_version(&self, rebuilt: bool) -> StoreResult<Vec<Change>> {
        let mut tx = self.begin_write().await?;
        let kept: Vec<(i64, String)> =
            sqlx::query_as("SELECT seq, raw FROM rejected_events ORDER BY seq")
                .fetch_all(&mut *tx)
                .await?;
        let mut read = Vec::new();
        let mut grouped = Grouped::default();
        let mut received = Vec::new();
        for (seq, raw) in kept {
            let Ok(event) = serde_json::from_str::<Event>(&raw) else {
                continue; // not even an envelope: kept for a version that reads it
            };
            if event.kind == EventKind::MessageCreated.as_str() {
                let Ok(message) = read_message(&event) else {
                    continue;
                };
                let held: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM messages WHERE id = ?)")
                        .bind(&message.id)
                        .fetch_one(&mut *tx)
                        .await?;
                if !held {
                    received.push(message);
                }
            } else {
                let Ok(payload) = event.payload() else {
                    continue;
                };
                if !(rebuilt && SNAPSHOT_KINDS.contains(&payload.kind())) {
                    grouped.add(seq, payload);
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
        set_meta_in(&mut tx, meta::READ_BY_VERSION, THIS_VERSION).await?;
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

        assert!(store.newer_than_its_last_reader().await.expect("meta"));
        let changes = store.read_by_this_version(false).await.expect("reads");
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
        assert!(!store.newer_than_its_last_reader().await.expect("meta"));
        assert!(
            store
                .read_by_this_version(false)
                .await
                .expect("again")
                .is_empty(),
            "applied once"
        );
    }

    #[tokio::test]
    async fn after_a_rebuild_only_what_snapshots_do_not_carry_is_applied_and_chat_once() {
        let (store, _dir) = store().await;
        let message = |seq: i64| {
            event(
                seq,
                "message.created",
                json!({"id": "msg_1", "project_id": "prj_1", "agent_id": null,
                    "author_kind": "agent", "author_id": null, "author_name": "Quill",
                    "body": "hi", "created_at": "2026-11-28T10:00:00Z", "client_msg_id": null}),
            )
        };
        store.apply_events(&[message(1)]).await.expect("chat");
        for (seq, kept) in [
            (2, approval_event(2, 1, ApprovalStatus::Pending)),
            (3, message(3)),
        ] {
            sqlx::query(
                "INSERT INTO rejected_events (seq, kind, error, raw) VALUES (?, ?, 'x', ?)",
            )
            .bind(seq)
            .bind(&kept.kind)
            .bind(serde_json::to_string(&kept).expect("json"))
            .execute(&store.writer)
            .await
            .expect("kept");
        }
        let changes = store.read_by_this_version(true).await.expect("reads");
        assert!(
            changes.is_empty(),
            "the snapshots' and the held message: {changes:?}"
        );
        assert!(store.approval("apr_1").await.expect("reads").is_none());
        assert_eq!(store.unreadable_event_count().await.expect("count"), 0);
    }

    #[tokio::test]
    async fn an_older_version_than_the_last_reader_changes_nothing() {
        let (store, _dir) = store().await;
        store.as_if_read_by("999.0.0").await;
        assert!(!store.newer_than_its_last_reader().await.expect("meta"));
        store.as_if_read_by(super::THIS_VERSION).await;
        assert!(!store.newer_than_its_last_reader().await.expect("meta"));
        store.as_if_read_by("0.0.9").await;
        assert!(store.newer_than_its_last_reader().await.expect("meta"));
        assert_eq!(
            super::compare_versions("0.10.0", "0.9.3"),
            std::cmp::Ordering::Greater,
            "by number, not by text"
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
        let mut titled = approval_event(2, 2, ApprovalStatus::Pending);
        titled.data["title"] = json!("unknown");
        store.apply_events(&[titled]).await.expect("applies");
        assert!(
            !store.holds_unknown_values().await.expect("reads"),
            "a title that says unknown is not a value kept as unknown"
        );
    }
}
