//! On call, on a phone: the same app at 390×844 switches to the phone layout; the core flow
//! (see what waits, approve it, pull the stop by holding) works with thumbs.

use std::time::Duration;

use crate::desktop::{decide_first_decidable, Decision};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_call_approves_and_holds_to_stop_at_phone_size() {
    if !desktop_session() {
        return;
    }
    let server = demo_server().await;
    let app = App::launch().await;
    app.resize(390, 844).await;

    app.wait_for("signin-submit").await;
    app.type_into("signin-server", &server.url()).await;
    app.type_into("signin-email", ONCALL).await;
    app.type_into("signin-password", PASSWORD).await;
    app.screenshot("phone-sign-in").await;
    app.click("signin-submit").await;
    app.wait_for("dashboard").await;
    app.until("the projects", PATIENCE, || async {
        (app.all(&by_test_id("project-row")).await.len() == 3).then_some(())
    })
    .await;
    app.screenshot("phone-dashboard").await;

    // The bottom navigation is the phone's; the approvals count is on it.
    app.click("nav-approvals").await;
    app.wait_for("approvals-page").await;
    let decided = decide_first_decidable(&app, Decision::Approve).await;
    assert!(!decided.title.is_empty());
    app.screenshot("phone-approval").await;

    // Hold to stop: a press shorter than the hold does nothing; a full hold stops the project.
    app.click("nav-dashboard").await;
    app.click_css("[data-testid=\"project-row\"]").await;
    app.wait_for("project-page").await;
    app.screenshot("phone-project").await;
    app.click("project-stop-button").await;
    app.hold("stop-hold-button", Duration::from_millis(300))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        app.all(&by_test_id("stop-progress")).await.is_empty(),
        "a short press does not stop anything"
    );
    app.hold("stop-hold-button", Duration::from_millis(2_000))
        .await;
    let status = app.stop_outcome().await;
    assert_eq!(status, "completed");
    app.screenshot("phone-stop-progress").await;
    app.click_css("[data-testid=\"stop-dialog\"] button[aria-label=\"Close\"]")
        .await;

    app.click("nav-settings").await;
    app.wait_for("settings-page").await;
    app.dismiss_toasts().await;
    app.screenshot("phone-settings").await;

    app.quit().await;
    server.stop().await;
}
