//! The stored documents on either backend: one damaged row never takes down a listing or the
//! emergency stop, and a listing read after a write shows it.

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_server::store::{DocKind, Document, WriteScope};

use crate::support::{project_id, TestServer, SPRING};

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
