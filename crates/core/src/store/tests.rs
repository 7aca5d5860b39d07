//! The cache on its own: a real SQLCipher file in a temp folder.

use chrono::Utc;
use serde_json::json;
use spartex_api::{Approval, ApprovalStatus, Decision, Event, Risk};

use super::views::{ProjectSummary, Thread};
use super::{new_cache_key, QueuedAction, Store, StoreError};
use crate::{Change, Outcome};

pub(super) async fn store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("cache.db"), &new_cache_key())
        .await
        .expect("opens");
    (store, dir)
}

/// A cache file at `path` as an older build left it: migrated up to, not including, `version`.
/// Open it with `Store::open` afterwards to upgrade it.
pub(super) async fn cache_migrated_before(
    path: &std::path::Path,
    key: &crate::Secret,
    version: i64,
) -> sqlx::SqlitePool {
    let all = sqlx::migrate!("./migrations");
    let older = sqlx::migrate::Migrator {
        migrations: all
            .iter()
            .filter(|m| m.version < version)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    let pool = super::pool_options()
        .max_connections(1)
        .connect_with(super::connect_options(path, key).expect("options"))
        .await
        .expect("opens");
    older.run(&pool).await.expect("the older build's schema");
    pool
}

fn approval(id: &str, version: i64, status: ApprovalStatus) -> Approval {
    Approval {
        id: id.into(),
        summary: "Bloom & Co linen dresses".into(),
        status,
        version,
        ..Approval::example()
    }
}

pub(super) fn event(seq: i64, kind: &str, data: serde_json::Value) -> Event {
    Event {
        seq,
        kind: kind.into(),
        at: Utc::now(),
        project_id: Some("prj_1".into()),
        data,
    }
}

pub(super) fn approval_event(seq: i64, version: i64, status: ApprovalStatus) -> Event {
    event(
        seq,
        "approval.upserted",
        serde_json::to_value(approval("apr_1", version, status)).expect("json"),
    )
}

#[tokio::test]
async fn applying_the_same_events_twice_changes_nothing() {
    let (store, _dir) = store().await;
    let events = vec![
        approval_event(1, 1, ApprovalStatus::Pending),
        approval_event(2, 2, ApprovalStatus::Approved),
    ];
    let first = store.apply_events(&events).await.expect("applies");
    assert_eq!((first.applied, first.last_seq), (2, 2));
    let again = store.apply_events(&events).await.expect("replay");
    assert_eq!(
        again.applied, 0,
        "events at or below the stored seq are skipped"
    );
    assert!(again.changes.is_empty());
    let view = store
        .approval("apr_1")
        .await
        .expect("reads")
        .expect("cached");
    assert_eq!(view.approval.status, ApprovalStatus::Approved);
}

#[tokio::test]
async fn an_older_version_never_overwrites_a_newer_one() {
    let (store, _dir) = store().await;
    store
        .apply_events(&[approval_event(1, 5, ApprovalStatus::Rejected)])
        .await
        .expect("applies");
    let stale = store
        .apply_events(&[approval_event(2, 3, ApprovalStatus::Pending)])
        .await
        .expect("applies");
    assert_eq!(stale.last_seq, 2, "the seq still advances");
    assert!(stale.changes.is_empty());
    let view = store
        .approval("apr_1")
        .await
        .expect("reads")
        .expect("cached");
    assert_eq!(
        (view.approval.version, view.approval.status),
        (5, ApprovalStatus::Rejected)
    );
}

#[tokio::test]
async fn a_gap_applies_nothing_and_says_where() {
    let (store, _dir) = store().await;
    store
        .apply_events(&[approval_event(1, 1, ApprovalStatus::Pending)])
        .await
        .expect("applies");
    let gap = store
        .apply_events(&[approval_event(5, 2, ApprovalStatus::Approved)])
        .await;
    assert!(
        matches!(gap, Err(StoreError::Gap { last: 1, next: 5 })),
        "{gap:?}"
    );
    assert_eq!(store.last_seq().await.expect("seq"), 1);
}

#[tokio::test]
async fn unknown_or_malformed_events_are_kept_not_lost_and_do_not_block_sync() {
    let (store, _dir) = store().await;
    let events = vec![
        event(1, "budget.rebalanced", json!({"anything": true})),
        event(2, "approval.upserted", json!({"id": 42})),
        approval_event(3, 1, ApprovalStatus::Pending),
        // Chat is read as it is written, apart from the rest: a bad one is kept as well.
        event(4, "message.created", json!({"id": "msg_1", "body": 7})),
    ];
    let batch = store.apply_events(&events).await.expect("applies");
    assert_eq!((batch.applied, batch.rejected, batch.last_seq), (4, 3, 4));
    let kept: Vec<i64> = sqlx::query_scalar("SELECT seq FROM rejected_events ORDER BY seq")
        .fetch_all(&store.reader)
        .await
        .expect("reads");
    assert_eq!(kept, [1, 2, 4]);
    assert!(store.approval("apr_1").await.expect("reads").is_some());
}

#[tokio::test]
async fn the_file_on_disk_is_encrypted_and_another_key_cannot_open_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    let store = Store::open(&path, &key).await.expect("opens");
    store
        .apply_events(&[approval_event(1, 1, ApprovalStatus::Pending)])
        .await
        .expect("applies");
    store.close().await;
    let bytes = std::fs::read(&path).expect("file");
    assert!(
        !bytes.starts_with(b"SQLite format 3"),
        "a plain SQLite header means no encryption"
    );
    assert!(
        !bytes.windows(10).any(|w| w == b"Bloom & Co"),
        "content must not be readable on disk"
    );
    let wrong = Store::open(&path, &new_cache_key()).await;
    assert!(
        matches!(wrong, Err(StoreError::Unreadable { .. })),
        "{:?}",
        wrong.err()
    );
    let right = Store::open(&path, &key).await.expect("reopens");
    assert_eq!(right.last_seq().await.expect("seq"), 1);
    assert_eq!(right.integrity_check().await.expect("check"), "ok");
}

