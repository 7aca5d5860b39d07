//! Asking an agent again, on the manual clock: an expired request asked again reaches its agent
//! on the control socket, or when it connects if it was away, and a simulated worker proposes
//! again with the person's comment.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::escalation::{ladder_server, path};
use spartex_testkit::eventually;

use crate::support::{ask, Api, TestServer, PATIENCE};

/// Moves the clock past `approval`'s one-minute expiry and waits until `user` sees it expired.
async fn expire(server: &TestServer, user: &Api, approval: &Value) {
    server.advance(chrono::Duration::seconds(61));
    let url = format!("/api/v1/approvals/{}", approval["id"].as_str().expect("id"));
    eventually("the approval expires", PATIENCE, async || {
        (user.get_ok(&url).await["status"] == "expired").then_some(())
    })
    .await;
}

/// `user` asks the agent of the expired `approval` again, saying `comment`; the answer.
async fn ask_again(user: &Api, approval: &Value, comment: &str) -> Value {
    let (status, asked) = user
        .post(&path(approval, "ask-again"), json!({ "comment": comment }))
        .await;
    assert_eq!(status, StatusCode::OK, "{asked}");
    asked
}

#[tokio::test]
async fn ask_again_reaches_the_agent_on_its_control_socket() {
    let server = ladder_server().await;
    let mut control = server.control("Quill").await;
    let dana = server.login("oncall@acme.test").await;
    let approval = ask(&server.agent("Quill"), "high", 60).await;

    let (status, body) = dana.post(&path(&approval, "ask-again"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "approval_not_expired");

    expire(&server, &dana, &approval).await;

    let asked = ask_again(&dana, &approval, "  Use the 20% headline  ").await;
    assert_eq!(asked["ask_again_requested_by"]["name"], "Dana Whitfield");
    assert!(asked["ask_again_requested_at"].is_string());
    let frame = control
        .next_where("ask_again", |f| f["type"] == "ask_again")
        .await;
    assert_eq!(frame["approval_id"], approval["id"]);
    assert_eq!(frame["comment"], "Use the 20% headline");

    let (status, body) = server
        .login("viewer@acme.test")
        .await
        .post(&path(&approval, "ask-again"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _) = server
        .login("oncall@northwind.test")
        .await
        .post(&path(&approval, "ask-again"), json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "another tenant's approval does not exist"
    );
}

#[tokio::test]
async fn an_agent_away_when_asked_hears_it_at_connect_until_it_has_proposed_again() {
    let server = ladder_server().await;
    let dana = server.login("oncall@acme.test").await;
    let approval = ask(&server.agent("Quill"), "high", 60).await;
    expire(&server, &dana, &approval).await;
    let asked = ask_again(&dana, &approval, "Use the 20% headline").await;
    assert_eq!(asked["ask_again_comment"], "Use the 20% headline");

    // Quill had no control socket open: it hears the ask, comment and all, when it connects,
    // and at every connect until it answers.
    for _ in 0..2 {
        let mut control = server.control("Quill").await;
        let frame = control
            .next_where("ask_again", |f| f["type"] == "ask_again")
            .await;
        assert_eq!(frame["approval_id"], approval["id"]);
        assert_eq!(frame["comment"], "Use the 20% headline");
    }

    // Its new request of the same kind answers the ask, and the asked request links to it.
    let again = ask(&server.agent("Quill"), "high", 60).await;
    let url = format!("/api/v1/approvals/{}", approval["id"].as_str().expect("id"));
    assert_eq!(
        dana.get_ok(&url).await["ask_again_answered_by"],
        again["id"]
    );

    // The next connect does not repeat it: what an agent missed comes first, so a message sent
    // after the connect arrives with no ask before it. (Sent again until it arrives: the socket
    // joins the agent's feed just after the upgrade.)
    let mut control = server.control("Quill").await;
    let manager = server.login("manager@acme.test").await;
    let thread = format!(
        "/api/v1/projects/{}/messages",
        approval["project_id"].as_str().expect("a project")
    );
    let mut heard = false;
    for _ in 0..10 {
        let (status, sent) = manager
            .post(
                &thread,
                json!({"body": "Thanks, looking now.", "agent_id": approval["agent_id"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{sent}");
        while let Some(frame) = control.try_next(Duration::from_millis(500)).await {
            assert_ne!(
                frame["type"], "ask_again",
                "asked again after answering: {frame}"
            );
            heard |= frame["type"] == "message" && frame["message"]["id"] == sent["id"];
        }
        if heard {
            break;
        }
    }
    assert!(heard, "the message reaches the agent");
}

#[tokio::test]
async fn an_asked_again_worker_proposes_again_with_the_comment() {
    let server = ladder_server().await;
    let quill = server.agent_named("Quill").clone();
    let workers = spartex_demo::workers::spawn_all(
        server.url(),
        vec![quill.clone()],
        Duration::from_millis(50),
    );
    let manager = server.login("manager@acme.test").await;
    let approval = ask(&server.agent("Quill"), "high", 60).await;
    expire(&server, &manager, &approval).await;
    ask_again(&manager, &approval, "Use the 20% headline").await;

    // The worker may be waiting on a request of its own: settle those until it asks again.
    let deadline = tokio::time::Instant::now() + PATIENCE * 3;
    let again = loop {
        let pending = manager.get_ok("/api/v1/approvals?status=pending").await;
        let mine: Vec<&Value> = pending
            .as_array()
            .expect("a list")
            .iter()
            .filter(|a| a["agent_id"] == quill.agent.id.as_str())
            .collect();
        if let Some(again) = mine.iter().find(|a| {
            a["title"] == approval["title"]
                && a["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains("Use the 20% headline"))
        }) {
            break (*again).clone();
        }
        for other in mine {
            manager
                .post(
                    &path(other, "decision"),
                    json!({"decision": "reject", "seen_version": other["version"]}),
                )
                .await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the agent never asked again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_ne!(again["id"], approval["id"], "a new approval");
    let url = format!("/api/v1/approvals/{}", approval["id"].as_str().expect("id"));
    assert_eq!(
        manager.get_ok(&url).await["ask_again_answered_by"],
        again["id"]
    );
    assert_eq!(
        again["answers_ask"], approval["id"],
        "the worker named the ask it answers"
    );
    assert_eq!(again["payload"]["reviewer_note"], "Use the 20% headline");
    assert_eq!(again["risk"], "high");
    workers.stop().await;
}

/// What `agent` sends to propose again: `ask`'s request, naming the ask it answers.
fn answering(answers_ask: &Value) -> Value {
    answering_as("publish_ad", answers_ask)
}

/// [`answering`], as a request of `kind`.
fn answering_as(kind: &str, answers_ask: &Value) -> Value {
    json!({
        "kind": kind,
        "title": "Publish the spring hero ad, reworked",
        "payload": { "network": "meta", "ad_set": "as-1" },
        "risk": "high",
        "expires_in_s": 600,
        "answers_ask": answers_ask,
    })
}

#[tokio::test]
async fn a_request_that_names_its_ask_answers_that_one_once() {
    let server = ladder_server().await;
    let dana = server.login("oncall@acme.test").await;
    let quill = server.agent("Quill");
    let first = ask(&quill, "high", 60).await;
    let second = ask(&quill, "high", 60).await;
    let third = ask(&quill, "high", 60).await;
    let never_asked = ask(&quill, "high", 60).await;
    for approval in [&first, &second, &third] {
        expire(&server, &dana, approval).await;
        ask_again(&dana, approval, "Shorter headline").await;
    }
    expire(&server, &dana, &never_asked).await;
    let url =
        |approval: &Value| format!("/api/v1/approvals/{}", approval["id"].as_str().expect("id"));
    let answered_by =
        async |approval: &Value| dana.get_ok(&url(approval)).await["ask_again_answered_by"].clone();

    // Named, the newer ask is the one answered, though the older is of the same kind, and by a
    // request of another kind (a person's comment can change what is asked for); the answer
    // says which ask it answers.
    let (status, again) = quill
        .post(
            "/api/v1/agent/approvals",
            answering_as("raise_bid", &second["id"]),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{again}");
    assert_eq!(again["answers_ask"], second["id"]);
    assert_eq!(answered_by(&second).await, again["id"]);
    assert_eq!(answered_by(&first).await, Value::Null);

    // Refused, and nothing is created: an ask answered by a request that named it, an expired
    // request nobody asked again, another agent's ask, another tenant's, an unknown id, an
    // oversized one, one a store would choke on.
    let sam = server.login("oncall@northwind.test").await;
    let pending_ids = async || {
        let mut pending = dana.get_ok("/api/v1/approvals?status=pending").await;
        let theirs = sam.get_ok("/api/v1/approvals?status=pending").await;
        pending
            .as_array_mut()
            .expect("a list")
            .extend(theirs.as_array().expect("a list").iter().cloned());
        let ids: Vec<Value> = pending
            .as_array()
            .expect("a list")
            .iter()
            .map(|a| a["id"].clone())
            .collect();
        ids
    };
    let pending_before = pending_ids().await;
    for (agent, named, refusal) in [
        (
            "Quill",
            second["id"].clone(),
            "that ask was answered already",
        ),
        (
            "Quill",
            never_asked["id"].clone(),
            "names no ask-again of this agent",
        ),
        (
            "Pixel",
            first["id"].clone(),
            "names no ask-again of this agent",
        ),
        (
            "Fern",
            first["id"].clone(),
            "names no ask-again of this agent",
        ),
        (
            "Quill",
            json!("apr_unknown"),
            "names no ask-again of this agent",
        ),
        (
            "Quill",
            json!("a".repeat(10_000)),
            "names no ask-again of this agent",
        ),
        (
            "Quill",
            json!("apr_\u{0}1"),
            "names no ask-again of this agent",
        ),
    ] {
        let (status, body) = server
            .agent(agent)
            .post("/api/v1/agent/approvals", answering(&named))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{agent}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(refusal)),
            "{agent}, {refusal}: {body}"
        );
    }
    assert_eq!(pending_ids().await, pending_before);
    assert_eq!(answered_by(&first).await, Value::Null);

    // Unnamed, the next request of the kind answers the oldest open ask…
    let unrelated = ask(&quill, "high", 600).await;
    assert_eq!(answered_by(&first).await, unrelated["id"]);
    assert_eq!(unrelated["answers_ask"], Value::Null);
    // …until a request names it: the agent's word wins.
    let (status, meant) = quill
        .post("/api/v1/agent/approvals", answering(&first["id"]))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{meant}");
    assert_eq!(answered_by(&first).await, meant["id"]);
    assert_eq!(meant["answers_ask"], first["id"]);

    // A day after the ask, it is no longer the agent's to answer.
    server.advance(chrono::Duration::hours(25));
    let (status, body) = quill
        .post("/api/v1/agent/approvals", answering(&third["id"]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("names no ask-again of this agent")),
        "{body}"
    );
    let dana = server.login("oncall@acme.test").await;
    assert_eq!(
        dana.get_ok(&url(&third)).await["ask_again_answered_by"],
        Value::Null
    );
}
