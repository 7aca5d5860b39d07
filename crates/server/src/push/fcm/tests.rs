//! The FCM sender against the fake FCM (`spartex_testkit::push_fakes`), whose token endpoint
//! verifies the RS256 assertion and whose send endpoint takes only the tokens it granted.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spartex_api::{PushKind, RegisterDeviceRequest, Risk};
use spartex_testkit::push_fakes::{FakeAnswer, FakeFcm, RecordedRequest};

use super::*;

const TOKEN: &str = "fcm-registration-token:APA91bExample";

fn settings(fake: &FakeFcm) -> FcmSettings {
    FcmSettings {
        service_account_file: fake.service_account_file(),
        endpoint: Some(fake.url()),
    }
}

fn sender(fake: &FakeFcm, timeout: Duration) -> FcmSender {
    FcmSender::new(&settings(fake), timeout).expect("the fake's service account is good")
}

fn android() -> RegisterDeviceRequest {
    RegisterDeviceRequest::Fcm {
        push_token: TOKEN.into(),
    }
}

fn payload(risk: &str) -> Value {
    json!({
        "v": 1, "type": "approval.requested", "tenant_id": "t1", "approval_id": "a1",
        "project_id": "p1", "project_name": "Spring", "title": "Deploy to production",
        "risk": risk, "expires_at": "2026-12-02T10:00:00Z", "seq": 7
    })
}

fn approval(risk: Risk, risk_name: &str) -> PushMessage {
    PushMessage {
        payload: payload(risk_name).to_string(),
        kind: PushKind::ApprovalRequested,
        collapse_key: "approval:a1".into(),
        urgent: matches!(risk, Risk::High | Risk::Critical),
        ttl: Duration::from_secs(600),
        title: "Approval needed: Spring".into(),
        body: "Deploy to production".into(),
        risk: Some(risk),
    }
}

/// What a test expects an answer to come to.
type Expected = Box<dyn Fn(&Sent) -> bool>;

fn only(requests: &[RecordedRequest]) -> &RecordedRequest {
    assert_eq!(requests.len(), 1, "one request: {requests:#?}");
    &requests[0]
}

#[tokio::test]
async fn a_critical_approval_has_the_documented_request_form() {
    let fake = FakeFcm::start().await;
    let message = approval(Risk::Critical, "critical");
    assert_eq!(
        sender(&fake, Duration::from_secs(5))
            .send(&android(), &message)
            .await,
        Sent::Accepted
    );

    assert_eq!(
        fake.token_exchanges(),
        1,
        "refused: {:?}",
        fake.refused_assertions()
    );
    let requests = fake.requests();
    let request = only(&requests);
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/v1/projects/{}/messages:send", fake.project_id())
    );
    assert!(request.authorized);
    assert_eq!(
        request.header("authorization"),
        Some("Bearer fake-fcm-access-1")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.body,
        json!({ "message": {
            "token": TOKEN,
            "data": {
                "v": "1", "type": "approval.requested", "tenant_id": "t1", "approval_id": "a1",
                "project_id": "p1", "project_name": "Spring", "title": "Deploy to production",
                "risk": "critical", "expires_at": "2026-12-02T10:00:00Z", "seq": "7",
                "payload": message.payload,
            },
            "notification": { "title": "Approval needed: Spring", "body": "Deploy to production" },
            "android": {
                "priority": "HIGH",
                "ttl": "600s",
                "collapse_key": "approval:a1",
                "notification": { "channel_id": "approvals-urgent", "tag": "approval:a1" },
            },
        }})
    );
    let carried: Value = serde_json::from_str(
        request.body["message"]["data"]["payload"]
            .as_str()
            .unwrap_or(""),
    )
    .expect("the payload travels as JSON text");
    assert_eq!(carried, payload("critical"));
}

#[tokio::test]
async fn a_low_approval_and_its_resolution_share_the_tag_on_the_default_channel() {
    let fake = FakeFcm::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    let requested = approval(Risk::Low, "low");
    let resolved = PushMessage {
        kind: PushKind::ApprovalResolved,
        title: "Approved: Spring".into(),
        ..requested.clone()
    };
    assert_eq!(sender.send(&android(), &requested).await, Sent::Accepted);
    assert_eq!(sender.send(&android(), &resolved).await, Sent::Accepted);
    for request in fake.requests() {
        let android = &request.body["message"]["android"];
        assert_eq!(android["priority"], "NORMAL");
        assert_eq!(android["collapse_key"], "approval:a1");
        assert_eq!(
            android["notification"],
            json!({ "channel_id": "default", "tag": "approval:a1" })
        );
    }
}

#[tokio::test]
async fn one_token_exchange_serves_many_sends() {
    let fake = FakeFcm::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    for _ in 0..5 {
        assert_eq!(
            sender.send(&android(), &approval(Risk::Low, "low")).await,
            Sent::Accepted
        );
    }
    assert_eq!(fake.token_exchanges(), 1);
    assert!(fake
        .requests()
        .iter()
        .all(|r| r.header("authorization") == Some("Bearer fake-fcm-access-1")));
}

#[tokio::test]
async fn a_token_at_the_end_of_its_life_is_exchanged_again() {
    let fake = FakeFcm::start().await;
    fake.set_access_token_lifetime(0);
    let sender = sender(&fake, Duration::from_secs(5));
    for _ in 0..2 {
        assert_eq!(
            sender.send(&android(), &approval(Risk::Low, "low")).await,
            Sent::Accepted
        );
    }
    assert_eq!(fake.token_exchanges(), 2);
}

