//! A burst of alerts (the requests waiting at a fresh sign-in, an agent filing many at once)
//! shows a few one by one and counts the rest in one summary, which follows them as they are
//! answered and goes with the last.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use axum::extract::Query;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use spartex_api::Approval;
use spartex_core::alerts::spawn_notifications;
use spartex_core::notify::{NotificationKind, NotificationPrefs};
use spartex_core::rules::burst::{ALERTS_SUMMARY_KEY, REQUESTS_SUMMARY_KEY, SHOWN_AT_ONCE};

use spartex_core::{Account, Secret};

use crate::catch_up::{serve, token_pair};
use crate::hostile::SyncAsked;
use crate::ladder::{online, Shown};
use crate::support::{eventually, World};

const AGENTS: [&str; 3] = ["Quill", "Iris", "Ledger"];

#[tokio::test]
async fn a_burst_of_requests_shows_a_few_and_counts_the_rest_until_they_are_answered() {
    let world = World::start().await;
    let mut asked = Vec::new();
    for n in 0..6 {
        let agent = AGENTS[n % AGENTS.len()];
        asked.push(world.ask(agent, &format!("Publish variant {n}")).await);
    }
    // A fresh sign-in: the six arrive with the first catch-up.
    let olivia = world.login(&world.core("olivia"), "owner@acme.test").await;
    let shown = notified(&olivia);
    let running = olivia.start();
    let alone = SHOWN_AT_ONCE as usize;
    summary_reads(&shown, "3 more requests wait for you").await;
    assert_eq!(shown.of_kind(NotificationKind::ApprovalRequested), alone);

    // Live, two more while the budget is spent: counted, not shown.
    for n in 6..8 {
        asked.push(world.ask("Quill", &format!("Publish variant {n}")).await);
    }
    summary_reads(&shown, "5 more requests wait for you").await;
    assert_eq!(shown.of_kind(NotificationKind::ApprovalRequested), alone);
    let summary = shown.on_screen(REQUESTS_SUMMARY_KEY).expect("on screen");
    assert!(summary.body.starts_with("5 requests\n"), "{}", summary.body);
    assert!(!summary.urgent, "none of them is critical");

    // Answered elsewhere, each leaves the summary; the last takes it away.
    let manager = world.server_token("manager@acme.test").await;
    let held = held(&shown, &asked);
    assert_eq!(held.len(), 5);
    for (answered, approval) in held.iter().enumerate() {
        let id = approval["id"].as_str().expect("an id");
        let (status, decided) = world
            .post(
                &manager,
                &format!("/api/v1/approvals/{id}/decision"),
                json!({"decision": "reject", "seen_version": approval["version"]}),
            )
            .await;
        assert_eq!(status, 200, "{decided}");
        match 4 - answered {
            0 => {
                eventually("the summary goes with the last", || {
                    let gone = shown.on_screen(REQUESTS_SUMMARY_KEY).is_none();
                    async move { gone }
                })
                .await
            }
            1 => summary_reads(&shown, "1 more request waits for you").await,
            left => summary_reads(&shown, &format!("{left} more requests wait for you")).await,
        }
    }
    assert!(shown
        .withdrawn()
        .iter()
        .any(|key| key == REQUESTS_SUMMARY_KEY));
    assert_eq!(
        shown.of_kind(NotificationKind::ApprovalRequested),
        alone,
        "none of the held ones was shown on its own"
    );
    running.stop().await;
}

/// Escalations paging one person at once are a burst of urgent requests: a few are shown on
/// their own, and the rest are counted in a summary that is urgent too, so the held ones page
/// as loudly as the shown.
#[tokio::test]
async fn pages_in_a_burst_hold_the_rest_back_in_an_urgent_summary() {
    let world = World::start_with_oncall().await;
    let (_olivia, running, shown) = online(&world, "owner@acme.test", "olivia").await;
    let pages = SHOWN_AT_ONCE as usize + 2;
    for n in 0..pages {
        let (status, approval) = world
            .post(
                &world.agent_token("Quill"),
                "/api/v1/agent/approvals",
                json!({"kind": "spend_budget", "title": format!("Raise cap {n} to $900"),
                       "payload": {}, "risk": "critical", "expires_in_s": 3600}),
            )
            .await;
        assert_eq!(status, 201, "{approval}");
    }
    // Critical requests go on the ladder; the owners' level names her after 15 minutes.
    world.clock.advance(chrono::Duration::seconds(900));
    summary_reads(&shown, "2 more requests wait for you").await;
    assert_eq!(
        shown.of_kind(NotificationKind::ApprovalRequested),
        SHOWN_AT_ONCE as usize
    );
    let summary = shown.on_screen(REQUESTS_SUMMARY_KEY).expect("on screen");
    assert!(summary.urgent, "it holds pages");
    assert!(
        summary.body.starts_with("2 requests, 2 urgent\n"),
        "{}",
        summary.body
    );
    running.stop().await;
}

/// What `account`'s notifications show, with the default settings.
fn notified(account: &Account) -> Arc<Shown> {
    let shown = Arc::new(Shown::default());
    let prefs = Arc::new(RwLock::new(NotificationPrefs::default()));
    spawn_notifications(account, shown.clone(), prefs);
    shown
}

/// The requests of `asked` not shown on their own: those the summary holds.
fn held<'a>(shown: &Shown, asked: &'a [Value]) -> Vec<&'a Value> {
    (asked.iter())
        .filter(|approval| {
            let id = approval["id"].as_str().expect("an id");
            shown.on_screen(&format!("approval:{id}")).is_none()
        })
        .collect()
}

