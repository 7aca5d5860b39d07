//! The role matrix: every mutating client route, for every role; and the role a request acts
//! with is the person's now, read from the database, not the one their token was issued with.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_api::{Role, SESSION_ENDED_CLOSE_CODE};
use spartex_server::auth::AccessClaims;

use crate::support::{ask, project_id, Api, TestServer, LAUNCH, PATIENCE, SPRING};

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

/// Changes a demo person's role as an administrator would, in the database.
async fn set_role(server: &TestServer, email: &str, role: &str) {
    let statement = format!("UPDATE users SET role = '{role}' WHERE email = '{email}'");
    server.execute_sql(&statement).await;
}

#[tokio::test]
async fn a_demoted_manager_acts_with_their_new_role_whatever_their_token_says() {
    let server = TestServer::start().await;
    let spring = project_id(&server.login("owner@acme.test").await, SPRING).await;
    let manager = server.login("manager@acme.test").await;
    set_role(&server, "manager@acme.test", "viewer").await;

    // The access token still says manager, and has most of its 15 minutes left.
    let (status, body) = manager
        .post(
            &format!("/api/v1/projects/{spring}/agents"),
            json!({"name": "Mint", "role": "Analyst", "model": "gpt-5"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "no more agent tokens: {body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("(viewer)")),
        "{body}"
    );
    let (status, body) = manager
        .patch(
            &format!("/api/v1/projects/{spring}"),
            json!({"budget_usd": 1_000_000}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no budget raised: {body}");
    let (status, body) = manager
        .post(&format!("/api/v1/projects/{spring}/stop"), json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a viewer stops nothing: {body}"
    );
    assert_eq!(manager.get_ok("/api/v1/me").await["user"]["role"], "viewer");
}

#[tokio::test]
async fn a_demotion_reaches_a_token_in_use_once_its_session_is_read_again() {
    // The session check keeps its answer 10 s by default; a test need not wait that long.
    let server = TestServer::start_with(|settings| {
        settings.session_recheck_after = Duration::from_millis(100);
    })
    .await;
    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let raise = |budget: u32| {
        let manager = &manager;
        let path = format!("/api/v1/projects/{spring}");
        async move { manager.patch(&path, json!({"budget_usd": budget})).await }
    };
    let (status, body) = raise(5_000).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    set_role(&server, "manager@acme.test", "oncall").await;
    spartex_testkit::eventually("the demotion is read", PATIENCE, async || {
        let (status, _) = raise(6_000).await;
        (status == StatusCode::FORBIDDEN).then_some(())
    })
    .await;
    let (status, body) = manager
        .post(&format!("/api/v1/projects/{spring}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn a_token_whose_claims_are_not_its_sessions_is_refused() {
    let server = TestServer::start().await;
    let tokens = &server.state().tokens;
    let oncall = server.login("oncall@acme.test").await;
    let owner = server.login("owner@acme.test").await;
    let session = tokens
        .decode(oncall.token())
        .expect("the server's own token");
    let someone_else = tokens
        .decode(owner.token())
        .expect("the server's own token");
    let northwind = server.tenant_of("owner@northwind.test").await;
    for claims in [
        AccessClaims {
            sub: someone_else.sub.clone(),
            role: Role::Owner,
            ..session.clone()
        },
        AccessClaims {
            tid: northwind,
            ..session.clone()
        },
    ] {
        let token = tokens.issue(&claims).expect("signed");
        let (status, body) = server
            .api(token.expose())
            .post("/api/v1/projects", json!({"name": "Mine", "budget_usd": 1}))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{claims:?}: {body}");
    }
}

#[tokio::test]
async fn a_person_moved_to_another_organisation_stops_reading_this_one() {
    let server = TestServer::start_with(|settings| {
        settings.session_check_interval = Duration::from_millis(50);
        settings.session_recheck_after = Duration::from_millis(50);
    })
    .await;
    let manager = server.login("manager@acme.test").await;
    let mut events = server.events(manager.token(), None).await;
    assert_eq!(events.next().await["type"], "hello");

    let northwind = server.tenant_of("owner@northwind.test").await;
    let statement =
        format!("UPDATE users SET tenant_id = '{northwind}' WHERE email = 'manager@acme.test'");
    server.execute_sql(&statement).await;
    assert_eq!(events.close_code().await, Some(SESSION_ENDED_CLOSE_CODE));
    let (status, body) = manager.get("/api/v1/projects").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}
