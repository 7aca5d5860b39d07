//! The emergency stop: pushed at once, acknowledged, forced after the timeout, resumed by managers.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{project_id, TestServer, NEWSLETTER};

#[tokio::test]
async fn a_stop_with_an_agent_that_never_acks_ends_partial_naming_it() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let newsletter = project_id(&oncall, NEWSLETTER).await;
    let mut events = server.events(oncall.token(), None).await;
    let mut ink = server.control("Ink").await;
    let mut tally = server.control("Tally").await;
    // Guard is away: it never reads its control socket and never acknowledges.

    let (status, stop) = oncall
        .post(
            &format!("/api/v1/projects/{newsletter}/stop"),
            json!({"reason": "Wrong list"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    assert_eq!(stop["status"], "pending");
    assert_eq!(stop["agents_total"], 3);
    let stop_id = stop["id"].as_str().expect("id").to_owned();

    for (control, name) in [(&mut ink, "Ink"), (&mut tally, "Tally")] {
        assert_eq!(
            control.next().await,
            json!({"type": "stop", "stop_id": stop_id}),
            "{name} is told at once"
        );
        let (status, _) = server
            .agent(name)
            .post("/api/v1/agent/stop-ack", json!({"stop_id": stop_id}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let acked = events
        .next_where("two acks", |f| {
            f["type"] == "stop.upserted" && f["data"]["agents_stopped"] == 2
        })
        .await;
    assert_eq!(acked["data"]["status"], "pending");

    server.advance(chrono::Duration::seconds(10));
    let ended = events
        .next_where("the forced end", |f| {
            f["type"] == "stop.upserted" && f["data"]["status"] != "pending"
        })
        .await;
    assert_eq!(ended["data"]["status"], "partial");
    let forced: Vec<&str> = ended["data"]["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .filter(|a| a["forced"] == true)
        .map(|a| a["agent_name"].as_str().expect("name"))
        .collect();
    assert_eq!(forced, ["Guard"]);

    // The forced agent's token can no longer act.
    let guard = server.agent("Guard");
    let (_, beat) = guard
        .post("/api/v1/agent/heartbeat", json!({"status": "working"}))
        .await;
    assert_eq!(beat["stop_requested"], true);
    assert_eq!(beat["stop_id"], stop_id.as_str());
    let (status, body) = guard
        .post("/api/v1/agent/approvals", json!({"kind": "send_newsletter", "title": "x", "payload": {}, "risk": "low", "expires_in_s": 60}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "agent_stopped");
    let (_, fetched) = oncall.get(&format!("/api/v1/stops/{stop_id}")).await;
    assert_eq!(fetched["status"], "partial");
}

#[tokio::test]
async fn a_stop_completes_when_every_agent_acks_and_stopping_twice_is_harmless() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let newsletter = project_id(&oncall, NEWSLETTER).await;
    let mut events = server.events(oncall.token(), None).await;
    let (_, stop) = oncall
        .post(
            &format!("/api/v1/projects/{newsletter}/stop"),
            json!({"reason": "drill"}),
        )
        .await;
    let (status, again) = oncall
        .post(
            &format!("/api/v1/projects/{newsletter}/stop"),
            json!({"reason": "drill"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        again["id"], stop["id"],
        "a second stop while one is pending is the same stop"
    );
    // An agent that was offline learns of the stop from its next heartbeat or on connecting.
    let mut late = server.control("Guard").await;
    assert_eq!(late.next().await["type"], "stop");
    for name in ["Ink", "Tally", "Guard"] {
        server
            .agent(name)
            .post("/api/v1/agent/stop-ack", json!({"stop_id": stop["id"]}))
            .await;
    }
    let done = events
        .next_where("completion", |f| {
            f["type"] == "stop.upserted" && f["data"]["status"] != "pending"
        })
        .await;
    assert_eq!(done["data"]["status"], "completed");
    assert_eq!(done["data"]["agents_stopped"], 3);
    let (_, project) = oncall.get(&format!("/api/v1/projects/{newsletter}")).await;
    assert_eq!(project["project"]["status"], "stopped");
    assert!(project["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .all(|a| a["status"] == "stopped"));
}

#[tokio::test]
async fn a_stop_cancels_pending_approvals_and_only_managers_resume() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let manager = server.login("manager@acme.test").await;
    let newsletter = project_id(&oncall, NEWSLETTER).await;
    let approval = crate::support::ask(&server.agent("Ink"), "critical", 600).await;
    oncall
        .post(&format!("/api/v1/projects/{newsletter}/stop"), json!({}))
        .await;
    let (_, cancelled) = oncall
        .get(&format!(
            "/api/v1/approvals/{}",
            approval["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(cancelled["status"], "cancelled");

    let (status, _) = oncall
        .post(&format!("/api/v1/projects/{newsletter}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut ink = server.control("Ink").await;
    assert_eq!(
        ink.next().await["type"],
        "stop",
        "a reconnecting agent is told about the pending stop"
    );
    let (status, project) = manager
        .post(&format!("/api/v1/projects/{newsletter}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(project["status"], "active");
    assert_eq!(ink.next().await, json!({"type": "resume"}));
    let (_, beat) = server
        .agent("Ink")
        .post("/api/v1/agent/heartbeat", json!({"status": "working"}))
        .await;
    assert_eq!(beat["stop_requested"], false);
}

#[tokio::test]
async fn a_tenant_stop_covers_every_project_and_no_other_tenant() {
    let server = TestServer::start().await;
    let owner = server.login("owner@acme.test").await;
    let northwind = server.login("owner@northwind.test").await;
    let (status, stop) = owner
        .post("/api/v1/stop", json!({"reason": "Incident 4411"}))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(stop["scope"], "tenant");
    assert_eq!(stop["agents_total"], 12);
    let (_, projects) = owner.get("/api/v1/projects").await;
    assert!(projects
        .as_array()
        .expect("list")
        .iter()
        .all(|p| p["status"] == "stopped"));
    let (_, theirs) = northwind.get("/api/v1/projects").await;
    assert!(theirs
        .as_array()
        .expect("list")
        .iter()
        .all(|p| p["status"] == "active"));
}

#[tokio::test]
async fn a_resume_during_a_pending_stop_supersedes_it_and_late_acks_change_nothing() {
    let server = TestServer::start().await;
    let manager = server.login("manager@acme.test").await;
    let newsletter = project_id(&manager, NEWSLETTER).await;
    let mut ink = server.control("Ink").await;
    let (status, stop) = manager
        .post(
            &format!("/api/v1/projects/{newsletter}/stop"),
            json!({"reason": "checking the list"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    let stop_id = stop["id"].as_str().expect("id").to_owned();
    assert_eq!(ink.next().await["type"], "stop");

    let (status, resumed) = manager
        .post(&format!("/api/v1/projects/{newsletter}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{resumed}");
    assert_eq!(resumed["status"], "active");

    // Ink's ack was on its way when the resume landed.
    let (status, _) = server
        .agent("Ink")
        .post("/api/v1/agent/stop-ack", json!({"stop_id": stop_id}))
        .await;
    assert_eq!(status, StatusCode::OK);
    server.advance(chrono::Duration::seconds(30));
    let (_, settled) = manager.get(&format!("/api/v1/stops/{stop_id}")).await;
    assert_ne!(settled["status"], "pending", "{settled}");
    assert!(
        settled["agents"]
            .as_array()
            .expect("agents")
            .iter()
            .all(|a| a["forced"] == false && !a["resumed_at"].is_null()),
        "nobody is forced after the resume: {settled}"
    );
    // The sweeper had its chance to force the superseded stop; agents stay free to work.
    for _ in 0..3 {
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    let (_, project) = manager.get(&format!("/api/v1/projects/{newsletter}")).await;
    assert_eq!(project["project"]["status"], "active");
    for agent in project["agents"].as_array().expect("agents") {
        assert_eq!(
            agent["status"], "idle",
            "{} after the resume",
            agent["name"]
        );
    }
    let (status, again) = manager
        .post(&format!("/api/v1/projects/{newsletter}/resume"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["status"], "active");
}
