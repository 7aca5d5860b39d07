use std::collections::BTreeMap;

use serde_json::{json, Value};
use spartex_core::{Account, Change};

use crate::support::{eventually, World, PATIENCE};

/// (id → version) of every agent, approval and project, as the server has them.
async fn server_versions(world: &World, token: &str) -> BTreeMap<String, i64> {
    let mut versions = BTreeMap::new();
    let projects = world.get(token, "/api/v1/projects").await;
    for project in projects.as_array().expect("list") {
        versions.insert(
            project["id"].as_str().expect("id").to_owned(),
            project["version"].as_i64().expect("v"),
        );
        let detail = world
            .get(
                token,
                &format!("/api/v1/projects/{}", project["id"].as_str().expect("id")),
            )
            .await;
        for agent in detail["agents"].as_array().expect("agents") {
            versions.insert(
                agent["id"].as_str().expect("id").to_owned(),
                agent["version"].as_i64().expect("v"),
            );
        }
    }
    for approval in world
        .get(token, "/api/v1/approvals")
        .await
        .as_array()
        .expect("list")
    {
        versions.insert(
            approval["id"].as_str().expect("id").to_owned(),
            approval["version"].as_i64().expect("v"),
        );
    }
    versions
}

async fn cache_versions(account: &Account) -> BTreeMap<String, i64> {
    let mut versions = BTreeMap::new();
    for row in account.dashboard().await.expect("dashboard") {
        versions.insert(row.project.id.clone(), row.project.version);
        for agent in account
            .project(&row.project.id)
            .await
            .expect("project")
            .agents
        {
            versions.insert(agent.id, agent.version);
        }
    }
    for view in account.approvals(false).await.expect("approvals") {
        versions.insert(view.approval.id, view.approval.version);
    }
    versions
}

async fn burst(world: &World, rounds: usize) {
    let agents = ["Quill", "Iris", "Ledger", "Verse", "Ink"];
    for round in 0..rounds {
        for name in agents {
            let token = world.agent_token(name);
            let http = world.http.clone();
            let url = world.url.clone();
            // Failures while the server is down are expected; they append nothing.
            let _ = http
                .post(format!("{url}/api/v1/agent/heartbeat"))
                .bearer_auth(&token)
                .json(&json!({"status": "working", "tokens_in": 10, "cost_usd": 0.01}))
                .send()
                .await;
            if round % 5 == 0 {
                let _ = http
                    .post(format!("{url}/api/v1/agent/messages"))
                    .bearer_auth(&token)
                    .json(&json!({"body": format!("round {round} from {name}")}))
                    .send()
                    .await;
            }
        }
    }
}

#[tokio::test]
async fn a_cut_link_during_a_burst_ends_with_the_cache_identical_to_the_server() {
    let mut world = World::start().await;
    let core = world.core("dana");
    let account = world.login(&core, "oncall@acme.test").await;
    account.catch_up().await.expect("first sync");
    let running = account.start();
    eventually("the link comes up", || async {
        account.link() == spartex_core::LinkState::Connected
    })
    .await;

    burst(&world, 40).await;
    world.stop_server().await; // the link is cut mid-stream
    eventually("the link is seen as down", || async {
        account.link() != spartex_core::LinkState::Connected
    })
    .await;
    world.restart_server().await;
    burst(&world, 40).await;

    let token = world.server_token("viewer@acme.test").await;
    let head = world.get(&token, "/api/v1/sync?since=0&limit=1").await["head"]
        .as_i64()
        .expect("head");
    eventually("the cache reaches the server's head", || async {
        account.store().last_seq().await.expect("seq") == head
    })
    .await;
    assert_eq!(
        cache_versions(&account).await,
        server_versions(&world, &token).await
    );
    running.stop().await;
}

