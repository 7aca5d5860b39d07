//! The escalation ladder on the manual clock: who is told when, skipping the unreachable and
//! the bounced, acknowledgement, and a restart in the middle.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use spartex_api::{Role, User};
use spartex_server::store::WriteScope;
use spartex_server::write::Write;
use spartex_testkit::webpush_service::{Behaviour, WebPushService};

use crate::support::{ask, phone_of, push_service, TestServer, PATIENCE};

/// Wednesday noon in London, in Dana's week of the demo rotation: she is on call.
const DANAS_DAY: &str = "2026-12-02T12:00:00Z";
/// Long enough for a push or a level that should not come to have come.
pub(super) const QUIET_SPELL: Duration = Duration::from_millis(1500);

pub(super) async fn ladder_server() -> TestServer {
    TestServer::builder()
        .manual_clock(DANAS_DAY.parse().expect("an instant"))
        .demo_oncall()
        .settings(|s| {
            s.push.insecure_endpoints = true;
            s.push.send_timeout = Duration::from_secs(2);
        })
        .start()
        .await
}

/// The trail as (level, name, channel, result), in order.
fn trail(approval: &Value) -> Vec<(i64, String, String, String)> {
    approval["escalation"]["notified"]
        .as_array()
        .expect("a trail")
        .iter()
        .map(|n| {
            (
                n["level"].as_i64().expect("a level"),
                n["user_name"].as_str().expect("a name").to_owned(),
                n["channel"].as_str().unwrap_or("none").to_owned(),
                n["result"].as_str().expect("a result").to_owned(),
            )
        })
        .collect()
}

fn entry(level: i64, name: &str, channel: &str, result: &str) -> (i64, String, String, String) {
    (level, name.into(), channel.into(), result.into())
}

fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("an instant: {value}"))
}

pub(super) fn path(approval: &Value, action: &str) -> String {
    format!(
        "/api/v1/approvals/{}/{action}",
        approval["id"].as_str().expect("id")
    )
}

