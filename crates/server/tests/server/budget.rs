//! The budget guardrail: a warning at 80 %, a pause and a question at 100 %.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestServer;

#[tokio::test]
async fn spend_warns_then_pauses_and_asks_to_raise_the_budget() {
    let server = TestServer::start().await;
    let manager = server.login("manager@acme.test").await;
    let (_, project) = manager
        .post(
            "/api/v1/projects",
            json!({"name": "Flash sale", "budget_usd": 10.0}),
        )
        .await;
    let project_id = project["id"].as_str().expect("id").to_owned();
    let (status, created) = manager
        .post(
            &format!("/api/v1/projects/{project_id}/agents"),
            json!({"name": "Spender", "role": "Media Buyer", "model": "gpt-5"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let agent = server.api(created["agent_token"].as_str().expect("token"));
    // From the start of the log: a live-only socket could still be subscribing when the
    // heartbeat's event goes out on a busy machine.
    let mut events = server.events(manager.token(), Some(0)).await;

    let (_, beat) = agent
        .post(
            "/api/v1/agent/heartbeat",
            json!({"status": "working", "tokens_in": 1000, "cost_usd": 8.5}),
        )
        .await;
    assert_eq!(beat["paused"], false);
    let warning = events
        .next_where("a cost record of the new project", |f| {
            f["type"] == "cost.recorded" && f["data"]["project_id"] == project_id.as_str()
        })
        .await;
    assert_eq!(warning["data"]["budget_state"], "warning");

    let (_, beat) = agent
        .post(
            "/api/v1/agent/heartbeat",
            json!({"status": "working", "cost_usd": 2.0}),
        )
        .await;
    assert_eq!(
        beat["paused"], true,
        "the agent is told to pause instead of failing mid-task"
    );
    let exceeded = events
        .next_where("a cost record of the new project", |f| {
            f["type"] == "cost.recorded" && f["data"]["project_id"] == project_id.as_str()
        })
        .await;
    assert_eq!(exceeded["data"]["budget_state"], "exceeded");
    let question = events
        .next_where("the budget question", |f| {
            f["type"] == "approval.upserted" && f["data"]["project_id"] == project_id.as_str()
        })
        .await;
    assert_eq!(question["data"]["kind"], "budget_exceeded");
    assert_eq!(question["data"]["preview"]["type"], "amount");
    let (_, paused) = manager.get(&format!("/api/v1/projects/{project_id}")).await;
    assert_eq!(paused["project"]["status"], "paused");

    let (status, _) = manager
        .post(
            &format!(
                "/api/v1/approvals/{}/decision",
                question["data"]["id"].as_str().expect("id")
            ),
            json!({"decision": "approve", "seen_version": question["data"]["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, resumed) = manager.get(&format!("/api/v1/projects/{project_id}")).await;
    assert_eq!(resumed["project"]["status"], "active");
    assert_eq!(
        resumed["project"]["budget_usd"],
        question["data"]["payload"]["new_budget_usd"]
    );
    let (_, beat) = agent
        .post("/api/v1/agent/heartbeat", json!({"status": "working"}))
        .await;
    assert_eq!(beat["paused"], false);

    let (_, metrics) = manager
        .get(&format!(
            "/api/v1/projects/{project_id}/metrics?bucket=hour"
        ))
        .await;
    let total: f64 = metrics["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["cost_usd"].as_f64().expect("cost"))
        .sum();
    assert!(
        (total - 10.5).abs() < 1e-9,
        "metrics add up the recorded spend: {total}"
    );
}
