use serde_json::json;
use spartex_api::{ApprovalStatus, Decision};
use spartex_core::notify::NotificationAction;
use spartex_core::notify::{select, NotificationPrefs};
use spartex_core::rules::ApprovalBlocker;
use spartex_core::{CoreError, OutcomeResult};

use crate::support::World;

#[tokio::test]
async fn deciding_after_someone_else_reverts_and_names_who_decided_first() {
    let world = World::start().await;
    let approval = world.ask("Quill", "Publish the spring hero ad").await;
    let id = approval["id"].as_str().expect("id");
    let dana = world.login(&world.core("dana"), "oncall@acme.test").await;
    let marco = world.login(&world.core("marco"), "manager@acme.test").await;
    dana.catch_up().await.expect("sync");
    marco.catch_up().await.expect("sync");

    let first = marco
        .decide(id, Decision::Approve, None)
        .await
        .expect("decides");
    assert!(first.delivered);
    let second = dana
        .decide(id, Decision::Reject, Some("hold it".into()))
        .await
        .expect("queues");
    assert!(!second.delivered);
    let outcome = second.outcome.expect("an outcome the user sees");
    assert_eq!(outcome.result, OutcomeResult::AlreadyDecided);
    assert!(
        outcome.message.contains("Marco Rossi (manager)"),
        "{}",
        outcome.message
    );
    let view = dana.approval(id).await.expect("cached");
    assert_eq!(
        (view.sending, view.approval.status),
        (None, ApprovalStatus::Approved),
        "the optimistic reject is undone"
    );
    assert!(
        dana.outbox().await.expect("outbox").is_empty(),
        "nothing lingers"
    );
}

#[tokio::test]
async fn an_expired_request_is_refused_with_the_reason() {
    let world = World::start().await;
    let approval = world.ask("Quill", "Publish before the deadline").await;
    let id = approval["id"].as_str().expect("id");
    let dana = world.login(&world.core("dana"), "oncall@acme.test").await;
    dana.catch_up().await.expect("sync");
    world.clock.advance(chrono::Duration::minutes(11));
    let queued = dana
        .decide(id, Decision::Approve, None)
        .await
        .expect("queues");
    let outcome = queued.outcome.expect("outcome");
    assert_eq!(outcome.result, OutcomeResult::Expired);
    assert!(outcome.message.contains("expired"), "{}", outcome.message);
}

#[tokio::test]
async fn actions_taken_offline_are_delivered_once_when_the_link_returns_stop_first() {
    let mut world = World::start().await;
    let approval = world.ask("Quill", "Publish offline-approved ad").await;
    let id = approval["id"].as_str().expect("id").to_owned();
    let dana = world.login(&world.core("dana"), "oncall@acme.test").await;
    dana.catch_up().await.expect("sync");
    let newsletter = dana
        .project("The Weekly Edit")
        .await
        .expect("cached")
        .project
        .id;
    world.stop_server().await;

    let decided = dana
        .decide(&id, Decision::Approve, None)
        .await
        .expect("queued");
    let said = dana
        .send_message(&newsletter, None, "Hold the send until legal signs off")
        .await
        .expect("queued");
    let stopped = dana
        .stop_project(&newsletter, "wrong list")
        .await
        .expect("queued");
    assert!(!decided.delivered && !said.delivered && !stopped.delivered);
    assert!(decided
        .waiting_because
        .is_some_and(|w| w.contains("Can't reach")));
    let kinds: Vec<_> = dana
        .outbox()
        .await
        .expect("outbox")
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds[0],
        spartex_core::store::OutboxKind::Stop,
        "the stop goes first"
    );
    assert_eq!(
        dana.approval(&id).await.expect("cached").sending,
        Some(Decision::Approve)
    );

    world.restart_server().await;
    let report = dana.flush_outbox().await.expect("flushes");
    assert_eq!(
        (report.delivered, report.refused, report.waiting),
        (3, 0, 0)
    );
    let again = dana.flush_outbox().await.expect("flushes");
    assert_eq!(again.delivered, 0, "nothing is sent twice");

    let token = world.server_token("viewer@acme.test").await;
    let settled = world.get(&token, &format!("/api/v1/approvals/{id}")).await;
    assert_eq!(
        (settled["status"].as_str(), settled["version"].as_i64()),
        (Some("approved"), Some(2))
    );
    let messages = world
        .get(
            &token,
            &format!("/api/v1/projects/{newsletter}/messages?limit=200"),
        )
        .await;
    let copies = messages
        .as_array()
        .expect("list")
        .iter()
        .filter(|m| m["body"] == json!("Hold the send until legal signs off"))
        .count();
    assert_eq!(copies, 1);
    let stops = world.get(&token, "/api/v1/stops").await;
    assert_eq!(stops.as_array().expect("list").len(), 1);
}

