//! Catch-up against a server whose log cannot be followed as it is: a `seq` it never sends,
//! `since` ignored, `resync_required` for ever, a head gone back (restored from a backup), an
//! event whose envelope cannot be read. Each ends within a few requests with the cache sound,
//! never in a loop of requests (as it was: a gap's catch-up applied what it fetched, which
//! found the same gap and caught up again).

use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Query;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use spartex_core::{Account, CoreError, Secret};

use crate::support::World;

/// Long enough for any of these catch-ups, which take a few requests on loopback.
const BOUNDED: Duration = Duration::from_secs(10);

pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serves") });
    format!("http://{addr}")
}

pub fn token_pair() -> Value {
    json!({
        "access_token": "not-a-jwt-but-the-client-does-not-care",
        "refresh_token": "srt_x",
        "expires_in": 900,
        "user": {"id": "usr_1", "email": "dana@evil.test", "name": "Dana", "role": "oncall"},
        "tenant": {"id": "ten_1", "name": "Evil Corp", "slug": "evil"}
    })
}

pub fn chat_event(seq: i64) -> Value {
    json!({"seq": seq, "type": "message.created", "at": "2026-11-28T10:00:00Z", "project_id": "prj_1",
        "data": {"id": format!("msg_{seq}"), "project_id": "prj_1", "agent_id": "agt_1", "author_kind": "agent",
            "author_id": "agt_1", "author_name": "Quill", "body": format!("line {seq}"),
            "created_at": "2026-11-28T10:00:00Z", "client_msg_id": null}})
}

/// A server that signs anyone in and has nothing to show in its snapshots, with `sync` as its
/// `GET /sync`, counting the requests it takes.
fn with_sync<F, Fut>(requests: &Arc<AtomicUsize>, sync: F) -> Router
where
    F: Fn(i64, i64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Value> + Send + 'static,
{
    let counted = requests.clone();
    Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route("/api/v1/projects", get(|| async { Json(json!([])) }))
        .route("/api/v1/approvals", get(|| async { Json(json!([])) }))
        .route("/api/v1/stops", get(|| async { Json(json!([])) }))
        .route(
            "/api/v1/sync",
            get(move |Query(query): Query<crate::hostile::SyncAsked>| {
                let (counted, sync) = (counted.clone(), sync.clone());
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    Json(sync(query.since, query.limit).await)
                }
            }),
        )
}

async fn signed_in(world: &World, router: Router) -> Account {
    let url = serve(router).await;
    world
        .core("dana")
        .login(&url, "dana@evil.test", &Secret::new("pw"))
        .await
        .expect("signs in")
}

async fn catch_up_bounded(account: &Account) -> Result<spartex_core::sync::SyncReport, CoreError> {
    tokio::time::timeout(BOUNDED, account.catch_up())
        .await
        .expect("the catch-up ends instead of asking again and again")
}

#[tokio::test]
async fn a_log_missing_one_seq_is_rebuilt_from_snapshots_once_not_asked_for_ever() {
    const HEAD: i64 = 10;
    let world = World::start().await;
    let requests = Arc::new(AtomicUsize::new(0));
    let router = with_sync(&requests, |since, limit| async move {
        let events: Vec<Value> = (since + 1..=HEAD)
            .filter(|seq| *seq != 5)
            .take(usize::try_from(limit).unwrap_or(0))
            .map(chat_event)
            .collect();
        json!({"events": events, "head": HEAD, "resync_required": false})
    });
    let account = signed_in(&world, router).await;

    let report = catch_up_bounded(&account).await.expect("caught up");
    assert!(report.resynced, "{report:?}");
    assert_eq!(report.last_seq, HEAD);
    assert_eq!(account.store().last_seq().await.expect("seq"), HEAD);
    // The pages, the snapshot's head, and one page after it.
    assert!(requests.load(Ordering::SeqCst) <= 4, "{requests:?}");
    assert_eq!(
        account.store().integrity_check().await.expect("check"),
        "ok"
    );
}

#[tokio::test]
async fn a_log_that_keeps_skipping_seqs_ends_the_catch_up_with_a_protocol_error() {
    let world = World::start().await;
    let requests = Arc::new(AtomicUsize::new(0));
    // A busy tenant's log on a server that never sends the first event after `since`.
    let head = Arc::new(AtomicI64::new(20));
    let router = with_sync(&requests, move |since, _limit| {
        let head = head.clone();
        async move {
            let head = head.fetch_add(20, Ordering::SeqCst);
            let events: Vec<Value> = (since + 2..=head).map(chat_event).collect();
            json!({"events": events, "head": head, "resync_required": false})
        }
    });
    let account = signed_in(&world, router).await;

    let error = catch_up_bounded(&account).await.expect_err("cannot follow");
    assert!(matches!(error, CoreError::Protocol { .. }), "{error:?}");
    assert!(error.to_string().contains("skips seq"), "{error}");
    assert!(requests.load(Ordering::SeqCst) <= 4, "{requests:?}");
}