#[tokio::test]
async fn a_cache_behind_the_logs_retention_is_rebuilt_from_snapshots() {
    let world = World::start().await;
    let core = world.core("dana");
    let account = world.login(&core, "oncall@acme.test").await;
    account.catch_up().await.expect("first sync");
    world.ask("Quill", "Publish the autumn teaser").await;
    world.clock.advance(chrono::Duration::days(31));
    let state = world.server.state();
    assert!(
        spartex_server::service::sweep::prune(state)
            .await
            .expect("prunes")
            > 0
    );
    // A month away also outlives the refresh token: the user signs in again, keeping the cache.
    let stale = account.catch_up().await.expect_err("signed out");
    assert!(
        matches!(stale, spartex_core::CoreError::SignedOut { .. }),
        "{stale:?}"
    );
    let account = world.login(&core, "oncall@acme.test").await;
    assert!(
        account.store().last_seq().await.expect("seq") > 0,
        "signing in again keeps the cache"
    );
    let mut changes = account.subscribe();

    let report = account.catch_up().await.expect("catches up");
    assert!(
        report.resynced,
        "the log no longer holds what the cache missed"
    );
    assert!(matches!(changes.recv().await, Ok(Change::Resynced)));
    let titles: Vec<Value> = account
        .approvals(false)
        .await
        .expect("approvals")
        .iter()
        .map(|v| json!(v.approval.title))
        .collect();
    assert!(
        titles.contains(&json!("Publish the autumn teaser")),
        "{titles:?}"
    );
    assert_eq!(report.last_seq, report.head);
}

/// The access token the core keeps for `core_name`, read from its (test-only) file secret store.
fn stored_access_token(world: &World, core_name: &str) -> String {
    let path = world.dir.path().join(core_name).join("secrets.json");
    let secrets: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("secrets file")).expect("JSON");
    secrets["secrets"]
        .as_object()
        .expect("a map of secrets")
        .values()
        .filter_map(Value::as_str)
        .filter_map(|value| serde_json::from_str::<Value>(value).ok())
        .find_map(|tokens| tokens["access_token"].as_str().map(str::to_owned))
        .expect("the account's tokens")
}

#[tokio::test]
async fn a_session_signed_out_on_the_server_ends_the_live_link_without_reconnecting() {
    let world = World::start().await;
    let core = world.core("dana");
    let account = world.login(&core, "oncall@acme.test").await;
    account.catch_up().await.expect("first sync");
    let running = account.start();
    eventually("the link comes up", || async {
        account.link() == spartex_core::LinkState::Connected
    })
    .await;

    // Signed out from elsewhere (another device of the same sign-in, or an admin's revocation).
    let token = stored_access_token(&world, "dana");
    let (status, _) = world.post(&token, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, 204);
    eventually("the core sees it is signed out", || async {
        account.link() == spartex_core::LinkState::SignedOut
    })
    .await;
    running.stop().await;
}

#[tokio::test]
async fn a_path_that_takes_the_socket_and_carries_nothing_is_offline_not_connecting_for_ever() {
    let world = World::start().await;
    let port = spartex_testkit::port_in_front::PortInFront::open(&world.url).await;
    let core = world.core("dana");
    let account = core
        .login(
            &port.url,
            "oncall@acme.test",
            &spartex_core::Secret::new(spartex_testkit::PASSWORD),
        )
        .await
        .expect("signs in through the port");
    account.catch_up().await.expect("first sync");
    port.stall();

    let mut changes = account.subscribe();
    let running = account.start();
    let mut link_becomes = async |wanted| loop {
        match changes.recv().await {
            Ok(Change::Link { state }) if state == wanted => return,
            Ok(_) => {}
            Err(error) => panic!("the changes ended: {error}"),
        }
    };
    link_becomes(spartex_core::LinkState::Connecting).await;
    tokio::time::timeout(PATIENCE, link_becomes(spartex_core::LinkState::Offline))
        .await
        .expect("the handshake that never ends is given up");
    running.stop().await;
}
