//! Two processes on one account's data folder (the desktop app open, the CLI beside it): here two
//! cores on the same folder, each with its own connections to the cache, as two processes have.

use spartex_core::store::QueuedAction;
use spartex_core::Change;

use crate::support::{eventually, World};

/// `spartex stop … --yes` whose request failed leaves the stop in the outbox; the app, open and
/// idle on the same account, notices within seconds, shows it and delivers it, where its worker
/// slept for an hour and only its own actions, the link coming back or the timer woke it.
#[tokio::test]
async fn a_stop_queued_by_another_process_is_delivered_by_the_open_app_within_seconds() {
    let world = World::start().await;
    let app = world.login(&world.core("dana"), "oncall@acme.test").await;
    app.catch_up().await.expect("sync");
    let project = app.dashboard().await.expect("dashboard")[0].project.clone();
    let running = app.start();
    eventually("the app's link is up", || async {
        app.link() == spartex_core::LinkState::Connected
    })
    .await;
    // The worker's flush on connecting is over: it sleeps, idle, from here.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut changes = app.subscribe();

    let cli = world
        .core("dana")
        .open(None)
        .await
        .expect("the CLI opens it too");
    let stop = QueuedAction::StopProject {
        project_id: project.id.clone(),
        project_name: project.name.clone(),
        reason: "Wrong audience list".into(),
    };
    cli.store()
        .enqueue(stop.prepare(chrono::Utc::now()))
        .await
        .expect("kept in the outbox, not sent");
    cli.store().close().await;

    let token = world.server_token("viewer@acme.test").await;
    eventually("the server has the stop", || async {
        let stops = world.get(&token, "/api/v1/stops").await;
        stops.as_array().is_some_and(|stops| stops.len() == 1)
    })
    .await;
    eventually("the app records the delivery", || async {
        app.outbox().await.expect("outbox").is_empty()
    })
    .await;
    let mut told = false;
    while let Ok(change) = changes.try_recv() {
        told |= matches!(change, Change::Outbox);
    }
    assert!(told, "the app's faces were told the outbox changed");
    running.stop().await;
    app.store().close().await;
}
