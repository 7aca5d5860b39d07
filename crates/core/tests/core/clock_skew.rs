//! A machine whose clock is off: expiries are judged on the server's clock, which its answers'
//! `Date` headers tell, so Approve is neither greyed out early on a laptop running fast nor
//! offered after the server settled the request on one running slow.

use axum::http::header::DATE;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, Utc};
use serde_json::json;

use crate::hostile::{signed_in_to, token_pair};
use crate::support::World;

/// A server whose clock is `ahead` of this machine's, holding one request that expires
/// `expires_in` from now on this machine's clock.
fn server(ahead: TimeDelta, expires_in: TimeDelta) -> Router {
    let expires_at = (Utc::now() + expires_in).to_rfc3339();
    let approval = json!({"id": "apr_1", "project_id": "prj_1", "agent_id": null, "task_id": null,
        "kind": "publish_ad", "title": "Publish", "summary": "s", "payload": {},
        "preview": {"type": "copy", "channel": "meta", "headline": null, "body": "b",
            "image_description": null, "audience": null},
        "risk": "high", "status": "pending", "created_at": "2026-11-28T10:00:00Z",
        "expires_at": expires_at, "on_expiry": "reject", "decided_by": null, "decided_at": null,
        "comment": null, "version": 1});
    let event = json!({"seq": 1, "type": "approval.upserted", "at": "2026-11-28T10:00:00Z",
        "project_id": "prj_1", "data": approval});
    Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route(
            "/api/v1/sync",
            get(move || async move {
                Json(json!({"events": [event], "head": 1, "resync_required": false}))
            }),
        )
        .layer(axum::middleware::map_response(
            move |mut answer: Response| async move {
                let date: DateTime<Utc> = Utc::now() + ahead;
                let text = date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
                answer
                    .headers_mut()
                    .insert(DATE, HeaderValue::from_str(&text).expect("a date"));
                answer
            },
        ))
}

async fn approve_blocker(ahead: TimeDelta, expires_in: TimeDelta) -> (Option<String>, i64) {
    let world = World::start().await;
    let account = signed_in_to(&world, server(ahead, expires_in)).await;
    account.catch_up().await.expect("syncs");
    let view = account.approval("apr_1").await.expect("cached");
    let status = account.status().await.expect("status");
    (view.approve_blocker, status.server_clock_ahead_ms)
}

#[tokio::test]
async fn a_laptop_running_fast_still_offers_approve_until_the_server_says_it_expired() {
    let (blocker, ahead_ms) =
        approve_blocker(TimeDelta::minutes(-10), TimeDelta::minutes(-5)).await;
    assert_eq!(blocker, None, "five minutes left on the server's clock");
    assert!((-600_500..=-598_500).contains(&ahead_ms), "{ahead_ms}");
}

#[tokio::test]
async fn a_laptop_running_slow_does_not_offer_approve_after_the_server_settled_it() {
    let (blocker, ahead_ms) = approve_blocker(TimeDelta::minutes(10), TimeDelta::minutes(5)).await;
    let blocker = blocker.expect("expired on the server's clock");
    assert!(blocker.contains("expired"), "{blocker}");
    assert!((598_500..=601_500).contains(&ahead_ms), "{ahead_ms}");
}

#[tokio::test]
async fn clocks_that_agree_change_nothing() {
    let (blocker, ahead_ms) = approve_blocker(TimeDelta::zero(), TimeDelta::minutes(5)).await;
    assert_eq!((blocker, ahead_ms), (None, 0));
}
