//! Property-based fuzzing of every parser a client runs on what a server sends: no input may
//! panic, and what serializes must parse back to the same value.

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::{AgentControl, ErrorBody, Event, StreamFrame, SyncPage, TokenPair};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("approval.upserted"),
            Just("agent.upserted"),
            Just("project.upserted"),
            Just("message.created"),
            Just("hello"),
            Just("resync_required"),
            Just("pending"),
            Just("critical"),
            Just("2026-11-28T10:00:00Z"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("seq".to_owned()),
                    Just("type".to_owned()),
                    Just("data".to_owned()),
                    Just("head".to_owned()),
                    Just("id".to_owned()),
                    Just("status".to_owned()),
                    Just("version".to_owned()),
                    Just("at".to_owned()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..8,
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_any_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = serde_json::from_slice::<StreamFrame>(&bytes);
        let _ = serde_json::from_slice::<ErrorBody>(&bytes);
        let _ = serde_json::from_slice::<SyncPage>(&bytes);
        let _ = serde_json::from_slice::<AgentControl>(&bytes);
        let _ = serde_json::from_slice::<TokenPair>(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics_and_events_decode_or_say_why(value in arbitrary_json()) {
        if let Ok(StreamFrame::Event(event)) = serde_json::from_value::<StreamFrame>(value.clone()) {
            // Either a typed payload or an error naming the kind: never a panic.
            match event.payload() {
                Ok(payload) => prop_assert_eq!(payload.kind().as_str(), event.kind.as_str()),
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
        }
        let _ = serde_json::from_value::<ErrorBody>(value.clone());
        let _ = serde_json::from_value::<AgentControl>(value);
    }

    #[test]
    fn events_round_trip(seq in 1i64..i64::MAX, kind in "[a-z]{1,8}\\.[a-z]{1,8}", data in arbitrary_json()) {
        let event = Event { seq, kind, at: chrono::DateTime::UNIX_EPOCH, project_id: None, data };
        let text = serde_json::to_string(&event).expect("serializes");
        let back: Event = serde_json::from_str(&text).expect("parses back");
        prop_assert_eq!(back, event);
    }
}
