//! The window's close button, as an on-call person uses it: the app runs on hidden and goes on
//! notifying; a second launch brings the window back; Quit asks before holding back an action
//! the server has not taken, and then ends the app.

use std::time::Duration;

use crate::desktop::sign_in;
use crate::notify_monitor::NotifyMonitor;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_window_keeps_notifying_and_quit_asks_before_holding_back_a_decision() {
    if !desktop_session() {
        return;
    }
    let mut server = TestServer::builder().system_clock().start().await;
    let notifications = NotifyMonitor::start().await;
    let app = App::launch().await;
    sign_in(&app, &server, MANAGER).await;
    app.wait_for_attr("status-link", "data-link", "connected")
        .await;
    let window = app
        .until("the window on screen", PATIENCE, || app.window_on_screen())
        .await;

    // Closed as a window manager closes it: hidden, still running, and it says so once.
    ask_to_close(window);
    let hidden = tokio::time::timeout(PATIENCE, async {
        while app.window_on_screen().await.is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        hidden.is_ok(),
        "the window {window} still on screen {PATIENCE:?} after the close request; on screen: {}",
        windows_on_screen().await
    );
    notifications
        .id_of("Spartex Control is still running")
        .await;
    assert!(
        spartex_testkit::procs::running(app.process()),
        "the app runs on with its window closed"
    );

    // A request while the window is closed is still notified, with its buttons.
    let title = "Extend the spring sale by a week";
    let asked = server.agent("Quill").ask(title, "high", 3600).await;
    let id = asked["id"].as_str().expect("an approval id").to_owned();
    notifications
        .id_of(&format!("Approval needed: {title}"))
        .await;

    // Opening the app again brings its window back, with its page as it was.
    let relaunch = tokio::time::timeout(
        PATIENCE,
        tokio::process::Command::new(app_binary())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status(),
    )
    .await
    .expect("the second launch hands over and exits")
    .expect("the app binary starts");
    assert!(relaunch.success(), "the second launch: {relaunch}");
    app.until("the window back on screen", PATIENCE, || {
        app.window_on_screen()
    })
    .await;

    // Decided offline, the decision waits in the outbox; Quit names it and asks.
    let item = format!("[data-testid=\"approval-item\"][data-approval-id=\"{id}\"]");
    app.click("nav-approvals").await;
    app.wait_for_css(&item).await;
    server.shutdown().await;
    app.wait_for_attr("status-link", "data-link", "offline")
        .await;
    app.click_css(&item).await;
    assert!(app.opened_approval(&id).await, "the request opens");
    app.click("approve-button").await;
    app.wait_for_attr("approval-state", "data-state", "sending")
        .await;
    app.click("account-menu").await;
    app.click("quit-app").await;
    let asked = app.wait_for("quit-refused").await;
    let said = asked.text().await.expect("the dialog's text");
    assert!(
        said.contains("1 action has not reached the server yet") && said.contains(title),
        "the dialog names the decision: {said}"
    );
    app.screenshot("desktop-quit-refused").await;
    app.click("quit-keep-running").await;
    app.until("the dialog closes", PATIENCE, || async {
        app.all(&by_test_id("quit-refused"))
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let process = app.process();
    assert!(
        spartex_testkit::procs::running(process),
        "kept running, to deliver the decision"
    );

    // Ctrl+Q asks the same; quitting anyway ends the app.
    app.client
        .execute(
            "window.dispatchEvent(new KeyboardEvent('keydown', { key: 'q', ctrlKey: true }))",
            vec![],
        )
        .await
        .expect("Ctrl+Q pressed");
    app.wait_for("quit-refused").await;
    let anyway = app.wait_for("quit-anyway").await;
    // The app may end before WebDriver answers the click, which then never comes.
    let _ = tokio::time::timeout(Duration::from_secs(5), anyway.click()).await;
    app.until("the app ends", PATIENCE, || async {
        (!spartex_testkit::procs::running(process)).then_some(())
    })
    .await;

    notifications.stop().await;
    server.stop().await;
}
