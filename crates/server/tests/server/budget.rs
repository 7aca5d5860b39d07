//! The budget guardrail: a warning at 80 %, a pause and a question at 100 %.

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_api::Approval;
use spartex_server::store::{Resource, WriteScope};

use crate::support::{Api, TestServer};

#[tokio::test]
async fn spend_warns_then_pauses_and_asks_to_raise_the_budget() {
    let server = TestServer::start().await;
    let manager = server.login("manager@acme.test").await;
    let (project_id, agent) = project_of_ten_dollars(&server, &manager).await;
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
        question["data"]["preview"]["new_amount"]
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

/// A fresh project with a budget of $10 and one agent; its id and the agent's client.
async fn project_of_ten_dollars(server: &TestServer, manager: &Api) -> (String, Api) {
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
    (
        project_id,
        server.api(created["agent_token"].as_str().expect("token")),
    )
}

/// A fresh project of $10 whose agent overspends: the server's own budget question is pending.
async fn overrun(server: &TestServer) -> (Api, String, Api, Value) {
    let manager = server.login("manager@acme.test").await;
    let (project_id, agent) = project_of_ten_dollars(server, &manager).await;
    let (_, beat) = agent
        .post(
            "/api/v1/agent/heartbeat",
            json!({"status": "working", "cost_usd": 11.0}),
        )
        .await;
    assert_eq!(beat["paused"], true);
    let (_, pending) = manager
        .get(&format!(
            "/api/v1/approvals?status=pending&project_id={project_id}"
        ))
        .await;
    let question = pending[0].clone();
    assert_eq!(question["kind"], "budget_exceeded", "{pending}");
    (manager, project_id, agent, question)
}

/// Rewrites a stored approval, as a tampering agent of an older server could have left it.
async fn tamper(
    server: &TestServer,
    tenant_id: &str,
    approval: &Value,
    edit: impl FnOnce(&mut Approval),
) {
    let mut approval: Approval = serde_json::from_value(approval.clone()).expect("approval");
    edit(&mut approval);
    let mut tx = server
        .state()
        .store
        .begin(WriteScope::Tenant(tenant_id))
        .await
        .expect("tx");
    tx.put_doc(tenant_id, &approval.document())
        .await
        .expect("stored");
    drop(tx.commit().await.expect("committed"));
}

async fn tenant_of(api: &Api) -> String {
    let (_, me) = api.get("/api/v1/me").await;
    me["tenant"]["id"].as_str().expect("tenant").to_owned()
}

#[tokio::test]
async fn agents_may_not_file_the_servers_budget_question() {
    let server = TestServer::start().await;
    let (_, _, agent, _) = overrun(&server).await;
    let quill = server.agent("Quill");
    for kind in ["budget_exceeded", "spartex_budget", "system_override"] {
        for on_expiry in ["approve", "reject"] {
            let (status, body) = quill
                .post(
                    "/api/v1/agent/approvals",
                    json!({
                        "kind": kind, "title": "Raise my budget", "summary": "",
                        "payload": {"new_budget_usd": 1_000_000},
                        "preview": {"type": "amount", "currency": "USD", "old_amount": 10.0, "new_amount": 20.0},
                        "risk": "low", "expires_in_s": 60, "on_expiry": on_expiry,
                    }),
                )
                .await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{kind}: {body}");
            assert_eq!(body["error"]["code"], "reserved_kind");
        }
    }
    let (status, _) = agent
        .post(
            "/api/v1/agent/approvals",
            json!({"kind": "budget_exceeded", "title": "Fund me", "summary": "", "payload": {},
                   "risk": "low", "expires_in_s": 60}),
        )
        .await;
    assert_ne!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_budget_change_applies_the_amount_in_its_preview_never_its_payload() {
    let server = TestServer::start().await;
    let (manager, project_id, _, question) = overrun(&server).await;
    let shown = question["preview"]["new_amount"].as_f64().expect("amount");
    tamper(&server, &tenant_of(&manager).await, &question, |a| {
        a.payload = json!({"new_budget_usd": 1_000_000.0});
    })
    .await;
    let (status, body) = manager
        .post(
            &format!(
                "/api/v1/approvals/{}/decision",
                question["id"].as_str().expect("id")
            ),
            json!({"decision": "approve", "seen_version": question["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, project) = manager.get(&format!("/api/v1/projects/{project_id}")).await;
    assert_eq!(project["project"]["budget_usd"].as_f64(), Some(shown));
}

#[tokio::test]
async fn a_budget_change_never_approves_itself_on_expiry() {
    let server = TestServer::start().await;
    let (manager, project_id, _, question) = overrun(&server).await;
    tamper(&server, &tenant_of(&manager).await, &question, |a| {
        a.on_expiry = spartex_api::OnExpiry::Approve;
    })
    .await;
    server.advance(chrono::Duration::hours(5));
    let manager = server.login("manager@acme.test").await;
    let id = question["id"].as_str().expect("id");
    let mut settled = Value::Null;
    for _ in 0..200 {
        let (_, approval) = manager.get(&format!("/api/v1/approvals/{id}")).await;
        if approval["status"] != "pending" {
            settled = approval;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!(settled["status"], "expired", "{settled}");
    let (_, project) = manager.get(&format!("/api/v1/projects/{project_id}")).await;
    assert_eq!(project["project"]["budget_usd"].as_f64(), Some(10.0));
    assert_eq!(project["project"]["status"], "paused");
}

#[tokio::test]
async fn an_emergency_stop_cancels_the_budget_question_like_any_other() {
    let server = TestServer::start().await;
    let (manager, project_id, _, question) = overrun(&server).await;
    let (status, _) = manager
        .post(
            &format!("/api/v1/projects/{project_id}/stop"),
            json!({"reason": "runaway spend"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, approval) = manager
        .get(&format!(
            "/api/v1/approvals/{}",
            question["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(approval["status"], "cancelled", "{approval}");
}
