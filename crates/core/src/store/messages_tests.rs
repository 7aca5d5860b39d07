//! Messages kept as columns (`messages.rs`): every field reads back as the server sent it or as
//! it was written here, and a cache whose messages an older build kept as JSON reads the same
//! after the upgrade, search included.

use chrono::{DateTime, TimeZone, Utc};
use spartex_api::{AuthorKind, Event, Message};

use super::tests::{cache_migrated_before, store};
use super::views::Thread;
use super::{new_cache_key, QueuedAction, Store};

/// To the microsecond, as the cache keeps times.
fn at(second: u32, micros: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, second).unwrap()
        + chrono::Duration::microseconds(micros.into())
}

/// One message of each author kind, with and without the optional fields.
fn server_messages() -> Vec<Message> {
    vec![
        Message {
            id: "msg_1".into(),
            project_id: "prj_1".into(),
            agent_id: Some("agt_quill".into()),
            author_kind: AuthorKind::Agent,
            author_id: Some("agt_quill".into()),
            author_name: "Quill".into(),
            body: "Drafted three **linen** hooks; the second tests best.".into(),
            created_at: at(1, 250_001),
            client_msg_id: None,
        },
        Message {
            id: "msg_2".into(),
            project_id: "prj_1".into(),
            agent_id: Some("agt_quill".into()),
            author_kind: AuthorKind::User,
            author_id: Some("usr_dana".into()),
            author_name: "Dana Whitfield".into(),
            body: "Ship the second one, keep the claims to what legal cleared.".into(),
            created_at: at(2, 0),
            client_msg_id: Some("c0ffee".into()),
        },
        Message {
            id: "msg_3".into(),
            project_id: "prj_1".into(),
            agent_id: None,
            author_kind: AuthorKind::System,
            author_id: None,
            author_name: "Spartex".into(),
            body: "Budget at 80 % of the month's cap.".into(),
            created_at: at(3, 999_999),
            client_msg_id: None,
        },
    ]
}

fn created(seq: i64, message: &Message) -> Event {
    Event {
        seq,
        kind: "message.created".into(),
        at: message.created_at,
        project_id: Some(message.project_id.clone()),
        data: serde_json::to_value(message).expect("a message"),
    }
}

async fn every_thread(store: &Store) -> Vec<Message> {
    store
        .messages("prj_1", &Thread::Everything, 10)
        .await
        .expect("reads")
        .into_iter()
        .map(|view| view.message)
        .collect()
}

#[tokio::test]
async fn a_message_reads_back_as_the_server_sent_it() {
    let (store, _dir) = store().await;
    let sent = server_messages();
    let events: Vec<Event> = (1..).zip(&sent).map(|(seq, m)| created(seq, m)).collect();
    store.apply_events(&events).await.expect("applies");
    assert_eq!(every_thread(&store).await, sent);
    let agent_thread = store
        .messages(
            "prj_1",
            &Thread::Agent {
                agent_id: "agt_quill".into(),
            },
            10,
        )
        .await
        .expect("reads");
    assert_eq!(
        agent_thread.iter().map(|v| &v.message).collect::<Vec<_>>(),
        [&sent[0], &sent[1]]
    );
}

/// The project's own thread is read by itself: the newest messages of the agents' threads, however
/// many, do not push it out of the page read (it was read among every thread and filtered after).
#[tokio::test]
async fn the_project_thread_is_not_pushed_out_by_the_agents_threads() {
    let (store, _dir) = store().await;
    let mut sent = server_messages();
    let in_the_project_thread = sent.remove(2);
    let chatter = (0..30).map(|n| Message {
        id: format!("msg_chatter_{n}"),
        created_at: at(10 + n, 0),
        ..sent[0].clone()
    });
    let messages: Vec<Message> = std::iter::once(in_the_project_thread.clone())
        .chain(chatter)
        .collect();
    let events: Vec<Event> = (1..)
        .zip(&messages)
        .map(|(seq, m)| created(seq, m))
        .collect();
    store.apply_events(&events).await.expect("applies");

    let thread = store
        .messages("prj_1", &Thread::Project, 10)
        .await
        .expect("reads");
    assert_eq!(
        thread.iter().map(|v| &v.message).collect::<Vec<_>>(),
        [&in_the_project_thread]
    );
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT id FROM messages \
         WHERE project_id = 'prj_1' AND agent_id IS NULL ORDER BY created_at DESC, id DESC LIMIT 10",
    )
    .fetch_all(&store.reader)
    .await
    .expect("a plan");
    let plan: Vec<String> = plan.into_iter().map(|(.., detail)| detail).collect();
    assert!(
        plan.iter()
            .any(|step| step.contains("messages_in_project_threads")),
        "the project thread is read by its own index: {plan:?}"
    );
    let everything = store
        .messages("prj_1", &Thread::Everything, 10)
        .await
        .expect("reads");
    assert_eq!(everything.len(), 10);
    assert!(everything.iter().all(|v| v.message.agent_id.is_some()));
}

