//! The APNs sender against the fake APNs (`spartex_testkit::push_fakes`), which speaks HTTP/2
//! and verifies the provider token with the key it made.

use std::time::{Duration, Instant};

use jsonwebtoken::{DecodingKey, Validation};
use reqwest::Version;
use serde_json::{json, Value};
use spartex_api::{ApnsEnvironment, PushKind, RegisterDeviceRequest, Risk};
use spartex_testkit::push_fakes::{FakeAnswer, FakeApns, RecordedRequest};

use super::*;

const TOKEN: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn settings(fake: &FakeApns) -> ApnsSettings {
    ApnsSettings {
        key_file: fake.key_file(),
        key_id: fake.key_id().into(),
        team_id: fake.team_id().into(),
        topic: fake.topic().into(),
        endpoint: Some(fake.url()),
    }
}

fn sender(fake: &FakeApns, timeout: Duration) -> ApnsSender {
    ApnsSender::new(&settings(fake), timeout).expect("the fake's key is a good key")
}

fn iphone() -> RegisterDeviceRequest {
    RegisterDeviceRequest::Apns {
        push_token: TOKEN.into(),
        environment: ApnsEnvironment::Sandbox,
    }
}

fn payload(kind: &str, risk: &str) -> Value {
    json!({
        "v": 1, "type": kind, "tenant_id": "t1", "approval_id": "a1", "project_id": "p1",
        "project_name": "Spring", "title": "Deploy to production", "risk": risk,
        "expires_at": "2026-12-02T10:00:00Z", "seq": 7
    })
}

