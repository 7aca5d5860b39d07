//! A retried mutation with the same Idempotency-Key gets the stored answer and acts once.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ask, kept_answer, project_id, TestServer, SPRING};

#[tokio::test]
async fn a_replayed_message_is_answered_from_storage_and_posted_once() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let spring = project_id(&api, SPRING).await;
    let path = format!("/api/v1/projects/{spring}/messages");
    let key = "6f0c7a1e-0b7e-4d0c-9d55-2b1c3f4a5e6d";
    let first = api
        .post_with_key(&path, json!({"body": "Pause the TikTok ads, please"}), key)
        .await;
    let head = api.head().await;
    let second = api
        .post_with_key(&path, json!({"body": "Pause the TikTok ads, please"}), key)
        .await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!(first, second, "the replay must be the stored answer");
    assert_eq!(api.head().await, head, "the replay must not act again");
    let (_, messages) = api.get(&path).await;
    let copies = messages
        .as_array()
        .expect("list")
        .iter()
        .filter(|m| m["body"] == "Pause the TikTok ads, please")
        .count();
    assert_eq!(copies, 1);
}

#[tokio::test]
async fn a_replayed_decision_returns_the_first_answer_not_a_conflict() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let approval = ask(&server.agent("Quill"), "high", 600).await;
    let path = format!(
        "/api/v1/approvals/{}/decision",
        approval["id"].as_str().expect("id")
    );
    let body =
        json!({"decision": "reject", "comment": "Too pushy", "seen_version": approval["version"]});
    let first = api
        .post_with_key(&path, body.clone(), "decision-key-1")
        .await;
    let replay = api
        .post_with_key(&path, body.clone(), "decision-key-1")
        .await;
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(first, replay);
    let fresh = api.post_with_key(&path, body, "decision-key-2").await;
    assert_eq!(
        fresh.0,
        StatusCode::CONFLICT,
        "a new key is a new attempt: {}",
        fresh.1
    );
}

#[tokio::test]
async fn a_key_reused_for_another_route_is_refused() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let spring = project_id(&api, SPRING).await;
    api.post_with_key(
        &format!("/api/v1/projects/{spring}/messages"),
        json!({"body": "one"}),
        "shared-key",
    )
    .await;
    let (status, body) = api
        .post_with_key(
            "/api/v1/devices",
            json!({"platform": "fcm", "push_token": "fcm-1"}),
            "shared-key",
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
}

#[tokio::test]
async fn concurrent_retries_with_one_key_act_once() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let spring = project_id(&api, SPRING).await;
    let path = format!("/api/v1/projects/{spring}/messages");
    let head = api.head().await;
    let attempts = (0..8).map(|_| {
        let api = api.clone();
        let path = path.clone();
        tokio::spawn(async move {
            api.post_with_key(&path, json!({"body": "once"}), "racing-key")
                .await
        })
    });
    let answers: Vec<_> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert!(
        answers.iter().all(|a| *a == answers[0]),
        "every retry sees the same answer"
    );
    assert_eq!(api.head().await, head + 1, "exactly one message.created");
}

#[tokio::test]
async fn a_key_reused_with_another_body_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let spring = project_id(&oncall, SPRING).await;
    let path = format!("/api/v1/projects/{spring}/messages");
    let key = uuid::Uuid::new_v4().to_string();
    let first = json!({"body": "Pause the TikTok set", "client_msg_id": "c-1"});
    let (status, posted) = oncall.post_with_key(&path, first.clone(), &key).await;
    assert_eq!(status, StatusCode::CREATED, "{posted}");
    let (status, replay) = oncall.post_with_key(&path, first, &key).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(replay, posted, "a true retry gets the stored answer");

    let other = json!({"body": "Double the TikTok budget", "client_msg_id": "c-2"});
    let (status, body) = oncall.post_with_key(&path, other, &key).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "idempotency_key_reused");
    let (_, page) = oncall.get(&format!("{path}?limit=200")).await;
    assert!(
        !page
            .as_array()
            .expect("messages")
            .iter()
            .any(|m| m["body"] == "Double the TikTok budget"),
        "the second change was not applied"
    );
}

#[tokio::test]
async fn a_new_agents_token_is_sent_on_a_retry_too_and_kept_nowhere_in_the_clear() {
    let server = TestServer::start().await;
    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let path = format!("/api/v1/projects/{spring}/agents");
    let key = "0d7c1f6e-3a52-4b8e-9c0f-5e2d8a1b7c44";
    let body = json!({"name": "Scout", "role": "Researcher", "model": "gpt-5"});
    let (status, first) = manager.post_with_key(&path, body.clone(), key).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = manager.post_with_key(&path, body, key).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first, "the retry gets the same agent and token");
    let token = first["agent_token"].as_str().expect("a token");
    let (status, _) = server
        .api(token)
        .post("/api/v1/agent/heartbeat", json!({"status": "idle"}))
        .await;
    assert!(status.is_success(), "the token works: {status}");

    let kept = kept_answer(&server, &manager, key).await;
    assert!(kept.body.contains("Scout"), "{}", kept.body);
    assert!(
        !kept.body.contains(token),
        "the kept answer holds no token: {}",
        kept.body
    );

    // A refusal kept under its key is answered again as it was.
    let viewer = server.login("viewer@acme.test").await;
    let other_key = "5b1f0e2a-9c7d-4e3b-8a6f-1d2c3b4a5e6f";
    let body = json!({"name": "Lurker", "role": "Researcher", "model": "gpt-5"});
    let refused = viewer.post_with_key(&path, body.clone(), other_key).await;
    assert_eq!(refused.0, StatusCode::FORBIDDEN, "{}", refused.1);
    assert_eq!(viewer.post_with_key(&path, body, other_key).await, refused);
}
