//! Decisions, races, version conflicts and expiry.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{ask, TestServer};

fn decision_path(approval: &serde_json::Value) -> String {
    format!(
        "/api/v1/approvals/{}/decision",
        approval["id"].as_str().expect("id")
    )
}

#[tokio::test]
async fn two_deciders_race_and_the_loser_is_told_who_won() {
    let server = TestServer::start().await;
    let dana = server.login("oncall@acme.test").await;
    let marco = server.login("manager@acme.test").await;
    for round in 0..5 {
        let approval = ask(&server.agent("Quill"), "high", 600).await;
        let path = decision_path(&approval);
        let version = approval["version"].clone();
        let (a, b) = tokio::join!(
            dana.post(
                &path,
                json!({"decision": "approve", "seen_version": version})
            ),
            marco.post(
                &path,
                json!({"decision": "reject", "comment": "no", "seen_version": version})
            ),
        );
        let (winner, loser) = if a.0 == StatusCode::OK {
            (a, b)
        } else {
            (b, a)
        };
        assert_eq!(winner.0, StatusCode::OK, "round {round}");
        assert_eq!(loser.0, StatusCode::CONFLICT, "round {round}: {}", loser.1);
        assert_eq!(loser.1["error"]["code"], "approval_already_decided");
        assert_eq!(
            loser.1["error"]["details"]["decided_by"],
            winner.1["decided_by"]
        );
        assert_eq!(
            loser.1["error"]["details"]["approval"]["status"],
            winner.1["status"]
        );
        let name = winner.1["decided_by"]["name"].as_str().expect("name");
        assert!(
            loser.1["error"]["message"]
                .as_str()
                .expect("message")
                .contains(name),
            "the message names the winner"
        );
    }
}

