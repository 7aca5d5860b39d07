//! An older app against a newer server: values this build does not know (a role, a status, a
//! risk, a ladder's channel) are shown as unknown, the resources that carry them kept and shown,
//! where one such value failed the sign-in, the whole rebuild of the cache (so the app never
//! synced again) or hid an approval in `rejected_events`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::extract::Query;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use spartex_api::{AgentStatus, ApprovalStatus, ProjectStatus, Risk, Role, StopStatus, TaskStatus};

use crate::hostile::signed_in_to;
use crate::support::{eventually, World};

const AT: &str = "2026-11-28T10:00:00Z";

fn project(status: &str) -> Value {
    json!({"id": "prj_1", "name": "Spring Sale 2027", "description": "", "status": status,
        "budget_usd": 100.0, "spent_usd": 10.0, "created_at": AT, "updated_at": AT, "version": 1})
}

fn approval(id: &str, risk: &str, status: &str) -> Value {
    json!({"id": id, "project_id": "prj_1", "agent_id": "agt_1", "task_id": null,
        "kind": "publish_ad", "title": format!("Publish {id}"), "summary": "s", "payload": {},
        "preview": {"type": "copy", "channel": "meta", "headline": null, "body": "b",
            "image_description": null, "audience": null},
        "risk": risk, "status": status, "created_at": AT, "expires_at": "2099-01-01T00:00:00Z",
        "on_expiry": "escalate", "decided_by": null, "decided_at": null, "comment": null,
        "escalation": {"level": 1, "next_at": null, "acked_by": null, "acked_at": null,
            "notified": [{"user_id": "usr_1", "user_name": "Dana", "at": AT, "level": 1,
                "channel": "sms", "result": "delivered_late"}]},
        "version": 1})
}

/// A server a version ahead: every enum the app reads has a value this build has never seen,
/// until `known` says the app was updated to a version that knows them (here: the server
/// sends values this build knows, in their place).
fn newer_server(known: Arc<AtomicBool>) -> Router {
    let agent = json!({"id": "agt_1", "project_id": "prj_1", "name": "Quill", "role": "copywriter",
        "model": "m", "status": "hibernating", "current_task_id": null, "last_heartbeat_at": null,
        "tokens_used": 0, "cost_usd": 0.0, "version": 1});
    let task = json!({"id": "tsk_1", "project_id": "prj_1", "agent_id": "agt_1", "title": "Draft",
        "status": "deferred", "progress": 0, "updated_at": AT, "version": 1});
    let message = json!({"id": "msg_1", "project_id": "prj_1", "agent_id": "agt_1",
        "author_kind": "bot", "author_id": null, "author_name": "Relay", "body": "hello",
        "created_at": AT, "client_msg_id": null});
    let stop = json!({"id": "stp_1", "scope": "region", "project_id": null, "requested_by": "Dana",
        "reason": "drill", "status": "draining", "requested_at": AT, "completed_at": null,
        "agents_total": 1, "agents_stopped": 0, "agents": [], "version": 1});
    let mut tokens = crate::hostile::token_pair();
    tokens["user"]["role"] = json!("auditor");
    let project_status = {
        let known = known.clone();
        move || {
            if known.load(Ordering::SeqCst) {
                "paused"
            } else {
                "archived"
            }
        }
    };
    let status = project_status.clone();
    let detail = move || json!({"project": project(status()), "agents": [agent.clone()], "tasks": [task.clone()]});
    let risk = move || {
        if known.load(Ordering::SeqCst) {
            "critical"
        } else {
            "catastrophic"
        }
    };
    Router::new()
        .route(
            "/api/v1/auth/login",
            post(move || async move { Json(tokens) }),
        )
        .route(
            "/api/v1/sync",
            // A fresh cache is built from snapshots; afterwards the log has nothing new.
            get(|Query(query): Query<HashMap<String, String>>| async move {
                let fresh = query.get("since").is_none_or(|since| since == "0");
                Json(json!({"events": [], "head": 1, "resync_required": fresh}))
            }),
        )
        .route(
            "/api/v1/projects",
            get(move || async move { Json(json!([project(project_status())])) }),
        )
        .route(
            "/api/v1/projects/prj_1",
            get(move || async move { Json(detail()) }),
        )
        .route(
            "/api/v1/projects/prj_1/messages",
            get(move || async move { Json(json!([message])) }),
        )
        .route(
            "/api/v1/approvals",
            get(move || async move { Json(json!([approval("apr_1", risk(), "pending")])) }),
        )
        .route(
            "/api/v1/stops",
            get(move || async move { Json(json!([stop])) }),
        )
        .route(
            "/api/v1/events",
            get(|upgrade: WebSocketUpgrade| async move {
                upgrade.on_upgrade(|mut socket| async move {
                    let hello = json!({"type": "hello", "head": 2}).to_string();
                    let _ = socket.send(Message::Text(hello.into())).await;
                    let event = json!({"seq": 2, "type": "approval.upserted", "at": AT,
                        "project_id": "prj_1", "data": approval("apr_2", "high", "escalated")});
                    let _ = socket.send(Message::Text(event.to_string().into())).await;
                    while let Some(Ok(_)) = socket.recv().await {}
                })
            }),
        )
}

