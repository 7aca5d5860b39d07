//! The event log and its socket: gapless, replayed from `since`, then live, with nothing lost
//! or repeated at the seam.

use serde_json::json;

use crate::support::{lift_people_quota, project_id, TestServer, SPRING};

#[tokio::test]
async fn the_log_has_no_gaps_under_concurrent_writers() {
    let server = TestServer::start_with(lift_people_quota).await;
    let api = server.login("oncall@acme.test").await;
    let spring = project_id(&api, SPRING).await;
    let writers = (0..16).map(|writer| {
        let api = api.clone();
        let path = format!("/api/v1/projects/{spring}/messages");
        tokio::spawn(async move {
            for n in 0..10 {
                let (status, body) = api
                    .post(
                        &path,
                        json!({"body": format!("writer {writer} message {n}")}),
                    )
                    .await;
                assert!(status.is_success(), "{body}");
            }
        })
    });
    let agent_writers = ["Quill", "Iris", "Ledger"].map(|name| {
        let agent = server.agent(name);
        tokio::spawn(async move {
            for _ in 0..10 {
                let (status, body) = agent
                    .post(
                        "/api/v1/agent/heartbeat",
                        json!({"status": "working", "cost_usd": 0.01}),
                    )
                    .await;
                assert!(status.is_success(), "{body}");
            }
        })
    });
    for writer in writers.chain(agent_writers) {
        writer.await.expect("writer");
    }
    let events = api.all_events().await;
    let seqs: Vec<i64> = events
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    let expected: Vec<i64> = (1..=i64::try_from(seqs.len()).expect("len")).collect();
    assert_eq!(
        seqs, expected,
        "seq must be 1, 2, 3, … with no gap or repeat"
    );
    assert_eq!(api.head().await, *seqs.last().expect("events"));
    let messages = events
        .iter()
        .filter(|e| e["type"] == "message.created")
        .count();
    assert_eq!(messages, 160);
}

#[tokio::test]
async fn a_socket_with_since_gets_exactly_the_missed_events_then_live_ones() {
    let server = TestServer::start().await;
    let api = server.login("viewer@acme.test").await;
    let oncall = server.login("oncall@acme.test").await;
    let spring = project_id(&api, SPRING).await;
    let since = api.head().await;
    for n in 0..5 {
        oncall
            .post(
                &format!("/api/v1/projects/{spring}/messages"),
                json!({"body": format!("missed {n}")}),
            )
            .await;
    }
    let head = api.head().await;
    assert_eq!(head, since + 5);

    let mut socket = server.events(api.token(), Some(since)).await;
    let hello = socket.next().await;
    assert_eq!(hello, json!({"type": "hello", "head": head}));
    for expected in since + 1..=head {
        let event = socket.next().await;
        assert_eq!(event["seq"], expected);
        assert_eq!(event["type"], "message.created");
    }
    // Live events continue the sequence with nothing repeated.
    let writer = tokio::spawn({
        let oncall = oncall.clone();
        let path = format!("/api/v1/projects/{spring}/messages");
        async move {
            for n in 0..20 {
                oncall
                    .post(&path, json!({"body": format!("live {n}")}))
                    .await;
            }
        }
    });
    for expected in head + 1..=head + 20 {
        assert_eq!(socket.next().await["seq"], expected);
    }
    writer.await.expect("writer");
}

#[tokio::test]
async fn connecting_during_a_burst_loses_nothing_at_the_seam() {
    let server = TestServer::start().await;
    let api = server.login("viewer@acme.test").await;
    let agent = server.agent("Quill");
    let since = api.head().await;
    let burst = tokio::spawn(async move {
        for _ in 0..100 {
            agent
                .post("/api/v1/agent/heartbeat", json!({"status": "working"}))
                .await;
        }
    });
    let mut socket = server.events(api.token(), Some(since)).await;
    assert_eq!(socket.next().await["type"], "hello");
    burst.await.expect("burst");
    let end = api.head().await;
    for expected in since + 1..=end {
        assert_eq!(
            socket.next().await["seq"],
            expected,
            "replay and live must join without a gap or repeat"
        );
    }
}

#[tokio::test]
async fn a_since_older_than_the_log_keeps_gets_resync_required() {
    let server =
        TestServer::start_with(|s| s.event_retention = std::time::Duration::from_secs(3600)).await;
    server.advance(chrono::Duration::hours(2));
    let api = server.login("viewer@acme.test").await;
    let pruned = spartex_server::service::sweep::prune(server.state())
        .await
        .expect("prunes");
    assert!(pruned > 0, "the seeded events are past retention");
    let head = api.head().await;

    let mut socket = server.events(api.token(), Some(1)).await;
    assert_eq!(socket.next().await, json!({"type": "hello", "head": head}));
    assert_eq!(
        socket.next().await,
        json!({"type": "resync_required", "head": head})
    );
    let (_, page) = api.get("/api/v1/sync?since=1").await;
    assert_eq!(page["resync_required"], true);
    assert_eq!(page["head"], head);
    // From the head, the log serves again.
    let (_, page) = api.get(&format!("/api/v1/sync?since={head}")).await;
    assert_eq!(page["resync_required"], false);
    // A client ahead of the server (a restored backup) must resync too.
    let (_, ahead) = api.get(&format!("/api/v1/sync?since={}", head + 50)).await;
    assert_eq!(ahead["resync_required"], true);
}