#[tokio::test]
async fn search_finds_approvals_and_messages_by_their_words() {
    let (store, _dir) = store().await;
    let message = json!({
        "id": "msg_1", "project_id": "prj_1", "agent_id": null, "author_kind": "agent", "author_id": "agt_1",
        "author_name": "Quill", "body": "Drafted three TikTok hooks for the linen launch", "created_at": Utc::now(),
        "client_msg_id": null
    });
    store
        .apply_events(&[
            approval_event(1, 1, ApprovalStatus::Pending),
            event(2, "message.created", message),
        ])
        .await
        .expect("applies");
    let hits = store.search("tiktok", 10).await.expect("searches");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].kind, hits[0].id.as_str()),
        (super::views::SearchHitKind::Message, "msg_1")
    );
    let hits = store.search("bloom", 10).await.expect("searches");
    assert_eq!(hits[0].kind, super::views::SearchHitKind::Approval);
    assert!(store
        .search("\"OR ( -", 10)
        .await
        .expect("odd input is no error")
        .is_empty());
}

#[tokio::test]
async fn search_follows_a_renamed_task_and_progress_alone_keeps_one_hit() {
    let (store, _dir) = store().await;
    let task = |version: i64, title: &str, progress: i64| {
        json!({"id": "tsk_1", "project_id": "prj_1", "agent_id": null, "title": title, "status": "running",
            "progress": progress, "updated_at": Utc::now(), "version": version})
    };
    store
        .apply_events(&[
            event(1, "task.upserted", task(1, "Write the linen ad set", 10)),
            event(2, "task.upserted", task(2, "Write the linen ad set", 50)),
        ])
        .await
        .expect("applies");
    assert_eq!(store.search("linen", 10).await.expect("searches").len(), 1);
    store
        .apply_events(&[event(
            3,
            "task.upserted",
            task(3, "Write the wool ad set", 60),
        )])
        .await
        .expect("applies");
    assert!(store
        .search("linen", 10)
        .await
        .expect("searches")
        .is_empty());
    assert_eq!(store.search("wool", 10).await.expect("searches").len(), 1);
}

