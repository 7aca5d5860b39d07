//! The database over a long run: the WAL is folded back and emptied, and one damaged row
//! never takes down a listing or the emergency stop.

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_server::store::{DocKind, Document, WriteScope};

use crate::support::{lift_people_quota, project_id, TestServer, PATIENCE, SPRING};

fn file_size(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[tokio::test]
async fn checkpoints_move_the_wal_into_the_database_and_empty_it_when_idle() {
    let server = TestServer::start_with(lift_people_quota).await;
    let oncall = server.login("oncall@acme.test").await;
    let spring = project_id(&oncall, SPRING).await;
    for n in 0..200 {
        let (status, _) = oncall
            .post(
                &format!("/api/v1/projects/{spring}/messages"),
                json!({"body": format!("note {n}: {}", "x".repeat(500)), "client_msg_id": format!("m-{n}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let db = server.database_path();
    let wal = db.with_file_name("server.db-wal");
    let store = &server.state().store;
    // The push dispatcher records how far it has read the log: once it has caught up, the
    // database is idle.
    spartex_testkit::eventually("the push dispatcher catches up", PATIENCE, async || {
        store
            .push()
            .backlog()
            .await
            .expect("read")
            .is_empty()
            .then_some(())
    })
    .await;
    let busy = store.checkpoint().await.expect("a checkpoint succeeds");
    assert_eq!(
        busy.moved_frames, busy.wal_frames,
        "every committed frame reaches the database: {busy:?}"
    );
    let idle = store.checkpoint().await.expect("a checkpoint succeeds");
    assert!(
        idle.truncated,
        "an idle database gets its WAL emptied: {idle:?}"
    );
    assert_eq!(file_size(&wal), 0, "the WAL file is cut back");
    assert!(
        file_size(&db) > 200 * 500,
        "the messages live in the database file ({} bytes)",
        file_size(&db)
    );
}

/// A chat message of the store's own shape, the `n`th of its test.
fn message_doc(id: &str, n: usize, body: &str) -> Document {
    Document {
        kind: DocKind::Message,
        id: id.to_owned(),
        project_id: None,
        status: None,
        sort_key: format!("{n:08}"),
        due_at_ms: None,
        lookup_key: None,
        data: json!({ "id": id, "body": body }),
    }
}

/// 4 MB of the writer's 16 kB messages.
const COMMITS_PER_CHECKPOINT: usize = 256;

#[tokio::test]
async fn a_steady_stream_of_commits_cannot_grow_the_wal_without_bound() {
    let server = TestServer::start().await;
    let viewer = server.login("viewer@acme.test").await;
    let (_, me) = viewer.get("/api/v1/me").await;
    let tenant_id = me["tenant"]["id"].as_str().expect("tenant").to_owned();
    let store = server.state().store.clone();
    // The checkpoints this test has run. The writer never gets more than a few MB ahead of
    // them: on a busy machine the loop below can be starved for long enough that the writer
    // alone grows the WAL past the bound (77 MB seen in CI), which says nothing of the store.
    let (checkpointed, mut checkpoints) = tokio::sync::watch::channel(());
    let writer = tokio::spawn({
        let store = store.clone();
        async move {
            let filler = "x".repeat(16 * 1024);
            for n in 0..6_000 {
                if n % COMMITS_PER_CHECKPOINT == 0 {
                    checkpoints.changed().await.expect("the checkpointer runs");
                }
                let mut tx = store
                    .begin(WriteScope::Tenant(&tenant_id))
                    .await
                    .expect("tx");
                // Read, then write, as every service does: the checkpointer may empty the WAL
                // between the two, and the write must still go through.
                tx.get_doc(&tenant_id, DocKind::Message, "msg_load_0")
                    .await
                    .expect("read");
                let message = message_doc(&format!("msg_load_{n}"), n, &filler);
                tx.put_doc(&tenant_id, &message).await.expect("stored");
                drop(tx.commit().await.expect("committed"));
            }
        }
    });
    let wal = server.database_path().with_file_name("server.db-wal");
    let mut largest = 0;
    while !writer.is_finished() {
        store.checkpoint().await.expect("a checkpoint succeeds");
        checkpointed.send_replace(());
        largest = largest.max(file_size(&wal));
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    writer.await.expect("the writer ends");
    let bound = 4 * spartex_server::store::WAL_RESTART_FRAMES as u64 * 4096;
    assert!(
        largest < bound,
        "the WAL peaked at {largest} bytes while ~100 MB were written (bound {bound})"
    );
}

/// Stores `project` with a budget that no longer parses, as an old server could leave it.
async fn damage(server: &TestServer, tenant_id: &str, mut project: Value) {
    project["budget_usd"] = Value::Null;
    let id = project["id"].as_str().expect("id").to_owned();
    let store = &server.state().store;
    let mut tx = store
        .begin(WriteScope::Tenant(tenant_id))
        .await
        .expect("tx");
    tx.put_doc(
        tenant_id,
        &Document {
            kind: DocKind::Project,
            id,
            project_id: None,
            status: Some("active".into()),
            sort_key: String::new(),
            due_at_ms: None,
            lookup_key: None,
            data: project,
        },
    )
    .await
    .expect("stored");
    drop(tx.commit().await.expect("committed"));
}

#[tokio::test]
async fn a_row_that_does_not_parse_leaves_lists_and_the_emergency_stop_working() {
    let server = TestServer::start().await;
    let owner = server.login("owner@acme.test").await;
    let spring = project_id(&owner, SPRING).await;
    let (_, project) = owner.get(&format!("/api/v1/projects/{spring}")).await;
    let (_, me) = owner.get("/api/v1/me").await;
    let tenant_id = me["tenant"]["id"].as_str().expect("tenant").to_owned();
    let (_, before) = owner.get("/api/v1/projects").await;
    damage(&server, &tenant_id, project["project"].clone()).await;

    let (status, after) = owner.get("/api/v1/projects").await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(
        after.as_array().map(Vec::len),
        before.as_array().map(|b| b.len() - 1),
        "only the damaged project is left out"
    );
    let (status, approvals) = owner.get("/api/v1/approvals").await;
    assert_eq!(status, StatusCode::OK, "{approvals}");

    let (status, stop) = owner
        .post("/api/v1/stop", json!({"reason": "incident"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    let covers_damaged_project = stop["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .any(|a| a["project_id"] == spring.as_str());
    assert!(
        covers_damaged_project,
        "the stop reaches the agents of the damaged project too"
    );
}

#[tokio::test]
async fn a_listing_read_again_after_a_write_shows_the_write() {
    let server = TestServer::start().await;
    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let names = async || {
        let (status, projects) = manager.get("/api/v1/projects").await;
        assert_eq!(status, StatusCode::OK, "{projects}");
        projects
            .as_array()
            .expect("a list")
            .iter()
            .map(|p| p["name"].as_str().expect("a name").to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names().await,
        names().await,
        "reading twice changes nothing"
    );
    let (status, body) = manager
        .patch(
            &format!("/api/v1/projects/{spring}"),
            json!({"name": "Spring campaign (renamed)"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        names()
            .await
            .contains(&"Spring campaign (renamed)".to_owned()),
        "the listing read before the write is not answered again"
    );
}

#[tokio::test]
async fn a_budget_that_cannot_be_stored_is_refused_and_the_tenant_keeps_working() {
    let server = TestServer::start().await;
    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    for hostile in [json!(1.7e308), json!(-5), json!(1e13)] {
        let (status, body) = manager
            .patch(
                &format!("/api/v1/projects/{spring}"),
                json!({"budget_usd": hostile}),
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{hostile}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("budget_usd")),
            "{body}"
        );
    }
    let (status, created) = manager
        .post(
            "/api/v1/projects",
            json!({"name": "Too rich", "budget_usd": 1.7e308}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{created}");
    for path in [
        "/api/v1/projects".to_owned(),
        format!("/api/v1/projects/{spring}"),
        format!("/api/v1/projects/{spring}/metrics"),
    ] {
        let (status, body) = manager.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

/// A checkpoint that empties the WAL waits for readers still on an older snapshot, and SQLite
/// holds new writes back while it waits: it must give up soon, so no write (an emergency stop)
/// waits on a long read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_never_waits_long_behind_a_checkpoint_waiting_for_a_reader() {
    use sqlx::Connection;
    let server = TestServer::start().await;
    let viewer = server.login("viewer@acme.test").await;
    let (_, me) = viewer.get("/api/v1/me").await;
    let tenant_id = me["tenant"]["id"].as_str().expect("tenant").to_owned();
    let store = server.state().store.clone();
    let write = |n: usize| {
        let store = store.clone();
        let tenant_id = tenant_id.clone();
        async move {
            let mut tx = store
                .begin(WriteScope::Tenant(&tenant_id))
                .await
                .expect("tx");
            let message = message_doc(&format!("msg_wait_{n}"), n, "");
            tx.put_doc(&tenant_id, &message).await.expect("stored");
            drop(tx.commit().await.expect("committed"));
        }
    };
    write(0).await;
    // A reader on the snapshot of that commit, as a long listing or replay holds one.
    let url = format!("sqlite://{}?mode=ro", server.database_path().display());
    let mut reader = sqlx::SqliteConnection::connect(&url).await.expect("opens");
    sqlx::query("BEGIN")
        .execute(&mut reader)
        .await
        .expect("begins");
    let _: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_master")
        .fetch_one(&mut reader)
        .await
        .expect("reads");
    write(1).await;
    store.checkpoint().await.expect("a checkpoint");
    // Nothing committed since: this one empties the WAL, and waits for the reader.
    let checkpoint = tokio::spawn({
        let store = store.clone();
        async move { store.checkpoint().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    write(2).await;
    let waited = started.elapsed();
    sqlx::query("COMMIT")
        .execute(&mut reader)
        .await
        .expect("ends");
    let gave_up = checkpoint
        .await
        .expect("joins")
        .expect("the checkpoint ends");
    assert!(
        !gave_up.truncated,
        "the checkpoint met the reader and left the WAL for later: {gave_up:?}"
    );
    assert!(
        waited < std::time::Duration::from_secs(1),
        "a write waited {waited:?} behind the checkpoint"
    );
    // The WAL is still emptied once the reader is done.
    store.checkpoint().await.expect("a checkpoint");
    let idle = store.checkpoint().await.expect("a checkpoint");
    assert!(idle.truncated, "{idle:?}");
}
