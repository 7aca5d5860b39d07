//! Replacing an agent worker's token (`POST /projects/{id}/agents/{agent_id}/token`), as a
//! customer does when one leaked: the old token stops at once, on every route and on the
//! control sockets it opened; the agent keeps its history; a retry answers the same new token.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_api::AGENT_TOKEN_REVOKED_CLOSE_CODE;
use spartex_testkit::{eventually, Socket};

use crate::support::{kept_answer, project_id, Api, TestServer, LAUNCH, PATIENCE, SPRING};

/// How soon an open control socket of a replaced token must close: the socket checks its
/// token as the replacement commits, where it would otherwise stay open as long as the worker
/// answers pings.
const AT_ONCE: Duration = Duration::from_secs(5);

/// The route for a demo agent, under the project given (its own, unless a test says otherwise).
fn token_path(project_id: &str, agent_id: &str) -> String {
    format!("/api/v1/projects/{project_id}/agents/{agent_id}/token")
}

/// Replaces a demo agent's token as `api`, with `key` as the Idempotency-Key.
async fn replace(server: &TestServer, api: &Api, agent: &str, key: &str) -> (StatusCode, Value) {
    let agent = &server.agent_named(agent).agent;
    api.post_with_key(&token_path(&agent.project_id, &agent.id), json!({}), key)
        .await
}

/// The new token of a successful replacement.
fn new_token(server: &TestServer, answer: &(StatusCode, Value), agent: &str) -> String {
    let (status, body) = answer;
    assert_eq!(*status, StatusCode::CREATED, "{body}");
    assert_eq!(body["agent"]["id"], server.agent_named(agent).agent.id);
    let token = body["agent_token"].as_str().expect("a token");
    assert!(token.starts_with("sat_"), "{token}");
    token.to_owned()
}

async fn heartbeat(server: &TestServer, token: &str) -> (StatusCode, Value) {
    server
        .api(token)
        .post("/api/v1/agent/heartbeat", json!({"status": "working"}))
        .await
}

async fn control_socket(server: &TestServer, token: &str) -> Socket {
    let url = format!(
        "{}/api/v1/agent/control",
        server.url().replacen("http", "ws", 1)
    );
    Socket::connect(&url, token, PATIENCE).await
}

#[tokio::test]
async fn the_old_token_answers_401_at_once_and_the_new_one_works() {
    let server = TestServer::start().await;
    let manager = server.login("manager@acme.test").await;
    let old = server.agent_token("Quill").to_owned();
    assert!(heartbeat(&server, &old).await.0.is_success());
    let key = uuid::Uuid::new_v4().to_string();
    let new = new_token(
        &server,
        &replace(&server, &manager, "Quill", &key).await,
        "Quill",
    );
    assert_ne!(new, old);

    let (status, body) = heartbeat(&server, &old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (status, _) = server
        .api(&old)
        .post("/api/v1/agent/messages", json!({"body": "still here"}))
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "every agent route refuses it"
    );
    let (status, _) = server.api(&old).get("/api/v1/agent/control").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "so does the control socket"
    );

    let (status, body) = heartbeat(&server, &new).await;
    assert_eq!(status, StatusCode::OK, "the new token works: {body}");
    assert!(
        heartbeat(&server, server.agent_token("Pixel"))
            .await
            .0
            .is_success(),
        "other agents' tokens are untouched"
    );
    let spring = project_id(&manager, SPRING).await;
    let detail = manager.get_ok(&format!("/api/v1/projects/{spring}")).await;
    let quill_id = &server.agent_named("Quill").agent.id;
    assert!(
        detail["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .any(|a| a["id"] == *quill_id && a["status"] == "working"),
        "the agent is kept, and its new token acts as it: {detail}"
    );
}

