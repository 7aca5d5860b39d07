//! A burst of requests on a watching terminal's desktop, through the session's real
//! notification daemon: the first few are shown one by one, the rest counted in one summary
//! that is updated as they are answered and taken back with the last.

use serde_json::json;

use crate::notify_monitor::NotifyMonitor;
use crate::support::{desktop_session, Cli, TestServer, MANAGER, ONCALL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_shows_three_requests_and_counts_the_rest_in_a_summary_taken_back_with_the_last() {
    if !desktop_session() {
        eprintln!("needs a notification daemon: run through scripts/test-env.sh");
        return;
    }
    let server = TestServer::start().await;
    let cli = Cli::new();
    cli.login(&server, ONCALL).await;
    let notifications = NotifyMonitor::start().await;
    let mut watch = cli.spawn(&["watch"]);
    watch.wait_for_line("link      Connected").await;

    let mut asked = Vec::new();
    for n in 0..5 {
        asked.push(server.ask("Quill", &format!("Burst variant {n}")).await);
    }
    // The terminal lists every one; the desktop shows three and counts two. Other tests share
    // the bus: only this watcher's notifications count.
    watch.wait_for_line("Burst variant 4").await;
    let watcher = notifications.sender_of(&["Burst variant".into()]).await;
    let watcher = Some(watcher.as_str());
    let summary = notifications
        .id_of_from(watcher, "2 more requests wait for you")
        .await;
    let shown = notifications.seen_from(watcher);
    assert_eq!(
        shown.matches("Approval needed: Burst variant").count(),
        3,
        "{shown}"
    );

    let manager = server.token(MANAGER).await;
    for approval in &asked[3..] {
        let id = approval["id"].as_str().expect("an id");
        let (status, decided) = server
            .post(
                &manager,
                &format!("/api/v1/approvals/{id}/decision"),
                json!({"decision": "reject", "seen_version": approval["version"]}),
            )
            .await;
        assert_eq!(status, 200, "{decided}");
    }
    notifications.until_closed(summary).await;
    let shown = notifications.seen_from(watcher);
    assert_eq!(
        shown.matches("1 more request waits for you").count(),
        2,
        "counting up to two, then down as the first was answered: {shown}"
    );
    assert_eq!(
        shown.matches("Approval needed: Burst variant").count(),
        3,
        "the held ones were never shown alone: {shown}"
    );
    watch.kill_9().await;
    notifications.stop().await;
}