#[tokio::test]
async fn a_queued_decision_shows_at_once_and_is_undone_when_refused() {
    let (store, _dir) = store().await;
    store
        .apply_events(&[approval_event(1, 1, ApprovalStatus::Pending)])
        .await
        .expect("applies");
    let action = QueuedAction::Decide {
        approval_id: "apr_1".into(),
        title: "Publish the spring hero ad".into(),
        decision: Decision::Approve,
        comment: None,
        seen_version: 1,
    };
    let entry = store
        .enqueue(action.prepare(Utc::now()))
        .await
        .expect("queues");
    assert_eq!(
        store
            .approval("apr_1")
            .await
            .expect("reads")
            .expect("cached")
            .sending,
        Some(Decision::Approve)
    );
    assert_eq!(store.outbox().await.expect("outbox").len(), 1);

    let mut winner = approval("apr_1", 2, ApprovalStatus::Rejected);
    winner.comment = Some("not this week".into());
    let outcome = Outcome {
        at: Utc::now(),
        result: crate::OutcomeResult::AlreadyDecided,
        action: entry.label.clone(),
        message: "Already rejected by Dana Whitfield (oncall) at 10:32 UTC.".into(),
        approval_id: Some("apr_1".into()),
        project_id: None,
    };
    store
        .outbox_refused(
            &entry,
            &outcome,
            Some(spartex_api::EventPayload::Approval(winner)),
        )
        .await
        .expect("refused");
    let view = store
        .approval("apr_1")
        .await
        .expect("reads")
        .expect("cached");
    assert_eq!(
        (view.sending, view.approval.status),
        (None, ApprovalStatus::Rejected)
    );
    assert!(store.outbox().await.expect("outbox").is_empty());
    assert_eq!(store.outcomes(5).await.expect("outcomes")[0], outcome);
}

#[tokio::test]
async fn stops_are_delivered_before_everything_else() {
    let (store, _dir) = store().await;
    let message = QueuedAction::Message {
        project_id: "prj_1".into(),
        agent_id: None,
        body: "hello".into(),
        author_name: "Dana".into(),
    };
    store
        .enqueue(message.prepare(Utc::now()))
        .await
        .expect("queues");
    store
        .enqueue(
            QueuedAction::StopAll {
                reason: "incident".into(),
            }
            .prepare(Utc::now()),
        )
        .await
        .expect("queues");
    let order: Vec<_> = store
        .outbox()
        .await
        .expect("outbox")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(order, [super::OutboxKind::Stop, super::OutboxKind::Message]);
    let pending = store
        .messages("prj_1", &Thread::Everything, 10)
        .await
        .expect("messages");
    assert!(pending[0].sending, "a queued message shows as sending");
}

#[tokio::test]
async fn a_changed_schedule_says_to_read_who_is_on_call_again_once_per_batch() {
    let (store, _dir) = store().await;
    let config = json!({"layers": [], "overrides": [], "updated_at": Utc::now(), "version": 1});
    let batch = store
        .apply_events(&[
            event(1, "oncall.updated", config.clone()),
            approval_event(2, 1, ApprovalStatus::Pending),
            event(3, "oncall.updated", config),
        ])
        .await
        .expect("applies");
    let on_call = batch
        .changes
        .iter()
        .filter(|c| matches!(c, Change::OnCall))
        .count();
    assert_eq!(on_call, 1, "{:?}", batch.changes);
    let quiet = store
        .apply_events(&[approval_event(4, 2, ApprovalStatus::Approved)])
        .await
        .expect("applies");
    assert!(!quiet.changes.iter().any(|c| matches!(c, Change::OnCall)));
}

#[tokio::test]
async fn a_confirmed_message_replaces_its_local_copy() {
    let (store, _dir) = store().await;
    let action = QueuedAction::Message {
        project_id: "prj_1".into(),
        agent_id: None,
        body: "hello".into(),
        author_name: "Dana".into(),
    };
    let entry = store
        .enqueue(action.prepare(Utc::now()))
        .await
        .expect("queues");
    let confirmed = json!({
        "id": "msg_9", "project_id": "prj_1", "agent_id": null, "author_kind": "user", "author_id": "usr_1",
        "author_name": "Dana", "body": "hello", "created_at": Utc::now(), "client_msg_id": entry.client_msg_id
    });
    let changes = store
        .outbox_delivered(
            &entry,
            spartex_api::EventPayload::Message(
                serde_json::from_value(confirmed.clone()).expect("a message"),
            ),
            None,
        )
        .await
        .expect("delivered");
    assert!(matches!(changes.as_slice(), [Change::Message { .. }]));
    store
        .apply_events(&[event(1, "message.created", confirmed)])
        .await
        .expect("the echo is harmless");
    let messages = store
        .messages("prj_1", &Thread::Everything, 10)
        .await
        .expect("messages");
    assert_eq!(
        messages.len(),
        1,
        "one copy, not the local one and the server's"
    );
    assert!(!messages[0].sending);
}