#[tokio::test]
async fn a_server_that_ignores_since_ends_the_catch_up_with_a_protocol_error() {
    let world = World::start().await;
    let requests = Arc::new(AtomicUsize::new(0));
    let router = with_sync(&requests, |_since, _limit| async move {
        let events: Vec<Value> = (1..=10).map(chat_event).collect();
        json!({"events": events, "head": 20, "resync_required": false})
    });
    let account = signed_in(&world, router).await;

    let error = catch_up_bounded(&account).await.expect_err("cannot follow");
    assert!(matches!(error, CoreError::Protocol { .. }), "{error:?}");
    assert_eq!(requests.load(Ordering::SeqCst), 2);
    assert_eq!(
        account.store().last_seq().await.expect("seq"),
        10,
        "what did follow on is kept"
    );
}

#[tokio::test]
async fn resync_required_for_ever_rebuilds_once_then_is_a_protocol_error() {
    let world = World::start().await;
    let requests = Arc::new(AtomicUsize::new(0));
    let router = with_sync(&requests, |_since, _limit| async move {
        json!({"events": [], "head": 7, "resync_required": true})
    });
    let account = signed_in(&world, router).await;

    let error = catch_up_bounded(&account).await.expect_err("cannot follow");
    assert!(matches!(error, CoreError::Protocol { .. }), "{error:?}");
    // The first page, the snapshot's head, the page after the rebuild.
    assert_eq!(requests.load(Ordering::SeqCst), 3);
}

/// A server restored from a backup: its log went back from seq 10 to seq 5, and a new
/// request for approval took seq 6. `restored` flips it from before to after; the socket
/// (`GET /events`) says its head and sends nothing the cache has not (seq > `since`).
fn restored_server(restored: &Arc<std::sync::atomic::AtomicBool>, approval: Value) -> Router {
    let (on_sync, on_socket) = (restored.clone(), restored.clone());
    let approvals = approval.clone();
    let listed = restored.clone();
    let new_request = json!({"seq": 6, "type": "approval.upserted", "at": "2026-11-28T10:00:00Z",
        "project_id": approval["project_id"], "data": approval});
    let sent = new_request.clone();
    Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route("/api/v1/projects", get(|| async { Json(json!([])) }))
        .route("/api/v1/stops", get(|| async { Json(json!([])) }))
        .route(
            "/api/v1/approvals",
            get(move || {
                let shown = if listed.load(Ordering::SeqCst) {
                    json!([approvals.clone()])
                } else {
                    json!([])
                };
                async move { Json(shown) }
            }),
        )
        .route(
            "/api/v1/sync",
            get(move |Query(query): Query<crate::hostile::SyncAsked>| {
                let log: Vec<Value> = if on_sync.load(Ordering::SeqCst) {
                    (1..=5).map(chat_event).chain([sent.clone()]).collect()
                } else {
                    (1..=10).map(chat_event).collect()
                };
                let head = log.len();
                let events: Vec<Value> = log
                    .into_iter()
                    .filter(|event| event["seq"].as_i64() > Some(query.since))
                    .take(usize::try_from(query.limit).unwrap_or(0))
                    .collect();
                async move { Json(json!({"events": events, "head": head, "resync_required": false})) }
            }),
        )
        .route(
            "/api/v1/events",
            get(
                move |upgrade: axum::extract::ws::WebSocketUpgrade,
                      Query(query): Query<crate::hostile::SyncAsked>| {
                    let restored = on_socket.load(Ordering::SeqCst);
                    let head = if restored { 6 } else { 10 };
                    let since = query.since;
                    let new_request = new_request.clone();
                    async move {
                        upgrade.on_upgrade(move |mut socket| async move {
                            use axum::extract::ws::Message;
                            let hello = json!({"type": "hello", "head": head}).to_string();
                            let _ = socket.send(Message::Text(hello.into())).await;
                            if restored && since < 6 {
                                let frame = new_request.to_string();
                                let _ = socket.send(Message::Text(frame.into())).await;
                            }
                            while let Some(Ok(_)) = socket.recv().await {}
                        })
                    }
                },
            ),
        )
}

