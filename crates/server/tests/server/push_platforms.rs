//! Push through APNs and FCM, end to end from an agent's request: the real services cannot be
//! reached from here, so the server sends to fakes of their documented HTTP APIs
//! (`spartex_testkit::push_fakes`), which check the signed credentials and record each request.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use spartex_server::config::{ApnsSettings, FcmSettings};
use spartex_testkit::push_fakes::{FakeAnswer, FakeApns, FakeFcm};

use crate::support::{ask, TestServer, PATIENCE};

async fn server_with(apns: &FakeApns, fcm: &FakeFcm) -> TestServer {
    let apns_settings = ApnsSettings {
        key_file: apns.key_file(),
        key_id: apns.key_id().into(),
        team_id: apns.team_id().into(),
        topic: apns.topic().into(),
        endpoint: Some(apns.url()),
    };
    let fcm_settings = FcmSettings {
        service_account_file: fcm.service_account_file(),
        endpoint: Some(fcm.url()),
    };
    TestServer::builder()
        .settings(move |s| {
            s.push.apns = Some(apns_settings);
            s.push.fcm = Some(fcm_settings);
            s.push.send_timeout = Duration::from_secs(2);
        })
        .start()
        .await
}

async fn wait_for<T>(what: &str, probe: impl Fn() -> Vec<T>, count: usize) -> Vec<T> {
    spartex_testkit::eventually(what, PATIENCE, async || {
        let seen = probe();
        (seen.len() >= count).then_some(seen)
    })
    .await
}

#[tokio::test]
async fn an_approval_reaches_an_iphone_and_an_android_phone_in_their_services_documented_form() {
    let apns = FakeApns::start().await;
    let fcm = FakeFcm::start().await;
    let server = server_with(&apns, &fcm).await;
    let oncall = server.login("oncall@acme.test").await;
    let iphone_token = "a1b2c3d4".repeat(8);
    let (status, answer) = oncall
        .post(
            "/api/v1/devices",
            json!({"platform": "apns", "push_token": iphone_token, "environment": "sandbox"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = oncall
        .post(
            "/api/v1/devices",
            json!({"platform": "fcm", "push_token": "fcm-registration-token-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");

    let approval = ask(&server.agent("Quill"), "critical", 600).await;
    let sent = wait_for("APNs got the request", || apns.requests(), 1).await;
    let request = &sent[0];
    assert!(request.authorized, "the provider token verifies");
    assert_eq!(request.version, reqwest::Version::HTTP_2);
    assert_eq!(request.path, format!("/3/device/{iphone_token}"));
    assert_eq!(request.header("apns-push-type"), Some("alert"));
    assert_eq!(request.header("apns-priority"), Some("10"));
    assert_eq!(request.header("apns-topic"), Some(apns.topic()));
    let collapse = format!("approval:{}", approval["id"].as_str().expect("id"));
    assert_eq!(request.header("apns-collapse-id"), Some(collapse.as_str()));
    assert_eq!(request.body["aps"]["interruption-level"], "time-sensitive");
    assert_eq!(
        request.body["aps"].get("category"),
        None,
        "no buttons: the plugin reports a press on a pushed notification as a plain tap"
    );
    let payload: serde_json::Value = serde_json::from_str(
        request.body["payload"]
            .as_str()
            .expect("the payload as JSON text, as a tap hands string fields only"),
    )
    .expect("JSON");
    assert_eq!(payload["approval_id"], approval["id"]);

    let sent = wait_for("FCM got the request", || fcm.requests(), 1).await;
    let message = &sent[0].body["message"];
    assert!(sent[0].authorized, "the OAuth access token verifies");
    assert_eq!(
        sent[0].path,
        format!("/v1/projects/{}/messages:send", fcm.project_id())
    );
    assert_eq!(message["token"], "fcm-registration-token-1");
    assert_eq!(message["android"]["priority"], "HIGH");
    assert_eq!(message["android"]["collapse_key"], collapse.as_str());
    assert_eq!(message["android"]["notification"]["tag"], collapse.as_str());
    assert_eq!(
        message["android"]["notification"]["channel_id"],
        "approvals-urgent"
    );
    assert_eq!(message["data"]["approval_id"], approval["id"]);

    // The fake records a request before it answers; the server notes the answer just after.
    spartex_testkit::eventually("both devices note their last push", PATIENCE, async || {
        let devices = oncall.get_ok("/api/v1/devices").await;
        let noted = devices
            .as_array()
            .is_some_and(|all| all.len() == 2 && all.iter().all(|d| d["last_push_at"].is_string()));
        noted.then_some(())
    })
    .await;
}

#[tokio::test]
async fn apns_and_fcm_saying_the_token_is_dead_remove_the_device() {
    let apns = FakeApns::start().await;
    let fcm = FakeFcm::start().await;
    apns.answer_next([FakeAnswer::apns_reason(410, "Unregistered")]);
    fcm.answer_next([FakeAnswer::fcm_error(
        404,
        "NOT_FOUND",
        "UNREGISTERED",
        "Requested entity was not found.",
    )]);
    let server = server_with(&apns, &fcm).await;
    let oncall = server.login("oncall@acme.test").await;
    for body in [
        json!({"platform": "apns", "push_token": "0f".repeat(32)}),
        json!({"platform": "fcm", "push_token": "stale-token"}),
    ] {
        assert_eq!(
            oncall.post("/api/v1/devices", body).await.0,
            StatusCode::CREATED
        );
    }
    ask(&server.agent("Quill"), "high", 600).await;
    spartex_testkit::eventually("both dead devices are removed", PATIENCE, async || {
        (oncall.get_ok("/api/v1/devices").await == json!([])).then_some(())
    })
    .await;
}
