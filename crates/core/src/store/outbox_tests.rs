//! The outbox and the outcomes as processes sharing one cache, and builds of other versions,
//! leave them.

use chrono::Utc;

use super::tests::store;
use super::QueuedAction;
use crate::{Outcome, OutcomeResult};

fn stop() -> QueuedAction {
    QueuedAction::StopProject {
        project_id: "prj_1".into(),
        project_name: "Spring Sale".into(),
        reason: "Wrong audience list".into(),
    }
}

fn outcome(action: &str) -> Outcome {
    Outcome {
        at: Utc::now(),
        result: OutcomeResult::Delivered,
        action: action.into(),
        message: format!("{action} delivered."),
        approval_id: None,
        project_id: Some("prj_1".into()),
    }
}

async fn count(pool: &sqlx::SqlitePool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .expect("counts")
}

/// The app and the CLI both sent the same stop (under its one key); the second to settle it
/// finds it gone and keeps no second outcome.
#[tokio::test]
async fn an_action_settled_by_another_process_keeps_one_outcome() {
    let (store, _dir) = store().await;
    let entry = store
        .enqueue(stop().prepare(Utc::now()))
        .await
        .expect("queues");
    let said = outcome(&entry.label);
    for _process in ["the CLI", "the app"] {
        store
            .outbox_taken_unread(&entry, &said)
            .await
            .expect("settles");
    }
    assert_eq!(store.outcomes(10).await.expect("outcomes"), [said]);
}

/// The cache does not grow for ever with what a person no longer reads: the newest 1,000
/// outcomes are kept, and the newest 1,000 events this build could not read.
#[tokio::test]
async fn outcomes_and_unreadable_events_are_kept_to_the_newest_thousand() {
    let (store, _dir) = store().await;
    let writer = store.writer_for_tests();
    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) \
         INSERT INTO outcomes (at, data) SELECT '2026-12-01T00:00:00Z', json_object('old', i) FROM n",
    )
    .execute(writer)
    .await
    .expect("many old outcomes");
    let entry = store
        .enqueue(stop().prepare(Utc::now()))
        .await
        .expect("queues");
    let newest = outcome(&entry.label);
    store
        .outbox_taken_unread(&entry, &newest)
        .await
        .expect("settles");
    assert_eq!(
        count(writer, "outcomes").await,
        super::outbox::OUTCOMES_KEPT
    );
    assert_eq!(store.outcomes(1).await.expect("outcomes"), [newest]);

    sqlx::query(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200) \
         INSERT INTO rejected_events (seq, kind, error, raw) SELECT i, 'budget.rebalanced', 'unknown', '{}' FROM n",
    )
    .execute(writer)
    .await
    .expect("many old unread events");
    sqlx::query("INSERT INTO meta (key, value) VALUES ('last_seq', '1200')")
        .execute(writer)
        .await
        .expect("up to there");
    let unread = spartex_api::Event {
        seq: 1201,
        kind: "budget.rebalanced".into(),
        at: Utc::now(),
        project_id: None,
        data: serde_json::json!({"anything": true}),
    };
    let batch = store.apply_events(&[unread]).await.expect("applies");
    assert_eq!(batch.rejected, 1);
    assert_eq!(
        count(writer, "rejected_events").await,
        super::apply::UNREADABLE_KEPT
    );
    let newest: i64 = sqlx::query_scalar("SELECT max(seq) FROM rejected_events")
        .fetch_one(writer)
        .await
        .expect("reads");
    assert_eq!(newest, 1201);
}

/// The WAL, grown by a burst of writes, is cut back once checkpointed, on every connection.
#[tokio::test]
async fn the_wal_is_cut_back_after_a_checkpoint() {
    let (store, _dir) = store().await;
    for pool in [store.writer_for_tests(), &store.reader] {
        let limit: i64 = sqlx::query_scalar("PRAGMA journal_size_limit")
            .fetch_one(pool)
            .await
            .expect("reads");
        assert_eq!(limit, 16 * 1024 * 1024);
    }
}