#[tokio::test]
async fn a_server_log_that_went_back_is_rebuilt_from_snapshots_at_catch_up() {
    let world = World::start().await;
    let restored = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let approval = serde_json::to_value(spartex_api::Approval::example()).expect("JSON");
    let id = approval["id"].as_str().expect("an id").to_owned();
    let account = signed_in(&world, restored_server(&restored, approval)).await;
    account.catch_up().await.expect("the first sync");
    assert_eq!(account.store().last_seq().await.expect("seq"), 10);

    restored.store(true, Ordering::SeqCst);
    let report = catch_up_bounded(&account).await.expect("caught up");
    assert!(report.resynced, "{report:?}");
    assert_eq!(account.store().last_seq().await.expect("seq"), 6);
    account
        .approval(&id)
        .await
        .expect("the request made after the restore is cached");
}

#[tokio::test]
async fn a_server_log_that_went_back_is_rebuilt_from_snapshots_when_the_socket_says_so() {
    let world = World::start().await;
    let restored = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let approval = serde_json::to_value(spartex_api::Approval::example()).expect("JSON");
    let id = approval["id"].as_str().expect("an id").to_owned();
    let account = signed_in(&world, restored_server(&restored, approval)).await;
    account.catch_up().await.expect("the first sync");
    assert_eq!(account.store().last_seq().await.expect("seq"), 10);

    restored.store(true, Ordering::SeqCst);
    let running = account.start();
    crate::support::eventually("the request made after the restore is cached", || async {
        account.approval(&id).await.is_ok()
    })
    .await;
    assert_eq!(account.store().last_seq().await.expect("seq"), 6);
    running.stop().await;
}

/// Whether `GET /sync` serves the log too, or fails (its database away) so that only the
/// socket can bring it.
#[derive(Clone, Copy, PartialEq)]
enum LogOverHttp {
    Serves,
    Fails,
}

/// seq 1 with an `at` that is not RFC 3339, then a good seq 2, on the socket and (as `sync` says)
/// `GET /sync`.
fn one_unreadable_envelope(sync: LogOverHttp) -> Router {
    let log = || {
        let mut unreadable = chat_event(1);
        unreadable["at"] = json!("yesterday at noon");
        vec![unreadable, chat_event(2)]
    };
    Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route(
            "/api/v1/sync",
            get(move |Query(query): Query<crate::hostile::SyncAsked>| {
                let events: Vec<Value> = log()
                    .into_iter()
                    .filter(|event| event["seq"].as_i64() > Some(query.since))
                    .collect();
                async move {
                    if sync == LogOverHttp::Fails {
                        let away =
                            json!({"error": {"code": "internal", "message": "the log is away"}});
                        return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, Json(away));
                    }
                    let page = json!({"events": events, "head": 2, "resync_required": false});
                    (axum::http::StatusCode::OK, Json(page))
                }
            }),
        )
        .route(
            "/api/v1/events",
            get(
                move |upgrade: axum::extract::ws::WebSocketUpgrade| async move {
                    upgrade.on_upgrade(move |mut socket| async move {
                        use axum::extract::ws::Message;
                        let hello = json!({"type": "hello", "head": 2}).to_string();
                        let _ = socket.send(Message::Text(hello.into())).await;
                        for event in log() {
                            let _ = socket.send(Message::Text(event.to_string().into())).await;
                        }
                        while let Some(Ok(_)) = socket.recv().await {}
                    })
                },
            ),
        )
}

#[tokio::test]
async fn an_unreadable_envelope_in_a_page_is_passed_over_not_the_whole_page() {
    let world = World::start().await;
    let account = signed_in(&world, one_unreadable_envelope(LogOverHttp::Serves)).await;
    let report = catch_up_bounded(&account).await.expect("caught up");
    assert_eq!((report.last_seq, report.resynced), (2, false), "{report:?}");
    assert_eq!(
        account.store().integrity_check().await.expect("check"),
        "ok"
    );
}

/// `GET /sync` fails: the gap an event passed over without a stand-in would leave cannot be
/// filled from it, so only the socket's own handling brings seq 2.
#[tokio::test]
async fn an_unreadable_envelope_on_the_socket_does_not_wedge_the_link() {
    let world = World::start().await;
    let account = signed_in(&world, one_unreadable_envelope(LogOverHttp::Fails)).await;
    let running = account.start();
    crate::support::eventually("the event after the unreadable one is applied", || async {
        account.store().last_seq().await.expect("seq") == 2
    })
    .await;
    crate::support::eventually("the link is up", || async {
        account.link() == spartex_core::LinkState::Connected
    })
    .await;
    running.stop().await;
}