#[tokio::test]
async fn an_older_app_shows_a_newer_servers_values_as_unknown_and_loses_nothing() {
    let world = World::start().await;
    let account = signed_in_to(&world, newer_server(Arc::default())).await;
    assert_eq!(account.info().user.role, Role::Unknown);

    let running = account.start();
    eventually("the rebuild and the live event are applied", || async {
        account.store().last_seq().await.expect("seq") == 2
    })
    .await;

    let dashboard = account.dashboard().await.expect("dashboard");
    assert_eq!(dashboard.len(), 1, "the project is kept: {dashboard:?}");
    assert_eq!(dashboard[0].project.status, ProjectStatus::Unknown);
    assert_eq!(
        dashboard[0].pending_top_risk,
        Some(Risk::Unknown),
        "a risk this build does not know is the most urgent it can say"
    );

    let pending = account.approvals(true).await.expect("approvals");
    assert_eq!(pending.len(), 1, "{pending:?}");
    let shown = &pending[0].approval;
    assert_eq!((shown.id.as_str(), shown.risk), ("apr_1", Risk::Unknown));
    let trail = shown.escalation.as_ref().expect("its ladder trail is kept");
    assert_eq!(
        trail.notified[0].channel,
        Some(spartex_api::NotifyChannel::Unknown)
    );

    let settled = account
        .approval("apr_2")
        .await
        .expect("the live event is kept, not rejected");
    assert_eq!(settled.approval.status, ApprovalStatus::Unknown);

    let view = account.project("prj_1").await.expect("project");
    assert_eq!(view.agents[0].status, AgentStatus::Unknown);
    assert_eq!(view.tasks[0].status, TaskStatus::Unknown);
    assert_eq!(view.messages.len(), 1);
    assert_eq!(view.stops[0].status, StopStatus::Unknown);

    let status = account.status().await.expect("status");
    assert_eq!(status.unreadable_events, 0, "nothing was set aside unread");
    running.stop().await;
}

#[tokio::test]
async fn after_an_update_the_values_the_last_version_kept_as_unknown_are_read_again() {
    let world = World::start().await;
    let known = Arc::new(AtomicBool::new(false));
    let account = signed_in_to(&world, newer_server(known.clone())).await;
    account.catch_up().await.expect("the older version syncs");
    let risk = |account: &spartex_core::Account| {
        let account = account.clone();
        async move { account.approval("apr_1").await.expect("kept").approval.risk }
    };
    assert_eq!(risk(&account).await, Risk::Unknown);
    account
        .catch_up()
        .await
        .expect("the same version syncs again");
    assert_eq!(
        risk(&account).await,
        Risk::Unknown,
        "the same version reads nothing again: the log has nothing new"
    );

    // The app is updated: a version that knows the values the server sends, started as the
    // app starts an account (the live link, no catch-up asked for).
    known.store(true, Ordering::SeqCst);
    account
        .store()
        .set_meta(spartex_core::store::meta::READ_BY_VERSION, "0.0.1")
        .await
        .expect("as the version before left it");
    let running = account.start();
    eventually("the values are read again", || async {
        risk(&account).await == Risk::Critical
    })
    .await;
    let dashboard = account.dashboard().await.expect("dashboard");
    assert_eq!(dashboard[0].project.status, ProjectStatus::Paused);
    assert!(
        !account
            .store()
            .newer_than_its_last_reader()
            .await
            .expect("meta"),
        "recorded as read by this version: not rebuilt again"
    );
    running.stop().await;
}