/// Reads the approval until its ladder has fired `level`.
async fn at_level(server: &TestServer, approval: &Value, level: i64) -> Value {
    let api = server.login("viewer@acme.test").await;
    let url = format!("/api/v1/approvals/{}", approval["id"].as_str().expect("id"));
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let now = api.get_ok(&url).await;
        if now["escalation"]["level"].as_i64() >= Some(level) {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "level {level} never fired: {now}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_critical_request_climbs_from_the_oncall_to_the_manager_to_the_owner() {
    let server = ladder_server().await;
    let service = push_service(&server).await;
    let dana = phone_of(&server, &service, "oncall@acme.test").await.0;
    let priya = phone_of(&server, &service, "priya@acme.test").await.0;
    let marco = phone_of(&server, &service, "manager@acme.test").await.0;
    let olivia = phone_of(&server, &service, "owner@acme.test").await.0;

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    let created = at(&approval["created_at"]);
    assert_eq!(approval["escalation"]["level"], 1);
    assert_eq!(
        trail(&approval),
        [entry(1, "Dana Whitfield", "push", "sent")]
    );
    assert_eq!(
        at(&approval["escalation"]["next_at"]),
        created + chrono::Duration::seconds(300)
    );
    let told = service.wait_for(&dana, 1, PATIENCE).await;
    assert_eq!(told[0].payload["type"], "approval.requested");
    assert_eq!(told[0].payload["approval_id"], approval["id"]);
    tokio::time::sleep(QUIET_SPELL).await;
    for (who, phone) in [("Priya", &priya), ("Marco", &marco), ("Olivia", &olivia)] {
        assert!(service.received(phone).is_empty(), "{who} is not told yet");
    }

    server.advance(chrono::Duration::seconds(300));
    let second = at_level(&server, &approval, 2).await;
    assert_eq!(
        trail(&second),
        [
            entry(1, "Dana Whitfield", "push", "sent"),
            entry(2, "Marco Rossi", "push", "sent"),
        ]
    );
    let told = service.wait_for(&marco, 1, PATIENCE).await;
    assert_eq!(told[0].payload["type"], "approval.requested");
    assert!(
        service.received(&olivia).is_empty(),
        "the owner waits for level 3"
    );

    server.advance(chrono::Duration::seconds(600));
    let third = at_level(&server, &approval, 3).await;
    assert_eq!(
        trail(&third).last(),
        Some(&entry(3, "Olivia Park", "push", "sent"))
    );
    assert_eq!(
        at(&third["escalation"]["next_at"]),
        created + chrono::Duration::seconds(1500),
        "then the ladder runs once more, a cycle later"
    );
    service.wait_for(&olivia, 1, PATIENCE).await;
    assert_eq!(
        service.received(&dana).len(),
        1,
        "no one is told twice per level"
    );
    assert!(
        service.received(&priya).is_empty(),
        "Priya is off call all along"
    );
}

#[tokio::test]
async fn an_ack_stops_the_ladder_and_tells_the_others_someone_is_on_it() {
    let server = ladder_server().await;
    let service = push_service(&server).await;
    let marco = phone_of(&server, &service, "manager@acme.test").await.0;
    let dana = server.login("oncall@acme.test").await;
    let mut online = server.events(dana.token(), None).await;
    online.next().await; // hello: Dana holds a socket, so she is reachable on it

    let approval = ask(&server.agent("Quill"), "high", 3600).await;
    assert_eq!(
        trail(&approval),
        [entry(1, "Dana Whitfield", "socket", "sent")]
    );
    server.advance(chrono::Duration::seconds(300));
    let second = at_level(&server, &approval, 2).await;
    service.wait_for(&marco, 1, PATIENCE).await;

    let (status, acked) = dana.post(&path(&approval, "ack"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{acked}");
    assert_eq!(acked["status"], "pending", "an ack is not a decision");
    assert_eq!(acked["escalation"]["acked_by"]["name"], "Dana Whitfield");
    assert!(acked["escalation"]["next_at"].is_null());
    assert_eq!(acked["version"], second["version"].as_i64().expect("v") + 1);
    let told = service.wait_for(&marco, 2, PATIENCE).await;
    assert_eq!(told[1].payload["type"], "approval.acked");
    assert_eq!(
        told[1].header("topic"),
        told[0].header("topic"),
        "it replaces the request"
    );

    let (status, again) = dana.post(&path(&approval, "ack"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        again["version"], acked["version"],
        "acking twice changes nothing"
    );

    server.advance(chrono::Duration::seconds(3000));
    tokio::time::sleep(QUIET_SPELL).await;
    let still = server
        .login("viewer@acme.test")
        .await
        .get_ok(&format!(
            "/api/v1/approvals/{}",
            approval["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        still["escalation"]["level"], 2,
        "no level fires after an ack"
    );
    assert_eq!(service.received(&marco).len(), 2);

    let (status, body) = server
        .login("viewer@acme.test")
        .await
        .post(&path(&approval, "ack"), json!({}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn an_unreachable_oncall_is_skipped_at_once_and_the_manager_told_at_once() {
    let server = ladder_server().await;
    let marco = server.login("manager@acme.test").await;
    let mut online = server.events(marco.token(), None).await;
    online.next().await;

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    let created = at(&approval["created_at"]);
    assert_eq!(
        trail(&approval),
        [
            entry(1, "Dana Whitfield", "none", "skipped_unreachable"),
            entry(2, "Marco Rossi", "socket", "sent"),
        ],
        "Dana has no phone and no socket: the manager hears at once, not after 5 minutes"
    );
    assert_eq!(approval["escalation"]["level"], 2);
    assert_eq!(
        at(&approval["escalation"]["next_at"]),
        created + chrono::Duration::seconds(900),
        "the owner still waits for her level's time"
    );
}

#[tokio::test]
async fn an_oncall_whose_open_app_raises_no_notifications_is_skipped_at_once() {
    let server = ladder_server().await;
    let dana = server.login("oncall@acme.test").await;
    let mut silent = server.events_without_alerts(dana.token()).await;
    silent.next().await; // hello: her app follows the log, but shows her nothing
    let marco = server.login("manager@acme.test").await;
    let mut online = server.events(marco.token(), None).await;
    online.next().await;

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    assert_eq!(
        trail(&approval),
        [
            entry(1, "Dana Whitfield", "none", "skipped_unreachable"),
            entry(2, "Marco Rossi", "socket", "sent"),
        ],
        "an app that cannot alert Dana is no way to reach her: the manager hears at once"
    );
}

#[tokio::test]
async fn after_a_quiet_day_every_phone_on_the_ladder_is_still_paged() {
    let server = ladder_server().await;
    let service = push_service(&server).await;
    let dana = phone_of(&server, &service, "oncall@acme.test").await.0;
    let marco = phone_of(&server, &service, "manager@acme.test").await.0;
    let olivia = phone_of(&server, &service, "owner@acme.test").await.0;
    // A quiet day: no phone has taken a push since it was registered, 25 hours ago.
    server.advance(chrono::Duration::hours(25));

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    let created = at(&approval["created_at"]);
    assert_eq!(
        trail(&approval),
        [
            entry(1, "Dana Whitfield", "push", "sent"),
            entry(2, "Marco Rossi", "push", "sent"),
            entry(3, "Olivia Park", "push", "sent"),
        ],
        "every phone is paged; none is known to reach its person, so each next level is told at \
         once as well"
    );
    for phone in [&dana, &marco, &olivia] {
        let told = service.wait_for(phone, 1, PATIENCE).await;
        assert_eq!(told[0].payload["type"], "approval.requested");
        assert_eq!(told[0].payload["approval_id"], approval["id"]);
    }
    assert_eq!(
        approval["escalation"]["level"], 3,
        "the repeat is not used up at once"
    );
    assert_eq!(
        at(&approval["escalation"]["next_at"]),
        created + chrono::Duration::seconds(1500),
        "the ladder runs again a cycle later"
    );

    // The pages got through, so the repeat finds Dana's phone known to reach her (the push
    // service records a push before it answers; the server notes the answer just after).
    let at_her_phone = server.login("oncall@acme.test").await;
    spartex_testkit::eventually("Dana's phone notes its push", PATIENCE, async || {
        let devices = at_her_phone.get_ok("/api/v1/devices").await;
        devices[0]["last_push_at"].is_string().then_some(())
    })
    .await;
    server.advance(chrono::Duration::seconds(1500));
    let again = at_level(&server, &approval, 4).await;
    assert_eq!(
        trail(&again).last(),
        Some(&entry(4, "Dana Whitfield", "push", "sent"))
    );
    assert_eq!(again["escalation"]["level"], 4);
    assert_eq!(
        at(&again["escalation"]["next_at"]),
        created + chrono::Duration::seconds(1800),
        "the manager waits for his turn in the repeat"
    );
    service.wait_for(&dana, 2, PATIENCE).await;
}

#[tokio::test]
async fn a_phone_whose_app_registers_again_is_counted_on_after_a_quiet_day() {
    let server = ladder_server().await;
    let service = push_service(&server).await;
    let dana = phone_of(&server, &service, "oncall@acme.test").await.0;
    server.advance(chrono::Duration::hours(25));
    // Dana's app starts and registers its subscription again, as it does at every start.
    let (status, device) = server
        .login("oncall@acme.test")
        .await
        .post("/api/v1/devices", dana.clone())
        .await;
    assert_eq!(status, StatusCode::OK, "{device}");

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    let created = at(&approval["created_at"]);
    assert_eq!(
        trail(&approval),
        [entry(1, "Dana Whitfield", "push", "sent")],
        "her phone was seen a moment ago: the manager waits for his level's time"
    );
    assert_eq!(
        at(&approval["escalation"]["next_at"]),
        created + chrono::Duration::seconds(300)
    );
    service.wait_for(&dana, 1, PATIENCE).await;
}

#[tokio::test]
async fn a_ladder_nobody_can_reach_runs_again_a_cycle_later_not_at_once() {
    let server = ladder_server().await;
    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    let created = at(&approval["created_at"]);
    assert_eq!(
        trail(&approval),
        [
            entry(1, "Dana Whitfield", "none", "skipped_unreachable"),
            entry(2, "Marco Rossi", "none", "skipped_unreachable"),
            entry(3, "Olivia Park", "none", "skipped_unreachable"),
        ]
    );
    assert_eq!(approval["escalation"]["level"], 3, "{approval}");
    assert_eq!(
        at(&approval["escalation"]["next_at"]),
        created + chrono::Duration::seconds(1500),
        "the repeat is a later try, not spent in the same instant"
    );

    // Marco opens the app meanwhile: the repeat finds him.
    let marco = server.login("manager@acme.test").await;
    let mut online = server.events(marco.token(), None).await;
    online.next().await;
    server.advance(chrono::Duration::seconds(1500));
    let again = at_level(&server, &approval, 5).await;
    assert_eq!(
        trail(&again)[3..],
        [
            entry(4, "Dana Whitfield", "none", "skipped_unreachable"),
            entry(5, "Marco Rossi", "socket", "sent"),
        ]
    );
    assert_eq!(
        at(&again["escalation"]["next_at"]),
        created + chrono::Duration::seconds(2400),
        "the owner's turn in the repeat waits for its time"
    );
}

/// A large team: `count` more on-call people in Acme, with no phone and no app open.
async fn hire_oncall_staff(server: &TestServer, count: usize) {
    let tenant_id = server.tenant_of("oncall@acme.test").await;
    let state = server.state();
    let mut w = Write::begin(state, WriteScope::Tenant(&tenant_id))
        .await
        .expect("a write");
    for n in 0..count {
        let user = User {
            id: format!("usr_cover_{n:03}"),
            email: format!("cover{n:03}@acme.test"),
            name: format!("Zoe Cover {n:03}"),
            role: Role::Oncall,
        };
        w.tx()
            .insert_user(&tenant_id, &user, "no sign-in")
            .await
            .expect("hired");
    }
    w.commit().await.expect("committed");
}

#[tokio::test]
async fn a_level_past_a_full_trail_still_pages_the_people_it_names() {
    let server = ladder_server().await;
    hire_oncall_staff(&server, 300).await;
    let service = push_service(&server).await;
    let dana = phone_of(&server, &service, "oncall@acme.test").await.0;
    let marco = phone_of(&server, &service, "manager@acme.test").await.0;
    let manager = server.login("manager@acme.test").await;
    let (status, policy) = manager
        .put(
            "/api/v1/escalation-policy",
            json!({
                "applies_to": ["critical"],
                "levels": [
                    {"after_s": 0, "targets": ["role:oncall"]},
                    {"after_s": 300, "targets": ["role:manager"]},
                ],
                "repeat": 0,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{policy}");

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    assert_eq!(
        trail(&approval).len(),
        300,
        "302 people on call fill the trail, which stops growing"
    );
    service.wait_for(&dana, 1, PATIENCE).await;
    server.advance(chrono::Duration::seconds(300));
    let second = at_level(&server, &approval, 2).await;
    assert!(
        !trail(&second)
            .iter()
            .any(|(_, name, _, _)| name == "Marco Rossi"),
        "the manager is past the trail's end"
    );
    let told = service.wait_for(&marco, 1, PATIENCE).await;
    assert_eq!(told[0].payload["type"], "approval.requested");
    assert_eq!(told[0].payload["approval_id"], approval["id"]);

    // Dana approves: the request leaves the manager's lock screen too.
    let (status, decided) = server
        .login("oncall@acme.test")
        .await
        .post(
            &path(&approval, "decision"),
            json!({"decision": "approve", "seen_version": second["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{decided}");
    let told = service.wait_for(&marco, 2, PATIENCE).await;
    assert_eq!(told[1].payload["type"], "approval.resolved");
}

/// Dana on call with a phone registered today, so the ladder counts on it, whose app has since
/// been uninstalled (her push service says so only when asked to deliver); Marco's phone works.
/// Returns Marco's subscription.
async fn dana_with_an_uninstalled_app() -> (TestServer, WebPushService, Value) {
    let server = ladder_server().await;
    let service = push_service(&server).await;
    let dana = phone_of(&server, &service, "oncall@acme.test").await.0;
    let marco = phone_of(&server, &service, "manager@acme.test").await.0;
    service.set_behaviour(&dana, Behaviour::Gone);
    (server, service, marco)
}

#[tokio::test]
async fn a_page_that_bounces_is_failed_on_the_trail_and_the_manager_told_at_once() {
    let (server, service, marco) = dana_with_an_uninstalled_app().await;

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    let created = at(&approval["created_at"]);
    assert_eq!(
        trail(&approval),
        [entry(1, "Dana Whitfield", "push", "sent")]
    );
    let second = at_level(&server, &approval, 2).await;
    assert_eq!(
        trail(&second),
        [
            entry(1, "Dana Whitfield", "push", "failed"),
            entry(2, "Marco Rossi", "push", "sent"),
        ],
        "the page bounced: the manager hears at once, not after 5 minutes"
    );
    let told = service.wait_for(&marco, 1, PATIENCE).await;
    assert_eq!(told[0].payload["approval_id"], approval["id"]);
    assert_eq!(
        at(&second["escalation"]["next_at"]),
        created + chrono::Duration::seconds(900),
        "the owner still waits for her level's time"
    );
}

#[tokio::test]
async fn a_bounced_page_leaves_the_ladder_alone_when_the_person_has_another_way_in() {
    let (server, _service, _marco) = dana_with_an_uninstalled_app().await;
    // Dana has the desktop app open: the request is on her screen whatever her phone does.
    let at_her_desk = server.login("oncall@acme.test").await;
    let mut online = server.events(at_her_desk.token(), None).await;
    online.next().await;

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    spartex_testkit::eventually("the page bounces", PATIENCE, async || {
        (at_her_desk.get_ok("/api/v1/devices").await == json!([])).then_some(())
    })
    .await;
    tokio::time::sleep(QUIET_SPELL).await;
    let now = at_level(&server, &approval, 1).await;
    assert_eq!(
        trail(&now),
        [entry(1, "Dana Whitfield", "push", "sent")],
        "the manager still waits for his level's time"
    );
}

#[tokio::test]
async fn a_page_to_a_phone_whose_platform_this_server_cannot_push_to_moves_the_ladder_on() {
    // This server has no APNs credentials (nor a stand-in for APNs): Dana's iPhone is kept,
    // but no page can reach it.
    let server = ladder_server().await;
    let service = push_service(&server).await;
    let at_her_phone = server.login("oncall@acme.test").await;
    let (status, iphone) = at_her_phone
        .post(
            "/api/v1/devices",
            json!({"platform": "apns", "push_token": "a1b2c3d4".repeat(8)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{iphone}");
    let marco = phone_of(&server, &service, "manager@acme.test").await.0;

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    let created = at(&approval["created_at"]);
    assert_eq!(
        trail(&approval),
        [entry(1, "Dana Whitfield", "push", "sent")],
        "a phone registered today is counted on until its page is tried"
    );
    let second = at_level(&server, &approval, 2).await;
    assert_eq!(
        trail(&second),
        [
            entry(1, "Dana Whitfield", "push", "failed"),
            entry(2, "Marco Rossi", "push", "sent"),
        ],
        "the page could not go: the manager hears at once, not after 5 minutes"
    );
    let told = service.wait_for(&marco, 1, PATIENCE).await;
    assert_eq!(told[0].payload["approval_id"], approval["id"]);
    let devices = at_her_phone.get_ok("/api/v1/devices").await;
    assert_eq!(
        devices.as_array().map(Vec::len),
        Some(1),
        "the iPhone is kept"
    );
    assert!(
        devices[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("not configured for APNs")),
        "{devices}"
    );
    assert_eq!(
        at(&second["escalation"]["next_at"]),
        created + chrono::Duration::seconds(900)
    );
}

#[tokio::test]
async fn a_page_still_failing_after_a_few_tries_moves_the_ladder_on() {
    let server = ladder_server().await;
    let service = push_service(&server).await;
    let dana = phone_of(&server, &service, "oncall@acme.test").await.0;
    let marco = phone_of(&server, &service, "manager@acme.test").await.0;
    // Dana's push service is down: each try is answered 503.
    service.set_behaviour(&dana, Behaviour::Unavailable);

    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    let created = at(&approval["created_at"]);
    assert_eq!(
        trail(&approval),
        [entry(1, "Dana Whitfield", "push", "sent")]
    );
    // The retries back off 1 s, then 2 s: a minute is plenty, and well before the manager's
    // level would come due (5 minutes).
    let api = server.login("viewer@acme.test").await;
    let url = format!("/api/v1/approvals/{}", approval["id"].as_str().expect("id"));
    let mut second = Value::Null;
    for _ in 0..60 {
        let now = api.get_ok(&url).await;
        if now["escalation"]["level"].as_i64() >= Some(2) {
            second = now;
            break;
        }
        server.advance(chrono::Duration::seconds(1));
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(
        !second.is_null(),
        "the manager was not told within a minute of Dana's page failing"
    );
    assert_eq!(
        trail(&second),
        [
            entry(1, "Dana Whitfield", "push", "failed"),
            entry(2, "Marco Rossi", "push", "sent"),
        ]
    );
    let told_at = at(&second["escalation"]["notified"][1]["at"]);
    assert!(
        told_at < created + chrono::Duration::seconds(60),
        "told at {told_at}, the request came at {created}"
    );
    service.wait_for(&marco, 1, PATIENCE).await;
}

#[tokio::test]
async fn a_restart_neither_repeats_a_level_nor_loses_one_that_came_due_while_down() {
    let mut server = ladder_server().await;
    let service = push_service(&server).await;
    for email in ["oncall@acme.test", "manager@acme.test", "owner@acme.test"] {
        phone_of(&server, &service, email).await;
    }
    let approval = ask(&server.agent("Quill"), "critical", 3600).await;
    server.advance(chrono::Duration::seconds(300));
    at_level(&server, &approval, 2).await;

    server.shutdown().await;
    server.advance(chrono::Duration::seconds(700)); // the owner's level comes due while down
    server.restart().await;
    let third = at_level(&server, &approval, 3).await;
    assert_eq!(
        trail(&third),
        [
            entry(1, "Dana Whitfield", "push", "sent"),
            entry(2, "Marco Rossi", "push", "sent"),
            entry(3, "Olivia Park", "push", "sent"),
        ],
        "each level once, the missed one at once"
    );
    tokio::time::sleep(QUIET_SPELL).await;
    let later = at_level(&server, &approval, 3).await;
    assert_eq!(
        trail(&later).len(),
        3,
        "nothing fires twice after the restart"
    );
}

#[tokio::test]
async fn a_request_outside_the_policy_notifies_everyone_as_before() {
    let server = ladder_server().await;
    let approval = ask(&server.agent("Quill"), "medium", 3600).await;
    assert!(approval.get("escalation").is_none(), "{approval}");
    let dana = server.login("oncall@acme.test").await;
    let (status, acked) = dana.post(&path(&approval, "ack"), json!({})).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "anyone may say they are on it: {acked}"
    );
    assert_eq!(acked["escalation"]["level"], 0);
    assert_eq!(acked["escalation"]["acked_by"]["name"], "Dana Whitfield");

    let (status, _) = dana
        .post(
            &path(&approval, "decision"),
            json!({"decision": "approve", "seen_version": acked["version"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = dana.post(&path(&approval, "ack"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "approval_already_decided");
}
