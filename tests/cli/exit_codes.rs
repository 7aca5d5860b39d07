//! Exit codes and messages scripts rely on: 2 usage, 3 sign-in, 4 refused, 5 queued offline,
//! and the emergency stop reporting each agent's acknowledgement.

use std::time::Duration;

use serde_json::json;
use spartex_demo::workers;

use crate::support::{exit, Cli, TestServer, LAUNCH, MANAGER, ONCALL, SPRING};

const ALREADY: &str = "Already approved by Marco Rossi (manager)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_exit_2() {
    let server = TestServer::start().await;
    let cli = Cli::new();
    for args in [
        &["frobnicate"][..],
        &["approvals", "--bogus"],
        &["approve"],
        &["stop", SPRING, "--all"],
    ] {
        let run = cli.run(args).await;
        run.expect_code(exit::USAGE);
        assert!(!run.stderr.is_empty(), "says why: {run:?}");
    }
    cli.login(&server, ONCALL).await;
    for args in [
        &["project", "No Such Project", "--offline"][..],
        &["approve", "apr_nothing_like_this", "--offline"],
        &["stop", "--yes", "--offline"],
    ] {
        let run = cli.run(args).await;
        run.expect_code(exit::USAGE);
        assert!(run.stderr.contains("error: "), "{run:?}");
    }
    let run = cli.run(&["project", "No Such Project", "--offline"]).await;
    assert!(
        run.stderr.contains("No project `No Such Project`"),
        "{run:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_exits_3_and_says_so() {
    let server = TestServer::start().await;
    let cli = Cli::new();
    let url = server.url();
    let run = cli
        .run_with_password(
            &["login", "--server", &url, "--email", ONCALL],
            "not-the-password",
        )
        .await;
    run.expect_code(exit::AUTH);
    assert!(run.stderr.contains("email or password"), "{run:?}");
    assert!(!run.stderr.contains("not-the-password"), "{run:?}");
    let accounts = cli.run(&["accounts", "--json"]).await;
    assert_eq!(
        accounts.expect_ok().json(),
        json!([]),
        "nobody is signed in"
    );
    // Nothing signed in: commands that need an account say so with the same code.
    let run = cli.run(&["projects", "--offline"]).await;
    run.expect_code(exit::AUTH);
    assert!(run.stderr.contains("spartex login"), "{run:?}");
}

/// Someone else decided first: whether the cache knew it or not, the command exits 4 and says
/// who, and the server keeps the first decision only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_made_elsewhere_first_exits_4_and_names_who() {
    let mut server = TestServer::start().await;
    let stale = server.ask("Iris", "Boost the hero ad on Meta").await;
    let fresh = server.ask("Quill", "Publish the story variant").await;
    let queued = server.ask("Ledger", "Move $300 to TikTok").await;
    let id = |a: &serde_json::Value| a["id"].as_str().expect("an id").to_owned();
    let cli = Cli::new();
    cli.login(&server, ONCALL).await;

    let manager = server.token(MANAGER).await;
    let manager_approves = async |approval: &serde_json::Value| {
        let (status, body) = server
            .post(
                &manager,
                &format!("/api/v1/approvals/{}/decision", id(approval)),
                json!({ "decision": "approve", "seen_version": approval["version"] }),
            )
            .await;
        assert_eq!(status, 200, "the manager decides: {body}");
    };
    manager_approves(&stale).await;
    manager_approves(&fresh).await;

    // The cache still shows it pending (--offline reads it as it is): the server refuses.
    let run = cli.run(&["approve", &id(&stale), "--offline"]).await;
    run.expect_code(exit::CONFLICT);
    assert!(run.stdout.contains(ALREADY), "{run:?}");

    // A fresh read knows it is decided: refused before anything is sent, in the same words.
    let run = cli.run(&["approve", &id(&fresh)]).await;
    run.expect_code(exit::CONFLICT);
    assert!(run.stdout.contains(ALREADY), "{run:?}");

    // Decided after this cache last heard from the server, and queued while the server is
    // down: the refusal comes with the next sync.
    manager_approves(&queued).await;
    server.shutdown().await;
    cli.run(&["approve", &id(&queued)])
        .await
        .expect_code(exit::QUEUED_OFFLINE);
    server.restart().await;
    let run = cli.run(&["sync"]).await;
    run.expect_ok();
    assert!(
        run.stdout.contains(ALREADY),
        "the sync reports the refusal: {run:?}"
    );
    let status = cli.run(&["status", "--json"]).await;
    let status = status.expect_ok().json();
    assert_eq!(status["outbox"], json!([]), "{status}");
    assert_eq!(
        status["recent_outcomes"][0]["result"], "already_decided",
        "{status}"
    );

    let oncall = server.token(ONCALL).await;
    for approval in [&stale, &fresh, &queued] {
        let now = server
            .get(&oncall, &format!("/api/v1/approvals/{}", id(approval)))
            .await;
        assert_eq!(now["status"], "approved", "{now}");
        assert_eq!(
            now["decided_by"]["email"], MANAGER,
            "the first decision stands: {now}"
        );
        assert_eq!(
            now["version"],
            approval["version"].as_i64().expect("a version") + 1,
            "decided once: {now}"
        );
    }
    let cached = cli
        .run(&["approvals", "--all", "--json", "--offline"])
        .await;
    let cached = cached.expect_ok().json();
    for approval in [&stale, &fresh, &queued] {
        let view = cached
            .as_array()
            .expect("a list")
            .iter()
            .find(|v| v["approval"]["id"] == approval["id"])
            .expect("cached");
        assert_eq!(view["approval"]["status"], "approved", "{view}");
        assert!(view["sending"].is_null(), "{view}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emergency_stop_reports_each_acknowledgement() {
    let mut server = TestServer::start().await;
    let agents = server.agents_of(LAUNCH);
    let names: Vec<String> = agents.iter().map(|a| a.agent.name.clone()).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    let workers = workers::spawn_all(server.url(), agents, Duration::from_millis(50));
    let cli = Cli::new();
    cli.login(&server, ONCALL).await;

    let run = cli
        .run(&["stop", LAUNCH, "--yes", "--reason", "Wrong landing page"])
        .await;
    run.expect_ok();
    for name in &names {
        let line = format!("✓ {name} acknowledged");
        assert_eq!(
            run.stdout.matches(&line).count(),
            1,
            "one “{line}”: {run:?}"
        );
    }
    assert!(
        run.stdout
            .contains("Stop completed: 4 of 4 agents acknowledged"),
        "{run:?}"
    );

    let oncall = server.token(ONCALL).await;
    let stops = server.get(&oncall, "/api/v1/stops").await;
    let stop = &stops[0];
    assert_eq!(stop["status"], "completed", "{stop}");
    assert_eq!(stop["agents_stopped"], 4, "{stop}");
    assert_eq!(stop["reason"], "Wrong landing page", "{stop}");
    workers.stop().await;
    server.shutdown().await;
}
