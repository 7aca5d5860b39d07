//! The simulated workers behave as real ones: they obey a stop within a second, answer chat,
//! and change course after a rejection's comment.

use std::time::Duration;

use serde_json::json;
use spartex_demo::workers::spawn_all;

use crate::support::{project_id, TestServer, NEWSLETTER, SPRING};

fn pace() -> Duration {
    Duration::from_millis(40)
}

#[tokio::test]
async fn simulated_workers_all_acknowledge_a_stop() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let agents = server
        .agents
        .iter()
        .filter(|a| a.project_name == NEWSLETTER)
        .map(clone_agent)
        .collect();
    let workers = spawn_all(server.base().to_owned(), agents, pace());
    let newsletter = project_id(&oncall, NEWSLETTER).await;
    let mut events = server.events(oncall.token(), None).await;
    // Let them get going: the first task started means the workers are connected and busy.
    events
        .next_where("work", |f| f["type"] == "task.upserted")
        .await;
    let (_, stop) = oncall
        .post(
            &format!("/api/v1/projects/{newsletter}/stop"),
            json!({"reason": "test"}),
        )
        .await;
    // The clock never moves, so a `completed` stop means every worker acknowledged by itself.
    let done = events
        .next_where("completion", |f| {
            f["type"] == "stop.upserted"
                && f["data"]["id"] == stop["id"]
                && f["data"]["status"] != "pending"
        })
        .await;
    assert_eq!(done["data"]["status"], "completed");
    assert_eq!(done["data"]["agents_stopped"], 3);
    workers.stop().await;
}

#[tokio::test]
async fn a_simulated_agent_answers_chat_and_reworks_after_a_rejection() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let spring = project_id(&oncall, SPRING).await;
    let quill = clone_agent(server.agent_named("Quill"));
    let quill_id = quill.agent.id.clone();
    let workers = spawn_all(server.base().to_owned(), vec![quill], pace());
    let mut events = server.events(oncall.token(), None).await;

    let first = events
        .next_where("an approval request", |f| {
            f["type"] == "approval.upserted" && f["data"]["status"] == "pending"
        })
        .await;
    oncall
        .post(
            &format!("/api/v1/projects/{spring}/messages"),
            json!({"body": "What's the status?", "agent_id": quill_id}),
        )
        .await;
    let (status, _) = oncall
        .post(
            &format!("/api/v1/approvals/{}/decision", first["data"]["id"].as_str().expect("id")),
            json!({"decision": "reject", "comment": "Lead with free returns", "seen_version": first["data"]["version"]}),
        )
        .await;
    assert!(status.is_success());
    events
        .next_where("a chat reply", |f| {
            f["type"] == "message.created"
                && f["data"]["author_kind"] == "agent"
                && f["data"]["body"]
                    .as_str()
                    .is_some_and(|b| b.contains("Quill (Copywriter) here"))
        })
        .await;
    let second = events
        .next_where("the reworked request", |f| {
            f["type"] == "approval.upserted"
                && f["data"]["status"] == "pending"
                && f["data"]["id"] != first["data"]["id"]
        })
        .await;
    assert!(
        second["data"]["summary"]
            .as_str()
            .expect("summary")
            .contains("Lead with free returns"),
        "{second}"
    );
    workers.stop().await;
}

/// Paced an hour a step, the workers sit in long waits mid-task; a shutdown still reaches every
/// one of them at once, without the 5 s grace running out.
#[tokio::test]
async fn slow_paced_workers_stop_on_their_own_when_the_demo_shuts_down() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let agents: Vec<_> = server
        .agents
        .iter()
        .filter(|a| a.project_name == NEWSLETTER)
        .map(clone_agent)
        .collect();
    let ids: Vec<String> = agents.iter().map(|a| a.agent.id.clone()).collect();
    let mut events = server.events(oncall.token(), None).await;
    let workers = spawn_all(server.base().to_owned(), agents, Duration::from_secs(3600));
    let mut working = std::collections::BTreeSet::new();
    while working.len() < ids.len() {
        let started = events
            .next_where("a first task", |f| f["type"] == "task.upserted")
            .await;
        if let Some(agent) = started["data"]["agent_id"].as_str() {
            working.insert(agent.to_owned());
        }
    }
    let stuck = tokio::time::timeout(crate::support::PATIENCE, workers.stop())
        .await
        .expect("the workers stop within the patience window");
    assert_eq!(stuck, 0, "workers had to be aborted");
}

fn clone_agent(agent: &spartex_demo::seed::DemoAgent) -> spartex_demo::seed::DemoAgent {
    spartex_demo::seed::DemoAgent {
        agent: agent.agent.clone(),
        project_name: agent.project_name.clone(),
        token: agent.token.clone(),
        lead: agent.lead,
    }
}
