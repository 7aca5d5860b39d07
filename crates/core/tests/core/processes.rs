//! Two processes on one account's data folder (the desktop app open, the CLI beside it): here two
//! cores on the same folder, each with its own connections to the cache, as two processes have.

use spartex_core::store::QueuedAction;
use spartex_core::{Change, Undelivered};

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

/// `spartex logout` while the app has the account open is refused, naming what to quit, and
/// wipes nothing: the key and the folder the app reads stay. Once the app closed it, it signs out.
#[tokio::test]
async fn signing_out_is_refused_while_another_process_has_the_account_open() {
    let world = World::start().await;
    let app_core = world.core("dana");
    let app = world.login(&app_core, "oncall@acme.test").await;
    app.catch_up().await.expect("sync");
    let cache = app.store().path().to_owned();
    let cli = world.core("dana");

    for undelivered in [Undelivered::Keep, Undelivered::Discard] {
        let refused = cli.logout(None, undelivered).await.expect_err("refused");
        let said = refused.to_string();
        assert!(
            said.contains("quit Spartex Control (or the other spartex command) first")
                || said.contains("Quit Spartex Control (or the other spartex command) first"),
            "{said}"
        );
        assert!(cache.exists(), "the app's cache is kept");
        assert_eq!(cli.accounts().expect("list").len(), 1);
    }
    // The app itself, its cache still open, is told so in its own terms.
    let own = app_core
        .logout(None, Undelivered::Discard)
        .await
        .expect_err("refused");
    assert!(own.to_string().contains("open in this process"), "{own}");
    assert!(
        app.dashboard().await.is_ok_and(|rows| !rows.is_empty()),
        "the app still reads its cache"
    );
    assert!(
        app.catch_up().await.is_ok(),
        "and its session was not revoked"
    );

    app.store().close().await;
    cli.logout(None, Undelivered::Keep)
        .await
        .expect("signs out once the app closed it");
    assert!(!cache.exists(), "the cache is wiped");
    assert!(cli.accounts().expect("list").is_empty());
}
