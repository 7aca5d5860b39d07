//! Pruning the event log past retention, as the sweep does every minute:
//! `cargo bench -p spartex-server --bench prune` (prints a table).
//!
//! One tenant's log of 1,000,000 events (300-byte payloads) on a SQLite file, of which each round
//! finds the next 1,000 past retention: a minute's worth for a busy tenant. Side by side in one
//! run, alternated: `prune_log` (each tenant's log read forward from its floor, in batches)
//! against the two statements it replaced (the tenant's whole log scanned for its newest event
//! past retention, then every event of every tenant checked against its tenant's floor), both
//! under the write lock every write waits behind. `SPARTEX_BENCH_EVENTS` changes the log's size.

use std::time::Instant;

use spartex_server::store::{prune_log, SqliteStore};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

const ROUNDS: i64 = 6;
const PER_ROUND: i64 = 1_000;

#[tokio::main]
async fn main() {
    let events: i64 = std::env::var("SPARTEX_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("prune.db");
    let store = SqliteStore::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("the store opens");
    let mut raw = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&path)
            .busy_timeout(std::time::Duration::from_secs(30)),
    )
    .await
    .expect("a second connection");
    fill(&mut raw, events).await;

    println!("pruning {PER_ROUND} events of a {events}-event log, per round (ms)");
    println!("| round | statements replaced | prune_log |");
    println!("|---|---|---|");
    let mut floor = 0;
    // Events are 1 s apart from t = 1 s: each cut-off takes the next PER_ROUND.
    let mut next_cut_off = || {
        floor += PER_ROUND;
        (floor + 1) * 1000
    };
    for round in 1..=ROUNDS {
        let started = Instant::now();
        replaced_statements(&mut raw, next_cut_off()).await;
        let replaced = started.elapsed();
        let started = Instant::now();
        let pruned = prune_log(&store, next_cut_off(), 10_000)
            .await
            .expect("prunes");
        let now = started.elapsed();
        assert_eq!(pruned, u64::try_from(PER_ROUND).expect("small"));
        println!(
            "| {round} | {:.1} | {:.1} |",
            replaced.as_secs_f64() * 1e3,
            now.as_secs_f64() * 1e3
        );
    }
}

async fn fill(raw: &mut SqliteConnection, events: i64) {
    sqlx::query("INSERT INTO tenants (id, name, slug) VALUES ('ten_1', 'Acme', 'acme')")
        .execute(&mut *raw)
        .await
        .expect("a tenant");
    sqlx::query(
        "WITH RECURSIVE n(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM n WHERE seq < ?) \
         INSERT INTO events (tenant_id, seq, kind, at, at_ms, project_id, data) \
         SELECT 'ten_1', seq, 'cost.recorded', '2026-12-01T00:00:00Z', seq * 1000, 'prj_1', \
                printf('{\"seq\":%d,\"padding\":\"%s\"}', seq, hex(zeroblob(140))) FROM n",
    )
    .bind(events)
    .execute(&mut *raw)
    .await
    .expect("the log");
}

/// What pruning ran before: the newest old event found by scanning the tenant's log,
/// then the delete checking every event against its tenant's floor.
async fn replaced_statements(raw: &mut SqliteConnection, older_than_ms: i64) {
    let mut tx = raw.begin().await.expect("begins");
    sqlx::query(
        "UPDATE tenants SET log_floor = MAX(log_floor, COALESCE( \
           (SELECT MAX(seq) FROM events WHERE events.tenant_id = tenants.id AND at_ms < ?), log_floor))",
    )
    .bind(older_than_ms)
    .execute(&mut *tx)
    .await
    .expect("floor raised");
    sqlx::query(
        "DELETE FROM events WHERE seq <= (SELECT log_floor FROM tenants WHERE tenants.id = events.tenant_id)",
    )
    .execute(&mut *tx)
    .await
    .expect("deleted");
    tx.commit().await.expect("commits");
}
