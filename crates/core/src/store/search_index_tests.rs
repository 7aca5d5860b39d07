//! The search index, written as each write transaction commits (`write_tx.rs` and
//! `migrations/20261206000001_search_index_at_commit.sql`), always matches the rows: after any
//! mix of inserts, text changes, deletes and rowids reused within or across transactions, a
//! transaction rolled back, and the upgrade of a cache whose rows were indexed row by row.

use proptest::prelude::*;
use spartex_api::Event;
use sqlx::{SqliteConnection, SqlitePool};

use super::tests::{cache_migrated_before, store as open};
use super::{new_cache_key, Snapshot, Store};

/// No word is part of another, so `LIKE` finds exactly the rows `MATCH` should.
const WORDS: [&str; 5] = ["linen", "wool", "denim", "cotton", "silk"];

const SEARCHED: [&str; 4] = ["projects", "tasks", "approvals", "messages"];
/// `SEARCHED`'s tasks and messages, which the tests below name.
const TASKS: usize = 1;
const MESSAGES: usize = 3;

#[derive(Debug, Clone)]
enum Op {
    /// A row of `SEARCHED[table]` written the way the cache writes it: projects, tasks and
    /// approvals upserted when `version` is newer (the text changes only with `word`), a message
    /// inserted once (a second copy of its id changes nothing).
    Write {
        table: usize,
        id: usize,
        word: usize,
        version: i64,
    },
    /// One row deleted: a resource gone, a local message replaced by the server's copy.
    Delete { table: usize, id: usize },
    /// Every row deleted, as a resync does before it writes the snapshot.
    DeleteAll { table: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0usize..4, 0usize..5, 0usize..5, 1i64..4)
            .prop_map(|(table, id, word, version)| Op::Write { table, id, word, version }),
        3 => (0usize..4, 0usize..5).prop_map(|(table, id)| Op::Delete { table, id }),
        1 => (0usize..4).prop_map(|table| Op::DeleteAll { table }),
    ]
}

/// The columns each table requires besides id, version, title, body and data.
fn required_columns(table: &str) -> &'static str {
    match table {
        "projects" => "name, status, updated_at",
        "tasks" => "project_id, status, updated_at",
        _ => "project_id, status, expires_at",
    }
}

async fn run(conn: &mut SqliteConnection, op: &Op) {
    let result = match *op {
        Op::Write {
            table: MESSAGES,
            id,
            word,
            ..
        } => {
            sqlx::query(
                "INSERT OR IGNORE INTO messages (id, project_id, created_at, title, body) \
                 VALUES (?1, 'prj_1', '', 'Quill', ?2)",
            )
            .bind(id.to_string())
            .bind(message_body(word))
            .execute(conn)
            .await
        }
        Op::Write {
            table,
            id,
            word,
            version,
        } => {
            let table = SEARCHED[table];
            sqlx::query(&format!(
                "INSERT INTO {table} (id, version, title, body, data, {}) \
                 VALUES (?1, ?2, ?3, 'for the spring launch', '{{}}', 'x', 'x', 'x') \
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version, title = excluded.title \
                 WHERE excluded.version > {table}.version",
                required_columns(table)
            ))
            .bind(id.to_string())
            .bind(version)
            .bind(format!("Write the {} ad set", WORDS[word]))
            .execute(conn)
            .await
        }
        Op::Delete { table, id } => {
            sqlx::query(&format!("DELETE FROM {} WHERE id = ?1", SEARCHED[table]))
                .bind(id.to_string())
                .execute(conn)
                .await
        }
        Op::DeleteAll { table } => {
            sqlx::query(&format!("DELETE FROM {}", SEARCHED[table]))
                .execute(conn)
                .await
        }
    };
    result.expect("the write");
}

/// Fails unless the index holds exactly the rows' text (FTS5's check against its content table)
/// and every word finds exactly the rows that hold it; and nothing waits in a queue.
async fn assert_index_matches_rows(pool: &SqlitePool) {
    for table in SEARCHED {
        sqlx::query(&format!(
            "INSERT INTO {table}_fts ({table}_fts, rank) VALUES ('integrity-check', 1)"
        ))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{table}: the index does not match its rows: {e}"));
        let queued: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}_fts_queue"))
            .fetch_one(pool)
            .await
            .expect("the queue");
        assert_eq!(queued, 0, "{table}: rows left in the queue after a commit");
        for word in WORDS {
            let found: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT rowid FROM {table}_fts WHERE {table}_fts MATCH ?1 ORDER BY rowid"
            ))
            .bind(word)
            .fetch_all(pool)
            .await
            .expect("searches");
            let held: Vec<i64> = sqlx::query_scalar(&format!(
                "SELECT rowid FROM {table} WHERE title || ' ' || body LIKE '%' || ?1 || '%' ORDER BY rowid"
            ))
            .bind(word)
            .fetch_all(pool)
            .await
            .expect("the rows");
            assert_eq!(
                found, held,
                "{table}: `{word}` finds other rows than hold it"
            );
        }
    }
}

