//! `--json` output parses and matches the server; reads work with the server gone.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::support::{exit, Cli, TestServer, LAUNCH, MANAGER, ONCALL, OWNER, SPRING};

fn list(value: &Value) -> &Vec<Value> {
    value.as_array().expect("a JSON list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_matches_the_server() {
    let mut server = TestServer::start().await;
    server.ask("Iris", "Publish the zanzibar headline").await;
    server.ask("Pixel", "Swap the hero image").await;
    server
        .ask("Atlas", "Open the launch-day search campaign")
        .await;
    let (status, _) = server
        .post(
            server.agent_token("Verse"),
            "/api/v1/agent/messages",
            json!({ "body": "Draft of the launch tweet is ready: kumquat edition", "to_project": true }),
        )
        .await;
    assert_eq!(status, 201);
    let cli = Cli::new();
    cli.login(&server, ONCALL).await;
    let oncall = server.token(ONCALL).await;

    // projects: the server's projects, with their pending approvals.
    let projects = cli.run(&["projects", "--json"]).await;
    let projects = projects.expect_ok().json();
    let on_server = server.get(&oncall, "/api/v1/projects").await;
    let names = |rows: &Vec<Value>, pointer: &str| -> BTreeSet<String> {
        rows.iter()
            .map(|r| {
                r.pointer(pointer)
                    .and_then(Value::as_str)
                    .expect("a name")
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        names(list(&projects), "/project/name"),
        names(list(&on_server), "/name")
    );
    let pending = server
        .get(&oncall, "/api/v1/approvals?status=pending")
        .await;
    for row in list(&projects) {
        let id = &row["project"]["id"];
        let expected = list(&pending)
            .iter()
            .filter(|a| a["project_id"] == *id)
            .count();
        assert_eq!(row["pending_approvals"], expected, "{row}");
        let server_row = list(&on_server)
            .iter()
            .find(|p| p["id"] == *id)
            .expect("the same project on the server");
        assert_eq!(row["project"]["budget_usd"], server_row["budget_usd"]);
        assert_eq!(row["project"]["status"], server_row["status"]);
    }
    let total: i64 = list(&projects)
        .iter()
        .map(|r| r["pending_approvals"].as_i64().expect("a count"))
        .sum();
    assert_eq!(total, 3);

    // approvals: the pending ones, the same as the server's.
    let approvals = cli.run(&["approvals", "--json"]).await;
    let approvals = approvals.expect_ok().json();
    assert_eq!(
        names(list(&approvals), "/approval/id"),
        names(list(&pending), "/id")
    );
    for view in list(&approvals) {
        assert_eq!(view["approval"]["status"], "pending");
        assert!(view["sending"].is_null());
    }

    // project: one project's agents and approvals.
    let launch_id = server.api(&oncall).project_id(LAUNCH).await;
    let detail = server
        .get(&oncall, &format!("/api/v1/projects/{launch_id}"))
        .await;
    let view = cli.run(&["project", LAUNCH, "--json"]).await;
    let view = view.expect_ok().json();
    assert_eq!(view["project"]["id"], launch_id.as_str());
    assert_eq!(view["project"]["name"], LAUNCH);
    assert_eq!(
        names(list(&view["agents"]), "/name"),
        names(list(&detail["agents"]), "/name")
    );
    assert_eq!(list(&view["approvals"]).len(), 1, "{view}");
    assert_eq!(
        view["approvals"][0]["approval"]["title"],
        "Open the launch-day search campaign"
    );
    assert!(
        list(&view["messages"])
            .iter()
            .any(|m| m["message"]["body"] == "Draft of the launch tweet is ready: kumquat edition"),
        "{view}"
    );

    // search: approvals and messages by a word in them.
    let hits = cli.run(&["search", "zanzibar", "--json"]).await;
    let hits = hits.expect_ok().json();
    let approval = list(&pending)
        .iter()
        .find(|a| a["title"] == "Publish the zanzibar headline")
        .expect("on the server");
    assert_eq!(list(&hits).len(), 1, "{hits}");
    assert_eq!(hits[0]["kind"], "approval");
    assert_eq!(hits[0]["id"], approval["id"]);
    assert_eq!(hits[0]["project_id"], approval["project_id"]);
    let hits = cli.run(&["search", "kumquat", "--json"]).await;
    let hits = hits.expect_ok().json();
    assert_eq!(list(&hits).len(), 1, "{hits}");
    assert_eq!(hits[0]["kind"], "message");
    assert_eq!(hits[0]["project_id"], launch_id.as_str());
    let none = cli.run(&["search", "xylophone", "--json"]).await;
    assert_eq!(none.expect_ok().json(), json!([]));

    // With the server gone, reads still work and say how old they are.
    server.shutdown().await;
    let run = cli.run(&["projects"]).await;
    run.expect_code(exit::OK);
    assert!(run.stdout.contains("offline: data from"), "{run:?}");
    assert!(run.stdout.contains(SPRING), "{run:?}");
    let offline = cli.run(&["projects", "--json"]).await;
    assert_eq!(
        offline.expect_ok().json(),
        projects,
        "the same data, from the cache"
    );
}

/// `spartex devices`: the person's own phones, with how their pushes went, as the server lists
/// them; nobody else's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_lists_the_persons_own_phones() {
    let server = TestServer::start().await;
    let cli = Cli::new();
    cli.login(&server, ONCALL).await;
    let empty = cli.run(&["devices"]).await;
    assert!(
        empty.expect_ok().stdout.contains("No device is registered"),
        "{empty:?}"
    );

    let oncall = server.token(ONCALL).await;
    let (status, phone) = server
        .post(
            &oncall,
            "/api/v1/devices",
            json!({"platform": "fcm", "push_token": "fcm-token-of-the-oncall-phone"}),
        )
        .await;
    assert_eq!(status, 201, "{phone}");
    let manager = server.token(MANAGER).await;
    let (status, _) = server
        .post(
            &manager,
            "/api/v1/devices",
            json!({"platform": "fcm", "push_token": "fcm-token-of-the-managers-phone"}),
        )
        .await;
    assert_eq!(status, 201);

    let listed = cli.run(&["devices", "--json"]).await;
    let listed = listed.expect_ok().json();
    assert_eq!(list(&listed).len(), 1, "{listed}");
    assert_eq!(listed[0]["id"], phone["id"]);
    assert_eq!(listed[0]["platform"], "fcm");
    assert_eq!(listed[0]["last_push_at"], Value::Null);
    assert_eq!(listed[0]["last_error"], Value::Null);
    assert!(
        !listed.to_string().contains("fcm-token"),
        "no push token is shown"
    );
    let text = cli.run(&["devices"]).await;
    let text = text.expect_ok();
    let id = phone["id"].as_str().expect("an id");
    assert!(
        text.stdout.contains(id) && text.stdout.contains("no push yet"),
        "{text:?}"
    );
}

/// `spartex org`: everyone reads the organisation's settings; only an owner changes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_settings_are_read_by_all_and_changed_by_the_owner() {
    let server = TestServer::start().await;
    let manager = Cli::new();
    manager.login(&server, MANAGER).await;
    let shown = manager.run(&["org"]).await;
    assert!(
        shown.expect_ok().stdout.contains("Pushes: full"),
        "{shown:?}"
    );
    let refused = manager.run(&["org", "--push-detail", "minimal"]).await;
    assert_ne!(refused.code, Some(exit::OK), "{refused:?}");
    assert!(refused.stderr.contains("owner"), "{refused:?}");

    let owner = Cli::new();
    owner.login(&server, OWNER).await;
    let changed = owner
        .run(&["org", "--push-detail", "minimal", "--json"])
        .await;
    assert_eq!(changed.expect_ok().json()["push_detail"], "minimal");
    let seen = manager.run(&["org", "--json"]).await;
    assert_eq!(seen.expect_ok().json()["push_detail"], "minimal");
}
