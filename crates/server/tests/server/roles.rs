//! The role matrix: every mutating client route, for every role.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{ask, project_id, Api, TestServer, LAUNCH, SPRING};

const ROLES: [&str; 4] = ["viewer", "oncall", "manager", "owner"];

fn allowed(role: &str, needs: &str) -> bool {
    let rank = |r: &str| ROLES.iter().position(|x| *x == r).expect("known role");
    rank(role) >= rank(needs)
}

async fn check(role: &str, needs: &str, route: &str, (status, body): (StatusCode, Value)) {
    if allowed(role, needs) {
        assert!(
            status.is_success(),
            "{role} should be allowed {route}, got {status}: {body}"
        );
    } else {
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{role} must not {route}: {body}"
        );
        assert_eq!(body["error"]["code"], "forbidden");
    }
}

#[tokio::test]
async fn every_mutating_route_enforces_its_role() {
    let server = TestServer::start().await;
    for role in ROLES {
        let api: Api = server.login(&format!("{role}@acme.test")).await;
        let spring = project_id(&api, SPRING).await;

        let created = api
            .post(
                "/api/v1/projects",
                json!({"name": format!("{role}'s project"), "budget_usd": 100}),
            )
            .await;
        check(role, "manager", "create projects", created).await;
        let patched = api
            .patch(
                &format!("/api/v1/projects/{spring}"),
                json!({"description": "x"}),
            )
            .await;
        check(role, "manager", "change projects", patched).await;
        let agent = api
            .post(
                &format!("/api/v1/projects/{spring}/agents"),
                json!({"name": "New", "role": "Analyst", "model": "gpt-5"}),
            )
            .await;
        check(role, "manager", "add agents", agent).await;
        let ledger = &server.agent_named("Ledger").agent;
        let token = api
            .post(
                &format!("/api/v1/projects/{spring}/agents/{}/token", ledger.id),
                json!({}),
            )
            .await;
        check(role, "manager", "replace agents' tokens", token).await;
        let message = api
            .post(
                &format!("/api/v1/projects/{spring}/messages"),
                json!({"body": "hello"}),
            )
            .await;
        check(role, "oncall", "chat", message).await;

        let approval = ask(&server.agent("Quill"), "medium", 600).await;
        let decided = api
            .post(
                &format!(
                    "/api/v1/approvals/{}/decision",
                    approval["id"].as_str().expect("id")
                ),
                json!({"decision": "approve", "seen_version": approval["version"]}),
            )
            .await;
        check(role, "oncall", "decide", decided).await;

        let launch = project_id(&api, LAUNCH).await;
        let stopped = api
            .post(
                &format!("/api/v1/projects/{launch}/stop"),
                json!({"reason": "test"}),
            )
            .await;
        check(role, "oncall", "stop a project", stopped).await;
        let resumed = api
            .post(&format!("/api/v1/projects/{launch}/resume"), json!({}))
            .await;
        check(role, "manager", "resume", resumed).await;

        let device = api
            .post(
                "/api/v1/devices",
                json!({"platform": "fcm", "push_token": format!("fcm-{role}")}),
            )
            .await;
        check(role, "viewer", "register devices", device.clone()).await;
        let removed = api
            .delete(&format!(
                "/api/v1/devices/{}",
                device.1["id"].as_str().expect("id")
            ))
            .await;
        check(role, "viewer", "remove devices", removed).await;
    }
    // Last, because it stops everything.
    for role in ROLES {
        let api = server.login(&format!("{role}@acme.test")).await;
        let stopped = api.post("/api/v1/stop", json!({"reason": "drill"})).await;
        check(role, "oncall", "stop the organisation", stopped).await;
    }
}

#[tokio::test]
async fn a_refused_action_changes_nothing() {
    let server = TestServer::start().await;
    let viewer = server.login("viewer@acme.test").await;
    let head = viewer.head().await;
    let spring = project_id(&viewer, SPRING).await;
    viewer
        .post(&format!("/api/v1/projects/{spring}/stop"), json!({}))
        .await;
    viewer.post("/api/v1/stop", json!({})).await;
    viewer
        .post(
            &format!("/api/v1/projects/{spring}/messages"),
            json!({"body": "hi"}),
        )
        .await;
    assert_eq!(
        viewer.head().await,
        head,
        "no event may be appended by a refused request"
    );
    let (_, project) = viewer.get(&format!("/api/v1/projects/{spring}")).await;
    assert_eq!(project["project"]["status"], "active");
}