#[tokio::test]
async fn a_stale_seen_version_is_approval_changed() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let approval = ask(&server.agent("Quill"), "medium", 600).await;
    let (status, body) = api
        .post(
            &decision_path(&approval),
            json!({"decision": "approve", "seen_version": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "approval_changed");
    assert_eq!(body["error"]["details"]["approval"]["id"], approval["id"]);
    let (_, still) = api
        .get(&format!(
            "/api/v1/approvals/{}",
            approval["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(still["status"], "pending");
}

#[tokio::test]
async fn an_undecided_approval_expires_closed_and_then_answers_410() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let mut socket = server.events(api.token(), None).await;
    let approval = ask(&server.agent("Quill"), "critical", 60).await;
    server.advance(chrono::Duration::seconds(61));
    let expired = socket
        .next_where("the expiry", |f| {
            f["type"] == "approval.upserted"
                && f["data"]["id"] == approval["id"]
                && f["data"]["status"] != "pending"
        })
        .await;
    assert_eq!(
        expired["data"]["status"], "expired",
        "fail closed by default"
    );
    assert_eq!(expired["data"]["decided_by"]["id"], "system");
    let (status, body) = api
        .post(
            &decision_path(&approval),
            json!({"decision": "approve", "seen_version": approval["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::GONE);
    assert_eq!(body["error"]["code"], "approval_expired");
}

#[tokio::test]
async fn on_expiry_approve_approves_when_nobody_objects() {
    let server = TestServer::start().await;
    let api = server.login("viewer@acme.test").await;
    let mut socket = server.events(api.token(), None).await;
    let (status, approval) = server
        .agent("Iris")
        .post(
            "/api/v1/agent/approvals",
            json!({"kind": "update_targeting", "title": "Widen ages", "payload": {}, "risk": "low", "expires_in_s": 900, "on_expiry": "approve"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    server.advance(chrono::Duration::seconds(901));
    let settled = socket
        .next_where("the expiry", |f| {
            f["type"] == "approval.upserted"
                && f["data"]["id"] == approval["id"]
                && f["data"]["status"] != "pending"
        })
        .await;
    assert_eq!(settled["data"]["status"], "approved");

    // An agent cannot make silence approve what matters most, nor before people had time.
    for (risk, expires_in_s) in [
        ("high", 900),
        ("critical", 900),
        ("low", 30),
        ("medium", 899),
    ] {
        let (status, body) = server
            .agent("Iris")
            .post(
                "/api/v1/agent/approvals",
                json!({"kind": "update_targeting", "title": "Widen ages", "payload": {}, "risk": risk, "expires_in_s": expires_in_s, "on_expiry": "approve"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{risk}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("on_expiry")),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_decision_reaches_the_waiting_agent_with_its_comment() {
    let server = TestServer::start().await;
    let api = server.login("oncall@acme.test").await;
    let agent = server.agent("Quill");
    let approval = ask(&agent, "medium", 600).await;
    let id = approval["id"].as_str().expect("id").to_owned();
    let waiting = tokio::spawn({
        let agent = agent.clone();
        let id = id.clone();
        async move {
            agent
                .get(&format!("/api/v1/agent/approvals/{id}?wait_s=30"))
                .await
        }
    });
    let (status, _) = api.post(&decision_path(&approval), json!({"decision": "reject", "comment": "Drop the exclamation marks", "seen_version": 1})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, seen) = tokio::time::timeout(crate::support::PATIENCE, waiting)
        .await
        .expect("long poll returns")
        .expect("task");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(seen["status"], "rejected");
    assert_eq!(seen["comment"], "Drop the exclamation marks");
    // Another agent cannot read it.
    let (status, _) = server
        .agent("Iris")
        .get(&format!("/api/v1/agent/approvals/{id}?wait_s=0"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn approvals_list_most_urgent_first() {
    let server = TestServer::start().await;
    let api = server.login("viewer@acme.test").await;
    let agent = server.agent("Quill");
    ask(&agent, "low", 60).await;
    ask(&agent, "critical", 900).await;
    ask(&agent, "critical", 120).await;
    ask(&agent, "medium", 60).await;
    let (_, list) = api.get("/api/v1/approvals?status=pending").await;
    let order: Vec<(String, String)> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|a| {
            (
                a["risk"].as_str().expect("risk").to_owned(),
                a["expires_at"].as_str().expect("at").to_owned(),
            )
        })
        .collect();
    let risks: Vec<&str> = order.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(risks, ["critical", "critical", "medium", "low"]);
    assert!(
        order[0].1 < order[1].1,
        "within a risk, the soonest expiry first"
    );
}

/// `GET /approvals` lists every pending request and only the most recent of the others: an
/// organisation's history grows for years, and a client's resync reads this answer whole.
#[tokio::test]
async fn the_list_holds_every_pending_request_and_the_most_recent_decided() {
    let server = TestServer::start_with(|s| s.max_decided_approvals_listed = 2).await;
    let marco = server.login("manager@acme.test").await;
    let mut decided = Vec::new();
    for round in 0..4 {
        let approval = ask(&server.agent("Quill"), "low", 3600).await;
        let (status, _) = marco
            .post(
                &decision_path(&approval),
                json!({"decision": if round < 3 { "approve" } else { "reject" },
                       "comment": "", "seen_version": approval["version"]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        decided.push(approval["id"].as_str().expect("id").to_owned());
        server.advance(chrono::Duration::seconds(1));
    }
    let pending: Vec<String> = [
        ask(&server.agent("Ink"), "high", 3600).await,
        ask(&server.agent("Quill"), "low", 3600).await,
    ]
    .iter()
    .map(|approval| approval["id"].as_str().expect("id").to_owned())
    .collect();

    let ids = |listed: serde_json::Value| -> Vec<String> {
        listed
            .as_array()
            .expect("a list")
            .iter()
            .map(|approval| approval["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let all = ids(marco.get_ok("/api/v1/approvals").await);
    assert_eq!(
        all.len(),
        4,
        "two pending and the two latest decided: {all:?}"
    );
    for id in pending.iter().chain(&decided[2..]) {
        assert!(all.contains(id), "{id} listed: {all:?}");
    }
    assert_eq!(
        ids(marco.get_ok("/api/v1/approvals?status=pending").await).len(),
        2,
        "pending requests are never left out"
    );
    let mut approved = ids(marco.get_ok("/api/v1/approvals?status=approved").await);
    approved.sort();
    assert_eq!(
        approved,
        decided[1..3],
        "the two latest of three approved: {approved:?}"
    );
}
