//! Answers a careful client survives without harm: a token lifetime out of any range, a
//! redirect (which would carry the password or a refresh token elsewhere), TLS spoken to a
//! server that does not speak it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use spartex_core::Secret;

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