fn task(id: usize, word: usize, version: i64) -> Op {
    Op::Write {
        table: TASKS,
        id,
        word,
        version,
    }
}

fn message_body(word: usize) -> String {
    format!("Drafted three hooks for the {} launch", WORDS[word])
}

fn message(id: usize, word: usize) -> Op {
    Op::Write {
        table: MESSAGES,
        id,
        word,
        version: 1,
    }
}

/// How many search hits `word` has, as the app's search box gets them.
async fn hits(store: &Store, word: &str) -> usize {
    store.search(word, 10).await.expect("searches").len()
}

async fn commit_all(store: &Store, transactions: &[Vec<Op>]) {
    for ops in transactions {
        let mut tx = store.begin_write().await.expect("begins");
        for op in ops {
            run(&mut tx, op).await;
        }
        tx.commit().await.expect("commits");
        assert_index_matches_rows(&store.reader).await;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Few ids and words, so that rows are changed, deleted and their rowids reused, both in the
    /// transaction that indexed them and in later ones.
    #[test]
    fn after_every_commit_search_finds_exactly_the_rows_that_hold_a_word(
        transactions in prop::collection::vec(prop::collection::vec(op(), 0..12), 1..8),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let (store, _dir) = open().await;
            commit_all(&store, &transactions).await;
        });
    }
}

#[tokio::test]
async fn a_transaction_rolled_back_leaves_neither_rows_nor_index_behind() {
    let (store, _dir) = open().await;
    commit_all(&store, &[vec![task(1, 0, 1)]]).await;
    {
        let mut tx = store.begin_write().await.expect("begins");
        run(&mut tx, &task(1, 1, 2)).await;
        run(&mut tx, &message(1, 2)).await;
        // Dropped without a commit: a failed apply.
    }
    // On the writer, which would see a queue the rollback left behind.
    assert_index_matches_rows(&store.writer).await;
    assert_eq!(hits(&store, "linen").await, 1);
    assert_eq!(hits(&store, "wool").await, 0);
    commit_all(
        &store,
        &[vec![Op::Delete {
            table: TASKS,
            id: 1,
        }]],
    )
    .await;
    assert_eq!(hits(&store, "linen").await, 0);
}

#[tokio::test]
async fn rows_indexed_before_the_upgrade_are_found_changed_and_forgotten_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    let older = cache_migrated_before(&path, &key, 20261206000001).await;
    {
        let mut conn = older.acquire().await.expect("a connection");
        for op in [task(1, 0, 1), task(2, 1, 1)] {
            run(&mut conn, &op).await;
        }
        for (id, word) in [(1, 2), (2, 3)] {
            sqlx::query(
                "INSERT INTO messages (id, project_id, created_at, title, body, data) \
                 VALUES (?1, 'prj_1', '', 'Quill', ?2, '{}')",
            )
            .bind(id.to_string())
            .bind(message_body(word))
            .execute(&mut *conn)
            .await
            .expect("a message as the older build wrote it");
        }
    }
    older.close().await;

    let store = Store::open(&path, &key).await.expect("upgrades");
    assert_index_matches_rows(&store.reader).await;
    assert_eq!(hits(&store, "denim").await, 1);
    commit_all(
        &store,
        &[vec![
            task(1, 4, 2),
            Op::Delete {
                table: TASKS,
                id: 2,
            },
            Op::Delete {
                table: MESSAGES,
                id: 2,
            },
            message(3, 0),
        ]],
    )
    .await;
    assert_eq!(hits(&store, "wool").await, 0);
    assert_eq!(hits(&store, "cotton").await, 0);
    assert_eq!(hits(&store, "silk").await, 1);
    assert_eq!(hits(&store, "linen").await, 1);
}

#[tokio::test]
async fn a_resync_indexes_the_snapshot_in_place_of_what_it_replaced() {
    let (store, _dir) = open().await;
    let task_json = |id: &str, title: &str, version: i64| {
        serde_json::json!({"id": id, "project_id": "prj_1", "agent_id": null, "title": title,
            "status": "running", "progress": 10, "updated_at": chrono::Utc::now(), "version": version})
    };
    store
        .apply_events(&[1, 2].map(|seq| Event {
            seq,
            kind: "task.upserted".into(),
            at: chrono::Utc::now(),
            project_id: Some("prj_1".into()),
            data: task_json(&format!("tsk_{seq}"), "Write the linen ad set", 1),
        }))
        .await
        .expect("applies");
    let snapshot = Snapshot {
        tasks: [
            ("tsk_2", "Write the wool ad set"),
            ("tsk_3", "Shoot the denim lookbook"),
        ]
        .into_iter()
        .map(|(id, title)| serde_json::from_value(task_json(id, title, 2)).expect("a task"))
        .collect(),
        ..Snapshot::default()
    };
    store
        .replace_with_snapshot(snapshot, 10)
        .await
        .expect("resyncs");
    assert_index_matches_rows(&store.reader).await;
    assert_eq!(hits(&store, "linen").await, 0);
    assert_eq!(hits(&store, "wool").await, 1);
    assert_eq!(hits(&store, "denim").await, 1);
}
