//! Servers that misbehave: HTML answers, broken JSON, unknown and malformed events, huge
//! frames, a link that fails mid catch-up. The client says what is wrong, keeps its cache sound
//! and what already arrived, and does not crash.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use spartex_core::{CoreError, Secret};

use crate::support::{eventually, World};

/// What a client asks `GET /sync` or the event socket for, as a fake server reads it (other
/// parameters, such as `since_at`, are left out; the socket has no `limit`).
#[derive(serde::Deserialize)]
pub(crate) struct SyncAsked {
    pub since: i64,
    #[serde(default)]
    pub limit: i64,
}

pub(crate) async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serves") });
    format!("http://{addr}")
}

/// Dana signed in to a server that answers as `router` does (its sign-in included).
pub(crate) async fn signed_in_to(world: &World, router: Router) -> spartex_core::Account {
    let url = serve(router).await;
    world
        .core("dana")
        .login(&url, "dana@evil.test", &Secret::new("pw"))
        .await
        .expect("signs in")
}

pub(crate) fn token_pair() -> serde_json::Value {
    json!({
        "access_token": "not-a-jwt-but-the-client-does-not-care",
        "refresh_token": "srt_x",
        "expires_in": 900,
        "user": {"id": "usr_1", "email": "dana@evil.test", "name": "Dana", "role": "oncall"},
        "tenant": {"id": "ten_1", "name": "Evil Corp", "slug": "evil"}
    })
}

#[tokio::test]
async fn a_server_that_answers_html_gets_a_clear_error() {
    let world = World::start().await;
    let url = serve(
        Router::new().fallback(|| async { Html("<html><body>Welcome to nginx!</body></html>") }),
    )
    .await;
    let error = world
        .core("dana")
        .login(&url, "dana@acme.test", &Secret::new("pw"))
        .await
        .err()
        .expect("refused");
    assert!(matches!(error, CoreError::Protocol { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("did not answer as a Spartex server"),
        "{error}"
    );
    assert!(
        error.to_string().contains("Check the server URL"),
        "{error}"
    );
}

#[tokio::test]
async fn a_5xx_without_a_body_and_broken_json_are_told_apart() {
    let world = World::start().await;
    let url = serve(Router::new().route(
        "/api/v1/auth/login",
        post(|| async {
            (
                axum::http::StatusCode::BAD_GATEWAY,
                "upstream connect error",
            )
                .into_response()
        }),
    ))
    .await;
    let error = world
        .core("a")
        .login(&url, "dana@acme.test", &Secret::new("pw"))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(error, CoreError::Server { status: 502, .. }),
        "{error:?}"
    );

    let url = serve(Router::new().route(
        "/api/v1/auth/login",
        post(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                "{\"access_token\": ",
            )
                .into_response()
        }),
    ))
    .await;
    let error = world
        .core("b")
        .login(&url, "dana@acme.test", &Secret::new("pw"))
        .await
        .err()
        .expect("refused");
    assert!(error.to_string().contains("malformed JSON"), "{error}");
}

#[tokio::test]
async fn hostile_frames_are_skipped_or_kept_and_the_cache_stays_sound() {
    let world = World::start().await;
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    let router = Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route("/api/v1/sync", get(|| async { Json(json!({"events": [], "head": 0, "resync_required": false})) }))
        .route(
            "/api/v1/events",
            get(move |upgrade: WebSocketUpgrade| {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    upgrade.max_message_size(64 << 20).on_upgrade(move |mut socket| async move {
                        let _ = socket.send(Message::Text(json!({"type": "hello", "head": 3}).to_string().into())).await;
                        if n == 0 {
                            for frame in [
                                "this is not json".to_owned(),
                                json!({"type": "party_time"}).to_string(),
                                json!({"seq": 1, "type": "budget.rebalanced", "at": "2026-11-28T10:00:00Z", "project_id": null, "data": {}}).to_string(),
                                json!({"seq": 2, "type": "agent.upserted", "at": "2026-11-28T10:00:00Z", "project_id": null, "data": {"id": 5}}).to_string(),
                                "x".repeat(20 << 20),
                            ] {
                                let _ = socket.send(Message::Text(frame.into())).await;
                            }
                        } else {
                            let project = json!({"id": "prj_1", "name": "Survivor", "description": "", "status": "active",
                                "budget_usd": 10.0, "spent_usd": 1.0, "created_at": "2026-11-28T10:00:00Z",
                                "updated_at": "2026-11-28T10:00:00Z", "version": 1});
                            let event = json!({"seq": 3, "type": "project.upserted", "at": "2026-11-28T10:00:00Z", "project_id": "prj_1", "data": project});
                            let _ = socket.send(Message::Text(event.to_string().into())).await;
                        }
                        // Hold the socket open until the client leaves.
                        while let Some(Ok(_)) = socket.recv().await {}
                    })
                }
            }),
        );
    let url = serve(router).await;
    let core = world.core("dana");
    let account = core
        .login(&url, "dana@evil.test", &Secret::new("pw"))
        .await
        .expect("signs in");
    let running = account.start();
    eventually(
        "the good event after the hostile ones is applied",
        || async { account.store().last_seq().await.expect("seq") == 3 },
    )
    .await;
    assert!(
        connections.load(Ordering::SeqCst) >= 2,
        "the huge frame ended the first link and the client reconnected"
    );
    assert_eq!(
        account.dashboard().await.expect("dashboard")[0]
            .project
            .name,
        "Survivor"
    );
    assert_eq!(
        account.store().integrity_check().await.expect("check"),
        "ok"
    );
    running.stop().await;
}