async fn summary_reads(shown: &Shown, title: &str) {
    summary_with(shown, REQUESTS_SUMMARY_KEY, title).await;
}

/// Agents failing together are summed up apart from the requests, which keep their own budget,
/// and an agent at work again leaves the summary.
#[tokio::test]
async fn failing_agents_hold_back_no_request_and_leave_the_summary_when_back_at_work() {
    let world = World::start().await;
    let olivia = world.login(&world.core("olivia"), "owner@acme.test").await;
    olivia.catch_up().await.expect("catches up");
    let shown = notified(&olivia);
    let running = olivia.start();
    let failing = ["Quill", "Iris", "Ledger", "Verse", "Ink"];
    for agent in failing {
        heartbeat(&world, agent, "error").await;
    }
    let alerts = ALERTS_SUMMARY_KEY;
    summary_with(&shown, alerts, "2 more agents stopped on an error").await;
    assert_eq!(shown.of_kind(NotificationKind::AgentError), 3);

    world.ask("Quill", "Publish the spring hero ad").await;
    eventually("the request is shown on its own", || {
        let alone = shown.of_kind(NotificationKind::ApprovalRequested) == 1;
        async move { alone }
    })
    .await;
    assert!(shown.on_screen(REQUESTS_SUMMARY_KEY).is_none());

    heartbeat(&world, "Verse", "working").await;
    summary_with(&shown, alerts, "1 more agent stopped on an error").await;
    heartbeat(&world, "Ink", "working").await;
    eventually("the summary goes with the last", || {
        let gone = shown.on_screen(alerts).is_none();
        async move { gone }
    })
    .await;
    running.stop().await;
}

async fn heartbeat(world: &World, agent: &str, status: &str) {
    let (code, body) = world
        .post(
            &world.agent_token(agent),
            "/api/v1/agent/heartbeat",
            json!({ "status": status }),
        )
        .await;
    assert!((200..300).contains(&code), "{code}: {body}");
}

async fn summary_with(shown: &Shown, key: &str, title: &str) {
    eventually(&format!("the summary reads {title:?}"), || {
        let summary = shown.on_screen(key);
        let reads = summary.is_some_and(|summary| summary.title == title);
        async move { reads }
    })
    .await;
}

/// Held requests answered meanwhile leave the summary when the cache is rebuilt from snapshots
/// (a month away, a server restored from a backup), where no change tells of their answer.
#[tokio::test]
async fn held_requests_answered_before_a_rebuild_from_snapshots_leave_the_summary() {
    let world = World::start().await;
    let asked: Vec<Value> = (0..5)
        .map(|n| {
            let approval = Approval {
                id: format!("apr_{n}"),
                title: format!("Publish variant {n}"),
                ..Approval::example()
            };
            serde_json::to_value(approval).expect("JSON")
        })
        .collect();
    let still_listed = Arc::new(Mutex::new(asked.clone()));
    let rebuilt = Arc::new(AtomicBool::new(false));
    let url = serve(rebuilding_server(&asked, &still_listed, &rebuilt)).await;
    let dana = (world.core("dana"))
        .login(&url, "dana@evil.test", &Secret::new("pw"))
        .await
        .expect("signs in");
    let shown = notified(&dana);
    dana.catch_up().await.expect("catches up");
    summary_reads(&shown, "2 more requests wait for you").await;

    // Answered elsewhere while away; the server's log no longer reaches back that far.
    let answered: Vec<Value> = held(&shown, &asked).into_iter().cloned().collect();
    assert_eq!(answered.len(), 2);
    still_listed
        .lock()
        .expect("lock")
        .retain(|approval| !answered.contains(approval));
    rebuilt.store(true, Ordering::SeqCst);
    let report = dana.catch_up().await.expect("catches up");
    assert!(report.resynced, "{report:?}");
    eventually("the summary goes with what it held", || {
        let gone = shown.on_screen(REQUESTS_SUMMARY_KEY).is_none();
        async move { gone }
    })
    .await;
    assert_eq!(shown.of_kind(NotificationKind::ApprovalRequested), 3);
}

/// A server whose log holds `asked` as they were asked, until `rebuilt`: then its log starts
/// past them (`resync_required`) and its snapshot lists what is `still_listed`.
fn rebuilding_server(
    asked: &[Value],
    still_listed: &Arc<Mutex<Vec<Value>>>,
    rebuilt: &Arc<AtomicBool>,
) -> Router {
    let log: Vec<Value> = (asked.iter().zip(1..))
        .map(|(approval, seq)| {
            json!({"seq": seq, "type": "approval.upserted", "at": approval["created_at"],
                   "project_id": approval["project_id"], "data": approval})
        })
        .collect();
    let (listed, on_sync) = (still_listed.clone(), rebuilt.clone());
    Router::new()
        .route("/api/v1/auth/login", post(|| async { Json(token_pair()) }))
        .route("/api/v1/projects", get(|| async { Json(json!([])) }))
        .route("/api/v1/stops", get(|| async { Json(json!([])) }))
        .route(
            "/api/v1/approvals",
            get(move || {
                let listed = listed.lock().expect("lock").clone();
                async move { Json(Value::Array(listed)) }
            }),
        )
        .route(
            "/api/v1/sync",
            get(move |Query(query): Query<SyncAsked>| {
                let page = if !on_sync.load(Ordering::SeqCst) {
                    let events: Vec<&Value> = (log.iter())
                        .filter(|event| event["seq"].as_i64() > Some(query.since))
                        .collect();
                    json!({"events": events, "head": log.len(), "resync_required": false})
                } else {
                    let behind = query.since < 100;
                    json!({"events": [], "head": 100, "resync_required": behind})
                };
                async move { Json(page) }
            }),
        )
}
