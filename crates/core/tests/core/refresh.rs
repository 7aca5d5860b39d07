//! Refreshing the access token where a REST call would not: the event socket's handshake, and
//! a refresh whose answer is lost on the way.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::Router;
use spartex_core::{Change, LinkState, Secret};

use crate::support::{World, PATIENCE};

/// The server's clock runs past the access token's life while the client's does not (a
/// laptop's clock minutes behind, or the token revoked early): the client sends a token it
/// believes good, and the socket's handshake answers 401. It is refreshed, as a REST call's
/// is, and the socket connects, where it went signed out at once.
#[tokio::test]
async fn an_access_token_the_socket_refuses_is_refreshed_and_the_socket_connects() {
    let world =
        World::start_with(|settings| settings.access_token_ttl = Duration::from_secs(5 * 60)).await;
    let account = world.login(&world.core("dana"), "oncall@acme.test").await;
    account.catch_up().await.expect("the first sync");
    world.clock.advance(chrono::Duration::minutes(6));

    let mut changes = account.subscribe();
    let running = account.start();
    let link = tokio::time::timeout(PATIENCE, async {
        loop {
            match changes.recv().await {
                Ok(Change::Link { state })
                    if matches!(state, LinkState::Connected | LinkState::SignedOut) =>
                {
                    return state
                }
                Ok(_) => {}
                Err(error) => panic!("the changes ended: {error}"),
            }
        }
    })
    .await
    .expect("the link settles");
    assert_eq!(link, LinkState::Connected, "refreshed, not signed out");

    // Live, with the refreshed token.
    let asked = world.ask("Quill", "Raise the Meta daily cap to $900").await;
    let id = asked["id"].as_str().expect("an id").to_owned();
    crate::support::eventually("the request arrives on the socket", || async {
        account.approval(&id).await.is_ok()
    })
    .await;
    running.stop().await;
}

/// Between the client and the server: carries every request, except that the answer to the
/// next refresh once `lose_next` is set, which the server took (and rotated the tokens for),
/// never comes back.
struct LosesOneRefreshAnswer {
    server: String,
    http: reqwest::Client,
    lose_next: AtomicBool,
    refreshes: AtomicUsize,
}

async fn carry(State(proxy): State<Arc<LosesOneRefreshAnswer>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("the request's body");
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut carried = proxy
        .http
        .request(parts.method.clone(), format!("{}{path}", proxy.server))
        .body(body);
    for (name, value) in &parts.headers {
        if name != axum::http::header::HOST && name != axum::http::header::CONTENT_LENGTH {
            carried = carried.header(name, value);
        }
    }
    let answer = carried.send().await.expect("the server answers");
    let (status, headers) = (answer.status(), answer.headers().clone());
    let body = answer.bytes().await.expect("the answer's body");
    if parts.uri.path() == "/api/v1/auth/refresh" {
        proxy.refreshes.fetch_add(1, Ordering::SeqCst);
        if proxy.lose_next.swap(false, Ordering::SeqCst) {
            // Taken by the server; its answer stalls on the way for good.
            std::future::pending::<()>().await;
        }
    }
    let mut shown = (status, body).into_response();
    if let Some(kind) = headers.get(axum::http::header::CONTENT_TYPE) {
        shown
            .headers_mut()
            .insert(axum::http::header::CONTENT_TYPE, kind.clone());
    }
    shown
}

/// A refresh whose answer is lost (the server rotated the tokens; the answer never came): the
/// client asks again at once with the same refresh token, well within the server's grace for
/// a lost answer, and goes on signed in, where it waited 30 s, failed the call, and, asking
/// only later, was taken for a stolen token's reuse and signed out.
#[tokio::test]
async fn a_refresh_whose_answer_is_lost_is_asked_again_within_the_grace() {
    // Access tokens that are always about to expire: every call refreshes first.
    let world =
        World::start_with(|settings| settings.access_token_ttl = Duration::from_secs(30)).await;
    let proxy = Arc::new(LosesOneRefreshAnswer {
        server: world.url.clone(),
        http: reqwest::Client::new(),
        lose_next: AtomicBool::new(false),
        refreshes: AtomicUsize::new(0),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("its address"));
    let router = Router::new().fallback(carry).with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serves") });
    let account = world
        .core("dana")
        .login(
            &url,
            "oncall@acme.test",
            &Secret::new(spartex_testkit::PASSWORD),
        )
        .await
        .expect("signs in through the proxy");
    proxy.lose_next.store(true, Ordering::SeqCst);

    tokio::time::timeout(PATIENCE, account.catch_up())
        .await
        .expect("the lost answer is given up on sooner than the HTTP timeout")
        .expect("the refresh asked again is answered, and the call goes on");
    assert!(
        proxy.refreshes.load(Ordering::SeqCst) >= 2,
        "the lost one was asked again"
    );

    // Long after the grace, the pair it holds (the lost answer's) still works.
    world.clock.advance(chrono::Duration::seconds(11));
    account
        .catch_up()
        .await
        .expect("still signed in with the pair the lost answer held");
}
