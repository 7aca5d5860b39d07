//! A phone takes pushes only while the sign-in that registered it lasts, and an install is one
//! device per organisation, so nobody elsewhere can take it from its person.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{ask, push_service, Api, TestServer, PATIENCE};

/// Long enough for a push that should not come to have come.
const QUIET_SPELL: Duration = Duration::from_millis(1500);

async fn push_server(max_sessions_per_user: i64) -> TestServer {
    TestServer::builder()
        .settings(move |s| {
            s.push.insecure_endpoints = true;
            s.push.send_timeout = Duration::from_secs(2);
            s.max_sessions_per_user = max_sessions_per_user;
        })
        .start()
        .await
}

/// Registers `subscription` from `phone`'s sign-in.
async fn register(phone: &Api, subscription: &Value) -> Value {
    let (status, device) = phone.post("/api/v1/devices", subscription.clone()).await;
    assert!(status.is_success(), "{status}: {device}");
    device
}

async fn devices_of(server: &TestServer, email: &str) -> Vec<Value> {
    let devices = server.login(email).await.get_ok("/api/v1/devices").await;
    devices.as_array().expect("a list").clone()
}

#[tokio::test]
async fn a_phone_signed_out_while_offline_takes_no_more_pushes() {
    let server = push_server(50).await;
    let service = push_service(&server).await;
    let phone = server.login("oncall@acme.test").await;
    let subscription = service.subscribe();
    register(&phone, &subscription).await;
    ask(&server.agent("Quill"), "high", 600).await;
    assert_eq!(service.wait_for(&subscription, 1, PATIENCE).await.len(), 1);

    // Signed out while offline: the sign-out reaches the server, the phone's own
    // DELETE /devices never does.
    let (status, _) = phone.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        devices_of(&server, "oncall@acme.test").await,
        Vec::<Value>::new(),
        "the device went with its sign-in"
    );
    ask(&server.agent("Quill"), "critical", 600).await;
    tokio::time::sleep(QUIET_SPELL).await;
    assert_eq!(
        service.received(&subscription).len(),
        1,
        "nothing more reaches the lock screen"
    );
}

#[tokio::test]
async fn a_device_ends_with_a_revoked_or_evicted_sign_in_and_no_other() {
    let server = push_server(2).await;
    let service = push_service(&server).await;

    // A refresh token used twice revokes its sign-in, and the phone registered under it.
    let pair = server.login_pair("oncall@acme.test").await;
    let stolen = server.api(pair["access_token"].as_str().expect("a token"));
    let stolen_phone = service.subscribe();
    register(&stolen, &stolen_phone).await;
    let laptop = server.login("oncall@acme.test").await;
    let laptop_push = service.subscribe();
    register(&laptop, &laptop_push).await;
    let refresh = json!({"refresh_token": pair["refresh_token"]});
    let anon = server.anonymous();
    assert_eq!(
        anon.post("/api/v1/auth/refresh", refresh.clone()).await.0,
        StatusCode::OK
    );
    server.advance(chrono::Duration::seconds(30));
    let (_, reused) = anon.post("/api/v1/auth/refresh", refresh).await;
    assert_eq!(reused["error"]["code"], "refresh_token_reused");
    let left = devices_of(&server, "oncall@acme.test").await;
    assert_eq!(
        left.len(),
        1,
        "the other sign-in keeps its device: {left:?}"
    );

    // Past the two sign-ins a person keeps here, the least recently used ends with its device:
    // the laptop's, once `devices_of`'s and one more are newer.
    server.login("oncall@acme.test").await;
    assert_eq!(laptop.get("/api/v1/me").await.0, StatusCode::UNAUTHORIZED);
    ask(&server.agent("Quill"), "critical", 600).await;
    tokio::time::sleep(QUIET_SPELL).await;
    assert!(service.received(&stolen_phone).is_empty());
    assert!(service.received(&laptop_push).is_empty());
    assert_eq!(
        devices_of(&server, "oncall@acme.test").await,
        Vec::<Value>::new()
    );
}

#[tokio::test]
async fn another_organisation_registering_the_same_token_takes_nothing() {
    let server = push_server(50).await;
    let service = push_service(&server).await;
    let subscription = service.subscribe();
    let alice = server.login("oncall@acme.test").await;
    let device = register(&alice, &subscription).await;

    // Someone in another organisation who learned the token registers it as theirs.
    let mallory = server.login("oncall@northwind.test").await;
    let (status, theirs) = mallory.post("/api/v1/devices", subscription.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{theirs}");
    assert_ne!(theirs["id"], device["id"]);
    let (status, _) = mallory
        .delete(&format!(
            "/api/v1/devices/{}",
            device["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "nor can they remove hers");

    let mine = alice.get_ok("/api/v1/devices").await;
    assert_eq!(mine[0]["id"], device["id"], "still hers: {mine}");
    let approval = ask(&server.agent("Quill"), "high", 600).await;
    let received = service.wait_for(&subscription, 1, PATIENCE).await;
    assert_eq!(
        received[0].payload["approval_id"], approval["id"],
        "and she is still paged"
    );
}

#[tokio::test]
async fn a_person_moved_to_another_organisation_is_paged_by_it_no_more() {
    let server = push_server(50).await;
    let service = push_service(&server).await;
    let subscription = service.subscribe();
    register(&server.login("oncall@acme.test").await, &subscription).await;
    let northwind = server.tenant_of("owner@northwind.test").await;
    let statement =
        format!("UPDATE users SET tenant_id = '{northwind}' WHERE email = 'oncall@acme.test'");
    server.execute_sql(&statement).await;

    ask(&server.agent("Quill"), "critical", 600).await;
    tokio::time::sleep(QUIET_SPELL).await;
    assert!(
        service.received(&subscription).is_empty(),
        "Acme's requests stay off the phone"
    );
}
