//! Signing out while a `spartex` command has the same account open beside the app: refused,
//! saying to quit the other first, and the app goes on showing the account live, where it was
//! left stopped, following nothing, until someone chose the account again.

use crate::desktop::sign_in;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_refused_for_another_process_leaves_the_account_live() {
    if !desktop_session() {
        return;
    }
    let server = TestServer::builder().system_clock().start().await;
    let app = App::launch().await;
    sign_in(&app, &server, MANAGER).await;
    app.wait_for_attr("status-link", "data-link", "connected")
        .await;

    // `spartex watch` on the same data folder and keyring: it holds the account open.
    let (home, secret_service) = app.home_and_secret_service();
    let mut watching =
        tokio::process::Command::new(spartex_testkit::cargo_bin("spartex", "spartex"))
            .arg("watch")
            .env("SPARTEX_HOME", home)
            .env("SPARTEX_SECRET_SERVICE", secret_service)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spartex watch starts");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert!(
        watching.try_wait().expect("its state").is_none(),
        "spartex watch runs beside the app"
    );

    app.click("nav-settings").await;
    app.wait_for("settings-page").await;
    app.click_css(&by_test_id("sign-out-button")).await;
    let said = app
        .until("the refusal is told", PATIENCE, || async {
            let text = app
                .text("[data-testid=\"toast\"][data-tone=\"error\"]")
                .await?;
            text.contains("is open in another").then_some(text)
        })
        .await;
    assert!(
        said.contains("first, then sign out"),
        "says what to do: {said}"
    );

    // Still signed in, and live again: a new request reaches the app.
    app.wait_for_attr("status-link", "data-link", "connected")
        .await;
    let title = "Reply publicly to a complaint about a late delivery";
    let asked = server.agent("Ink").ask(title, "high", 3600).await;
    let id = asked["id"].as_str().expect("an approval id").to_owned();
    app.click("nav-approvals").await;
    app.wait_for_css(&format!(
        "[data-testid=\"approval-item\"][data-approval-id=\"{id}\"]"
    ))
    .await;
    let _ = watching.kill().await;
}
