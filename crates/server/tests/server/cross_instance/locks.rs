//! Requests that wait on the database: a deadlock is run again, not a 500; server-wide writes
//! queued behind another instance's leave the pool to other requests; a statement that runs
//! too long is stopped.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use spartex_server::store::WriteScope;
use sqlx::{Connection, PgConnection};

use super::two_instances;
use crate::support::{project_id, TestServer, SPRING};

/// The first half of a tenant's write-turn lock (`postgres_tx::TENANT_WRITES_LOCKS`, "SPTT").
const TENANT_WRITES_LOCKS: i32 = 0x5350_5454;

/// Returns once a transaction on the server's database waits for a lock another holds.
pub(super) async fn until_one_waits(server: &TestServer) {
    let mut admin = PgConnection::connect(server.database_url())
        .await
        .expect("connects");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
             WHERE NOT l.granted AND a.datname = current_database()",
        )
        .fetch_one(&mut admin)
        .await
        .expect("reads the locks");
        if waiting > 0 {
            return;
        }
        assert!(Instant::now() < deadline, "nothing came to wait");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A message's write holds its tenant's turn and waits for the tenant's row, which another
/// transaction holds and which then asks for that turn: PostgreSQL ends the write to break the
/// deadlock. The write runs again from its start once the other is done, and the message is
/// kept once, where the request answered 500.
#[tokio::test]
async fn a_write_the_database_ends_in_a_deadlock_is_run_again() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let spring = project_id(&oncall, SPRING).await;
    let tenant = server.tenant_of("oncall@acme.test").await;
    let mut other = PgConnection::connect(server.database_url())
        .await
        .expect("connects");
    // The write is the one that notices the deadlock and is ended (it waited first).
    sqlx::query("SET deadlock_timeout = '20s'")
        .execute(&mut other)
        .await
        .expect("set");
    let mut other = other.begin().await.expect("begins");
    sqlx::query("SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE")
        .bind(&tenant)
        .execute(&mut *other)
        .await
        .expect("the tenant's row");

    let path = format!("/api/v1/projects/{spring}/messages");
    let posting = tokio::spawn({
        let oncall = oncall.clone();
        let path = path.clone();
        async move {
            oncall
                .post_with_key(&path, json!({"body": "once"}), "deadlocked-once")
                .await
        }
    });
    until_one_waits(&server).await;
    sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(TENANT_WRITES_LOCKS)
        .bind(&tenant)
        .execute(&mut *other)
        .await
        .expect("granted once the write is ended");
    other.rollback().await.expect("ends");

    let (status, body) = posting.await.expect("did not panic");
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let messages = oncall.get_ok(&path).await;
    let kept = messages
        .as_array()
        .expect("a list")
        .iter()
        .filter(|m| m["body"] == "once")
        .count();
    assert_eq!(kept, 1, "{messages}");
}

/// After an outage every app refreshes at once. Another instance holds the server-wide turn
/// (a sign-in); the refreshes queued here behind it wait in this process, one of them on the
/// database, and every other request still gets a connection at once, where the refreshes
/// held all 16 of the pool and other requests waited 10 s for one (then 503).
#[tokio::test]
async fn refreshes_queued_behind_another_instance_leave_the_pool_to_other_requests() {
    const REFRESHES: usize = 24;
    let (a, b) = two_instances().await;
    let oncall = a.login("oncall@acme.test").await;
    let pair = a.login_pair("manager@acme.test").await;
    let refresh = json!({"refresh_token": pair["refresh_token"]});

    let held = b
        .state()
        .store
        .begin(WriteScope::Server)
        .await
        .expect("B's sign-in begins");
    let mut refreshing = tokio::task::JoinSet::new();
    for _ in 0..REFRESHES {
        let anonymous = a.anonymous();
        let refresh = refresh.clone();
        refreshing.spawn(async move { anonymous.post("/api/v1/auth/refresh", refresh).await });
    }
    until_one_waits(&a).await;
    // The rest queue behind the first meanwhile.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let asked = Instant::now();
    let (status, body) = oncall.get("/api/v1/projects").await;
    let waited = asked.elapsed();
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        waited < Duration::from_secs(3),
        "a read waited {waited:?} for a connection"
    );

    drop(held);
    for (status, body) in refreshing.join_all().await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// A read the database takes too long over (here, one waiting for a table another
/// transaction holds) is stopped at the statement timeout and answered 503 saying so, where
/// it held a pooled connection for as long as it ran (up to the 10 s lock timeout here).
#[tokio::test]
async fn a_read_past_the_statement_timeout_is_stopped_and_answered_503() {
    let server = TestServer::start_with(|settings| {
        settings.statement_timeout = Duration::from_secs(1);
    })
    .await;
    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let mut other = PgConnection::connect(server.database_url())
        .await
        .expect("connects");
    let mut other = other.begin().await.expect("begins");
    sqlx::query("LOCK TABLE cost_records IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *other)
        .await
        .expect("the table");

    let metrics = format!("/api/v1/projects/{spring}/metrics");
    let asked = Instant::now();
    let (status, body) = manager.get(&metrics).await;
    let waited = asked.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(body["error"]["details"]["retry_after_s"], 30);
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("took too long"), "{message}");
    assert!(waited < Duration::from_secs(5), "answered after {waited:?}");

    other.rollback().await.expect("ends");
    let (status, body) = manager.get(&metrics).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// A write reads what it needs (the organisation's people, their phones, who is connected)
/// inside its own transaction. With one connection of the pool left, setting the escalation
/// policy and asking an approval it covers succeed, where each write held that connection
/// and waited 10 s for a second to read through (503): sixteen such writes at once, one per
/// organisation, held the whole pool, each waiting for another.
#[tokio::test]
async fn a_write_reads_inside_its_own_transaction_not_through_the_pool() {
    const POOL_CONNECTIONS: usize = 16;
    let server = TestServer::builder().demo_oncall().start().await;
    let manager = server.login("manager@acme.test").await;
    let quill = server.agent("Quill");
    let mut held = Vec::new();
    for n in 1..POOL_CONNECTIONS {
        let busy = format!("ten_busy_{n}");
        held.push(
            server
                .state()
                .store
                .begin(WriteScope::Tenant(&busy))
                .await
                .expect("a write holds one of the pool's connections"),
        );
    }

    let (status, policy) = manager
        .put(
            "/api/v1/escalation-policy",
            json!({
                "applies_to": ["critical"],
                "levels": [{"after_s": 0, "targets": ["oncall_now", "role:manager"]}],
                "repeat": 0,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    let approval = quill
        .ask("Publish the spring hero ad", "critical", 3600)
        .await;
    assert!(
        !approval["escalation"]["notified"]
            .as_array()
            .expect("a trail")
            .is_empty(),
        "level 1 was told: {approval}"
    );
    drop(held);
}