#[tokio::test]
async fn the_dashboard_counts_agents_and_approvals_and_flags_an_undelivered_stop() {
    let (store, _dir) = store().await;
    let at = "2026-11-28T10:00:00Z";
    let project = |id: &str, name: &str| {
        json!({"id": id, "name": name, "description": "", "status": "active",
        "budget_usd": 100.0, "spent_usd": 10.0, "created_at": at, "updated_at": at, "version": 1})
    };
    let agent = |id: &str, project: &str, status: &str| {
        json!({"id": id, "project_id": project, "name": id, "role": "Copywriter",
        "model": "gpt-5", "status": status, "current_task_id": null, "last_heartbeat_at": null, "tokens_used": 0, "cost_usd": 0.0, "version": 1})
    };
    store
        .apply_events(&[
            event(1, "project.upserted", project("prj_1", "Spring")),
            event(2, "project.upserted", project("prj_2", "Autumn")),
            event(3, "agent.upserted", agent("a1", "prj_1", "working")),
            event(4, "agent.upserted", agent("a2", "prj_1", "error")),
            event(
                5,
                "agent.upserted",
                agent("a3", "prj_2", "waiting_approval"),
            ),
            approval_event(6, 1, ApprovalStatus::Pending),
            event(
                7,
                "approval.upserted",
                json!(Approval {
                    risk: Risk::Critical,
                    ..approval("apr_decided", 2, ApprovalStatus::Approved)
                }),
            ),
        ])
        .await
        .expect("applies");
    store
        .enqueue(
            QueuedAction::StopProject {
                project_id: "prj_1".into(),
                project_name: "Spring".into(),
                reason: String::new(),
            }
            .prepare(Utc::now()),
        )
        .await
        .expect("queues");
    store
        .enqueue(
            QueuedAction::StopAll {
                reason: String::new(),
            }
            .prepare(Utc::now()),
        )
        .await
        .expect("queues");
    let rows = store.dashboard().await.expect("dashboard");
    let names: Vec<&str> = rows.iter().map(|r| r.project.name.as_str()).collect();
    assert_eq!(names, ["Autumn", "Spring"], "each project once, by name");
    let spring = &rows[1];
    let for_ui = store.dashboard_json().await.expect("dashboard as JSON");
    assert_eq!(
        serde_json::to_string(&for_ui).expect("writes"),
        for_ui.as_str(),
        "the UI gets the cache's JSON as it is"
    );
    assert_eq!(
        format!(
            "{:?}",
            serde_json::from_str::<Vec<ProjectSummary>>(for_ui.as_str()).expect("rows")
        ),
        format!("{rows:?}")
    );
    // The SQL writes the row's keys by hand: they are the typed row's, no more, no fewer.
    let keys = |value: &serde_json::Value| -> Vec<String> {
        let object = value.as_object().expect("an object");
        let mut keys: Vec<String> = object.keys().cloned().collect();
        keys.extend(
            object["project"]
                .as_object()
                .expect("a project")
                .keys()
                .map(|k| format!("project.{k}")),
        );
        keys.sort();
        keys
    };
    let sent: serde_json::Value = serde_json::from_str(for_ui.as_str()).expect("JSON");
    let typed = serde_json::to_value(&rows).expect("values");
    for (sent, typed) in sent
        .as_array()
        .expect("rows")
        .iter()
        .zip(typed.as_array().expect("rows"))
    {
        assert_eq!(keys(sent), keys(typed));
    }
    assert_eq!(
        (
            spring.agents_total,
            spring.agents_working,
            spring.agents_error,
            spring.pending_approvals
        ),
        (2, 1, 1, 1)
    );
    assert_eq!(
        (spring.pending_top_risk, rows[0].pending_top_risk),
        (Some(Risk::High), None),
        "the highest risk still waiting, not one decided"
    );
    assert!(
        rows.iter().all(|r| r.stop_sending),
        "a queued stop of everything covers every project"
    );
    assert_eq!(rows[0].agents_waiting, 1);
    assert!(spring.last_activity.is_some());
}

