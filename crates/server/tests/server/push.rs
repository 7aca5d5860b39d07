//! Push to phones end to end: the server sends Web Push to a push service on loopback that
//! verifies VAPID and decrypts each message with the subscriber's keys, as a phone's does.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_testkit::webpush_service::Behaviour;

use crate::support::{ask, dispatched, phone_of, push_service, TestServer, PATIENCE};

/// Long enough for a push that should not come to have come.
const QUIET_SPELL: Duration = Duration::from_millis(1500);

async fn push_server() -> TestServer {
    TestServer::builder()
        .settings(|s| {
            s.push.insecure_endpoints = true;
            s.push.send_timeout = Duration::from_secs(2);
        })
        .start()
        .await
}

#[tokio::test]
async fn an_approval_reaches_the_oncall_phone_and_its_resolution_takes_it_down() {
    let server = push_server().await;
    let service = push_service(&server).await;
    let (oncall_phone, _) = phone_of(&server, &service, "oncall@acme.test").await;
    let (viewer_phone, _) = phone_of(&server, &service, "viewer@acme.test").await;
    let (northwind_phone, _) = phone_of(&server, &service, "oncall@northwind.test").await;

    let approval = ask(&server.agent("Quill"), "high", 600).await;
    let received = service.wait_for(&oncall_phone, 1, PATIENCE).await;
    assert_eq!(received.len(), 1, "the on-call phone got the request");
    let request = &received[0];
    let payload = &request.payload;
    assert_eq!(payload["v"], 1);
    assert_eq!(payload["type"], "approval.requested");
    assert_eq!(payload["approval_id"], approval["id"]);
    assert_eq!(payload["project_id"], approval["project_id"]);
    assert_eq!(payload["project_name"], "Spring Sale 2027 — Paid Social");
    assert_eq!(payload["title"], approval["title"]);
    assert_eq!(payload["risk"], "high");
    assert_eq!(payload["expires_at"], approval["expires_at"]);
    assert!(payload["seq"].as_i64().is_some_and(|seq| seq > 0));
    assert_eq!(
        payload["tenant_id"],
        server.tenant_of("oncall@acme.test").await
    );
    for secret in ["payload", "preview", "comment", "summary", "token"] {
        assert!(
            payload.get(secret).is_none(),
            "{secret} must not leave the server: {payload}"
        );
    }
    assert_eq!(request.header("urgency"), Some("high"));
    let topic = request.header("topic").expect("a Topic").to_owned();
    assert!(topic.len() <= 32, "RFC 8030 topic: {topic}");
    let ttl: u64 = request
        .header("ttl")
        .and_then(|t| t.parse().ok())
        .expect("a TTL");
    assert!(
        (590..=600).contains(&ttl),
        "TTL is the approval's remaining time: {ttl}"
    );

    let (status, decided) = server
        .login("manager@acme.test")
        .await
        .post(
            &format!(
                "/api/v1/approvals/{}/decision",
                approval["id"].as_str().expect("id")
            ),
            json!({"decision": "approve", "seen_version": approval["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let received = service.wait_for(&oncall_phone, 2, PATIENCE).await;
    assert_eq!(received.len(), 2, "the resolution followed");
    let resolved = &received[1];
    assert_eq!(resolved.payload["type"], "approval.resolved");
    assert_eq!(resolved.payload["status"], "approved");
    assert_eq!(
        resolved.header("topic"),
        Some(topic.as_str()),
        "same collapse key"
    );
    let tenant = server.tenant_of("oncall@acme.test").await;
    let approval_id = approval["id"].as_str().expect("id");
    let remembered = (server.state().store.push())
        .states(&tenant, &[approval_id])
        .await
        .expect("read");
    assert!(
        remembered.is_empty(),
        "the dispatcher forgets a settled request: {remembered:?}"
    );

    tokio::time::sleep(QUIET_SPELL).await;
    assert!(
        service.received(&viewer_phone).is_empty(),
        "a viewer is not asked to act"
    );
    assert!(
        service.received(&northwind_phone).is_empty(),
        "another tenant hears nothing"
    );
    assert!(service.refusals().is_empty(), "{:?}", service.refusals());

    let devices = server
        .login("oncall@acme.test")
        .await
        .get_ok("/api/v1/devices")
        .await;
    let device = &devices.as_array().expect("a list")[0];
    assert!(device["last_push_at"].is_string(), "{device}");
    assert!(device["last_error"].is_null(), "{device}");
}

#[tokio::test]
async fn the_same_subscription_is_one_device_and_follows_whoever_signs_in_on_it() {
    let server = push_server().await;
    let service = push_service(&server).await;
    let (subscription, device) = phone_of(&server, &service, "oncall@acme.test").await;
    let (status, again) = server
        .login("oncall@acme.test")
        .await
        .post("/api/v1/devices", subscription.clone())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        again["id"], device["id"],
        "registering again answers the same device"
    );

    // Someone else signs in on the same phone without the first signing out.
    let (status, taken) = server
        .login("manager@acme.test")
        .await
        .post("/api/v1/devices", subscription.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let first = server
        .login("oncall@acme.test")
        .await
        .get_ok("/api/v1/devices")
        .await;
    assert_eq!(
        first,
        json!([]),
        "the phone no longer takes the first user's pushes"
    );
    let (status, _) = server
        .login("manager@acme.test")
        .await
        .delete(&format!(
            "/api/v1/devices/{}",
            taken["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "sign-out unregisters");
}

#[tokio::test]
async fn an_uninstalled_app_loses_its_device_when_the_push_service_says_gone() {
    let server = push_server().await;
    let service = push_service(&server).await;
    let (phone, _) = phone_of(&server, &service, "oncall@acme.test").await;
    service.set_behaviour(&phone, Behaviour::Gone);
    let oncall = server.login("oncall@acme.test").await;
    assert_eq!(
        oncall
            .get_ok("/api/v1/devices")
            .await
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    ask(&server.agent("Quill"), "high", 600).await;
    spartex_testkit::eventually("the gone device is removed", PATIENCE, async || {
        (oncall.get_ok("/api/v1/devices").await == json!([])).then_some(())
    })
    .await;
}

#[tokio::test]
async fn quiet_hours_hold_back_all_but_critical_approvals() {
    let server = push_server().await;
    let service = push_service(&server).await;
    let (phone, _) = phone_of(&server, &service, "oncall@acme.test").await;
    let now = server.state().now().with_timezone(&chrono_tz::Asia::Tokyo);
    let start = (now - chrono::Duration::hours(1))
        .time()
        .format("%H:%M:00")
        .to_string();
    let end = (now + chrono::Duration::hours(1))
        .time()
        .format("%H:%M:00")
        .to_string();
    let (status, saved) = server
        .login("oncall@acme.test")
        .await
        .put(
            "/api/v1/me/notification-settings",
            json!({"enabled": true, "muted_projects": [], "time_zone": "Asia/Tokyo",
                   "quiet_hours": {"start": start, "end": end}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");

    ask(&server.agent("Quill"), "medium", 600).await;
    let critical = ask(&server.agent("Quill"), "critical", 600).await;
    let received = service.wait_for(&phone, 1, PATIENCE).await;
    tokio::time::sleep(QUIET_SPELL).await;
    let received_now = service.received(&phone);
    assert_eq!(
        received_now.len(),
        1,
        "only the critical one passed: {received:?}"
    );
    assert_eq!(received_now[0].payload["approval_id"], critical["id"]);
}

#[tokio::test]
async fn a_tenant_that_asks_for_minimal_pushes_shows_nothing_readable_on_a_lock_screen() {
    let server = push_server().await;
    let service = push_service(&server).await;
    let (phone, _) = phone_of(&server, &service, "oncall@acme.test").await;

    let manager = server.login("manager@acme.test").await;
    let (status, refused) = manager
        .put("/api/v1/tenant/settings", json!({"push_detail": "minimal"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only an owner: {refused}");
    let owner = server.login("owner@acme.test").await;
    let (status, saved) = owner
        .put("/api/v1/tenant/settings", json!({"push_detail": "minimal"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        manager.get_ok("/api/v1/tenant/settings").await["push_detail"],
        "minimal"
    );
    let (status, bad) = owner
        .put(
            "/api/v1/tenant/settings",
            json!({"push_detail": "everything"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    let approval = ask(&server.agent("Quill"), "critical", 600).await;
    let received = service.wait_for(&phone, 1, PATIENCE).await;
    let payload = &received[0].payload;
    assert_eq!(payload["title"], "Approval needed (critical)");
    assert_eq!(
        payload["approval_id"], approval["id"],
        "the app can open it"
    );
    assert!(
        payload.get("project_name").is_none_or(Value::is_null),
        "{payload}"
    );
    let shown = payload.to_string();
    assert!(
        !shown.contains(approval["title"].as_str().expect("a title")),
        "{shown}"
    );
    assert!(!shown.contains("Spring Sale"), "{shown}");
}

#[tokio::test]
async fn a_hung_push_service_holds_up_no_other_tenant() {
    let server = push_server().await;
    let service = push_service(&server).await;
    let (hung_phone, _) = phone_of(&server, &service, "oncall@acme.test").await;
    service.set_behaviour(&hung_phone, Behaviour::Hang);
    let (northwind_phone, _) = phone_of(&server, &service, "oncall@northwind.test").await;

    ask(&server.agent("Quill"), "high", 600).await;
    ask(&server.agent("Fern"), "high", 600).await;
    let received = service.wait_for(&northwind_phone, 1, PATIENCE).await;
    assert_eq!(received.len(), 1, "the other tenant's push went through");
    let acme = server.login("oncall@acme.test").await;
    let error = spartex_testkit::eventually("the hung attempt times out", PATIENCE, async || {
        let devices = acme.get_ok("/api/v1/devices").await;
        devices[0]["last_error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(error.contains("did not answer"), "{error}");
}

#[tokio::test]
async fn a_push_service_answering_without_end_is_read_no_further_than_its_error() {
    let server = push_server().await;
    let service = push_service(&server).await;
    let (phone, _) = phone_of(&server, &service, "oncall@acme.test").await;
    service.set_behaviour(&phone, Behaviour::EndlessRefusal);

    ask(&server.agent("Quill"), "high", 600).await;
    let oncall = server.login("oncall@acme.test").await;
    let error = spartex_testkit::eventually("the refusal is noted", PATIENCE, async || {
        let devices = oncall.get_ok("/api/v1/devices").await;
        devices[0]["last_error"].as_str().map(str::to_owned)
    })
    .await;
    assert!(
        error.contains("400"),
        "the answer's status is kept: {error}"
    );
    // Reading on would have taken all the 2 s send timeout allows: gigabytes on loopback.
    let taken = service.bytes_answered();
    assert!(
        taken < 64 * 1024 * 1024,
        "{taken} bytes of an endless answer were taken"
    );
}

#[tokio::test]
async fn a_restart_neither_loses_nor_repeats_a_push() {
    let mut server = push_server().await;
    let service = push_service(&server).await;
    let (phone, _) = phone_of(&server, &service, "oncall@acme.test").await;
    let first = ask(&server.agent("Quill"), "high", 600).await;
    assert_eq!(service.wait_for(&phone, 1, PATIENCE).await.len(), 1);

    // The push service is down when the second request comes, and the server restarts.
    service.set_behaviour(&phone, Behaviour::Unavailable);
    let second = ask(&server.agent("Quill"), "high", 600).await;
    let oncall = server.login("oncall@acme.test").await;
    spartex_testkit::eventually("the failed attempt is recorded", PATIENCE, async || {
        oncall.get_ok("/api/v1/devices").await[0]["last_error"]
            .is_string()
            .then_some(())
    })
    .await;
    server.shutdown().await;
    service.set_behaviour(&phone, Behaviour::Accept);
    server.restart().await;
    // The retry waits out its backoff; move the clock past it.
    server.advance(chrono::Duration::seconds(5));

    let received = service.wait_for(&phone, 2, PATIENCE).await;
    tokio::time::sleep(QUIET_SPELL).await;
    let ids: Vec<Value> = service
        .received(&phone)
        .iter()
        .map(|r| r.payload["approval_id"].clone())
        .collect();
    assert_eq!(
        ids,
        vec![first["id"].clone(), second["id"].clone()],
        "{received:?}"
    );
}

#[tokio::test]
async fn registrations_that_would_misdirect_pushes_are_refused_with_what_to_fix() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let good_key =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    for (body, code) in [
        (
            json!({"platform": "webpush", "endpoint": "http://push.example.com/x", "p256dh": good_key, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "push_endpoint_refused",
        ),
        (
            json!({"platform": "webpush", "endpoint": "https://127.0.0.1/x", "p256dh": good_key, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "push_endpoint_refused",
        ),
        (
            json!({"platform": "webpush", "endpoint": "https://169.254.169.254/latest/meta-data", "p256dh": good_key, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "push_endpoint_refused",
        ),
        (
            json!({"platform": "webpush", "endpoint": "https://93.184.215.14/x", "p256dh": "bm90IGEga2V5", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}),
            "validation_failed",
        ),
        (
            json!({"platform": "webpush", "endpoint": "https://93.184.215.14/x", "p256dh": good_key, "auth": "c2hvcnQ"}),
            "validation_failed",
        ),
        (
            json!({"platform": "apns", "push_token": "not hex at all"}),
            "validation_failed",
        ),
        (
            json!({"platform": "fcm", "push_token": "has spaces in it"}),
            "validation_failed",
        ),
    ] {
        let (status, answer) = oncall.post("/api/v1/devices", body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{body}: {answer}");
    }
    let (status, answer) = oncall
        .post(
            "/api/v1/devices",
            json!({"platform": "ios", "push_token": "ab"}),
        )
        .await;
    assert!(status.is_client_error(), "{answer}");
    let (status, answer) = oncall
        .put(
            "/api/v1/me/notification-settings",
            json!({"enabled": true, "time_zone": "Mars/Olympus_Mons"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("IANA")));
}

/// An agent filing many requests at once buzzes an on-call phone three times, not once per
/// request: the rest are counted in one notice that replaces itself (told again at most every
/// 20 s) as they are answered, and is taken away once none is held. A held request answered is
/// never pushed as "Rejected by …" to a phone that never showed it.
#[tokio::test]
async fn a_burst_of_requests_reaches_the_phone_as_three_and_one_notice_of_the_rest() {
    let server = push_server().await;
    let service = push_service(&server).await;
    let (phone, _) = phone_of(&server, &service, "oncall@acme.test").await;
    let mut asked = Vec::new();
    for _ in 0..5 {
        asked.push(ask(&server.agent("Quill"), "medium", 600).await);
    }
    let of_type = |kind: &str| {
        (service.received(&phone).into_iter())
            .filter(|r| r.payload["type"] == kind)
            .collect::<Vec<_>>()
    };
    service.wait_for(&phone, 4, PATIENCE).await;
    // The dispatcher may have read the asks in one run or several; either way the count is
    // told in full once its turn comes.
    dispatched(&server).await;
    server.advance(chrono::Duration::seconds(20));
    spartex_testkit::eventually("the notice counts both held", PATIENCE, async || {
        let notices = of_type("requests.held");
        let last = notices.last()?;
        (last.payload["title"] == "2 more requests wait for you").then_some(())
    })
    .await;
    let requests = of_type("approval.requested");
    assert_eq!(requests.len(), 3, "three buzz on their own");
    let notices = of_type("requests.held");
    assert!(notices.len() <= 2, "{notices:?}");
    let topic = notices[0].header("topic").expect("a Topic").to_owned();
    assert!(
        notices
            .iter()
            .all(|n| n.header("topic") == Some(topic.as_str())),
        "each in the last one's place"
    );

    let pushed: Vec<&Value> = requests.iter().map(|r| &r.payload["approval_id"]).collect();
    let held: Vec<&Value> = (asked.iter())
        .filter(|a| !pushed.contains(&&a["id"]))
        .collect();
    assert_eq!(held.len(), 2);
    let manager = server.login("manager@acme.test").await;
    for approval in held {
        let id = approval["id"].as_str().expect("id");
        let (status, decided) = manager
            .post(
                &format!("/api/v1/approvals/{id}/decision"),
                json!({"decision": "reject", "seen_version": approval["version"]}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{decided}");
    }
    dispatched(&server).await;
    server.advance(chrono::Duration::seconds(20));
    spartex_testkit::eventually("the notice is taken away", PATIENCE, async || {
        let notices = of_type("requests.held");
        let last = notices.last()?;
        (last.payload["status"] == "settled").then_some(())
    })
    .await;
    tokio::time::sleep(QUIET_SPELL).await;
    assert_eq!(
        of_type("approval.resolved").len(),
        0,
        "no resolution of a request the phone never showed"
    );
}
