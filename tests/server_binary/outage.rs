//! The PostgreSQL database stops taking connections under a running server (as in a restart or
//! a failover of the database server): a request meanwhile is answered 503 with a `Retry-After`
//! and words that say so, not a 500; the log says so once, not once per request; and once the
//! database is back the server carries on by itself, the same write retried under its
//! Idempotency-Key kept once. A database server restarting refuses connections instead, which
//! the pool keeps trying for 10 s: requests meanwhile are answered 503 when that wait is over.
//! Needs a cluster: `bash scripts/test.sh` runs it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_testkit::database::TestDatabase;
use spartex_testkit::port_in_front::PortInFront;

use super::{manager_and_a_thread, Server, PATIENCE};

const DEMO: [&str; 3] = ["--demo", "--demo-pace", "3600"];
const AWAY: &str = "Written while the database was away";

#[tokio::test]
async fn a_database_that_goes_away_and_comes_back_is_ridden_out() {
    let database = TestDatabase::postgres();
    let mut server = Server::start_on(database.url(), &DEMO);
    let base = server.url().await;
    server.wait_for_line("Demo organisations are ready").await;
    let (api, messages) = manager_and_a_thread(&base).await;

    database.refuse_connections(true).await;
    for attempt in 0..10 {
        let (status, refusal) = api
            .post_with_key(&messages, json!({ "body": AWAY }), "away")
            .await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "attempt {attempt}: {refusal}"
        );
        assert_eq!(refusal["error"]["code"], "unavailable", "{refusal}");
        let words = refusal["error"]["message"].as_str().unwrap_or_default();
        assert!(words.contains("cannot reach its database"), "{refusal}");
        assert_eq!(refusal["error"]["details"]["retry_after_s"], 5, "{refusal}");
    }
    let refused = reqwest::Client::new()
        .get(format!("{base}/api/v1/projects"))
        .bearer_auth(api.token())
        .send()
        .await
        .expect("an answer");
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.headers()["retry-after"], "5");

    database.refuse_connections(false).await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let kept = loop {
        let (status, kept) = api
            .post_with_key(&messages, json!({ "body": AWAY }), "away")
            .await;
        if status == StatusCode::CREATED {
            break kept;
        }
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{kept}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "still refused once the database is back: {kept}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let thread = api.get_ok(&format!("{messages}?limit=200")).await;
    let copies = thread
        .as_array()
        .expect("the thread")
        .iter()
        .filter(|m: &&Value| m["body"] == AWAY)
        .count();
    assert_eq!(copies, 1, "kept once: {kept}");

    let log = server.terminate(Duration::from_secs(10)).await;
    let said = log.matches("cannot reach the database").count();
    assert_eq!(said, 1, "eleven refused requests, said once:\n{log}");
    assert!(
        !log.contains("request failed inside the server"),
        "no request failed as the server's own fault:\n{log}"
    );
}

/// A database server restarting: its port refuses connections, which the server's pool keeps
/// trying for 10 s before it answers 503. Four writes of one tenant sent together are all
/// answered when that wait is over, and the server carries on once the port takes connections
/// again. (Each request reads its session first, in parallel; the writes queued on a tenant's
/// turn behind one that found the database away are the store's test,
/// `postgres_conformance::writes_queued_behind_one_that_found_the_database_away_fail_with_it`.)
#[tokio::test]
async fn requests_while_the_database_refuses_connections_are_answered_after_the_pools_wait() {
    let database = TestDatabase::postgres();
    let mut port = PortInFront::open(database.url()).await;
    let mut server = Server::start_on(&port.url, &DEMO);
    let base = server.url().await;
    server.wait_for_line("Demo organisations are ready").await;
    let (api, messages) = manager_and_a_thread(&base).await;

    port.refuse().await;
    let sent = Instant::now();
    let write = |n: usize| {
        let (api, messages) = (&api, &messages);
        async move {
            let body = json!({ "body": format!("{AWAY} ({n})") });
            let answer = api
                .post_with_key(messages, body, &format!("queued-{n}"))
                .await;
            (answer, sent.elapsed())
        }
    };
    let answers = tokio::join!(write(0), write(1), write(2), write(3));
    let answers = [answers.0, answers.1, answers.2, answers.3];
    for ((status, refusal), _) in &answers {
        assert_eq!(status, &StatusCode::SERVICE_UNAVAILABLE, "{refusal}");
        assert_eq!(refusal["error"]["code"], "unavailable", "{refusal}");
    }
    let last = answers.iter().map(|(_, took)| *took).max().expect("four");
    // The pool's 10 s, and room for a slow machine: no request waited for another.
    assert!(
        last < Duration::from_secs(17),
        "the last of four writes was answered after {last:?}"
    );

    port.open_again().await;
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, kept) = api
            .post_with_key(&messages, json!({ "body": AWAY }), "after")
            .await;
        if status == StatusCode::CREATED {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still refused once the database is back: {kept}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.terminate(Duration::from_secs(10)).await;
}