fn approval(risk: Risk, risk_name: &str) -> PushMessage {
    PushMessage {
        payload: payload("approval.requested", risk_name).to_string(),
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

/// The provider token's header and claims, read without checking them (the fake checked).
fn provider_token(request: &RecordedRequest) -> (jsonwebtoken::Header, Value) {
    let value = request
        .header("authorization")
        .expect("an authorization header");
    let jwt = value
        .strip_prefix("bearer ")
        .expect("`bearer <jwt>`, as Apple writes it");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.insecure_disable_signature_validation();
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<Value>(jwt, &DecodingKey::from_secret(&[]), &validation)
        .expect("a JWT")
        .claims;
    (
        jsonwebtoken::decode_header(jwt).expect("a JWT header"),
        claims,
    )
}

#[tokio::test]
async fn a_critical_approval_has_the_documented_request_form() {
    let fake = FakeApns::start().await;
    let message = approval(Risk::Critical, "critical");
    assert_eq!(
        sender(&fake, Duration::from_secs(5))
            .send(&iphone(), &message)
            .await,
        Sent::Accepted
    );

    let requests = fake.requests();
    let request = only(&requests);
    assert_eq!(request.version, Version::HTTP_2);
    assert_eq!(
        (request.method.as_str(), request.path.as_str()),
        ("POST", &*format!("/3/device/{TOKEN}"))
    );
    assert!(
        request.authorized,
        "the fake verified the ES256 provider token"
    );
    let (header, claims) = provider_token(request);
    assert_eq!(
        (header.alg, header.kid.as_deref()),
        (Algorithm::ES256, Some(fake.key_id()))
    );
    assert_eq!(claims["iss"], fake.team_id());
    assert!(claims["iat"]
        .as_u64()
        .is_some_and(|iat| iat.abs_diff(unix_now()) < 60));
    assert_eq!(request.header("apns-topic"), Some(fake.topic()));
    assert_eq!(request.header("apns-push-type"), Some("alert"));
    assert_eq!(request.header("apns-priority"), Some("10"));
    assert_eq!(request.header("apns-collapse-id"), Some("approval:a1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    let expiration: u64 = request
        .header("apns-expiration")
        .expect("an expiration")
        .parse()
        .expect("seconds");
    assert!(
        expiration.abs_diff(unix_now() + 600) < 60,
        "now + ttl, in unix seconds"
    );
    assert_eq!(
        request.body,
        json!({
            "aps": {
                "alert": { "title": "Approval needed: Spring", "body": "Deploy to production" },
                "sound": "default",
                "interruption-level": "time-sensitive",
                "thread-id": "project:p1",
            },
            "payload": payload("approval.requested", "critical").to_string(),
        }),
        "no category: a button pressed on a pushed notification reaches the app as a plain tap"
    );
}

#[tokio::test]
async fn a_medium_approval_is_normal_priority_and_its_resolution_replaces_it_silently() {
    let fake = FakeApns::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    let requested = approval(Risk::Medium, "medium");
    let resolved = PushMessage {
        payload: payload("approval.resolved", "medium").to_string(),
        kind: PushKind::ApprovalResolved,
        title: "Approved: Spring".into(),
        body: "Deploy to production, approved by Maya".into(),
        ..requested.clone()
    };
    assert_eq!(sender.send(&iphone(), &requested).await, Sent::Accepted);
    assert_eq!(sender.send(&iphone(), &resolved).await, Sent::Accepted);

    let requests = fake.requests();
    for request in &requests {
        assert_eq!(request.header("apns-priority"), Some("5"));
        assert_eq!(
            request.header("apns-collapse-id"),
            Some("approval:a1"),
            "the resolution replaces the request"
        );
    }
    assert_eq!(
        requests[0].body["aps"],
        json!({
            "alert": { "title": "Approval needed: Spring", "body": "Deploy to production" },
            "sound": "default",
            "interruption-level": "active",
            "thread-id": "project:p1",
        })
    );
    assert_eq!(
        requests[1].body["aps"],
        json!({
            "alert": { "title": "Approved: Spring", "body": "Deploy to production, approved by Maya" },
            "interruption-level": "active",
            "thread-id": "project:p1",
        }),
        "no buttons and no sound on a resolution"
    );
}

#[test]
fn a_collapse_key_longer_than_64_bytes_is_hashed_to_64() {
    assert_eq!(collapse_id("approval:a1"), "approval:a1");
    let long = format!("approval:{}", "x".repeat(80));
    let hashed = collapse_id(&long);
    assert_eq!(hashed.len(), 64);
    assert_eq!(
        hashed,
        collapse_id(&long),
        "the same key always hashes the same"
    );
    assert_ne!(hashed, collapse_id(&format!("{long}y")));
}

#[tokio::test]
async fn one_provider_token_serves_many_pushes_and_is_renewed_after_50_minutes() {
    let fake = FakeApns::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    for _ in 0..3 {
        assert_eq!(
            sender.send(&iphone(), &approval(Risk::Low, "low")).await,
            Sent::Accepted
        );
    }
    let requests = fake.requests();
    assert!(requests.iter().all(|r| r.authorized));
    assert!(requests
        .iter()
        .all(|r| r.header("authorization") == requests[0].header("authorization")));

    let start = Instant::now();
    let first = sender.provider_token(start).expect("signs");
    assert_eq!(
        first,
        requests[0].header("authorization").unwrap_or_default()["bearer ".len()..]
    );
    let at = |minutes: u64| start + Duration::from_secs(minutes * 60);
    assert_eq!(
        sender.provider_token(at(49)).expect("signs"),
        first,
        "kept under Apple's 20-minute floor"
    );
    assert_ne!(
        sender.provider_token(at(51)).expect("signs"),
        first,
        "renewed before Apple's hour"
    );
}

#[tokio::test]
async fn apples_answers_map_to_gone_retry_or_refused() {
    let fake = FakeApns::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    let retry = |seconds: Option<u64>| move |sent: &Sent| matches!(sent, Sent::Retry { after, .. } if *after == seconds.map(Duration::from_secs));
    let gone = |sent: &Sent| matches!(sent, Sent::Gone(_));
    let refused = |sent: &Sent| matches!(sent, Sent::Refused(_));
    let cases: Vec<(FakeAnswer, Expected)> = vec![
        (FakeAnswer::apns_reason(410, "Unregistered"), Box::new(gone)),
        (
            FakeAnswer::apns_reason(400, "BadDeviceToken"),
            Box::new(gone),
        ),
        (
            FakeAnswer::apns_reason(400, "DeviceTokenNotForTopic"),
            Box::new(refused),
        ),
        (
            FakeAnswer::apns_reason(429, "TooManyRequests").retry_after(30),
            Box::new(retry(Some(30))),
        ),
        (
            FakeAnswer::apns_reason(500, "InternalServerError"),
            Box::new(retry(None)),
        ),
        (
            FakeAnswer::apns_reason(503, "ServiceUnavailable").retry_after(5),
            Box::new(retry(Some(5))),
        ),
        (
            FakeAnswer::apns_reason(400, "BadCollapseId"),
            Box::new(refused),
        ),
        (
            FakeAnswer::apns_reason(403, "InvalidProviderToken"),
            Box::new(refused),
        ),
        (
            FakeAnswer::apns_reason(413, "PayloadTooLarge"),
            Box::new(refused),
        ),
    ];
    for (answer, expected) in cases {
        fake.answer_next([answer.clone()]);
        let sent = sender.send(&iphone(), &approval(Risk::Low, "low")).await;
        assert!(expected(&sent), "{answer:?} came to {sent:?}");
        assert!(
            !format!("{sent:?}").contains(TOKEN),
            "the device token stays out of {sent:?}"
        );
    }
}

#[tokio::test]
async fn an_expired_provider_token_is_replaced_before_the_retry() {
    let fake = FakeApns::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    fake.answer_next([FakeAnswer::apns_reason(403, "ExpiredProviderToken")]);
    let sent = sender.send(&iphone(), &approval(Risk::Low, "low")).await;
    assert!(matches!(sent, Sent::Retry { .. }), "{sent:?}");
    assert_eq!(
        sender.send(&iphone(), &approval(Risk::Low, "low")).await,
        Sent::Accepted
    );
    let requests = fake.requests();
    assert_ne!(
        requests[0].header("authorization"),
        requests[1].header("authorization")
    );
}

#[tokio::test]
async fn a_hung_service_is_a_retry_within_the_timeout_and_the_next_push_goes_through() {
    let fake = FakeApns::start().await;
    let sender = sender(&fake, Duration::from_millis(300));
    fake.answer_next([FakeAnswer::Hang]);
    let started = Instant::now();
    let sent = sender.send(&iphone(), &approval(Risk::High, "high")).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        matches!(&sent, Sent::Retry { error, after: None } if error.contains("no answer in time")),
        "{sent:?}"
    );
    assert_eq!(
        sender.send(&iphone(), &approval(Risk::High, "high")).await,
        Sent::Accepted
    );
}

#[tokio::test]
async fn an_unreachable_service_is_a_retry_that_does_not_name_the_device() {
    let fake = FakeApns::start().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("an address")
    };
    let unreachable = ApnsSettings {
        endpoint: Some(format!("http://{closed}")),
        ..settings(&fake)
    };
    let sender = ApnsSender::new(&unreachable, Duration::from_secs(2)).expect("a sender");
    let sent = sender.send(&iphone(), &approval(Risk::Low, "low")).await;
    assert!(
        matches!(&sent, Sent::Retry { error, .. } if error.starts_with("could not connect")),
        "{sent:?}"
    );
    assert!(!format!("{sent:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_device_that_is_not_an_apns_hex_token_is_not_sent_to() {
    let fake = FakeApns::start().await;
    let sender = sender(&fake, Duration::from_secs(5));
    let bad = RegisterDeviceRequest::Apns {
        push_token: "../../x".into(),
        environment: ApnsEnvironment::Production,
    };
    assert!(matches!(
        sender.send(&bad, &approval(Risk::Low, "low")).await,
        Sent::Gone(_)
    ));
    let android = RegisterDeviceRequest::Fcm {
        push_token: "t".into(),
    };
    assert!(matches!(
        sender.send(&android, &approval(Risk::Low, "low")).await,
        Sent::Refused(_)
    ));
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_key_file_that_is_missing_or_not_a_key_is_refused_naming_the_flag() {
    let fake = FakeApns::start().await;
    let folder = tempfile::tempdir().expect("a folder");
    let garbage = folder.path().join("AuthKey.p8");
    std::fs::write(
        &garbage,
        "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
    )
    .expect("written");
    for (key_file, says) in [
        (folder.path().join("missing.p8"), "cannot read it"),
        (garbage, "not an APNs auth key"),
    ] {
        let error = ApnsSender::new(
            &ApnsSettings {
                key_file,
                ..settings(&fake)
            },
            Duration::from_secs(1),
        )
        .err()
        .expect("refused")
        .to_string();
        assert!(
            error.starts_with("--apns-key-file ") && error.contains(says),
            "{error}"
        );
    }
    let no_team = ApnsSettings {
        team_id: " ".into(),
        ..settings(&fake)
    };
    let error = ApnsSender::new(&no_team, Duration::from_secs(1))
        .err()
        .expect("refused")
        .to_string();
    assert_eq!(error, "--apns-team-id is empty");
}

#[tokio::test]
async fn a_provider_token_apple_cannot_verify_is_refused() {
    let fake = FakeApns::start().await;
    let other_key_id = ApnsSettings {
        key_id: "OTHERKEY01".into(),
        ..settings(&fake)
    };
    let sender = ApnsSender::new(&other_key_id, Duration::from_secs(5)).expect("a sender");
    let sent = sender.send(&iphone(), &approval(Risk::Low, "low")).await;
    assert_eq!(
        sent,
        Sent::Refused("APNs 403 Forbidden: InvalidProviderToken".into())
    );
    assert!(!only(&fake.requests()).authorized);
}
