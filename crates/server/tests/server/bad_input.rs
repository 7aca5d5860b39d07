//! Bad input gets the contract's error body with the right status, and changes nothing.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{project_id, Api, TestServer, SPRING};

fn assert_contract_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "a message for people: {body}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_400s_that_name_the_problem_and_change_nothing() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let spring = project_id(&api, SPRING).await;
    let path = format!("/api/v1/projects/{spring}/messages");
    let head = api.head().await;

    let (status, body) = api
        .post_raw(&path, "application/json", b"{\"body\": ".to_vec())
        .await;
    assert_contract_error(status, &body, StatusCode::BAD_REQUEST, "bad_request");
    let (status, body) = api
        .post_raw(&path, "application/json", br#"{"body": 42}"#.to_vec())
        .await;
    assert_contract_error(status, &body, StatusCode::BAD_REQUEST, "bad_request");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("body"),
        "names the field: {body}"
    );
    let (status, body) = api
        .post_raw(
            &path,
            "application/json",
            br#"{"body": "hi", "urgent": true}"#.to_vec(),
        )
        .await;
    assert_contract_error(status, &body, StatusCode::BAD_REQUEST, "bad_request");
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("message")
            .contains("urgent"),
        "names the unknown field: {body}"
    );
    let (status, body) = api.post_raw(&path, "text/plain", b"hello".to_vec()).await;
    assert_contract_error(status, &body, StatusCode::BAD_REQUEST, "bad_request");
    let (status, body) = api.post(&path, json!({"body": "   "})).await;
    assert_contract_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    );
    let huge = json!({"body": "x".repeat(300 * 1024)})
        .to_string()
        .into_bytes();
    let (status, body) = api.post_raw(&path, "application/json", huge).await;
    assert_contract_error(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let (status, body) = api
        .post(&path, json!({"body": "hi", "agent_id": "agt_unknown"}))
        .await;
    assert_contract_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = api
        .post(
            "/api/v1/approvals/apr_unknown/decision",
            json!({"decision": "maybe", "seen_version": 1}),
        )
        .await;
    assert_contract_error(status, &body, StatusCode::BAD_REQUEST, "bad_request");
    let (status, body) = api.get("/api/v1/sync?since=abc").await;
    assert_contract_error(status, &body, StatusCode::BAD_REQUEST, "bad_request");
    let (status, body) = api
        .get(&format!("/api/v1/projects/{spring}/metrics?bucket=week"))
        .await;
    assert_contract_error(status, &body, StatusCode::BAD_REQUEST, "bad_request");

    assert_eq!(api.head().await, head, "no bad request may append an event");
}