/// Quill asks for a high-risk approval with nothing showing what approving would do.
async fn ask_without_a_preview(world: &World) -> serde_json::Value {
    let (status, approval) = world
        .post(
            &world.agent_token("Quill"),
            "/api/v1/agent/approvals",
            json!({"kind": "publish_ad", "title": "Trust me", "payload": {}, "risk": "high",
                   "expires_in_s": 600}),
        )
        .await;
    assert_eq!(status, 201, "{approval}");
    approval
}

/// The path a notification's Approve button takes (`src-tauri/src/responses.rs`): the policy
/// chooses the buttons, and `Account::decide` takes the click.
#[tokio::test]
async fn a_request_without_a_preview_cannot_be_approved_from_a_notification() {
    let world = World::start().await;
    let approval = ask_without_a_preview(&world).await;
    let id = approval["id"].as_str().expect("id");
    let dana = world.login(&world.core("dana"), "oncall@acme.test").await;
    let mut changes = dana.subscribe();
    dana.catch_up().await.expect("sync");

    let mut buttons = None;
    while let Ok(change) = changes.try_recv() {
        if let Some(n) = select(
            &change,
            &NotificationPrefs::default(),
            dana.info().user.role,
            chrono::Local::now().time(),
        ) {
            if n.approval_id.as_deref() == Some(id) {
                buttons = Some(n.actions);
            }
        }
    }
    assert_eq!(
        buttons.expect("the request is notified"),
        [NotificationAction::Reject, NotificationAction::Open],
        "no Approve button without a preview"
    );

    let refused = dana
        .decide(id, Decision::Approve, None)
        .await
        .expect_err("a click on a stale Approve button is refused too");
    assert!(refused.to_string().contains("no preview"), "{refused}");
    assert!(
        dana.outbox().await.expect("outbox").is_empty(),
        "nothing was queued"
    );
    let queued = dana
        .decide(id, Decision::Reject, Some("Send a preview".into()))
        .await
        .expect("rejecting needs no preview");
    assert!(queued
        .outcome
        .is_none_or(|o| o.result == OutcomeResult::Delivered));
}

/// This machine's clock runs ahead of the server's, so a request the server still holds open
/// looks expired here. The expiry is left to the server, but every other rule still holds: a
/// blind Approve is refused here, and a Reject goes through.
#[tokio::test]
async fn a_clock_ahead_of_the_server_lets_no_blind_approve_through() {
    let world = World::start_at(chrono::Utc::now() - chrono::Duration::hours(2)).await;
    let approval = ask_without_a_preview(&world).await;
    let id = approval["id"].as_str().expect("id");
    let dana = world.login(&world.core("dana"), "oncall@acme.test").await;
    dana.catch_up().await.expect("sync");

    let refused = dana
        .decide(id, Decision::Approve, None)
        .await
        .expect_err("no preview, whatever the clocks say");
    assert!(
        matches!(
            refused,
            CoreError::Blocked {
                blocker: ApprovalBlocker::NoPreview,
                ..
            }
        ),
        "{refused}"
    );
    let queued = dana
        .decide(id, Decision::Reject, Some("Send a preview".into()))
        .await
        .expect("the server judges expiry");
    assert!(queued.delivered, "{queued:?}");
}

