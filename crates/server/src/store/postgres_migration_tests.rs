//! Migrations held to keeping the rows of a database a server before them left, as the SQLite
//! store's are (`sqlite_migration_tests.rs`).

use sqlx::{Connection, PgConnection, PgPool};

use super::super::PostgresStore;
use super::TestDatabase;
use crate::store::conformance::migrations::older_than;

/// `devices` made unique per organisation and to name its sign-in.
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
    bool,
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

async fn devices(db: impl sqlx::PgExecutor<'_>) -> Vec<DeviceRow> {
    sqlx::query_as(&format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY id"))
        .fetch_all(db)
        .await
        .expect("the devices read")
}

async fn pushes(db: impl sqlx::PgExecutor<'_>) -> Vec<PushRow> {
    sqlx::query_as(&format!(
        "SELECT {PUSH_COLUMNS} FROM push_queue ORDER BY id"
    ))
    .fetch_all(db)
    .await
    .expect("the queued pushes read")
}

/// Queues a push for `device` under `key`, answering its id.
async fn queue(db: impl sqlx::PgExecutor<'_>, device: &str, key: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO push_queue (tenant_id, device_id, collapse_key, payload, urgent, \
         expires_at_ms, attempts, next_attempt_at_ms, version, committed_at_ms) \
         VALUES ('ten_1', $1, $2, '{\"body\":\"b\"}', true, 9000, 2, 5000, 3, 1000) RETURNING id",
    )
    .bind(device)
    .bind(key)
    .fetch_one(db)
    .await
    .expect("a push is queued")
}

async fn register(db: &PgPool, id: &str, tenant: &str, user: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO devices (id, tenant_id, user_id, platform, address, registration, created_at) \
         VALUES ($1, $2, $3, 'fcm', 'token-1', '{\"platform\":\"fcm\",\"push_token\":\"token-1\"}', \
         '2026-12-13T09:00:00Z')",
    )
    .bind(id)
    .bind(tenant)
    .bind(user)
    .execute(db)
    .await
    .map(drop)
}

#[tokio::test]
async fn devices_by_session_keeps_every_device_and_queued_push() {
    let (database, options) = TestDatabase::create().await;
    let mut conn = PgConnection::connect_with(&options)
        .await
        .expect("the database opens");
    older_than(&sqlx::migrate!("./migrations/postgres"), DEVICES_BY_SESSION)
        .await
        .run(&mut conn)
        .await
        .expect("the older migrations run");
    sqlx::raw_sql(
        "INSERT INTO tenants (id, name, slug) VALUES ('ten_1', 'Acme', 'acme'), \
           ('ten_2', 'Globex', 'globex'); \
         INSERT INTO users (id, tenant_id, email, name, role, password_hash) VALUES \
           ('usr_1', 'ten_1', 'dana@acme.test', 'Dana', 'oncall', 'x'), \
           ('usr_2', 'ten_2', 'sam@globex.test', 'Sam', 'oncall', 'x'); \
         INSERT INTO devices (id, tenant_id, user_id, platform, address, registration, \
           created_at, last_push_at, last_error, seen_at) VALUES ('dev_1', 'ten_1', 'usr_1', \
           'fcm', 'token-1', '{\"platform\":\"fcm\",\"push_token\":\"token-1\"}', \
           '2026-12-13T09:00:00Z', '2026-12-13T10:00:00Z', 'UNAVAILABLE', \
           '2026-12-13T11:00:00Z');",
    )
    .execute(&mut conn)
    .await
    .expect("rows of the older shape");
    for key in ["approval:apr_1", "approval:apr_2", "agent:agt_1"] {
        queue(&mut conn, "dev_1", key).await;
    }
    let sent = queue(&mut conn, "dev_1", "approval:apr_3").await;
    sqlx::query("DELETE FROM push_queue WHERE id = $1")
        .bind(sent)
        .execute(&mut conn)
        .await
        .expect("the sent push goes");
    let devices_before = devices(&mut conn).await;
    let pushes_before = pushes(&mut conn).await;
    assert_eq!((devices_before.len(), pushes_before.len()), (1, 3));
    conn.close().await.expect("the database closes");

    // The server's own start runs the rest.
    let store = PostgresStore::connect(options)
        .await
        .expect("the store migrates");
    let db = store.pool();
    assert_eq!(devices(db).await, devices_before);
    assert_eq!(pushes(db).await, pushes_before);
    let sessions: Vec<Option<String>> = sqlx::query_scalar("SELECT session_id FROM devices")
        .fetch_all(db)
        .await
        .expect("the sessions read");
    assert_eq!(sessions, [None], "a device from before names no sign-in");
    assert_eq!(queue(db, "dev_1", "approval:apr_4").await, sent + 1);

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
    sqlx::raw_sql(
        "INSERT INTO sessions (id, tenant_id, user_id, created_at_ms) \
           VALUES ('ses_1', 'ten_2', 'usr_2', 0); \
         UPDATE devices SET session_id = 'ses_1' WHERE id = 'dev_2'; \
         DELETE FROM sessions WHERE id = 'ses_1'; \
         DELETE FROM devices WHERE id = 'dev_1';",
    )
    .execute(db)
    .await
    .expect("a sign-in and a device end");
    assert_eq!(devices(db).await, []);
    assert_eq!(pushes(db).await, []);
    drop(store);
    drop(database);
}
