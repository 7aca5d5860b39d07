//! An agent's token replaced through one instance stops on the other at once, where its
//! control socket may be open.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use spartex_api::AGENT_TOKEN_REVOKED_CLOSE_CODE;
use spartex_testkit::Socket;

use super::two_instances;
use crate::support::{project_id, PATIENCE, SPRING};

#[tokio::test]
async fn a_token_replaced_on_one_instance_closes_its_socket_on_the_other() {
    let (a, b) = two_instances().await;
    let mut old_socket_on_b = b.control("Quill").await;
    let quill = a.agent_named("Quill").agent.clone();
    let manager = a.login("manager@acme.test").await;
    let (status, created) = manager
        .post(
            &format!(
                "/api/v1/projects/{}/agents/{}/token",
                quill.project_id, quill.id
            ),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let new = created["agent_token"].as_str().expect("a token");

    let closed = tokio::time::timeout(Duration::from_secs(5), old_socket_on_b.close_code())
        .await
        .expect("the old token's socket on the other instance closes at once");
    assert_eq!(closed, Some(AGENT_TOKEN_REVOKED_CLOSE_CODE));
    let beat = json!({"status": "working"});
    let old = b.agent("Quill");
    assert_eq!(
        old.post("/api/v1/agent/heartbeat", beat.clone()).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = b.api(new).post("/api/v1/agent/heartbeat", beat).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The new token's socket on the other instance hears a stop made through the first.
    let url = format!("{}/api/v1/agent/control", b.url().replacen("http", "ws", 1));
    let mut new_socket_on_b = Socket::connect(&url, new, PATIENCE).await;
    let oncall = a.login("oncall@acme.test").await;
    let spring = project_id(&oncall, SPRING).await;
    let (status, stop) = oncall
        .post(&format!("/api/v1/projects/{spring}/stop"), json!({}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    let frame = new_socket_on_b
        .next_where("the stop", |f| f["type"] == "stop")
        .await;
    assert_eq!(frame["stop_id"], stop["id"]);
}
