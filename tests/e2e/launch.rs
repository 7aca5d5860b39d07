//! Reopening the app: the dashboard as last seen is the next launch's first frame, painted
//! from the page's HTML before the UI's scripts have run, and the live dashboard replaces it.

use crate::support::*;

const FIRST_FRAME_KEPT: &str = "spartex::first_frame: kept";
const FIRST_FRAME_PAINTED: &str = r#"painted screen="first frame""#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_launch_paints_the_dashboard_as_last_seen_then_the_live_one() {
    if !desktop_session() {
        return;
    }
    let server = demo_server().await;
    let app = App::launch().await;
    crate::desktop::sign_in(&app, &server, MANAGER).await;
    three_projects(&app).await;
    app.until_logged("the dashboard kept for the next launch", FIRST_FRAME_KEPT)
        .await;
    assert!(
        !app.logged(FIRST_FRAME_PAINTED),
        "a launch with nothing kept paints no first frame"
    );
    // A screen drawn for another account (a switch between drawing and keeping) is refused.
    let refused = app
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             window.__TAURI_INTERNALS__
               .invoke('keep_first_frame', { accountId: 'acc_someone_else', html: '<main>Not yours</main>', dark: false })
               .then(() => done('kept'), (error) => done(JSON.stringify(error)));",
            vec![],
        )
        .await
        .expect("the command answers");
    assert!(
        refused
            .as_str()
            .is_some_and(|answer| answer.contains("another account")),
        "kept for another account: {refused}"
    );

    let app = app.relaunch().await;
    app.until_logged(
        "the second launch's first frame, the kept dashboard, painted",
        FIRST_FRAME_PAINTED,
    )
    .await;
    three_projects(&app).await;
    assert!(
        app.all("[data-first-frame]").await.is_empty(),
        "the live dashboard replaced the frame"
    );
    // The live screen is the one a person works with: a row opens its project.
    app.click_css("[data-testid=\"project-row\"]").await;
    app.wait_for("project-page").await;

    app.quit().await;
    server.stop().await;
}

async fn three_projects(app: &App) {
    app.until("three Acme projects on the dashboard", PATIENCE, || async {
        (app.all(&by_test_id("project-row")).await.len() == 3).then_some(())
    })
    .await;
}