#[tokio::test]
async fn a_stop_taken_offline_after_a_resume_leaves_the_project_stopped() {
    let mut world = World::start().await;
    let manager = world.login(&world.core("mia"), "manager@acme.test").await;
    manager.catch_up().await.expect("sync");
    let newsletter = manager
        .project("The Weekly Edit")
        .await
        .expect("cached")
        .project
        .id;
    let stopped = manager
        .stop_project(&newsletter, "wrong list")
        .await
        .expect("stops");
    assert!(stopped.delivered);
    manager.catch_up().await.expect("sync");

    world.stop_server().await;
    // On the plane: resumed, then, on second thoughts, stopped again.
    manager.resume(&newsletter).await.expect("queued");
    manager
        .stop_project(&newsletter, "the list is still wrong")
        .await
        .expect("queued");
    world.restart_server().await;
    let report = manager.flush_outbox().await.expect("flushes");
    assert_eq!((report.delivered, report.refused), (2, 0));

    let token = world.server_token("viewer@acme.test").await;
    let project = world
        .get(&token, &format!("/api/v1/projects/{newsletter}"))
        .await;
    assert_eq!(
        project["project"]["status"],
        json!("stopped"),
        "the last thing said was stop: {project}"
    );
}

#[tokio::test]
async fn signing_out_delivers_what_waits_first_or_names_what_it_would_lose() {
    let mut world = World::start().await;
    let approval = world.ask("Quill", "Publish the sign-out ad").await;
    let id = approval["id"].as_str().expect("id").to_owned();
    let core = world.core("dana");
    let dana = world.login(&core, "oncall@acme.test").await;
    dana.catch_up().await.expect("sync");
    world.stop_server().await;
    dana.decide(&id, Decision::Approve, None)
        .await
        .expect("queued");
    // As the app does before it signs out: an account open anywhere refuses it.
    dana.store().close().await;

    let refused = core
        .logout(None, spartex_core::Undelivered::Keep)
        .await
        .expect_err("offline, the decision would be lost");
    let CoreError::Undelivered { actions } = &refused else {
        panic!("{refused:?}");
    };
    assert_eq!(actions.len(), 1);
    assert!(
        actions[0].contains("Publish the sign-out ad"),
        "{actions:?}"
    );
    assert!(refused.to_string().contains("sign out anyway"), "{refused}");
    assert_eq!(
        core.accounts().expect("accounts").len(),
        1,
        "still signed in"
    );

    // Back online: the decision goes first, then the sign-out.
    world.restart_server().await;
    core.logout(None, spartex_core::Undelivered::Keep)
        .await
        .expect("signs out once it is delivered");
    assert!(core.accounts().expect("accounts").is_empty());
    let token = world.server_token("viewer@acme.test").await;
    let settled = world.get(&token, &format!("/api/v1/approvals/{id}")).await;
    assert_eq!(settled["status"], json!("approved"));
}

#[tokio::test]
async fn signing_out_anyway_drops_what_waits() {
    let mut world = World::start().await;
    let core = world.core("dana");
    let dana = world.login(&core, "oncall@acme.test").await;
    dana.catch_up().await.expect("sync");
    let newsletter = dana
        .project("The Weekly Edit")
        .await
        .expect("cached")
        .project
        .id;
    world.stop_server().await;
    dana.send_message(&newsletter, None, "Hold the send")
        .await
        .expect("queued");
    dana.store().close().await;
    core.logout(None, spartex_core::Undelivered::Discard)
        .await
        .expect("signs out, as the person chose");
    assert!(core.accounts().expect("accounts").is_empty());
}