/// `seq` `from..=to` as chat messages, as `GET /sync` sends them.
fn chat_events(from: i64, to: i64) -> Vec<serde_json::Value> {
    (from..=to)
        .map(|seq| {
            json!({"seq": seq, "type": "message.created", "at": "2026-11-28T10:00:00Z", "project_id": "prj_1",
                "data": {"id": format!("msg_{seq}"), "project_id": "prj_1", "agent_id": "agt_1", "author_kind": "agent",
                    "author_id": "agt_1", "author_name": "Quill", "body": format!("line {seq}"),
                    "created_at": "2026-11-28T10:00:00Z", "client_msg_id": null}})
        })
        .collect()
}

#[tokio::test]
async fn a_link_that_fails_mid_catch_up_keeps_the_pages_that_arrived() {
    const HEAD: i64 = 3000;
    let world = World::start().await;
    let third_page_fails = Arc::new(AtomicBool::new(true));
    let failing = third_page_fails.clone();
    let router = Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route(
            "/api/v1/sync",
            get(
                move |Query(query): Query<crate::hostile::SyncAsked>| {
                    let failing = failing.clone();
                    async move {
                        let since = query.since;
                        if since >= 2000 && failing.load(Ordering::SeqCst) {
                            let error = json!({"error": {"code": "internal", "message": "the link dropped"}});
                            return (StatusCode::BAD_GATEWAY, Json(error)).into_response();
                        }
                        let to = (since + query.limit).min(HEAD);
                        let page = json!({"events": chat_events(since + 1, to), "head": HEAD, "resync_required": false});
                        Json(page).into_response()
                    }
                },
            ),
        );
    let account = signed_in_to(&world, router).await;

    // Pages are gathered into one transaction; the two that came before the failure are kept.
    account.catch_up().await.expect_err("the third page fails");
    assert_eq!(account.store().last_seq().await.expect("seq"), 2000);

    third_page_fails.store(false, Ordering::SeqCst);
    let report = account.catch_up().await.expect("the link is back");
    assert_eq!((report.applied, report.last_seq), (1000, HEAD));
    assert_eq!(
        account.store().integrity_check().await.expect("check"),
        "ok"
    );
}

/// A server that answers 503 with `Retry-After` (its disk full, its database away) is left
/// alone for as long as it asks: a long wait is not retried inside the request but handed to
/// the caller, whose own retry (the outbox, the sync) waits that long; a short one is waited
/// out and retried.
#[tokio::test]
async fn a_server_asking_to_wait_is_not_retried_sooner() {
    let world = World::start().await;
    let asked_s = Arc::new(AtomicUsize::new(30));
    let requests = Arc::new(AtomicUsize::new(0));
    let (asked, counted) = (asked_s.clone(), requests.clone());
    let router = Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route(
            "/api/v1/sync",
            get(move || {
                let (asked, counted) = (asked.clone(), counted.clone());
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let wait = asked.load(Ordering::SeqCst).to_string();
                    let error = json!({"error": {"code": "unavailable", "message": "The server's disk is full.", "details": {}}});
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        [(axum::http::header::RETRY_AFTER, wait)],
                        Json(error),
                    )
                        .into_response()
                }
            }),
        );
    let account = signed_in_to(&world, router).await;

    let error = account.catch_up().await.expect_err("the server refuses");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "not retried sooner than asked"
    );
    assert_eq!(
        error.retry_after(),
        Some(std::time::Duration::from_secs(30)),
        "{error:?}"
    );
    assert!(error.to_string().contains("disk is full"), "{error}");

    asked_s.store(1, Ordering::SeqCst);
    requests.store(0, Ordering::SeqCst);
    account.catch_up().await.expect_err("still refused");
    assert_eq!(
        requests.load(Ordering::SeqCst),
        3,
        "a second's wait is waited out and retried"
    );
}