#[tokio::test]
async fn an_open_control_socket_of_the_old_token_closes_at_once() {
    let server = TestServer::start().await;
    let manager = server.login("manager@acme.test").await;
    let mut old_socket = server.control("Quill").await;
    let mut bystander = server.control("Pixel").await;
    let key = uuid::Uuid::new_v4().to_string();
    let new = new_token(
        &server,
        &replace(&server, &manager, "Quill", &key).await,
        "Quill",
    );
    let closed = tokio::time::timeout(AT_ONCE, old_socket.close_code())
        .await
        .expect("the old token's socket closes at once");
    assert_eq!(closed, Some(AGENT_TOKEN_REVOKED_CLOSE_CODE));

    // A socket whose token still signs in stays open when its agent's sockets are told to
    // check (another instance's announcement, or a replacement racing its opening).
    let mut new_socket = control_socket(&server, &new).await;
    let quill_id = &server.agent_named("Quill").agent.id;
    let agents = &server.state().agents;
    eventually("the new socket follows its agent", PATIENCE, async || {
        agents.is_connected(quill_id).then_some(())
    })
    .await;
    assert!(agents.tokens_revoked(quill_id));
    let oncall = server.login("oncall@acme.test").await;
    let spring = project_id(&oncall, SPRING).await;
    let (status, stop) = oncall
        .post(&format!("/api/v1/projects/{spring}/stop"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    for socket in [&mut new_socket, &mut bystander] {
        let frame = socket.next_where("the stop", |f| f["type"] == "stop").await;
        assert_eq!(frame["stop_id"], stop["id"]);
    }
}

#[tokio::test]
async fn a_retry_answers_the_same_new_token_and_another_key_mints_another() {
    let server = TestServer::start().await;
    let owner = server.login("owner@acme.test").await;
    let key = "7f3e2d1c-0b9a-4876-9543-21fedcba0987";
    let first = replace(&server, &owner, "Ink", key).await;
    let again = replace(&server, &owner, "Ink", key).await;
    assert_eq!(again, first, "a retry gets the same answer, token included");
    let first_token = new_token(&server, &first, "Ink");
    assert_eq!(heartbeat(&server, &first_token).await.0, StatusCode::OK);

    let kept = kept_answer(&server, &owner, key).await;
    assert!(
        !kept.body.contains(&first_token),
        "the kept answer holds no token: {}",
        kept.body
    );

    let other_key = uuid::Uuid::new_v4().to_string();
    let second = replace(&server, &owner, "Ink", &other_key).await;
    let second_token = new_token(&server, &second, "Ink");
    assert_ne!(second_token, first_token, "another key mints another token");
    assert_eq!(
        heartbeat(&server, &first_token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(heartbeat(&server, &second_token).await.0, StatusCode::OK);
    // The first key's retry still answers what it answered, and mints nothing: its token
    // stays revoked.
    assert_eq!(replace(&server, &owner, "Ink", key).await, first);
    assert_eq!(heartbeat(&server, &second_token).await.0, StatusCode::OK);
}

#[tokio::test]
async fn only_managers_and_owners_of_the_agents_organisation_replace_its_token() {
    let server = TestServer::start().await;
    let quill = server.agent_named("Quill").agent.clone();
    let path = token_path(&quill.project_id, &quill.id);
    for email in ["viewer@acme.test", "oncall@acme.test"] {
        let (status, body) = server.login(email).await.post(&path, json!({})).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{email}: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, body) = server.agent("Pixel").post(&path, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an agent token: {body}");

    // Another organisation's project and agent, or its agent under one's own project, look
    // exactly like unknown ones.
    let northwind = server.login("owner@northwind.test").await;
    let fern = &server.agent_named("Fern").agent;
    for (foreign, unknown) in [
        (path.clone(), token_path("prj_doesnotexist", &quill.id)),
        (
            token_path(&fern.project_id, &quill.id),
            token_path(&fern.project_id, "agt_doesnotexist"),
        ),
    ] {
        let foreign = northwind.post(&foreign, json!({})).await;
        assert_eq!(foreign.0, StatusCode::NOT_FOUND, "{}", foreign.1);
        assert_eq!(foreign, northwind.post(&unknown, json!({})).await);
    }

    let manager = server.login("manager@acme.test").await;
    let launch = project_id(&manager, LAUNCH).await;
    let (status, body) = manager
        .post(&token_path(&launch, &quill.id), json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another project's agent: {body}"
    );
    assert_eq!(
        heartbeat(&server, server.agent_token("Quill")).await.0,
        StatusCode::OK,
        "no refusal touched the token"
    );
}

#[tokio::test]
async fn a_demoted_manager_gets_no_token_back_by_repeating_a_request() {
    // Every request reads its session's role again, rather than after up to 10 s.
    let server = TestServer::start_with(|s| s.session_recheck_after = Duration::ZERO).await;
    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let add = |key: &'static str| {
        let (manager, spring) = (&manager, &spring);
        async move {
            let body = json!({"name": "Scout", "role": "Analyst", "model": "gpt-5"});
            let path = format!("/api/v1/projects/{spring}/agents");
            manager.post_with_key(&path, body, key).await
        }
    };
    let (status, created) = add("add-scout").await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let replaced = replace(&server, &manager, "Quill", "replace-quill").await;
    new_token(&server, &replaced, "Quill");

    // Demoted by an owner (in the database), with a token issued while a manager.
    let demote = "UPDATE users SET role = 'oncall' WHERE email = 'manager@acme.test'";
    server.execute_sql(demote).await;
    for (what, (status, body)) in [
        ("adding the agent", add("add-scout").await),
        (
            "replacing the token",
            replace(&server, &manager, "Quill", "replace-quill").await,
        ),
    ] {
        assert_eq!(status, StatusCode::FORBIDDEN, "{what} again: {body}");
        assert_eq!(body["error"]["code"], "forbidden");
        assert!(!body.to_string().contains("sat_"), "{what} again: {body}");
    }
}