#[tokio::test]
async fn the_dashboards_json_holds_any_name_and_a_project_without_agents_or_activity() {
    let (store, _dir) = store().await;
    let at = "2026-11-28T10:00:00Z";
    let awkward = "Q4 \"launch\" \\ plan\n— Zürich 🚀 </script>";
    store
        .apply_events(&[
            event(1, "project.upserted", json!({"id": "prj_1", "name": awkward, "description": "a\tb",
                "status": "paused", "budget_usd": 1e9, "spent_usd": 0.1, "created_at": at, "updated_at": at, "version": 7})),
            event(2, "project.upserted", json!({"id": "prj_2", "name": "", "description": "",
                "status": "active", "budget_usd": 0.0, "spent_usd": 0.0, "created_at": at, "updated_at": at, "version": 1})),
        ])
        .await
        .expect("applies");
    sqlx::query("UPDATE projects SET last_activity = '' WHERE id = 'prj_2'")
        .execute(&store.writer)
        .await
        .expect("a project with no activity");

    let json: serde_json::Value =
        serde_json::from_str(store.dashboard_json().await.expect("dashboard").as_str())
            .expect("JSON");
    let rows = json.as_array().expect("an array");
    assert_eq!(
        rows[0]["project"]["id"], "prj_2",
        "the empty name sorts first"
    );
    assert_eq!(rows[0]["agents_total"], 0);
    assert_eq!(rows[0]["last_activity"], serde_json::Value::Null);
    assert_eq!(rows[0]["stop_sending"], false);
    assert_eq!(rows[1]["project"]["name"], awkward);
    assert_eq!(rows[1]["project"]["description"], "a\tb");
    assert_eq!(rows[1]["project"]["budget_usd"], 1e9);
    assert_eq!(rows[1]["pending_approvals"], 0);
    let last = rows[1]["last_activity"].as_str().expect("a time");
    assert_eq!(
        last.parse::<chrono::DateTime<Utc>>().expect("RFC 3339"),
        at.parse::<chrono::DateTime<Utc>>().expect("RFC 3339")
    );
}

#[tokio::test]
async fn a_damaged_project_row_fails_the_dashboard_read_instead_of_sending_broken_json() {
    let (store, _dir) = store().await;
    let at = "2026-11-28T10:00:00Z";
    store
        .apply_events(&[event(1, "project.upserted", json!({"id": "prj_1", "name": "Spring", "description": "",
            "status": "active", "budget_usd": 1.0, "spent_usd": 0.0, "created_at": at, "updated_at": at, "version": 1}))])
        .await
        .expect("applies");
    sqlx::query(r#"UPDATE projects SET data = '{"id": "prj_1", "name": ' WHERE id = 'prj_1'"#)
        .execute(&store.writer)
        .await
        .expect("a damaged row");
    assert!(matches!(
        store.dashboard_json().await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.dashboard().await,
        Err(StoreError::Corrupt(_))
    ));
}

#[tokio::test]
async fn actions_queued_by_an_older_build_survive_the_upgrade_as_typed_requests() {
    let (store, _dir) = store().await;
    let legacy = [
        (
            "decision",
            "/api/v1/approvals/apr_1/decision",
            r#"{"decision":"approve","comment":null,"seen_version":2}"#,
            Some("apr_1"),
            None,
        ),
        (
            "message",
            "/api/v1/projects/prj_1/messages",
            r#"{"body":"hold the launch","agent_id":null,"client_msg_id":"c1"}"#,
            None,
            Some("prj_1"),
        ),
        (
            "stop",
            "/api/v1/projects/prj_1/stop",
            r#"{"reason":"runaway spend"}"#,
            None,
            Some("prj_1"),
        ),
        (
            "stop",
            "/api/v1/stop",
            r#"{"reason":"all hands"}"#,
            None,
            None,
        ),
        (
            "resume",
            "/api/v1/projects/prj_1/resume",
            "{}",
            None,
            Some("prj_1"),
        ),
    ];
    for (n, (kind, path, body, approval_id, project_id)) in legacy.into_iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox (kind, priority, idempotency_key, method, path, body, label, approval_id, project_id, created_at) \
             VALUES (?, 0, ?, 'POST', ?, ?, 'legacy', ?, ?, '2026-12-01T10:00:00Z')",
        )
        .bind(kind)
        .bind(format!("key-{n}"))
        .bind(path)
        .bind(body)
        .bind(approval_id)
        .bind(project_id)
        .execute(&store.writer)
        .await
        .expect("a row as an older build wrote it");
    }
    sqlx::raw_sql(
        include_str!("../../migrations/20261202000000_typed_outbox.sql")
            .replace("ALTER TABLE outbox ADD COLUMN request TEXT;", "")
            .as_str(),
    )
    .execute(&store.writer)
    .await
    .expect("the upgrade converts them");
    let routes: Vec<(&str, String)> = store
        .outbox()
        .await
        .expect("every converted row reads back")
        .iter()
        .map(|entry| entry.request.route())
        .collect();
    assert_eq!(
        routes,
        [
            ("POST", "/api/v1/approvals/apr_1/decision".to_owned()),
            ("POST", "/api/v1/projects/prj_1/messages".to_owned()),
            ("POST", "/api/v1/projects/prj_1/stop".to_owned()),
            ("POST", "/api/v1/stop".to_owned()),
            ("POST", "/api/v1/projects/prj_1/resume".to_owned()),
        ]
    );
}

