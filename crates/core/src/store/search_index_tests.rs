//! The search index, written as each write transaction commits (`write_tx.rs` and
//! `migrations/20261206000001_search_index_at_commit.sql`), always matches the rows: after any
//! mix of inserts, text changes, deletes and rowids reused within or across transactions, a
//! transaction rolled back, and the upgrade of a cache whose rows were indexed row by row.

use proptest::prelude::*;
use sqlx::migrate::Migrator;
use sqlx::{SqliteConnection, SqlitePool};

use super::tests::store as open;
use super::{connect_options, new_cache_key, pool_options, Store};

/// No word is part of another, so `LIKE` finds exactly the rows `MATCH` should.
const WORDS: [&str; 5] = ["linen", "wool", "denim", "cotton", "silk"];

#[derive(Debug, Clone)]
enum Op {
    /// A task upserted (inserted, or its title changed) the way `upsert` writes it.
    UpsertTask {
        id: usize,
        word: usize,
    },
    /// A message kept the way `apply` writes it: a second copy of an id changes nothing.
    InsertMessage {
        id: usize,
        word: usize,
    },
    DeleteTask {
        id: usize,
    },
    /// A local message replaced by the server's copy, as the outbox does.
    DeleteMessage {
        id: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0usize..5, 0usize..5).prop_map(|(id, word)| Op::UpsertTask { id, word }),
        (0usize..5, 0usize..5).prop_map(|(id, word)| Op::InsertMessage { id, word }),
        (0usize..5).prop_map(|id| Op::DeleteTask { id }),
        (0usize..5).prop_map(|id| Op::DeleteMessage { id }),
    ]
}

async fn run(conn: &mut SqliteConnection, op: &Op) {
    let result = match *op {
        Op::UpsertTask { id, word } => sqlx::query(
            "INSERT INTO tasks (id, project_id, version, status, updated_at, title, body, data) \
             VALUES (?1, 'prj_1', 1, 'running', '', ?2, 'for the spring launch', '{}') \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body",
        )
        .bind(format!("tsk_{id}"))
        .bind(format!("Write the {} ad set", WORDS[word])),
        Op::InsertMessage { id, word } => sqlx::query(
            "INSERT OR IGNORE INTO messages (id, project_id, created_at, title, body, data) \
             VALUES (?1, 'prj_1', '', 'Quill', ?2, '{}')",
        )
        .bind(format!("msg_{id}"))
        .bind(format!(
            "Drafted three hooks for the {} launch",
            WORDS[word]
        )),
        Op::DeleteTask { id } => {
            sqlx::query("DELETE FROM tasks WHERE id = ?1").bind(format!("tsk_{id}"))
        }
        Op::DeleteMessage { id } => {
            sqlx::query("DELETE FROM messages WHERE id = ?1").bind(format!("msg_{id}"))
        }
    }
    .execute(conn)
    .await;
    result.expect("the write");
}

/// Fails unless the index holds exactly the rows' text (FTS5's check against its content table)
/// and every word finds exactly the rows that hold it; and nothing waits in a queue.
async fn assert_index_matches_rows(pool: &SqlitePool) {
    for table in ["projects", "tasks", "approvals", "messages"] {
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
    }
    for table in ["tasks", "messages"] {
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
    commit_all(&store, &[vec![Op::UpsertTask { id: 1, word: 0 }]]).await;
    {
        let mut tx = store.begin_write().await.expect("begins");
        run(&mut tx, &Op::UpsertTask { id: 1, word: 1 }).await;
        run(&mut tx, &Op::InsertMessage { id: 1, word: 2 }).await;
        // Dropped without a commit: a failed apply.
    }
    assert_index_matches_rows(&store.reader).await;
    assert_eq!(store.search("linen", 10).await.expect("searches").len(), 1);
    assert!(store.search("wool", 10).await.expect("searches").is_empty());
    commit_all(&store, &[vec![Op::DeleteTask { id: 1 }]]).await;
    assert!(store
        .search("linen", 10)
        .await
        .expect("searches")
        .is_empty());
}

#[tokio::test]
async fn rows_indexed_before_the_upgrade_are_found_changed_and_forgotten_after_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    let all = sqlx::migrate!("./migrations");
    let before = Migrator {
        migrations: all
            .iter()
            .filter(|m| m.version < 20261206000001)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..Migrator::DEFAULT
    };
    let older = pool_options()
        .max_connections(1)
        .connect_with(connect_options(&path, &key).expect("options"))
        .await
        .expect("opens");
    before.run(&older).await.expect("the older build's schema");
    {
        let mut conn = older.acquire().await.expect("a connection");
        for op in [
            Op::UpsertTask { id: 1, word: 0 },
            Op::UpsertTask { id: 2, word: 1 },
            Op::InsertMessage { id: 1, word: 2 },
            Op::InsertMessage { id: 2, word: 3 },
        ] {
            run(&mut conn, &op).await;
        }
    }
    older.close().await;

    let store = Store::open(&path, &key).await.expect("upgrades");
    assert_index_matches_rows(&store.reader).await;
    assert_eq!(store.search("denim", 10).await.expect("searches").len(), 1);
    commit_all(
        &store,
        &[vec![
            Op::UpsertTask { id: 1, word: 4 },
            Op::DeleteTask { id: 2 },
            Op::DeleteMessage { id: 2 },
            Op::InsertMessage { id: 3, word: 0 },
        ]],
    )
    .await;
    assert!(store.search("wool", 10).await.expect("searches").is_empty());
    assert!(store
        .search("cotton", 10)
        .await
        .expect("searches")
        .is_empty());
    assert_eq!(store.search("silk", 10).await.expect("searches").len(), 1);
    assert_eq!(store.search("linen", 10).await.expect("searches").len(), 1);
}
