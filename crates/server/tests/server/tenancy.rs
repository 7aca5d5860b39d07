//! Another organisation's ids answer 404, exactly like unknown ids.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ask, project_id, TestServer, SPRING};

#[tokio::test]
async fn other_tenants_ids_are_not_found_for_reads_and_writes() {
    let server = TestServer::start().await;
    let acme = server.login("owner@acme.test").await;
    let northwind = server.login("owner@northwind.test").await;
    let spring = project_id(&acme, SPRING).await;
    let approval = ask(&server.agent("Quill"), "low", 600).await;
    let approval_id = approval["id"].as_str().expect("id");

    let (status, body) = northwind.get(&format!("/api/v1/projects/{spring}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (unknown_status, unknown) = northwind.get("/api/v1/projects/prj_doesnotexist").await;
    assert_eq!(
        (status, &body),
        (unknown_status, &unknown),
        "a foreign id must look exactly like an unknown one"
    );

    for path in [
        format!("/api/v1/projects/{spring}/messages"),
        format!("/api/v1/projects/{spring}/metrics"),
        format!("/api/v1/approvals/{approval_id}"),
    ] {
        assert_eq!(
            northwind.get(&path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let writes = [
        (
            format!("/api/v1/approvals/{approval_id}/decision"),
            json!({"decision": "approve", "seen_version": 1}),
        ),
        (format!("/api/v1/projects/{spring}/stop"), json!({})),
        (format!("/api/v1/projects/{spring}/resume"), json!({})),
        (
            format!("/api/v1/projects/{spring}/messages"),
            json!({"body": "hi"}),
        ),
        (
            format!("/api/v1/projects/{spring}/agents"),
            json!({"name": "x", "role": "y", "model": "z"}),
        ),
        (
            format!(
                "/api/v1/projects/{spring}/agents/{}/token",
                server.agent_named("Quill").agent.id
            ),
            json!({}),
        ),
    ];
    for (path, body) in writes {
        let (status, answer) = northwind.post(&path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {answer}");
    }
    let (_, still) = acme.get(&format!("/api/v1/approvals/{approval_id}")).await;
    assert_eq!(still["status"], "pending");
}

#[tokio::test]
async fn each_tenant_sees_only_its_own_projects_and_events() {
    let server = TestServer::start().await;
    let acme = server.login("viewer@acme.test").await;
    let northwind = server.login("oncall@northwind.test").await;
    let (_, projects) = northwind.get("/api/v1/projects").await;
    let names: Vec<_> = projects
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Autumn Catalogue Push")]);

    let acme_projects: Vec<String> = acme
        .get("/api/v1/projects")
        .await
        .1
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["id"].as_str().expect("id").to_owned())
        .collect();
    let mut socket = server.events(northwind.token(), None).await;
    assert_eq!(socket.next().await["type"], "hello");
    ask(&server.agent("Quill"), "low", 600).await; // an Acme event
    ask(&server.agent("Fern"), "low", 600).await; // a Northwind event
    let event = socket
        .next_where("an approval", |f| f["type"] == "approval.upserted")
        .await;
    assert_eq!(
        event["data"]["agent_id"],
        server.agent_named("Fern").agent.id.as_str(),
        "the Acme approval must not reach Northwind"
    );
    for event in northwind.all_events().await {
        if let Some(project) = event["project_id"].as_str() {
            assert!(
                !acme_projects.iter().any(|p| p == project),
                "Northwind's log holds an Acme event: {event}"
            );
        }
    }
}
