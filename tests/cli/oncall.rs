//! On call from the terminal: who is on call (live, then worked out offline), "I'm on it", and
//! asking an agent again from a plane, delivered once when the link returns.

use std::time::Duration;

use crate::support::{eventually, exit, Cli, TestServer, ONCALL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oncall_ack_and_ask_again_work_from_the_terminal_and_offline() {
    let mut server = TestServer::with_oncall().await;
    let cli = Cli::new();
    cli.login(&server, ONCALL).await;

    let oncall = cli.run(&["oncall", "--json"]).await;
    let oncall = oncall.expect_ok().json();
    assert_eq!(oncall["live"], true);
    // Dana or Priya, by the demo rotation at this hour of this week.
    let on_call = oncall["now"][0]["name"]
        .as_str()
        .expect("someone")
        .to_owned();
    assert!(
        ["Dana Whitfield", "Priya Raman"].contains(&on_call.as_str()),
        "{oncall}"
    );
    let text = cli.run(&["oncall"]).await;
    assert!(
        text.expect_ok()
            .stdout
            .contains(&format!("On call now: {on_call} (until ")),
        "{}",
        text.stdout
    );

    let critical = server
        .agent("Quill")
        .ask("Boost the hero ad on Meta", "critical", 3600)
        .await;
    let critical_id = critical["id"].as_str().expect("an id");
    let acked = cli.run(&["ack", critical_id]).await;
    assert!(
        acked
            .expect_ok()
            .stdout
            .contains("everyone sees you are on it"),
        "{}",
        acked.stdout
    );
    let oncall_token = server.token(ONCALL).await;
    let on_server = server
        .get(&oncall_token, &format!("/api/v1/approvals/{critical_id}"))
        .await;
    assert_eq!(
        on_server["escalation"]["acked_by"]["name"],
        "Dana Whitfield"
    );
    let listed = cli.run(&["approvals"]).await;
    assert!(
        listed
            .expect_ok()
            .stdout
            .contains("Dana Whitfield is on it"),
        "the trail shows in the listing: {}",
        listed.stdout
    );

    let expiring = server
        .agent("Iris")
        .ask("Raise the TikTok bid cap to $2.40", "high", 60)
        .await;
    let expiring_id = expiring["id"].as_str().expect("an id").to_owned();
    server.advance(chrono::Duration::seconds(61));
    eventually("the request expires", async || {
        let now = server
            .get(&oncall_token, &format!("/api/v1/approvals/{expiring_id}"))
            .await;
        (now["status"] == "expired").then_some(())
    })
    .await;
    cli.run(&["sync"]).await.expect_ok();

    // The link goes: the schedule is worked out from the cache, and the ask waits.
    server.shutdown().await;
    let offline = cli.run(&["oncall", "--json"]).await;
    let offline = offline.expect_ok().json();
    assert_eq!(offline["live"], false);
    assert_eq!(
        offline["now"][0]["name"],
        on_call.as_str(),
        "from the last answer's shifts: {offline}"
    );
    let asked = cli
        .run(&["ask-again", &expiring_id, "--comment", "Cap it at $2.00"])
        .await;
    asked.expect_code(exit::QUEUED_OFFLINE);
    assert!(asked.stdout.contains("queued offline"), "{}", asked.stdout);

    server.restart().await;
    let mut control = server.control("Iris").await;
    cli.run(&["sync"]).await.expect_ok();
    let frame = control
        .next_where("ask_again", |f| f["type"] == "ask_again")
        .await;
    assert_eq!(frame["approval_id"], expiring_id.as_str());
    assert_eq!(frame["comment"], "Cap it at $2.00");
    cli.run(&["sync"]).await.expect_ok();
    assert!(
        control
            .try_next(Duration::from_millis(1500))
            .await
            .is_none_or(|f| f["type"] != "ask_again"),
        "asked exactly once"
    );
    let after = server
        .get(&oncall_token, &format!("/api/v1/approvals/{expiring_id}"))
        .await;
    assert_eq!(after["ask_again_requested_by"]["name"], "Dana Whitfield");

    let refused = cli.run(&["ask-again", critical_id]).await;
    refused.expect_code(exit::CONFLICT);
    assert!(
        refused.stderr.contains("Only an expired request"),
        "{}",
        refused.stderr
    );
}