#[tokio::test]
async fn a_refused_access_token_is_dropped_and_the_retry_gets_a_new_one() {
    let fake = FakeFcm::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    assert_eq!(
        sender.send(&android(), &approval(Risk::Low, "low")).await,
        Sent::Accepted
    );
    fake.revoke_access_tokens();
    let sent = sender.send(&android(), &approval(Risk::Low, "low")).await;
    assert!(
        matches!(&sent, Sent::Retry { error, after: None } if error.contains("401")),
        "{sent:?}"
    );
    assert_eq!(
        sender.send(&android(), &approval(Risk::Low, "low")).await,
        Sent::Accepted
    );
    assert_eq!(fake.token_exchanges(), 2);
    assert_eq!(
        fake.requests()[2].header("authorization"),
        Some("Bearer fake-fcm-access-2")
    );
}

#[tokio::test]
async fn fcms_answers_map_to_gone_retry_or_refused() {
    let fake = FakeFcm::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    let retry = |seconds: Option<u64>| move |sent: &Sent| matches!(sent, Sent::Retry { after, .. } if *after == seconds.map(Duration::from_secs));
    let gone = |sent: &Sent| matches!(sent, Sent::Gone(_));
    let refused = |sent: &Sent| matches!(sent, Sent::Refused(_));
    let error = FakeAnswer::fcm_error;
    let cases: Vec<(FakeAnswer, Expected)> = vec![
        (
            error(
                404,
                "NOT_FOUND",
                "UNREGISTERED",
                "Requested entity was not found.",
            ),
            Box::new(gone),
        ),
        (
            error(
                400,
                "INVALID_ARGUMENT",
                "INVALID_ARGUMENT",
                "The registration token is not a valid FCM registration token",
            ),
            Box::new(gone),
        ),
        (
            error(
                400,
                "INVALID_ARGUMENT",
                "INVALID_ARGUMENT",
                "Invalid value at 'message.android.ttl'",
            ),
            Box::new(refused),
        ),
        // A wrong sender is likelier our configuration than the phone's: keep the device.
        (
            error(
                403,
                "PERMISSION_DENIED",
                "SENDER_ID_MISMATCH",
                "SenderId mismatch",
            ),
            Box::new(refused),
        ),
        (
            error(
                429,
                "RESOURCE_EXHAUSTED",
                "QUOTA_EXCEEDED",
                "Quota exceeded",
            )
            .retry_after(60),
            Box::new(retry(Some(60))),
        ),
        (
            error(500, "INTERNAL", "INTERNAL", "Internal error"),
            Box::new(retry(None)),
        ),
        (
            error(503, "UNAVAILABLE", "UNAVAILABLE", "Unavailable").retry_after(10),
            Box::new(retry(Some(10))),
        ),
    ];
    for (answer, expected) in cases {
        fake.answer_next([answer.clone()]);
        let sent = sender.send(&android(), &approval(Risk::Low, "low")).await;
        assert!(expected(&sent), "{answer:?} came to {sent:?}");
    }
}

#[tokio::test]
async fn a_hung_service_is_a_retry_within_the_timeout() {
    let fake = FakeFcm::start().await;
    let sender = sender(&fake, Duration::from_millis(300));
    fake.answer_next([FakeAnswer::Hang]);
    let started = Instant::now();
    let sent = sender.send(&android(), &approval(Risk::High, "high")).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&sent, Sent::Retry { error, after: None } if error.contains("no answer in time")),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_service_account_google_refuses_is_refused_not_retried() {
    let fake = FakeFcm::start().await;
    let text = std::fs::read_to_string(fake.service_account_file()).expect("the account");
    let mut account: Value = serde_json::from_str(&text).expect("JSON");
    account["client_email"] = "someone-else@example.iam.gserviceaccount.com".into();
    let folder = tempfile::tempdir().expect("a folder");
    let file = folder.path().join("other.json");
    std::fs::write(&file, account.to_string()).expect("written");
    let other = FcmSettings {
        service_account_file: file,
        ..settings(&fake)
    };
    let sent = FcmSender::new(&other, Duration::from_secs(5))
        .expect("a sender")
        .send(&android(), &approval(Risk::Low, "low"))
        .await;
    assert!(
        matches!(&sent, Sent::Refused(error) if error.contains("invalid_grant")),
        "{sent:?}"
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_service_account_file_that_is_missing_or_wrong_is_refused_naming_the_flag() {
    let folder = tempfile::tempdir().expect("a folder");
    let write = |name: &str, text: &str| {
        let path = folder.path().join(name);
        std::fs::write(&path, text).expect("written");
        path
    };
    let account = |key: &str| {
        json!({
            "project_id": "p", "client_email": "a@b", "token_uri": "https://oauth2.example/token",
            "private_key": key,
        })
        .to_string()
    };
    for (file, says) in [
        (folder.path().join("missing.json"), "cannot read it"),
        (write("not.json", "{"), "not a Google service account key"),
        (
            write("no-key.json", &account("not a key")),
            "not an RSA private key",
        ),
    ] {
        let settings = FcmSettings {
            service_account_file: file,
            endpoint: None,
        };
        let error = FcmSender::new(&settings, Duration::from_secs(1))
            .err()
            .expect("refused")
            .to_string();
        assert!(
            error.starts_with("--fcm-service-account ") && error.contains(says),
            "{error}"
        );
    }
}
