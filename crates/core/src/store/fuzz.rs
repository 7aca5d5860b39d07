//! Random event streams into a real cache: whatever arrives, the cache never errors (but for
//! gaps), keeps every seq, and stays sound.

use proptest::prelude::*;
use serde_json::json;
use spartex_api::Event;

use super::{new_cache_key, Store};

fn data(kind: usize, id: usize, version: i64) -> (String, serde_json::Value) {
    let at = "2026-11-28T10:00:00Z";
    match kind {
        0 => (
            "approval.upserted".into(),
            json!({"id": format!("apr_{id}"), "project_id": "prj_1", "agent_id": null, "task_id": null,
            "kind": "publish_ad", "title": "t", "summary": "s", "payload": {}, "preview": null, "risk": "high", "status": "pending",
            "created_at": at, "expires_at": at, "on_expiry": "reject", "decided_by": null, "decided_at": null, "comment": null, "version": version}),
        ),
        1 => (
            "agent.upserted".into(),
            json!({"id": format!("agt_{id}"), "project_id": "prj_1", "name": "Quill", "role": "Copywriter",
            "model": "gpt-5", "status": "working", "current_task_id": null, "last_heartbeat_at": null, "tokens_used": 1, "cost_usd": 0.1, "version": version}),
        ),
        2 => (
            "message.created".into(),
            json!({"id": format!("msg_{id}_{version}"), "project_id": "prj_1", "agent_id": null, "author_kind": "agent",
            "author_id": null, "author_name": "Quill", "body": "hi", "created_at": at, "client_msg_id": null}),
        ),
        3 => ("agent.upserted".into(), json!({"id": id, "broken": true})),
        _ => ("from.the.future".into(), json!({"whatever": id})),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn any_stream_of_events_leaves_a_sound_cache(stream in prop::collection::vec((0usize..5, 0usize..6, 1i64..6), 1..120), split in 1usize..40) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = Store::open(&dir.path().join("c.db"), &new_cache_key()).await.expect("opens");
            let events: Vec<Event> = stream.iter().enumerate().map(|(i, (kind, id, version))| {
                let (kind, data) = data(*kind, *id, *version);
                Event { seq: i as i64 + 1, kind, at: chrono::Utc::now(), project_id: Some("prj_1".into()), data }
            }).collect();
            for chunk in events.chunks(split) {
                store.apply_events(chunk).await.expect("applies");
                // Replaying what was applied is harmless.
                store.apply_events(chunk).await.expect("replays");
            }
            assert_eq!(store.last_seq().await.expect("seq"), events.len() as i64);
            assert_eq!(store.integrity_check().await.expect("check"), "ok");
        });
    }
}