/// The app and the CLI open the same cache file at once: each writes while the other reads and
/// writes, and neither may fail with "database is locked".
#[tokio::test]
async fn two_processes_writing_one_cache_wait_for_each_other() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    let app = Store::open(&path, &key).await.expect("the app opens it");
    let cli = Store::open(&path, &key)
        .await
        .expect("the CLI opens it too");
    let applying = tokio::spawn(async move {
        for seq in 1..=200 {
            app.apply_events(&[approval_event(seq, seq, ApprovalStatus::Pending)])
                .await
                .expect("the app applies while the CLI writes");
        }
    });
    for n in 0..200 {
        cli.set_meta("cli_marker", &n.to_string())
            .await
            .expect("the CLI writes while the app applies");
        let action = QueuedAction::StopAll {
            reason: format!("drill {n}"),
        };
        cli.enqueue(action.prepare(Utc::now()))
            .await
            .expect("the CLI queues while the app applies");
    }
    applying.await.expect("the app's writer finished");
}

#[tokio::test]
async fn an_approval_reads_as_stopped_while_its_project_is_stopped_or_a_stop_waits() {
    let (store, _dir) = store().await;
    let at = "2026-11-28T10:00:00Z";
    let project = |status: &str, version: i64| {
        json!({"id": "prj_1", "name": "Spring", "description": "", "status": status,
        "budget_usd": 100.0, "spent_usd": 10.0, "created_at": at, "updated_at": at, "version": version})
    };
    store
        .apply_events(&[
            event(1, "project.upserted", project("active", 1)),
            approval_event(2, 1, ApprovalStatus::Pending),
        ])
        .await
        .expect("applies");
    let stopped = |store: Store| async move {
        store
            .approval("apr_1")
            .await
            .expect("reads")
            .expect("cached")
            .project_stopped
    };
    assert!(!stopped(store.clone()).await, "an active project");

    let stop = QueuedAction::StopProject {
        project_id: "prj_1".into(),
        project_name: "Spring".into(),
        reason: "runaway spend".into(),
    };
    let entry = store
        .enqueue(stop.prepare(Utc::now()))
        .await
        .expect("queues");
    assert!(
        stopped(store.clone()).await,
        "a stop of it waits to be sent"
    );

    let outcome = Outcome {
        at: Utc::now(),
        result: crate::OutcomeResult::Refused,
        action: entry.label.clone(),
        message: "refused".into(),
        approval_id: None,
        project_id: Some("prj_1".into()),
    };
    store
        .outbox_refused(&entry, &outcome, None)
        .await
        .expect("the stop is settled");
    assert!(!stopped(store.clone()).await, "nothing waits any more");

    store
        .apply_events(&[event(3, "project.upserted", project("stopped", 2))])
        .await
        .expect("applies");
    assert!(stopped(store.clone()).await, "the project is stopped");
}

