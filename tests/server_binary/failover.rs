//! Two `spartex-server` processes on one PostgreSQL database, and one of them killed with
//! SIGKILL: its client resumes on the other from its last `seq` with nothing lost or repeated,
//! a change retried there under its Idempotency-Key gets the answer already given, and the
//! once-only jobs move to the survivor. Needs a cluster: `bash scripts/test.sh` runs it.

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_testkit::database::TestDatabase;
use spartex_testkit::{Api, Socket};

use super::{Server, PASSWORD, PATIENCE};

const DEMO: [&str; 3] = ["--demo", "--demo-pace", "3600"];

async fn sign_in(base: &str) -> Api {
    let (status, body) = Api::at(base, None)
        .post(
            "/api/v1/auth/login",
            json!({"email": "oncall@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Api::at(base, body["access_token"].as_str().map(str::to_owned))
}

async fn events(base: &str, token: &str, since: i64) -> Socket {
    let url = format!(
        "{}/api/v1/events?since={since}",
        base.replacen("http", "ws", 1)
    );
    let mut socket = Socket::connect(&url, token, PATIENCE).await;
    assert_eq!(socket.next().await["type"], "hello");
    socket
}

async fn post_message(api: &Api, project: &str, body: &str, key: &str) -> (StatusCode, Value) {
    api.post_with_key(
        &format!("/api/v1/projects/{project}/messages"),
        json!({ "body": body }),
        key,
    )
    .await
}

/// Reads events up to `until`, each the one after the last; returns the last `seq` read.
async fn read_gapless(
    socket: &mut Socket,
    mut last: i64,
    until: i64,
    heard: &mut Vec<Value>,
) -> i64 {
    while last < until {
        let Some(frame) = socket.try_next(PATIENCE).await else {
            return last; // the socket closed: its instance is gone
        };
        let seq = frame["seq"]
            .as_i64()
            .unwrap_or_else(|| panic!("an event: {frame}"));
        assert_eq!(seq, last + 1, "gapless and once: {frame}");
        last = seq;
        heard.push(frame);
    }
    last
}

#[tokio::test]
async fn a_killed_instances_client_resumes_on_the_other_with_nothing_lost_or_repeated() {
    let database = TestDatabase::postgres();
    // Both start at once on the empty database: the demo is seeded once.
    let mut a = Server::start_on(database.url(), &DEMO);
    let mut b = Server::start_on(database.url(), &DEMO);
    let (base_a, base_b) = (a.url().await, b.url().await);
    a.wait_for_line("Demo organisations are ready").await;
    b.wait_for_line("Demo organisations are ready").await;

    let on_a = sign_in(&base_a).await;
    let on_b = Api::at(&base_b, Some(on_a.token().to_owned()));
    let projects = on_a.get_ok("/api/v1/projects").await;
    let names: Vec<&str> = projects["items"]
        .as_array()
        .or(projects.as_array())
        .expect("projects")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "seeded once: {names:?}");
    let project = on_a.project_id(names[0]).await;

    let start = on_a.head().await;
    let mut socket = events(&base_a, on_a.token(), start).await;
    for n in 0..5 {
        let through = if n % 2 == 0 { &on_a } else { &on_b };
        let (status, body) = post_message(
            through,
            &project,
            &format!("before {n}"),
            &format!("before-{n}"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, kept) = post_message(&on_a, &project, "the last word on A", "last-on-a").await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    let mut heard = Vec::new();
    let last = read_gapless(&mut socket, start, on_a.head().await, &mut heard).await;

    a.child.start_kill().expect("SIGKILL is sent");
    a.child.wait().await.expect("A is gone");
    for n in 0..5 {
        let (status, body) = post_message(
            &on_b,
            &project,
            &format!("after {n}"),
            &format!("after-{n}"),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // The client's retry of its last change, now through B, gets the answer A gave.
    let retried = post_message(&on_b, &project, "the last word on A", "last-on-a").await;
    assert_eq!(retried, (StatusCode::CREATED, kept.clone()));

    // Its socket ended with A, after whatever A had already sent (an escalation step or a
    // presence change can land between reading the head and the kill): the client applies
    // those, then reconnects through B from the last seq it applied.
    let last = read_gapless(&mut socket, last, i64::MAX, &mut heard).await;
    let mut socket = events(&base_b, on_b.token(), last).await;
    read_gapless(&mut socket, last, on_b.head().await, &mut heard).await;

    let bodies: Vec<&str> = heard
        .iter()
        .filter(|e| e["type"] == "message.created")
        .filter_map(|e| e["data"]["body"].as_str())
        .collect();
    for n in 0..5 {
        assert!(
            bodies.contains(&format!("before {n}").as_str()),
            "{bodies:?}"
        );
        assert!(
            bodies.contains(&format!("after {n}").as_str()),
            "{bodies:?}"
        );
    }
    assert_eq!(
        bodies
            .iter()
            .filter(|b| **b == "the last word on A")
            .count(),
        1,
        "the retried message is written once: {bodies:?}"
    );
    b.wait_for_line("this instance leads").await;
}
