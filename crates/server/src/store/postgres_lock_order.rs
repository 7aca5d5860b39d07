//! Lock order on PostgreSQL: transactions that take the same rows take them in one order, so
//! one waits for the other instead of both waiting for each other until the database ends one
//! (`40P01`, which a request answered 500). Each story sets up the interleaving that deadlocked:
//! one side holds its first lock, the other starts and waits, then the first goes on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::super::PostgresStore;
use super::TestDatabase;
use crate::store::push::{Advance, NewPush};
use crate::store::{Store, WriteScope};

/// A tenant, a person and their phone `dev_x`, with a push already queued for it.
const SETUP: &str = "\
    INSERT INTO tenants (id, name, slug) VALUES ('ten_one', 'One', 'one'); \
    INSERT INTO users (id, tenant_id, email, name, role, password_hash) \
      VALUES ('usr_one', 'ten_one', 'one@example.test', 'One', 'oncall', 'hash'); \
    INSERT INTO devices (id, tenant_id, user_id, platform, address, registration, created_at) \
      VALUES ('dev_x', 'ten_one', 'usr_one', 'fcm', 'token-x', '{}', '2026-01-01T00:00:00Z'); \
    INSERT INTO push_queue (tenant_id, device_id, collapse_key, payload, urgent, \
      expires_at_ms, next_attempt_at_ms, committed_at_ms) \
      VALUES ('ten_one', 'dev_x', 'approval:1', '{}', true, 10000000, 0, 0); \
    INSERT INTO sessions (id, tenant_id, user_id, created_at_ms) \
      VALUES ('ses_old', 'ten_one', 'usr_one', 0); \
    INSERT INTO refresh_tokens (token_hash, session_id, expires_at_ms) \
      VALUES ('expired', 'ses_old', 1000);";

async fn set_up() -> (TestDatabase, PgConnectOptions, PgConnection) {
    let (database, options) = TestDatabase::create().await;
    // Migrates the new database.
    drop(
        PostgresStore::connect(options.clone())
            .await
            .expect("opens"),
    );
    let mut admin = PgConnection::connect_with(&options)
        .await
        .expect("connects");
    sqlx::raw_sql(SETUP)
        .execute(&mut admin)
        .await
        .expect("set up");
    (database, options, admin)
}

/// Returns once a transaction on this database waits for a lock another holds.
async fn until_one_waits(admin: &mut PgConnection) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE NOT l.granted AND a.datname = current_database()",
        )
        .fetch_one(&mut *admin)
        .await
        .expect("reads the locks");
        if waiting > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "nothing came to wait");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn push_for(collapse_key: &str) -> NewPush {
    NewPush {
        device_id: "dev_x".into(),
        collapse_key: collapse_key.into(),
        payload: "{}".into(),
        urgent: true,
        expires_at_ms: 10_000_000,
        committed_at_ms: 1_000,
        not_before_ms: None,
    }
}

/// The dispatcher queues a batch (one push replacing the one queued, one new) for a phone its
/// person is removing: the removal holds the device's row and then deletes its queued pushes.
/// Queueing took the queued push first and then the device (the new push's foreign-key
/// check), and the database ended one of the two.
#[tokio::test]
async fn queueing_pushes_waits_for_a_device_being_removed() {
    let (database, options, mut admin) = set_up().await;
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(options.clone())
            .await
            .expect("opens"),
    );
    let mut removing = PgConnection::connect_with(&options)
        .await
        .expect("connects");
    let mut removal = removing.begin().await.expect("begins");
    sqlx::query("SELECT 1 FROM devices WHERE id = 'dev_x' FOR UPDATE")
        .execute(&mut *removal)
        .await
        .expect("the device's row");

    let queueing = tokio::spawn({
        let store = store.clone();
        async move {
            let batch = Advance {
                from: 0,
                to: 1,
                states: Vec::new(),
                forget: Vec::new(),
                pushes: vec![push_for("approval:1"), push_for("approval:2")],
            };
            store.push().advance("ten_one", &batch, 0).await
        }
    });
    until_one_waits(&mut admin).await;
    sqlx::query("DELETE FROM devices WHERE id = 'dev_x'")
        .execute(&mut *removal)
        .await
        .expect("the device and its queued pushes are removed");
    removal.commit().await.expect("the removal commits");

    let queued = queueing.await.expect("did not panic");
    assert!(
        queued.expect("the batch commits after the removal"),
        "the cursor moved"
    );
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM push_queue")
        .fetch_one(&mut admin)
        .await
        .expect("reads");
    assert_eq!(left, 0, "a removed device takes no push");
    drop((store, database));
}

/// A sign-in past a person's limit ends their least recently used session, then forgets its
/// refresh tokens, in the server-wide writes' turn. Pruning, on another instance, took expired
/// tokens and then their session, outside that turn: each waited for the other.
#[tokio::test]
async fn pruning_sessions_waits_for_a_sign_in_ending_one() {
    let (database, options, mut admin) = set_up().await;
    let signing_in = PostgresStore::connect(options.clone())
        .await
        .expect("opens");
    let pruning: Arc<dyn Store> = Arc::new(PostgresStore::connect(options).await.expect("opens"));

    let mut sign_in = signing_in.begin(WriteScope::Server).await.expect("begins");
    sign_in
        .revoke_session("ses_old", 5_000)
        .await
        .expect("the session ends");
    let prune = tokio::spawn({
        let pruning = pruning.clone();
        async move { pruning.prune_sessions(5_000).await }
    });
    until_one_waits(&mut admin).await;
    sign_in
        .forget_refresh_tokens("ses_old")
        .await
        .expect("its tokens are forgotten");
    drop(sign_in.commit().await.expect("the sign-in commits"));

    prune
        .await
        .expect("did not panic")
        .expect("pruning goes on once the sign-in is done");
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions")
        .fetch_one(&mut admin)
        .await
        .expect("reads");
    assert_eq!(sessions, 0, "the session without tokens is pruned");
    drop((signing_in, pruning, database));
}
