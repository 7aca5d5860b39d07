//! Answers a careful client survives without harm: a token lifetime out of any range, a
//! redirect (which would carry the password or a refresh token elsewhere), TLS spoken to a
//! server that does not speak it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use spartex_core::{CoreError, Secret};

use crate::catch_up::{serve, token_pair};
use crate::support::World;

fn lives(expires_in: i64) -> Value {
    let mut pair = token_pair();
    pair["expires_in"] = json!(expires_in);
    pair
}

#[tokio::test]
async fn a_token_lifetime_out_of_any_range_is_taken_within_one() {
    let world = World::start().await;
    let refreshed = Arc::new(AtomicUsize::new(0));
    let counted = refreshed.clone();
    let router = Router::new()
        .route(
            "/api/v1/auth/login",
            post(|body: Json<Value>| async move {
                let asked = if body["email"] == "forever@evil.test" {
                    i64::MAX
                } else {
                    i64::MIN
                };
                Json(lives(asked))
            }),
        )
        .route(
            "/api/v1/auth/refresh",
            post(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { Json(lives(i64::MAX)) }
            }),
        )
        .route(
            "/api/v1/sync",
            get(|| async { Json(json!({"events": [], "head": 0, "resync_required": false})) }),
        );
    let url = serve(router).await;

    let forever = world
        .core("forever")
        .login(&url, "forever@evil.test", &Secret::new("pw"))
        .await
        .expect("signs in with expires_in = i64::MAX");
    forever.catch_up().await.expect("and uses the token");
    assert_eq!(refreshed.load(Ordering::SeqCst), 0, "not expired yet");

    let never = world
        .core("never")
        .login(&url, "never@evil.test", &Secret::new("pw"))
        .await
        .expect("signs in with expires_in = i64::MIN");
    never
        .catch_up()
        .await
        .expect("refreshes, then uses the token");
    assert_eq!(refreshed.load(Ordering::SeqCst), 1, "expired at once");
}

/// A sign-in sent on with 308 (which keeps the method and the body: the password) to another
/// server: refused, naming where it was sent, and the other server hears nothing.
#[tokio::test]
async fn a_redirect_is_not_followed_and_names_where_it_leads() {
    let world = World::start().await;
    let heard = Arc::new(AtomicUsize::new(0));
    let counted = heard.clone();
    let elsewhere = serve(Router::new().fallback(any(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Json(token_pair()) }
    })))
    .await;
    let to = format!("{elsewhere}/api/v1/auth/login");
    let sent_on = to.clone();
    let url = serve(Router::new().route(
        "/api/v1/auth/login",
        post(move || {
            let to = sent_on.clone();
            async move {
                (
                    StatusCode::PERMANENT_REDIRECT,
                    [(axum::http::header::LOCATION, to)],
                )
                    .into_response()
            }
        }),
    ))
    .await;

    let refused = world
        .core("dana")
        .login(&url, "dana@acme.test", &Secret::new("the password"))
        .await
        .err()
        .expect("refused");
    assert!(
        matches!(refused, CoreError::Redirected { .. }),
        "{refused:?}"
    );
    let said = refused.to_string();
    assert!(said.contains(&to), "names where it leads: {said}");
    assert!(said.contains("sign in with that address"), "{said}");
    assert_eq!(
        heard.load(Ordering::SeqCst),
        0,
        "the password went nowhere else"
    );
}

/// `https://` to a server that speaks plain HTTP on that port: a TLS problem, said as such with
/// rustls' reason, not "connection refused or no route" nor a refused certificate (there was
/// none).
#[tokio::test]
async fn tls_that_fails_is_named_as_tls_with_its_reason() {
    let world = World::start().await;
    let plain = serve(Router::new().fallback(any(|| async { Json(token_pair()) }))).await;
    let url = plain.replacen("http://", "https://", 1);
    let refused = world
        .core("dana")
        .login(&url, "dana@acme.test", &Secret::new("pw"))
        .await
        .err()
        .expect("refused");
    let said = refused.to_string();
    assert!(matches!(refused, CoreError::Offline { .. }), "{refused:?}");
    assert!(said.contains("TLS"), "{said}");
    assert!(said.contains("corrupt message"), "rustls' reason: {said}");
    assert!(!said.contains("connection refused"), "{said}");
    assert!(!said.contains("certificate was refused"), "{said}");
}
