//! Decisions and messages made while the server is down are delivered exactly once after it
//! returns, although the process delivering them is killed with SIGKILL on the way.

use std::time::Duration;

use serde_json::Value;

use crate::support::{eventually, exit, Cli, TestServer, ONCALL, SPRING};

const COMMENT: &str = "Too aggressive for the brand: soften the headline.";

fn body(i: usize) -> String {
    format!("Offline note {i:02}: keep the spring budget under review")
}

/// What the server holds of the offline work: decided approvals and the test's messages.
struct Delivered {
    decisions: usize,
    messages: usize,
}

async fn delivered(server: &TestServer, project_id: &str, approvals: &[&str]) -> Delivered {
    let tenant = server.tenant_id().await;
    let mut decisions = 0;
    for id in approvals {
        let approval = server
            .state()
            .store
            .get_doc(&tenant, spartex_server::store::DocKind::Approval, id)
            .await
            .expect("the store answers")
            .expect("the approval exists");
        if approval["status"] != "pending" {
            decisions += 1;
        }
    }
    let messages = server
        .messages(project_id)
        .await
        .iter()
        .filter(|m| m["author_kind"] == "user")
        .count();
    Delivered {
        decisions,
        messages,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_work_is_delivered_exactly_once_across_kill_9() {
    let mut server = TestServer::start().await;
    let approve_me = server
        .ask("Iris", "Raise the TikTok bid cap to $2.40")
        .await;
    let reject_me = server
        .ask("Quill", "Publish the carousel copy for audience B")
        .await;
    let approve_id = approve_me["id"].as_str().expect("an id").to_owned();
    let reject_id = reject_me["id"].as_str().expect("an id").to_owned();
    let version = |a: &Value| a["version"].as_i64().expect("a version");

    let cli = Cli::new();
    cli.login(&server, ONCALL).await;
    cli.run(&["sync"]).await.expect_ok();
    let pending = cli.run(&["approvals", "--json", "--offline"]).await;
    let pending = pending.expect_ok().json();
    for id in [&approve_id, &reject_id] {
        assert!(
            pending
                .as_array()
                .expect("a list")
                .iter()
                .any(|v| v["approval"]["id"] == **id),
            "{id} is cached as pending: {pending}"
        );
    }
    let oncall = server.token(ONCALL).await;
    let project_id = server.api(&oncall).project_id(SPRING).await;
    let addr = server.addr();

    // The server goes away; everything done now waits in the outbox.
    server.shutdown().await;
    let approved = cli.run(&["approve", &approve_id]).await;
    approved.expect_code(exit::QUEUED_OFFLINE);
    assert!(
        approved.stdout.contains("queued offline"),
        "{}",
        approved.stdout
    );
    cli.run(&["reject", &reject_id, "--comment", COMMENT])
        .await
        .expect_code(exit::QUEUED_OFFLINE);
    // Five processes at a time write to the one cache and its outbox.
    for batch in 0..4 {
        let chats: Vec<Vec<String>> = (batch * 5..batch * 5 + 5)
            .map(|i| vec!["chat".into(), SPRING.into(), body(i)])
            .collect();
        for run in cli.run_together(&chats).await {
            run.expect_code(exit::QUEUED_OFFLINE);
            assert!(run.stdout.contains("queued offline"), "{run:?}");
        }
    }
    let status = cli.run(&["status", "--json", "--offline"]).await;
    let waiting = status.expect_ok().json()["outbox"]
        .as_array()
        .expect("the outbox")
        .len();
    assert_eq!(waiting, 22, "two decisions and 20 messages wait");

    // A watcher that finds the server still gone is killed outright.
    let mut watch = cli.spawn(&["watch", "--no-notify"]);
    watch.wait_for_line("Watching").await;
    watch.wait_for_line("Offline").await;
    watch.kill_9().await;

    // The server returns on the same address with the same database.
    server.restart().await;
    assert_eq!(server.addr(), addr);
    let approvals = [approve_id.as_str(), reject_id.as_str()];
    let nothing = delivered(&server, &project_id, &approvals).await;
    assert_eq!(
        (nothing.decisions, nothing.messages),
        (0, 0),
        "nothing arrived while the server was down"
    );

    // A watcher delivers; it is killed as soon as part of the outbox has arrived.
    let watch = cli.spawn(&["watch", "--no-notify"]);
    let partial = eventually("the watcher delivers something", async || {
        let now = delivered(&server, &project_id, &approvals).await;
        (now.decisions + now.messages > 0).then_some(now)
    })
    .await;
    watch.kill_9().await;
    let after_kill = delivered(&server, &project_id, &approvals).await;
    println!(
        "watcher killed after {} decisions and {} messages had arrived ({} and {} once it was gone)",
        partial.decisions, partial.messages, after_kill.decisions, after_kill.messages
    );

    // `sync` delivers the rest, once.
    let synced = cli.run(&["sync"]).await;
    synced.expect_ok();
    let done = delivered(&server, &project_id, &approvals).await;
    if (done.decisions, done.messages) != (2, 20) {
        // What still waits, and the error each last attempt met.
        let status = cli.run(&["status", "--json", "--offline"]).await;
        panic!(
            "sync delivered {} decisions and {} messages of 2 and 20: {synced:?}\n{}",
            done.decisions, done.messages, status.stdout
        );
    }

    // The server's view: each action exactly once.
    let approved = server
        .get(&oncall, &format!("/api/v1/approvals/{approve_id}"))
        .await;
    assert_eq!(approved["status"], "approved", "{approved}");
    assert_eq!(
        version(&approved),
        version(&approve_me) + 1,
        "decided once: {approved}"
    );
    assert_eq!(approved["decided_by"]["email"], ONCALL, "{approved}");
    assert_eq!(approved["decided_by"]["name"], "Dana Whitfield");
    let rejected = server
        .get(&oncall, &format!("/api/v1/approvals/{reject_id}"))
        .await;
    assert_eq!(rejected["status"], "rejected", "{rejected}");
    assert_eq!(rejected["comment"], COMMENT);
    assert_eq!(version(&rejected), version(&reject_me) + 1, "{rejected}");
    assert_eq!(rejected["decided_by"]["email"], ONCALL);

    let events = server.api(&oncall).all_events().await;
    for (id, status) in [(&approve_id, "approved"), (&reject_id, "rejected")] {
        let decided = events
            .iter()
            .filter(|e| e["type"] == "approval.upserted" && e["data"]["id"] == **id)
            .filter(|e| e["data"]["status"] == status)
            .count();
        assert_eq!(decided, 1, "one `{status}` event for {id}");
    }

    let messages = server.messages(&project_id).await;
    for i in 0..20 {
        let copies = messages.iter().filter(|m| m["body"] == body(i)).count();
        assert_eq!(copies, 1, "message {i} is on the server exactly once");
    }
    let from_user = messages.iter().filter(|m| m["author_kind"] == "user");
    for message in from_user {
        assert_eq!(message["author_name"], "Dana Whitfield", "{message}");
        assert!(message["client_msg_id"].is_string(), "{message}");
    }

    // The client's view: nothing waits, nothing is shown twice or as still sending.
    let status = cli.run(&["status", "--json"]).await;
    let status = status.expect_ok().json();
    assert_eq!(status["outbox"], serde_json::json!([]), "{status}");
    let view = cli.run(&["project", SPRING, "--json", "--offline"]).await;
    let view = view.expect_ok().json();
    let cached = view["messages"].as_array().expect("messages");
    for i in 0..20 {
        let copies: Vec<&Value> = cached
            .iter()
            .filter(|m| m["message"]["body"] == body(i))
            .collect();
        assert_eq!(copies.len(), 1, "message {i} is cached once: {copies:?}");
        assert_eq!(copies[0]["sending"], false, "{}", copies[0]);
    }
    let decided = cli
        .run(&["approvals", "--all", "--json", "--offline"])
        .await;
    let decided = decided.expect_ok().json();
    for (id, status) in [(&approve_id, "approved"), (&reject_id, "rejected")] {
        let view = decided
            .as_array()
            .expect("a list")
            .iter()
            .find(|v| v["approval"]["id"] == **id)
            .unwrap_or_else(|| panic!("{id} is cached"));
        assert_eq!(view["approval"]["status"], status, "{view}");
        assert!(view["sending"].is_null(), "settled: {view}");
    }
    tokio::time::timeout(Duration::from_secs(30), server.shutdown())
        .await
        .expect("the server shuts down");
}
