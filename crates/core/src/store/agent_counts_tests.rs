//! The dashboard's agent counts, kept by triggers (`migrations/20261206000000_agent_counts.sql`),
//! always equal counting the agents themselves: after any stream of agent upserts (new agents,
//! status changes, moves between projects, stale versions, replays), a resync, and the upgrade
//! of a cache written before the counts existed.

use proptest::prelude::*;
use serde_json::json;
use spartex_api::Event;
use sqlx::SqlitePool;

use super::tests::store as open;
use super::Snapshot;

const STATUSES: [&str; 6] = [
    "idle",
    "working",
    "waiting_approval",
    "stopping",
    "stopped",
    "error",
];

fn agent(id: usize, project: usize, status: usize, version: i64) -> serde_json::Value {
    json!({"id": format!("agt_{id}"), "project_id": format!("prj_{project}"), "name": "Quill",
        "role": "Copywriter", "model": "gpt-5", "status": STATUSES[status], "current_task_id": null,
        "last_heartbeat_at": null, "tokens_used": 1, "cost_usd": 0.1, "version": version})
}

type Counts = Vec<(String, i64, i64, i64, i64, i64)>;

/// Per project with agents: total, working, waiting, stopped (or stopping), error.
async fn kept(pool: &SqlitePool) -> Counts {
    sqlx::query_as(
        "SELECT project_id, total, working, waiting, stopped, error FROM agent_counts \
         WHERE total > 0 ORDER BY project_id",
    )
    .fetch_all(pool)
    .await
    .expect("the kept counts")
}

async fn counted(pool: &SqlitePool) -> Counts {
    sqlx::query_as(
        "SELECT project_id, COUNT(*), SUM(status = 'working'), SUM(status = 'waiting_approval'), \
         SUM(status IN ('stopped', 'stopping')), SUM(status = 'error') \
         FROM agents GROUP BY project_id ORDER BY project_id",
    )
    .fetch_all(pool)
    .await
    .expect("the agents counted")
}

fn events(stream: &[(usize, usize, usize, i64)]) -> Vec<Event> {
    stream
        .iter()
        .enumerate()
        .map(|(i, &(id, project, status, version))| Event {
            seq: i as i64 + 1,
            kind: "agent.upserted".into(),
            at: chrono::Utc::now(),
            project_id: Some(format!("prj_{project}")),
            data: agent(id, project, status, version),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Few agents, projects and versions, so that the stream is full of moves, status changes
    /// and stale or repeated versions.
    #[test]
    fn the_kept_counts_equal_the_agents_counted(
        stream in prop::collection::vec((0usize..8, 0usize..3, 0usize..6, 1i64..6), 1..80),
        split in 1usize..20,
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let (store, _dir) = open().await;
            let events = events(&stream);
            for chunk in events.chunks(split) {
                store.apply_events(chunk).await.expect("applies");
                store.apply_events(chunk).await.expect("replays");
                assert_eq!(kept(&store.reader).await, counted(&store.reader).await);
            }
        });
    }
}

#[tokio::test]
async fn a_resync_leaves_the_counts_of_the_snapshot_alone() {
    let (store, _dir) = open().await;
    store
        .apply_events(&events(&[(1, 0, 1, 1), (2, 0, 5, 1), (3, 1, 2, 1)]))
        .await
        .expect("applies");
    let snapshot = Snapshot {
        agents: [(2, 1, 4, 7), (4, 2, 1, 1)]
            .into_iter()
            .map(|(id, project, status, version)| {
                serde_json::from_value(agent(id, project, status, version)).expect("an agent")
            })
            .collect(),
        ..Snapshot::default()
    };
    store
        .replace_with_snapshot(snapshot, 10)
        .await
        .expect("resyncs");
    assert_eq!(
        kept(&store.reader).await,
        [
            ("prj_1".to_owned(), 1, 0, 0, 1, 0),
            ("prj_2".to_owned(), 1, 1, 0, 0, 0)
        ]
    );
}

#[tokio::test]
async fn a_cache_written_before_the_counts_gets_them_on_upgrade() {
    let (store, _dir) = open().await;
    store
        .apply_events(&events(&[
            (1, 0, 1, 1),
            (2, 0, 1, 1),
            (3, 0, 3, 1),
            (4, 1, 2, 1),
        ]))
        .await
        .expect("applies");
    sqlx::raw_sql(
        "DROP TRIGGER agent_counts_insert; DROP TRIGGER agent_counts_delete; \
         DROP TRIGGER agent_counts_update; DROP TABLE agent_counts;",
    )
    .execute(&store.writer)
    .await
    .expect("the cache as an older build left it");
    sqlx::raw_sql(include_str!(
        "../../migrations/20261206000000_agent_counts.sql"
    ))
    .execute(&store.writer)
    .await
    .expect("the upgrade counts them");
    assert_eq!(
        kept(&store.reader).await,
        [
            ("prj_0".to_owned(), 3, 2, 0, 1, 0),
            ("prj_1".to_owned(), 1, 0, 1, 0, 0)
        ]
    );
    store
        .apply_events(&[Event {
            seq: 5,
            ..events(&[(4, 0, 5, 2)]).remove(0)
        }])
        .await
        .expect("applies");
    assert_eq!(kept(&store.reader).await, counted(&store.reader).await);
}
