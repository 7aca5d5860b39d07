//! An action the server did not take says why, and exits by it: refused by the server (4, with
//! the server's words), or waiting for a new sign-in because the session ended (3, naming
//! `spartex login`); never "the server cannot be reached" when it answered.

use serde_json::{json, Value};

use spartex_testkit::demo::VIEWER;

use crate::support::{exit, Cli, Run, TestServer, LAUNCH, ONCALL, OWNER, SPRING};

#[track_caller]
fn assert_not_called_unreachable(run: &Run) {
    for words in ["cannot be reached", "queued offline", "link returns"] {
        assert!(
            !run.stdout.contains(words) && !run.stderr.contains(words),
            "the server answered, yet it says “{words}”: {run:?}"
        );
    }
}

/// A viewer may not pull the emergency stop: the server refuses, and the command says so in
/// the server's words and exits 4, as a refused decision does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_the_server_refuses_says_why_and_exits_4() {
    let mut server = TestServer::start().await;
    let cli = Cli::new();
    cli.login(&server, VIEWER).await;

    let run = cli.run(&["stop", LAUNCH, "--yes"]).await;
    run.expect_code(exit::CONFLICT);
    assert!(run.stdout.contains("not applied"), "{run:?}");
    assert!(
        run.stdout
            .contains("Your role (viewer) cannot pull the emergency stop"),
        "the server's refusal, word for word: {run:?}"
    );
    assert_not_called_unreachable(&run);

    // Refused, it has left the outbox: nothing waits to be sent again.
    let status = cli.run(&["status", "--json", "--offline"]).await;
    let status = status.expect_ok().json();
    assert_eq!(status["outbox"], json!([]), "{status}");
    let owner = server.token(OWNER).await;
    assert_eq!(
        server.get(&owner, "/api/v1/stops").await,
        json!([]),
        "nothing was stopped"
    );
    server.shutdown().await;
}

/// The session was revoked from elsewhere: a stop, a decision and a message wait in the outbox
/// for a new sign-in, and each command says so, names `spartex login` and exits 3, not 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_of_a_session_ended_elsewhere_exit_3_and_name_spartex_login() {
    let mut server = TestServer::start().await;
    let approval = server.ask("Iris", "Raise the TikTok bid cap").await;
    let approval_id = approval["id"].as_str().expect("an id").to_owned();
    let cli = Cli::new();
    let account_id = cli.login(&server, ONCALL).await;
    cli.revoke_session(&server, &account_id).await;

    // The first finds out from the server; the others from the session it forgot.
    for args in [
        &["stop", LAUNCH, "--yes"][..],
        &["approve", &approval_id],
        &["chat", SPRING, "Hold the spring budget until Monday"],
    ] {
        let run = cli.run(args).await;
        run.expect_code(exit::AUTH);
        assert!(run.stderr.contains("spartex login"), "{run:?}");
        assert!(run.stdout.contains("sign in again"), "{run:?}");
        assert_not_called_unreachable(&run);
    }
    let run = cli.run(&["stop", "--all", "--yes", "--json"]).await;
    run.expect_code(exit::AUTH);
    assert_eq!(run.json()["delivered"], false, "{run:?}");

    // They wait for the next sign-in; none reached the server.
    let status = cli.run(&["status", "--json", "--offline"]).await;
    let status = status.expect_ok().json();
    assert_eq!(
        status["outbox"].as_array().map(Vec::len),
        Some(4),
        "{status}"
    );
    let owner = server.token(OWNER).await;
    assert_eq!(server.get(&owner, "/api/v1/stops").await, json!([]));
    let now: Value = server
        .get(&owner, &format!("/api/v1/approvals/{approval_id}"))
        .await;
    assert_eq!(now["status"], "pending", "{now}");

    // Signing in again sends them, stop first, and says so.
    let url = server.url();
    let login = cli
        .run(&["login", "--server", &url, "--email", ONCALL, "--json"])
        .await;
    let login = login.expect_ok().json();
    assert_eq!(
        login["id"],
        account_id.as_str(),
        "the same account, its cache kept"
    );
    let sent = &login["sent"];
    assert_eq!(
        (
            sent["delivered"].as_u64(),
            sent["refused"].as_u64(),
            sent["waiting"].as_u64()
        ),
        (Some(3), Some(1), Some(0)),
        "the stops and the message; the approve found its request cancelled: {login}"
    );
    let status = cli.run(&["status", "--json", "--offline"]).await;
    assert_eq!(status.expect_ok().json()["outbox"], json!([]));
    let stops: Value = server.get(&owner, "/api/v1/stops").await;
    assert!(stops.as_array().is_some_and(|s| !s.is_empty()), "{stops}");
    let now: Value = server
        .get(&owner, &format!("/api/v1/approvals/{approval_id}"))
        .await;
    // The stops went first and cancelled the pending request the approve was for.
    assert_eq!(now["status"], "cancelled", "{now}");
    server.shutdown().await;
}