#[tokio::test]
async fn a_time_finer_than_a_microsecond_reads_back_cut_to_the_microsecond() {
    let (store, _dir) = store().await;
    let sent = Message {
        created_at: at(7, 250_001) + chrono::Duration::nanoseconds(999),
        ..server_messages().remove(0)
    };
    store
        .apply_events(&[created(1, &sent)])
        .await
        .expect("applies");
    assert_eq!(
        every_thread(&store).await,
        [Message {
            created_at: at(7, 250_001),
            ..sent
        }]
    );
}

/// Queues a message written here at `at`, as the app does, and returns its local copy.
async fn write_here(store: &Store, at: DateTime<Utc>) -> Message {
    let prepared = QueuedAction::Message {
        project_id: "prj_1".into(),
        agent_id: Some("agt_quill".into()),
        body: "Hold the Meta set until Monday.".into(),
        author_name: "Dana Whitfield".into(),
    }
    .prepare(at);
    let crate::actions::LocalEffect::PendingMessage(local) = &prepared.effect else {
        panic!("a message shows before it is sent");
    };
    let local = (**local).clone();
    store.enqueue(prepared).await.expect("queues");
    local
}

#[tokio::test]
async fn a_message_written_here_reads_back_as_sending_until_the_server_has_it() {
    let (store, _dir) = store().await;
    let local = write_here(&store, at(5, 123_456)).await;

    let thread = store
        .messages("prj_1", &Thread::Everything, 10)
        .await
        .expect("reads");
    assert_eq!(thread.len(), 1);
    assert!(thread[0].sending);
    assert_eq!(thread[0].message, local);

    let confirmed = Message {
        id: "msg_9".into(),
        author_id: Some("usr_dana".into()),
        ..local.clone()
    };
    store
        .apply_events(&[created(1, &confirmed)])
        .await
        .expect("applies");
    let thread = store
        .messages("prj_1", &Thread::Everything, 10)
        .await
        .expect("reads");
    assert_eq!(thread.len(), 1, "the server's copy replaces the local one");
    assert!(!thread[0].sending);
    assert_eq!(thread[0].message, confirmed);
}