/// A request raised, then moved by the newer server to a status this version does not know
/// (it may still be waiting): its notification stays as it was, neither taken back nor said to
/// be settled, where it was replaced by "No longer waiting for a decision".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_moved_to_a_status_this_version_does_not_know_stays_on_screen() {
    use spartex_core::alerts::spawn_notifications;
    use spartex_core::notify::{NotificationKind, NotificationPrefs};

    let world = World::start().await;
    let moved = Arc::new(AtomicBool::new(false));
    let move_it = moved.clone();
    let router = Router::new()
        .route(
            "/api/v1/auth/login",
            post(|| async { Json(crate::hostile::token_pair()) }),
        )
        .route(
            "/api/v1/sync",
            get(|| async { Json(json!({"events": [], "head": 0, "resync_required": false})) }),
        )
        .route(
            "/api/v1/events",
            get(move |upgrade: WebSocketUpgrade| {
                let moved = move_it.clone();
                async move {
                    upgrade.on_upgrade(move |mut socket| async move {
                        let send = |seq: i64, data: Value| {
                            json!({"seq": seq, "type": "approval.upserted", "at": AT,
                                "project_id": "prj_1", "data": data})
                            .to_string()
                        };
                        let hello = json!({"type": "hello", "head": 3}).to_string();
                        let _ = socket.send(Message::Text(hello.into())).await;
                        let asked = send(1, approval("apr_1", "high", "pending"));
                        let _ = socket.send(Message::Text(asked.into())).await;
                        while !moved.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                        let mut escalated = approval("apr_1", "high", "escalated");
                        escalated["version"] = json!(2);
                        let _ = socket.send(Message::Text(send(2, escalated).into())).await;
                        let next = send(3, approval("apr_3", "high", "pending"));
                        let _ = socket.send(Message::Text(next.into())).await;
                        while let Some(Ok(_)) = socket.recv().await {}
                    })
                }
            }),
        );
    let account = signed_in_to(&world, router).await;
    let shown = Arc::new(crate::ladder::Shown::default());
    spawn_notifications(
        &account,
        shown.clone(),
        Arc::new(std::sync::RwLock::new(NotificationPrefs::default())),
    );
    let running = account.start();
    eventually("the request is raised", || {
        let raised = shown.of_kind(NotificationKind::ApprovalRequested) == 1;
        async move { raised }
    })
    .await;
    moved.store(true, Ordering::SeqCst);
    // Changes are considered in order: once the next request is raised, the move was too.
    eventually("the next request is raised", || {
        let raised = shown.of_kind(NotificationKind::ApprovalRequested) == 2;
        async move { raised }
    })
    .await;
    assert_eq!(
        account
            .approval("apr_1")
            .await
            .expect("kept")
            .approval
            .status,
        ApprovalStatus::Unknown
    );
    assert_eq!(shown.of_kind(NotificationKind::ApprovalResolved), 0);
    assert_eq!(shown.withdrawn(), Vec::<String>::new());
    running.stop().await;
}

/// The escalation policy is saved after the core checked that the server's holds nothing this
/// version would drop by saving: against a server of this version, it saves.
#[tokio::test]
async fn a_manager_saves_the_escalation_policy_this_version_reads_whole() {
    let world = World::start_with_oncall().await;
    let marco = world.login(&world.core("marco"), "manager@acme.test").await;
    let mut policy = marco.escalation_policy().await.expect("read");
    policy.repeat = 2;
    let saved = marco
        .put_escalation_policy(policy)
        .await
        .expect("saved: nothing in it is beyond this version");
    assert_eq!(saved.repeat, 2);
}

/// A newer server's policy holds a setting this version does not know: saving from here would
/// drop it, so the core refuses, says to update, and sends nothing.
#[tokio::test]
async fn a_policy_with_a_newer_servers_setting_is_not_saved_over_from_an_older_app() {
    let world = World::start().await;
    let puts = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = puts.clone();
    let policy = json!({"applies_to": ["critical"], "levels": [{"after_s": 0, "targets": ["oncall_now"]}],
        "repeat": 0, "version": 4, "quiet_weekends": true});
    let router = Router::new()
        .route(
            "/api/v1/auth/login",
            post(|| async { Json(crate::hostile::token_pair()) }),
        )
        .route(
            "/api/v1/escalation-policy",
            get(move || async move { Json(policy) }).put(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async { Json(json!({})) }
            }),
        );
    let account = signed_in_to(&world, router).await;
    let read = account
        .escalation_policy()
        .await
        .expect("read, as far as it goes");
    let refused = account
        .put_escalation_policy(read)
        .await
        .expect_err("refused")
        .to_string();
    assert!(refused.contains("quiet_weekends"), "{refused}");
    assert!(refused.contains("Update the app"), "{refused}");
    assert_eq!(puts.load(Ordering::SeqCst), 0, "nothing was sent");
}
