//! Migrations that build a table again (SQLite changes a constraint no other way), held to
//! keeping every row of a database a server before them left.

use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection, SqlitePool};

use super::SqliteStore;
use crate::store::conformance::migrations::older_than;

/// `devices` built again to be unique per organisation and to name its sign-in, and
/// `push_queue` with it.
const DEVICES_BY_SESSION: i64 = 20261214000000;

type DeviceRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);
type PushRow = (
    i64,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
);

const DEVICE_COLUMNS: &str = "id, tenant_id, user_id, platform, address, registration, \
     created_at, last_push_at, last_error, seen_at";
const PUSH_COLUMNS: &str = "id, tenant_id, device_id, collapse_key, payload, urgent, \
     expires_at_ms, attempts, next_attempt_at_ms, version, committed_at_ms";

async fn devices(pool: impl sqlx::SqliteExecutor<'_>) -> Vec<DeviceRow> {
    sqlx::query_as(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY id"))
        .fetch_all(pool)
        .await
        .expect("the devices read")
}

async fn pushes(pool: impl sqlx::SqliteExecutor<'_>) -> Vec<PushRow> {
    sqlx::query_as(&format!(
        "SELECT {PUSH_COLUMNS} FROM push_queue ORDER BY id"
    ))
    .fetch_all(pool)
    .await
    .expect("the queued pushes read")
}

/// Queues a push for `device` under `key`, answering its id.
async fn queue(pool: impl sqlx::SqliteExecutor<'_>, device: &str, key: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO push_queue (tenant_id, device_id, collapse_key, payload, urgent, \
         expires_at_ms, attempts, next_attempt_at_ms, version, committed_at_ms) \
         VALUES ('ten_1', ?, ?, '{\"body\":\"b\"}', 1, 9000, 2, 5000, 3, 1000) RETURNING id",
    )
    .bind(device)
    .bind(key)
    .fetch_one(pool)
    .await
    .expect("a push is queued")
}

async fn register(
    pool: impl sqlx::SqliteExecutor<'_>,
    id: &str,
    tenant: &str,
    user: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO devices (id, tenant_id, user_id, platform, address, registration, created_at) \
         VALUES (?, ?, ?, 'fcm', 'token-1', '{\"platform\":\"fcm\",\"push_token\":\"token-1\"}', \
         '2026-12-13T09:00:00Z')",
    )
    .bind(id)
    .bind(tenant)
    .bind(user)
    .execute(pool)
    .await
    .map(drop)
}