#[tokio::test]
async fn a_batch_moves_each_projects_last_activity_to_its_newest_message_and_never_back() {
    let (store, _dir) = store().await;
    let project = |id: &str, name: &str| {
        json!({"id": id, "name": name, "description": "", "status": "active", "budget_usd": 10.0,
            "spent_usd": 0.0, "created_at": "2026-11-28T09:00:00Z", "updated_at": "2026-11-28T09:00:00Z", "version": 1})
    };
    let message = |id: &str, project_id: &str, at: &str| {
        json!({"id": id, "project_id": project_id, "agent_id": null, "author_kind": "agent", "author_id": "agt_1",
            "author_name": "Quill", "body": "done", "created_at": at, "client_msg_id": null})
    };
    let activity = |store: Store| async move {
        let rows = store.dashboard().await.expect("dashboard");
        rows.iter()
            .map(|r| {
                (
                    r.project.name.clone(),
                    r.last_activity.map(|at| at.to_rfc3339()),
                )
            })
            .collect::<Vec<_>>()
    };
    store
        .apply_events(&[
            event(1, "project.upserted", project("prj_1", "Autumn")),
            event(2, "project.upserted", project("prj_2", "Spring")),
            event(
                3,
                "message.created",
                message("msg_1", "prj_1", "2026-11-28T10:00:00Z"),
            ),
            event(
                4,
                "message.created",
                message("msg_2", "prj_1", "2026-11-28T11:00:00Z"),
            ),
            event(
                5,
                "message.created",
                message("msg_3", "prj_2", "2026-11-28T10:30:00Z"),
            ),
        ])
        .await
        .expect("applies");
    let after_first = activity(store.clone()).await;
    assert_eq!(
        after_first,
        [
            (
                "Autumn".to_owned(),
                Some("2026-11-28T11:00:00+00:00".to_owned())
            ),
            (
                "Spring".to_owned(),
                Some("2026-11-28T10:30:00+00:00".to_owned())
            ),
        ]
    );
    // A late-delivered older message leaves the newer activity where it was.
    store
        .apply_events(&[event(
            6,
            "message.created",
            message("msg_0", "prj_1", "2026-11-28T08:00:00Z"),
        )])
        .await
        .expect("applies");
    assert_eq!(activity(store.clone()).await, after_first);
}

/// A command reads, then closes the cache and exits: every connection must be closed by then, or
/// SQLCipher tears one down on its own thread while the C library's exit handlers run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_leaves_no_connection_open_when_the_last_query_just_ended() {
    for round in 0..40 {
        let (store, _dir) = store().await;
        store
            .set_meta("round", &round.to_string())
            .await
            .expect("writes");
        let (round_read, last_seq, missing) =
            tokio::join!(store.meta("round"), store.last_seq(), store.meta("missing"));
        assert_eq!(round_read.expect("reads"), Some(round.to_string()));
        assert_eq!(last_seq.expect("reads"), 0);
        assert_eq!(missing.expect("reads"), None);
        store.close().await;
        assert_eq!(
            (store.reader.size(), store.writer.size()),
            (0, 0),
            "round {round}: connections still open after close"
        );
    }
}

/// sqlx's pool maintenance task can spin a thread for good (see `pool_options`): no pool of the
/// cache may start one.
#[tokio::test]
async fn the_cache_pools_run_no_maintenance_task() {
    let (store, _dir) = store().await;
    for pool in [&store.reader, &store.writer] {
        let options = pool.options();
        assert_eq!(
            (
                options.get_min_connections(),
                options.get_idle_timeout(),
                options.get_max_lifetime()
            ),
            (0, None, None)
        );
    }
}

/// A write cancelled wherever it is, its `BEGIN` included (a task aborted at sign-out), leaves
/// the cache writable (see `release.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cancelled_as_it_begins_leaves_the_cache_writable() {
    let (store, _dir) = store().await;
    let store = std::sync::Arc::new(store);
    for round in 0..2_000u64 {
        let writer = store.clone();
        let cancelled = tokio::spawn(async move {
            let _tx = writer.begin_write().await;
            tokio::task::yield_now().await;
        });
        // Cancel it 0-300 µs in: before, during and after the worker's `BEGIN`.
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_micros(round % 300) {
            std::hint::spin_loop();
        }
        cancelled.abort();
        let _ = cancelled.await;
        let next = store.begin_write().await;
        assert!(next.is_ok(), "round {round}: {:?}", next.err());
    }
}

