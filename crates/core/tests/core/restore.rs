//! A server restored from a backup while the app was away: the log gives the seqs the app has
//! already applied to new events. The app says when the event at its seq was; the server, whose
//! event there is another, says to rebuild, so the new requests are shown and the lost ones go,
//! where the app took the new events up to its seq for replays and dropped them.

use crate::support::World;

#[tokio::test]
async fn an_app_ahead_of_a_restored_log_that_has_grown_past_it_rebuilds() {
    let mut world = World::start().await;
    let marco = world.login(&world.core("marco"), "manager@acme.test").await;
    marco.catch_up().await.expect("catches up");

    // A backup (a stopped server leaves one file), then requests the restore will lose, which
    // the app applies.
    world.stop_server().await;
    let live = world.server.database_path();
    for leftover in ["server.db-wal", "server.db-shm"] {
        assert!(!live.with_file_name(leftover).exists(), "{leftover} left");
    }
    let backup = world.dir.path().join("backup.db");
    std::fs::copy(&live, &backup).expect("backed up");
    world.restart_server().await;
    for title in ["Lost one", "Lost two"] {
        world.ask("Quill", title).await;
    }
    marco.catch_up().await.expect("catches up");
    let seq = marco.store().last_seq().await.expect("seq");

    // Restored, an hour later; new requests take the seqs the lost ones had, and more.
    world.stop_server().await;
    std::fs::copy(&backup, &live).expect("restored");
    world.restart_server().await;
    world.clock.advance(chrono::Duration::hours(1));
    for title in ["New one", "New two", "New three"] {
        world.ask("Quill", title).await;
    }
    let head = marco.catch_up().await.expect("catches up");
    assert!(head.resynced, "rebuilt from snapshots: seq {seq}, {head:?}");

    let titles: Vec<String> = (marco.approvals(true).await.expect("approvals").into_iter())
        .map(|view| view.approval.title)
        .collect();
    for new in ["New one", "New two", "New three"] {
        assert!(
            titles.iter().any(|t| t == new),
            "{new} is shown: {titles:?}"
        );
    }
    assert!(
        !titles.iter().any(|t| t.starts_with("Lost")),
        "what the restore lost is gone: {titles:?}"
    );
}