/// A log restored from a backup gives its seqs to new events: a client that says when the
/// event it applied at `since` was (`since_at`) is told to rebuild when the log's event there is
/// another, and follows on as before when it is the same.
#[tokio::test]
async fn a_since_whose_event_the_log_no_longer_holds_gets_resync_required() {
    let server = TestServer::start().await;
    let api = server.login("viewer@acme.test").await;
    let head = api.head().await;
    let (_, page) = api.get(&format!("/api/v1/sync?since={}", head - 1)).await;
    let at = page["events"][0]["at"]
        .as_str()
        .expect("the event at head")
        .to_owned();
    let at = chrono::DateTime::parse_from_rfc3339(&at).expect("an instant");
    let same = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let other = (at - chrono::Duration::minutes(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();

    let (_, page) = api
        .get(&format!("/api/v1/sync?since={head}&since_at={same}"))
        .await;
    assert_eq!(page["resync_required"], false, "{page}");
    let (_, page) = api
        .get(&format!("/api/v1/sync?since={head}&since_at={other}"))
        .await;
    assert_eq!(page["resync_required"], true, "{page}");

    let mut socket = server.events_since(api.token(), head, &other).await;
    assert_eq!(socket.next().await, json!({"type": "hello", "head": head}));
    assert_eq!(
        socket.next().await,
        json!({"type": "resync_required", "head": head})
    );
    let mut socket = server.events_since(api.token(), head, &same).await;
    assert_eq!(socket.next().await, json!({"type": "hello", "head": head}));
    let manager = server.login("manager@acme.test").await;
    let (status, _) = manager
        .post(
            &format!(
                "/api/v1/projects/{}/messages",
                project_id(&manager, SPRING).await
            ),
            json!({"body": "after the check"}),
        )
        .await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        socket.next().await["seq"],
        head + 1,
        "followed on from since"
    );
}

#[tokio::test]
async fn shutdown_closes_sockets_instead_of_hanging() {
    let mut server = TestServer::start().await;
    let api = server.login("viewer@acme.test").await;
    let mut socket = server.events(api.token(), None).await;
    assert_eq!(socket.next().await["type"], "hello");
    let started = std::time::Instant::now();
    server.shutdown().await;
    assert_eq!(
        socket.try_next(crate::support::PATIENCE).await,
        None,
        "the socket is closed on shutdown"
    );
    // A socket that was never closed would hold the reader to the patience window.
    assert!(
        started.elapsed() < crate::support::PATIENCE,
        "the socket was closed by the server, not timed out"
    );
}

/// One message written through `mutate`, as a route would, in a task of its own.
fn spawn_message_write(
    state: &spartex_server::state::AppState,
    tenant: &str,
    project_id: &str,
    n: u64,
) -> tokio::task::JoinHandle<spartex_server::error::ApiResult<spartex_server::write::Answer>> {
    use spartex_api::{AuthorKind, Message};
    use spartex_server::write::{mutate, IdempotencyScope, Reply};
    let (state, tenant) = (state.clone(), tenant.to_owned());
    let message = Message {
        id: format!("msg_dropped_{n}"),
        project_id: project_id.to_owned(),
        agent_id: None,
        author_kind: AuthorKind::User,
        author_id: None,
        author_name: "Test".into(),
        body: format!("write {n}"),
        created_at: state.now(),
        client_msg_id: None,
    };
    tokio::spawn(async move {
        let scope = IdempotencyScope {
            tenant_id: tenant.clone(),
            principal_id: "usr_test".into(),
            key: None,
            method: "POST".into(),
            path: "/test".into(),
            request_hash: None,
        };
        mutate(&state, scope, async |w| {
            w.create(&tenant, &message).await?;
            Ok(Reply::created(()))
        })
        .await
    })
}

/// A request dropped as its write commits (a client hanging up at that moment) must still have
/// its event reach the open sockets at once: an approval committed but unpublished would sit
/// unseen by every manager, and unpushed, until the tenant's next event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_dropped_as_it_commits_still_reaches_open_sockets() {
    use std::time::{Duration, Instant};
    use tokio::sync::broadcast::error::RecvError;

    let server = TestServer::start().await;
    let state = server.state().clone();
    let api = server.login("oncall@acme.test").await;
    let spring = project_id(&api, SPRING).await;
    let tenant = server.tenant_of("oncall@acme.test").await;
    let head = async || {
        let bounds = state.store.log_bounds(&tenant).await.expect("the log");
        bounds.map_or(0, |b| b.head)
    };
    // The drops spread over twice the longest of five whole writes on this machine, however
    // loaded: before, during and after the commit and the publish.
    let mut longest = Duration::from_millis(1);
    for n in 0..5 {
        let started = Instant::now();
        let written = spawn_message_write(&state, &tenant, &spring, 10_000 + n).await;
        assert!(matches!(written, Ok(Ok(_))), "{written:?}");
        longest = longest.max(started.elapsed());
    }
    let window_us = u64::try_from((longest * 2).as_micros()).unwrap_or(u64::MAX);

    let mut feed = state.events.subscribe(&tenant);
    let mut unheard = Vec::new();
    let mut committed = 0;
    for round in 0..600u64 {
        let before = head().await;
        let write = spawn_message_write(&state, &tenant, &spring, round);
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_micros((round * 7_919) % window_us) {
            std::hint::spin_loop();
        }
        write.abort();
        let _ = write.await;
        let after = head().await;
        if after == before {
            continue;
        }
        committed += 1;
        let heard = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match feed.recv().await {
                    Ok(published) if published.event.seq >= after => return true,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => return false,
                }
            }
        })
        .await;
        if heard != Ok(true) {
            unheard.push(after);
        }
    }
    println!(
        "{committed} of 600 writes committed before their drop landed (window {window_us} µs)"
    );
    assert!(
        committed > 0,
        "no round committed: the drops came too early"
    );
    assert!(
        unheard.is_empty(),
        "{} of {committed} committed writes were never published: seq {unheard:?}",
        unheard.len()
    );
}