/// A message sent while the server asks to be left alone for 30 s is tried once, as it is
/// sent; the outbox's loop, woken by it, waits as asked instead of sending it again.
#[tokio::test]
async fn an_action_queued_while_the_server_asks_to_wait_is_tried_once() {
    let world = World::start().await;
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let router = Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route(
            "/api/v1/projects/{id}/messages",
            post(move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let error = json!({"error": {"code": "unavailable", "message": "The database cannot be reached.", "details": {}}});
                    let asked = [(axum::http::header::RETRY_AFTER, "30")];
                    (StatusCode::SERVICE_UNAVAILABLE, asked, Json(error)).into_response()
                }
            }),
        );
    let account = signed_in_to(&world, router).await;
    let running = account.start();

    let queued = account
        .send_message("prj_1", None, "Hold the Meta spend until Monday")
        .await
        .expect("kept to send later");
    assert!(!queued.delivered);
    let why = queued.waiting_because.expect("says why it waits");
    assert!(why.contains("database cannot be reached"), "{why}");
    // Long enough for the loop, woken by the message, to have sent it again (it did at once).
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "sent again sooner than asked"
    );
    assert_eq!(
        account.outbox().await.expect("outbox").len(),
        1,
        "still kept"
    );
    running.stop().await;
}

/// A newer server, which answers with a resource this version cannot read (an author kind it
/// added): a stand-in, since no such server exists yet.
#[tokio::test]
async fn an_action_a_newer_server_took_is_not_sent_again_for_an_answer_it_cannot_read() {
    let world = World::start().await;
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    let router = Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route(
            "/api/v1/projects/{id}/messages",
            post(move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let message = json!({"id": "msg_1", "project_id": "prj_1", "agent_id": null,
                        "author_kind": "hologram", "author_id": "usr_1", "body": "Hold the spend",
                        "created_at": "2026-12-07T10:00:00Z", "client_msg_id": "c1"});
                    (StatusCode::CREATED, Json(message)).into_response()
                }
            }),
        );
    let account = signed_in_to(&world, router).await;
    let running = account.start();

    let queued = account
        .send_message("prj_1", None, "Hold the spend")
        .await
        .expect("sent");
    let outcome = queued.outcome.expect("says what became of it");
    assert!(
        outcome
            .message
            .contains("could not read the server's answer"),
        "{}",
        outcome.message
    );
    assert!(queued.delivered, "the server took it");
    assert!(account.outbox().await.expect("outbox").is_empty());
    // Long enough for the delivery loop to have sent it again, had it been kept.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(requests.load(Ordering::SeqCst), 1, "sent once");
    running.stop().await;
}

/// A server with a bug that fails one request every time (a 500 for that body alone, as the
/// ask-again with a long comment was on PostgreSQL): a stand-in, as the reference server has
/// no such bug left to call on.
#[tokio::test]
async fn a_request_the_server_keeps_failing_holds_back_only_what_must_follow_it() {
    let world = World::start().await;
    let broken = Arc::new(AtomicBool::new(true));
    let delivered: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let router =
        {
            let (broken, delivered) = (broken.clone(), delivered.clone());
            Router::new()
            .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
            .route(
                "/api/v1/projects/{id}/messages",
                post(
                    move |axum::extract::Path(project): axum::extract::Path<String>,
                          Json(sent): Json<serde_json::Value>| {
                        let (broken, delivered) = (broken.clone(), delivered.clone());
                        async move {
                            if project == "prj_1" && broken.load(Ordering::SeqCst) {
                                return (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({
                                    "error": {"code": "internal", "message": "Something broke."}
                                })))
                                .into_response();
                            }
                            let body = sent["body"].as_str().unwrap_or_default().to_owned();
                            delivered.lock().expect("not poisoned").push(body.clone());
                            let message = json!({"id": format!("msg_{body}"), "project_id": project,
                                "agent_id": null, "author_kind": "user", "author_id": "usr_1",
                                "body": body, "created_at": "2026-12-07T10:00:00Z",
                                "client_msg_id": sent["client_msg_id"]});
                            (StatusCode::CREATED, Json(message)).into_response()
                        }
                    },
                ),
            )
        };
    let account = signed_in_to(&world, router).await;

    let first = account
        .send_message("prj_1", None, "one")
        .await
        .expect("kept");
    assert!(!first.delivered, "the server failed it");
    account
        .send_message("prj_1", None, "two")
        .await
        .expect("kept");
    let other = account
        .send_message("prj_2", None, "elsewhere")
        .await
        .expect("sent");
    assert!(other.delivered, "another conversation is not held back");
    let report = account.flush_outbox().await.expect("flushes");
    assert_eq!(report.waiting, 2, "{report:?}");
    assert_eq!(
        *delivered.lock().expect("not poisoned"),
        ["elsewhere"],
        "nothing overtook “one”"
    );

    broken.store(false, Ordering::SeqCst);
    let report = account.flush_outbox().await.expect("flushes");
    assert_eq!((report.delivered, report.waiting), (2, 0), "{report:?}");
    assert_eq!(
        *delivered.lock().expect("not poisoned"),
        ["elsewhere", "one", "two"]
    );
}