/// A database a server before [`DEVICES_BY_SESSION`] left, holding a device and its queued
/// pushes (one of them already sent, so the id sequence is above the highest id left).
async fn filled_before_devices_by_session(url: &str) -> (Vec<DeviceRow>, Vec<PushRow>, i64) {
    let options = SqliteConnectOptions::from_str(url)
        .expect("a SQLite URL")
        .create_if_missing(true)
        .foreign_keys(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .expect("the database opens");
    older_than(&sqlx::migrate!("./migrations/sqlite"), DEVICES_BY_SESSION)
        .await
        .run(&mut conn)
        .await
        .expect("the older migrations run");
    for statement in [
        "INSERT INTO tenants (id, name, slug) VALUES ('ten_1', 'Acme', 'acme'), \
         ('ten_2', 'Globex', 'globex')",
        "INSERT INTO users (id, tenant_id, email, name, role, password_hash) VALUES \
         ('usr_1', 'ten_1', 'dana@acme.test', 'Dana', 'oncall', 'x'), \
         ('usr_2', 'ten_2', 'sam@globex.test', 'Sam', 'oncall', 'x')",
        "INSERT INTO devices (id, tenant_id, user_id, platform, address, registration, \
         created_at, last_push_at, last_error, seen_at) VALUES ('dev_1', 'ten_1', 'usr_1', \
         'fcm', 'token-1', '{\"platform\":\"fcm\",\"push_token\":\"token-1\"}', \
         '2026-12-13T09:00:00Z', '2026-12-13T10:00:00Z', 'UNAVAILABLE', '2026-12-13T11:00:00Z')",
    ] {
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .expect("a row of the older shape");
    }
    for key in ["approval:apr_1", "approval:apr_2", "agent:agt_1"] {
        queue(&mut conn, "dev_1", key).await;
    }
    let sent = queue(&mut conn, "dev_1", "approval:apr_3").await;
    sqlx::query("DELETE FROM push_queue WHERE id = ?")
        .bind(sent)
        .execute(&mut conn)
        .await
        .expect("the sent push goes");
    let kept = (devices(&mut conn).await, pushes(&mut conn).await, sent);
    conn.close().await.expect("the database closes");
    kept
}

async fn names(pool: &SqlitePool, sql: &str) -> Vec<String> {
    sqlx::query_scalar(sql)
        .fetch_all(pool)
        .await
        .expect("the schema reads")
}

#[tokio::test]
async fn devices_by_session_keeps_every_device_and_queued_push() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let (devices_before, pushes_before, last_id) = filled_before_devices_by_session(&url).await;
    assert_eq!(devices_before.len(), 1);
    assert_eq!(pushes_before.len(), 3);

    // The server's own start runs the rest, foreign keys on.
    let store = SqliteStore::open(&url).await.expect("the store migrates");
    let db = &store.writer;
    assert_eq!(devices(db).await, devices_before);
    assert_eq!(pushes(db).await, pushes_before);
    let sessions: Vec<Option<String>> = sqlx::query_scalar("SELECT session_id FROM devices")
        .fetch_all(db)
        .await
        .expect("the sessions read");
    assert_eq!(sessions, [None], "a device from before names no sign-in");

    // Ids go on after the highest ever given, not the highest left.
    assert_eq!(queue(db, "dev_1", "approval:apr_4").await, last_id + 1);

    let broken: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(db)
        .await
        .expect("the foreign keys are checked");
    assert!(broken.is_empty(), "{broken:?}");
    assert_eq!(
        names(
            db,
            "SELECT \"table\" FROM pragma_foreign_key_list('push_queue')"
        )
        .await,
        ["devices"],
        "the queue refers to the renamed table"
    );
    let mut indexes = names(
        db,
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('devices', 'push_queue')",
    )
    .await;
    indexes.sort();
    assert_eq!(
        indexes,
        ["devices_by_session", "devices_by_user", "push_queue_due"]
    );

    // One install is one device per organisation: another organisation's registration of the
    // same address sits beside it; the same organisation's is refused.
    register(db, "dev_2", "ten_2", "usr_2")
        .await
        .expect("another organisation registers the address");
    let again = register(db, "dev_3", "ten_1", "usr_1").await;
    assert!(
        again
            .as_ref()
            .err()
            .and_then(|e| e.as_database_error())
            .is_some_and(|e| e.is_unique_violation()),
        "{again:?}"
    );

    // A device of a sign-in ends with it; removing a device takes its queued pushes.
    for statement in [
        "INSERT INTO sessions (id, tenant_id, user_id, created_at_ms) \
         VALUES ('ses_1', 'ten_2', 'usr_2', 0)",
        "UPDATE devices SET session_id = 'ses_1' WHERE id = 'dev_2'",
        "DELETE FROM sessions WHERE id = 'ses_1'",
        "DELETE FROM devices WHERE id = 'dev_1'",
    ] {
        sqlx::query(statement)
            .execute(db)
            .await
            .expect("a sign-in and a device end");
    }
    assert_eq!(devices(db).await, []);
    assert_eq!(pushes(db).await, []);
}

/// The dispatcher forgets settled requests from this migration on, and it forgets those
/// settled before.
const FORGET_SETTLED_REQUESTS: i64 = 20261215000000;

#[tokio::test]
async fn forgetting_settled_requests_keeps_every_other_remembered_state() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    let options = SqliteConnectOptions::from_str(&url)
        .expect("a SQLite URL")
        .create_if_missing(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .expect("the database opens");
    older_than(
        &sqlx::migrate!("./migrations/sqlite"),
        FORGET_SETTLED_REQUESTS,
    )
    .await
    .run(&mut conn)
    .await
    .expect("the older migrations run");
    sqlx::query(
        "INSERT INTO push_states (tenant_id, resource_id, state) VALUES \
         ('ten_1', 'apr_pending', 'pending@1+ack'), ('ten_1', 'apr_approved', 'approved'), \
         ('ten_1', 'apr_rejected', 'rejected'), ('ten_2', 'apr_expired', 'expired'), \
         ('ten_2', 'apr_cancelled', 'cancelled'), ('ten_1', 'agt_1', 'error'), \
         ('ten_1', 'stp_1', 'completed'), ('ten_1', 'prj_1', 'warning')",
    )
    .execute(&mut conn)
    .await
    .expect("remembered states of the older server");
    conn.close().await.expect("the database closes");

    let store = SqliteStore::open(&url).await.expect("the store migrates");
    let left = names(
        &store.writer,
        "SELECT resource_id FROM push_states ORDER BY resource_id",
    )
    .await;
    assert_eq!(left, ["agt_1", "apr_pending", "prj_1", "stp_1"]);
}