/// Messages are read and written a hundred at a time while the batch's other events are read
/// (`apply.rs`, `overlapped.rs`): a batch of several hundred, with heartbeats among them, a local
/// copy confirmed in a later hundred and an unreadable message, is applied whole and in order.
#[tokio::test]
async fn a_long_batch_keeps_every_message_and_replaces_a_local_copy_in_any_hundred() {
    let (store, _dir) = store().await;
    let local = write_here(&store, at(5, 0)).await;

    let message = |n: i64| Message {
        id: format!("msg_{n}"),
        body: format!("Draft {n} of the spring hero ad."),
        created_at: at(10, 0) + chrono::Duration::seconds(n),
        ..server_messages()[0].clone()
    };
    let heartbeat = |seq: i64, n: i64| Event {
        seq,
        kind: "agent.upserted".into(),
        at: at(10, 0),
        project_id: Some("prj_1".into()),
        data: serde_json::json!({"id": "agt_quill", "project_id": "prj_1", "name": "Quill",
            "role": "Copywriter", "model": "gpt-5", "status": "working", "current_task_id": null,
            "last_heartbeat_at": "2026-11-28T10:00:00Z", "tokens_used": n, "cost_usd": 0.5, "version": n}),
    };
    let mut events = Vec::new();
    for seq in 1..=450 {
        events.push(match seq {
            _ if seq % 5 == 0 => heartbeat(seq, seq),
            151 => Event {
                data: serde_json::json!({"id": "msg_bad", "body": ["not", "text"]}),
                ..created(seq, &message(seq))
            },
            333 => created(
                seq,
                &Message {
                    id: "msg_confirmed".into(),
                    ..local.clone()
                },
            ),
            _ => created(seq, &message(seq)),
        });
    }
    let batch = store.apply_events(&events).await.expect("applies");
    assert_eq!(
        (batch.applied, batch.rejected, batch.last_seq),
        (450, 1, 450)
    );

    let thread = store
        .messages("prj_1", &Thread::Everything, 1_000)
        .await
        .expect("reads");
    assert_eq!(
        thread.len(),
        450 - 90 - 1,
        "every readable message, and no local copy"
    );
    assert!(thread.iter().all(|view| !view.sending));
    assert!(thread
        .iter()
        .any(|view| view.message.id == "msg_confirmed" && view.message.body == local.body));
    let quill: i64 = sqlx::query_scalar("SELECT version FROM agents WHERE id = 'agt_quill'")
        .fetch_one(&store.reader)
        .await
        .expect("kept");
    assert_eq!(quill, 450, "the newest heartbeat");

    let kinds: Vec<&str> = batch
        .changes
        .iter()
        .map(|change| match change {
            crate::Change::Agent { .. } => "agent",
            crate::Change::Message { .. } => "message",
            other => panic!("unexpected change {other:?}"),
        })
        .collect();
    let agent_at = kinds.iter().position(|kind| *kind == "agent");
    assert_eq!(
        agent_at,
        Some(359),
        "the messages, then one agent change (resources last)"
    );
    assert_eq!(kinds.len(), 359 + 1);
}

#[tokio::test]
async fn messages_an_older_build_kept_as_json_read_the_same_after_the_upgrade() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    let older = cache_migrated_before(&path, &key, 20261206000002).await;
    let kept = server_messages();
    let sending = Message {
        id: "local:c0ffee".into(),
        author_id: None,
        body: "Hold the wool set until Monday.".into(),
        created_at: at(4, 0),
        ..kept[1].clone()
    };
    {
        let mut tx = older.begin().await.expect("a transaction");
        // Rowids with gaps, as deletes leave them: the index is keyed by rowid.
        let rows = [
            (10, &kept[0], 0),
            (20, &kept[1], 0),
            (30, &kept[2], 0),
            (40, &sending, 1),
        ];
        for (rowid, m, pending) in rows {
            sqlx::query(
                "INSERT INTO messages (rowid, id, project_id, agent_id, created_at, client_msg_id, pending, title, body, data) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(rowid)
            .bind(&m.id)
            .bind(&m.project_id)
            .bind(&m.agent_id)
            .bind(super::sortable_time(&m.created_at))
            .bind(&m.client_msg_id)
            .bind(pending)
            .bind(&m.author_name)
            .bind(&m.body)
            .bind(serde_json::to_string(m).expect("JSON"))
            .execute(&mut *tx)
            .await
            .expect("a message as the older build wrote it");
        }
        sqlx::query("INSERT INTO index_fts_queues VALUES (NULL)")
            .execute(&mut *tx)
            .await
            .expect("indexed as the older build did at commit");
        tx.commit().await.expect("commits");
    }
    older.close().await;

    let store = Store::open(&path, &key).await.expect("upgrades");
    let thread = store
        .messages("prj_1", &Thread::Everything, 10)
        .await
        .expect("reads");
    assert_eq!(
        thread
            .iter()
            .map(|view| (&view.message, view.sending))
            .collect::<Vec<_>>(),
        [
            (&kept[0], false),
            (&kept[1], false),
            (&kept[2], false),
            (&sending, true)
        ]
    );
    sqlx::query("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
        .execute(&store.reader)
        .await
        .expect("the index still matches the rows");
    let words = [
        ("linen", "msg_1"),
        ("legal", "msg_2"),
        ("budget", "msg_3"),
        ("wool", "local:c0ffee"),
    ];
    for (word, id) in words {
        let found = store.search(word, 10).await.expect("searches");
        assert_eq!(
            found.iter().map(|hit| hit.id.as_str()).collect::<Vec<_>>(),
            [id],
            "`{word}`"
        );
    }
}