#[tokio::test]
async fn spend_is_kept_per_day_and_agent_and_an_older_caches_costs_carry_over() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    // An older build kept each cost: two on Dec 1 by Quill, one by Iris.
    let older = cache_migrated_before(&path, &key, 20261207000001).await;
    for (seq, at, agent, tokens, cost) in [
        (1, "2026-12-01T09:00:00.000000Z", "agt_quill", 100, 1.25),
        (2, "2026-12-01T17:30:00.000000Z", "agt_quill", 50, 0.5),
        (3, "2026-12-01T18:00:00.000000Z", "agt_iris", 10, 2.0),
    ] {
        sqlx::query("INSERT INTO costs (seq, project_id, agent_id, at, tokens, cost_usd) VALUES (?, 'prj_1', ?, ?, ?, ?)")
            .bind(seq)
            .bind(agent)
            .bind(at)
            .bind(tokens)
            .bind(cost)
            .execute(&older)
            .await
            .expect("a cost as the older build kept it");
    }
    older.close().await;

    let store = Store::open(&path, &key).await.expect("upgrades");
    let at = "2026-12-01T08:00:00Z";
    let cost = |seq: i64, at: &str, agent: &str, cost_usd: f64| {
        event(
            seq,
            "cost.recorded",
            json!({"project_id": "prj_1", "agent_id": agent, "at": at, "model": "gpt-5",
                   "tokens_in": 7, "tokens_out": 3, "cost_usd": cost_usd, "budget_state": "ok",
                   "project_spent_usd": 10.0, "project_budget_usd": 100.0}),
        )
    };
    store
        .apply_events(&[
            event(
                1,
                "project.upserted",
                json!({"id": "prj_1", "name": "Spring", "description": "",
                "status": "active", "budget_usd": 100.0, "spent_usd": 10.0, "created_at": at,
                "updated_at": at, "version": 1}),
            ),
            cost(2, "2026-12-01T23:59:59Z", "agt_quill", 0.25),
            cost(3, "2026-12-02T00:00:00Z", "agt_quill", 3.0),
            cost(4, "2026-12-02T12:00:00Z", "agt_quill", 1.0),
        ])
        .await
        .expect("applies");
    let view = store
        .project("prj_1")
        .await
        .expect("reads")
        .expect("cached");
    let spend: Vec<(&str, &str, f64, i64)> = view
        .spend_by_day
        .iter()
        .map(|p| (p.day.as_str(), p.agent_id.as_str(), p.cost_usd, p.tokens))
        .collect();
    assert_eq!(
        spend,
        [
            ("2026-12-01", "agt_iris", 2.0, 10),
            ("2026-12-01", "agt_quill", 2.0, 160),
            ("2026-12-02", "agt_quill", 4.0, 20),
        ]
    );
}

#[tokio::test]
async fn a_resume_an_older_build_queued_goes_in_the_order_taken_with_the_stops() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    let older = cache_migrated_before(&path, &key, 20261207000002).await;
    for (n, (kind, priority, endpoint)) in
        [("resume", 1, "resume_project"), ("stop", 0, "stop_project")]
            .into_iter()
            .enumerate()
    {
        sqlx::query(
            "INSERT INTO outbox (kind, priority, idempotency_key, method, path, body, request, label, project_id, created_at) \
             VALUES (?, ?, ?, 'POST', '/', '{}', json_object('endpoint', ?, 'project_id', 'prj_1', 'body', json('{}')), ?, 'prj_1', '2026-12-07T10:00:00Z')",
        )
        .bind(kind)
        .bind(priority)
        .bind(format!("key-{n}"))
        .bind(endpoint)
        .bind(kind)
        .execute(&older)
        .await
        .expect("queued as the older build did");
    }
    older.close().await;

    let store = Store::open(&path, &key).await.expect("upgrades");
    let order: Vec<String> = store
        .outbox()
        .await
        .expect("reads")
        .into_iter()
        .map(|entry| entry.label)
        .collect();
    assert_eq!(order, ["resume", "stop"], "the resume was taken first");
}
