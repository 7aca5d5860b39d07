//! The cache's disk fills up: on a real file system that runs out of space (a small tmpfs), the
//! binary says so in words a person can act on, keeps everything it had, and catches up once
//! space is freed: from a command started on the full disk, and from a watcher that was
//! running when it filled.

use reqwest::StatusCode;
use serde_json::json;

use crate::notify_monitor::NotifyMonitor;
use crate::small_disk::SmallDisk;
use crate::support::{desktop_session, Cli, TestServer, MANAGER, ONCALL, SPRING};

const FULL: &str = "the disk holding the local cache is full; free some space and try again";

/// Chat the server takes while the disk is full: enough to outgrow what the cache's files
/// already hold, so a process that has them open must grow them too.
async fn chat_while_full(server: &TestServer, count: usize) -> String {
    let manager = server.login(MANAGER).await;
    let spring = manager.project_id(SPRING).await;
    for i in 0..count {
        let (status, body) = manager
            .post(
                &format!("/api/v1/projects/{spring}/messages"),
                json!({"body": format!("Fullness note {i}: the spring flight keeps its pacing, \
                    the Stories placements rest for a week, and the carousel copy for audience B \
                    waits for the brand team's review before it goes anywhere near a budget.")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    format!("Fullness note {}", count - 1)
}

/// The cache finds the message `text` by its words (search marks them, so its number is
/// looked for).
async fn assert_found(cli: &Cli, text: &str) {
    let found = cli.run(&["search", text, "--offline", "--json"]).await;
    let number = text.rsplit(' ').next().expect("a number");
    let hits = found.expect_ok().json();
    assert!(
        hits.as_array()
            .is_some_and(|hits| hits.iter().any(|hit| hit.to_string().contains(number))),
        "{hits}"
    );
}

async fn approval_status(server: &TestServer, id: &str) -> String {
    let (_, approval) = server
        .login(MANAGER)
        .await
        .get(&format!("/api/v1/approvals/{id}"))
        .await;
    approval["status"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_on_a_full_disk_says_so_and_nothing_is_lost() {
    let server = TestServer::start_for_a_flood().await;
    let mut cli = Cli::new();
    let disk = SmallDisk::over(&cli.home().join("accounts"), "32m").await;
    cli.run_under(disk.enter());
    cli.login(&server, ONCALL).await;
    let ask = server
        .ask("Iris", "Raise the TikTok bid cap to $2.40")
        .await;
    let approval_id = ask["id"].as_str().expect("an id");
    cli.run(&["sync"]).await.expect_ok();

    disk.fill().await;
    let last = chat_while_full(&server, 50).await;
    let sync = cli.run(&["sync"]).await;
    assert_eq!(sync.code, Some(1), "{sync:?}");
    assert!(sync.stderr.contains(FULL), "{sync:?}");
    // What was kept can still be read: the cache opens for this process alone.
    let read = cli.run(&["approvals", "--offline", "--json"]).await;
    let waiting = read.expect_ok().json();
    assert!(
        waiting
            .as_array()
            .is_some_and(|list| list.iter().any(|a| a["approval"]["id"] == approval_id)),
        "{waiting}"
    );
    // What cannot be kept to send later is sent now: a decision, and the emergency stop.
    cli.run(&["approve", approval_id]).await.expect_ok();
    assert_eq!(approval_status(&server, approval_id).await, "approved");
    let stopped = cli
        .run(&["stop", SPRING, "--yes", "--reason", "Disk full drill"])
        .await;
    assert!(
        stopped
            .expect_ok()
            .stdout
            .contains("acknowledgements cannot be followed here"),
        "{stopped:?}"
    );
    let stops = server.login(MANAGER).await.get_ok("/api/v1/stops").await;
    assert!(
        stops
            .as_array()
            .is_some_and(|stops| stops.iter().any(|s| s["reason"] == "Disk full drill")),
        "{stops}"
    );

    // A process started on the full disk keeps the cache to itself until it ends: another one
    // is told so, not "database is locked".
    let mut watch = cli.spawn(&["watch", "--no-notify"]);
    watch.wait_for_line("Watching").await;
    disk.free().await;
    let shut_out = cli.run(&["status", "--offline"]).await;
    assert_eq!(shut_out.code, Some(1), "{shut_out:?}");
    assert!(
        shut_out.stderr.contains("holds the local cache for itself"),
        "{shut_out:?}"
    );
    watch.kill_9().await;

    cli.run(&["sync"]).await.expect_ok();
    assert_found(&cli, &last).await;
    let decided = cli.run(&["approvals", "--offline", "--json"]).await;
    let still_pending = decided.expect_ok().json();
    assert!(
        still_pending
            .as_array()
            .is_some_and(|list| !list.iter().any(|a| a["approval"]["id"] == approval_id)),
        "the cache caught up with the decision sent unkept: {still_pending}"
    );
}

/// In a desktop session (`scripts/test-env.sh`) the watcher also raises a notification, through
/// the session's real notification daemon, once as the disk fills: until space is freed no
/// approval can reach this computer's screen, so someone relying on it must know. Once it has
/// caught up, the watcher takes the notification back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_whose_disk_fills_says_disk_full_not_offline_and_catches_up_once_freed() {
    let server = TestServer::start_for_a_flood().await;
    let mut cli = Cli::new();
    let disk = SmallDisk::over(&cli.home().join("accounts"), "32m").await;
    cli.run_under(disk.enter());
    cli.login(&server, ONCALL).await;
    let notifications = if desktop_session() {
        Some(NotifyMonitor::start().await)
    } else {
        None
    };
    let mut watch = if notifications.is_some() {
        cli.spawn(&["watch"])
    } else {
        cli.spawn(&["watch", "--no-notify"])
    };
    watch.wait_for_line("link      Connected").await;

    disk.fill().await;
    let last = chat_while_full(&server, 1500).await;
    watch
        .wait_for_line("link      Disk full: free some space")
        .await;
    let disk_full_notification = match &notifications {
        Some(notifications) => Some(
            notifications
                .id_of("Disk full: new approvals cannot reach this computer")
                .await,
        ),
        None => None,
    };

    disk.free().await;
    watch.wait_for_line(&last).await;
    if let (Some(notifications), Some(id)) = (&notifications, disk_full_notification) {
        // Taken back once the watcher is live again, which follows the batch holding `last`.
        notifications.until_closed(id).await;
    }
    let lines = watch.kill_9().await;
    let after_full = lines
        .iter()
        .skip_while(|line| !line.contains("Disk full"))
        .collect::<Vec<_>>();
    assert!(
        !after_full.iter().any(|line| line.contains("Offline")),
        "the server was reachable all along: {after_full:#?}"
    );
    assert_found(&cli, &last).await;
    if let Some(notifications) = &notifications {
        // Other tests share the bus: only this watcher's notifications count.
        let watcher = notifications.sender_of(&["Disk full:".into()]).await;
        let shown = notifications.seen_from(Some(&watcher));
        assert_eq!(
            shown.matches("Disk full:").count(),
            1,
            "one notification for the spell, not one per retry:\n{shown}"
        );
    }
    if let Some(notifications) = notifications {
        notifications.stop().await;
    }
}