#[tokio::test]
async fn agents_get_the_same_treatment() {
    let server = TestServer::start().await;
    let agent = server.agent("Quill");
    for (body, expected) in [
        (json!({"status": "sleeping"}), StatusCode::BAD_REQUEST),
        (
            json!({"status": "working", "cost_usd": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"status": "working", "current_task": "tsk_unknown"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"status": "stopped"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, answer) = agent.post("/api/v1/agent/heartbeat", body.clone()).await;
        assert_eq!(status, expected, "{body} → {answer}");
        assert!(answer["error"]["code"].is_string());
    }
    let (status, _) = agent
        .post("/api/v1/agent/approvals", json!({"kind": "Publish Ad!", "title": "x", "payload": {}, "risk": "low", "expires_in_s": 60}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = agent
        .post("/api/v1/agent/approvals", json!({"kind": "publish_ad", "title": "x", "payload": {}, "risk": "low", "expires_in_s": 1}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = agent
        .post(
            "/api/v1/agent/tasks",
            json!({"title": "x", "progress": 140}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, body) = server
        .api("sat_not-a-real-token")
        .post("/api/v1/agent/heartbeat", json!({"status": "idle"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json_not_html() {
    let server = TestServer::start().await;
    let api = server.login("viewer@acme.test").await;
    let (status, body) = api.get("/api/v1/nope").await;
    assert_contract_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = api.method(reqwest::Method::PUT, "/api/v1/projects").await;
    assert_contract_error(
        status,
        &body,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let (status, body) = server.anonymous().get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn huge_token_counts_are_refused_and_counters_never_wrap() {
    let server = TestServer::start().await;
    let agent = server.agent("Quill");
    for tokens in [i64::MAX, i64::MAX / 2, 100_000_001] {
        for field in ["tokens_in", "tokens_out"] {
            let (status, body) = agent
                .post(
                    "/api/v1/agent/heartbeat",
                    json!({"status": "working", field: tokens}),
                )
                .await;
            assert_eq!(
                status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{field}={tokens}: {body}"
            );
            assert!(body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(field)));
        }
    }
    let (status, body) = agent
        .post(
            "/api/v1/agent/heartbeat",
            json!({"status": "working", "tokens_in": 100_000_000, "tokens_out": 100_000_000}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the largest allowed heartbeat: {body}"
    );
    let viewer = server.login("viewer@acme.test").await;
    let (_, projects) = viewer.get("/api/v1/projects").await;
    for project in projects.as_array().expect("projects") {
        let (_, detail) = viewer
            .get(&format!(
                "/api/v1/projects/{}",
                project["id"].as_str().expect("id")
            ))
            .await;
        for agent in detail["agents"].as_array().expect("agents") {
            assert!(
                agent["tokens_used"].as_i64().expect("count") >= 0,
                "{agent}"
            );
        }
    }
}

#[tokio::test]
async fn an_agent_flooding_approval_requests_is_held_back_without_burying_the_on_call() {
    let server = TestServer::start().await;
    let quill = server.agent("Quill");
    let oncall = server.login("oncall@acme.test").await;
    let (_, before) = oncall.get("/api/v1/approvals?status=pending").await;
    let before = before.as_array().map_or(0, Vec::len);
    let mut refused = None;
    for n in 0..40 {
        let (status, body) = quill
            .post(
                "/api/v1/agent/approvals",
                json!({"kind": "publish_ad", "title": format!("Ad {n}"), "summary": "", "payload": {},
                       "risk": "low", "expires_in_s": 600}),
            )
            .await;
        if status != StatusCode::CREATED {
            refused = Some((status, body));
            break;
        }
    }
    let (status, body) = refused.expect("the flood is held back");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (_, after) = oncall.get("/api/v1/approvals?status=pending").await;
    assert!(
        after.as_array().map_or(0, Vec::len) - before
            <= server.state().settings.max_pending_approvals_per_agent,
        "one agent holds at most its share of the inbox"
    );

    // A decided request frees its place (the count follows each request's status).
    let quills = after
        .as_array()
        .expect("list")
        .iter()
        .filter(|a| a["title"].as_str().is_some_and(|t| t.starts_with("Ad ")))
        .cloned()
        .collect::<Vec<_>>();
    let decided = &quills[0];
    let (status, body) = oncall
        .post(
            &format!("/api/v1/approvals/{}/decision", decided["id"].as_str().expect("id")),
            json!({"decision": "reject", "comment": "One at a time", "seen_version": decided["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let ask = json!({"kind": "publish_ad", "title": "Ad again", "summary": "", "payload": {},
                     "risk": "low", "expires_in_s": 600});
    let (status, body) = quill.post("/api/v1/agent/approvals", ask.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = quill.post("/api/v1/agent/approvals", ask).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test]
async fn a_project_holds_a_bounded_number_of_open_tasks_and_its_page_reads_only_those() {
    let server = TestServer::start_with(|s| s.max_open_tasks_per_project = 5).await;
    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let open_now = |detail: &serde_json::Value| detail["tasks"].as_array().expect("tasks").len();
    let (_, detail) = manager.get(&format!("/api/v1/projects/{spring}")).await;
    let quill = server.agent("Quill");
    let mut created = Vec::new();
    let mut refused = None;
    for n in 0..10 {
        let (status, body) = quill
            .post(
                "/api/v1/agent/tasks",
                json!({"title": format!("Draft {n}")}),
            )
            .await;
        if status != StatusCode::CREATED && status != StatusCode::OK {
            refused = Some((status, body));
            break;
        }
        created.push(body);
    }
    let (status, body) = refused.expect("refused past the limit");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let said = body["error"]["message"].as_str().unwrap_or_default();
    assert!(said.contains("finish, fail or cancel some"), "{said}");
    assert_eq!(
        created.len() + open_now(&detail),
        5,
        "counted with the seeded open tasks"
    );

    // Done: no longer open, off the project's page; reopening it takes the room it frees.
    let done = &created[0];
    let (status, body) = quill
        .post(
            "/api/v1/agent/tasks",
            json!({"id": done["id"], "status": "done"}),
        )
        .await;
    assert!(status.is_success(), "{body}");
    let (_, detail) = manager.get(&format!("/api/v1/projects/{spring}")).await;
    assert_eq!(open_now(&detail), 4);
    assert!(detail["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .all(|t| t["id"] != done["id"]));
    let (status, body) = quill
        .post("/api/v1/agent/tasks", json!({"title": "Draft again"}))
        .await;
    assert!(status.is_success(), "{body}");
    let (status, body) = quill
        .post(
            "/api/v1/agent/tasks",
            json!({"id": done["id"], "status": "running"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a reopened task counts too: {body}"
    );
}

/// U+0000 is valid JSON and a valid path byte, but PostgreSQL's `TEXT` cannot hold it: on
/// either database it is the caller's mistake (unknown, or refused), never a 500.
#[tokio::test]
async fn a_nul_character_is_refused_or_unknown_never_a_server_fault() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let spring = project_id(&api, SPRING).await;
    let head = api.head().await;

    let (status, body) = api.get("/api/v1/projects/prj%00x").await;
    assert!(
        [StatusCode::NOT_FOUND, StatusCode::BAD_REQUEST].contains(&status),
        "{status} {body}"
    );
    assert!(body["error"]["code"].is_string(), "{body}");
    let (status, body) = api
        .post(
            &format!("/api/v1/projects/{spring}/messages"),
            json!({"body": "before\u{0}after", "client_msg_id": "nul-1"}),
        )
        .await;
    assert!(
        [StatusCode::CREATED, StatusCode::OK, StatusCode::BAD_REQUEST].contains(&status),
        "{status} {body}"
    );
    if status == StatusCode::BAD_REQUEST {
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("NUL")),
            "says what to fix: {body}"
        );
        assert_eq!(api.head().await, head, "a refusal changes nothing");
    }
}

#[tokio::test]
async fn an_agent_writing_in_a_loop_is_slowed_and_still_acknowledges_a_stop() {
    let server = TestServer::start_with(|s| {
        s.agent_writes_per_second = 1;
        s.agent_write_burst = 3;
    })
    .await;
    let quill = server.agent("Quill");
    let note = json!({"body": "Still working on the headline"});
    for _ in 0..3 {
        let (status, body) = quill.post("/api/v1/agent/messages", note.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, body) = quill.post("/api/v1/agent/messages", note.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = server
        .agent("Iris")
        .post("/api/v1/agent/messages", note)
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "another agent is not held back"
    );

    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let (status, stop) = manager
        .post(
            &format!("/api/v1/projects/{spring}/stop"),
            json!({"reason": "Runaway notes"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    let (status, body) = quill
        .post("/api/v1/agent/stop-ack", json!({"stop_id": stop["id"]}))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a stop is acknowledged past the quota: {body}"
    );
}

/// Writes as `person` to `path` until one is held back (a tight loop, as a runaway client
/// sends); the 429 answer, and how many got through before it.
async fn write_until_held_back(
    server: &TestServer,
    person: &Api,
    path: &str,
) -> (reqwest::Response, usize) {
    let http = reqwest::Client::new();
    for sent in 0..50 {
        let response = http
            .post(format!("{}{path}", server.base()))
            .bearer_auth(person.token())
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&json!({"body": format!("Did you see this? ({sent})")}))
            .send()
            .await
            .expect("sent");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            return (response, sent);
        }
        assert!(
            response.status().is_success() || response.status() == StatusCode::CONFLICT,
            "{}",
            response.status()
        );
    }
    panic!("50 writes in a tight loop and none held back");
}

#[tokio::test]
async fn a_person_writing_in_a_loop_is_slowed_and_can_still_pull_the_emergency_stop() {
    let server = TestServer::start_with(|s| {
        s.user_writes_per_second = 1;
        s.user_write_burst = 3;
    })
    .await;
    let manager = server.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let chat = format!("/api/v1/projects/{spring}/messages");

    let (held_back, got_through) = write_until_held_back(&server, &manager, &chat).await;
    assert!(got_through >= 3, "the burst gets through: {got_through}");
    assert_eq!(
        held_back.headers()["retry-after"],
        "1",
        "one write a second"
    );
    let body: Value = held_back.json().await.expect("a JSON body");
    assert_contract_error(
        StatusCode::TOO_MANY_REQUESTS,
        &body,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
    assert_eq!(body["error"]["details"]["retry_after_s"], 1, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Wait 1 second")),
        "says how long to wait: {body}"
    );

    // Reads go on, and another person of the same organisation is not held back.
    manager.get_ok(&chat).await;
    let oncall = server.login("oncall@acme.test").await;
    let (status, body) = oncall
        .post(&chat, json!({"body": "The copy looks right to me"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Held back, the person can still pull the emergency stop, for a project and for all.
    write_until_held_back(&server, &manager, &chat).await;
    let (status, stop) = manager
        .post(
            &format!("/api/v1/projects/{spring}/stop"),
            json!({"reason": "My client is posting on its own"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    write_until_held_back(&server, &manager, &chat).await;
    let (status, stop) = manager
        .post("/api/v1/stop", json!({"reason": "Stop everything"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    // And sign out, ending the session a runaway or stolen client uses.
    write_until_held_back(&server, &manager, &chat).await;
    let (status, body) = manager.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}
