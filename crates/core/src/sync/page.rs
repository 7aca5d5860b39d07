//! `GET /sync` pages read an event at a time, so one envelope this build cannot read fails
//! that event alone.

use serde::Deserialize;
use serde_json::value::RawValue;
use spartex_api::{Endpoint, Event, Method};

/// `GET /sync` ([`spartex_api::endpoints::Sync`]) with its events read one at a time
/// ([`SyncPage::read`]): one envelope this build cannot read (a `seq` that is not a number, an
/// `at` that is not RFC 3339) fails that event alone, not the page, which would fail every
/// catch-up from then on.
pub(super) struct SyncLeniently(pub spartex_api::endpoints::Sync);

impl Endpoint for SyncLeniently {
    const METHOD: Method = Method::Get;
    type Body = ();
    type Answer = RawSyncPage;

    fn path(&self) -> String {
        self.0.path()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        self.0.query()
    }
}

#[derive(Deserialize)]
pub(super) struct RawSyncPage {
    events: Vec<Box<RawValue>>,
    pub head: i64,
    resync_required: bool,
}

/// A `GET /sync` page with each event read ([`read_event`]).
pub(super) struct SyncPage {
    pub events: Vec<Event>,
    pub head: i64,
    pub resync_required: bool,
}

impl SyncPage {
    pub(super) fn read(raw: RawSyncPage) -> SyncPage {
        SyncPage {
            events: raw
                .events
                .iter()
                .filter_map(|event| read_event(event))
                .collect(),
            head: raw.head,
            resync_required: raw.resync_required,
        }
    }
}

/// One event of a page; an envelope this build cannot read, see [`unreadable_envelope`].
fn read_event(raw: &RawValue) -> Option<Event> {
    serde_json::from_str(raw.get())
        .or_else(|error| unreadable_envelope(raw.get(), &error).ok_or(()))
        .ok()
}

/// The type of the stand-in for an event whose envelope this build cannot read: no server's
/// type, so the cache keeps it in `rejected_events` as it keeps the events it cannot read.
const UNREADABLE_ENVELOPE: &str = "client.unreadable_envelope";

/// A stand-in for an event whose envelope (`text`) this build cannot read, when its `seq` can
/// be read: it takes that `seq`, so the cache goes on past it (skipped, the next event would
/// be a gap, for ever), and carries the envelope and why it was refused, so the cache keeps
/// them with the events it could not read. None without a `seq`: skipped, with a warning.
pub(super) fn unreadable_envelope(text: &str, error: &serde_json::Error) -> Option<Event> {
    let envelope: serde_json::Value = serde_json::from_str(text).ok()?;
    let Some(seq) = envelope.get("seq").and_then(serde_json::Value::as_i64) else {
        let shown: String = text.chars().take(120).collect();
        tracing::warn!(%error, event = %shown, "skipped an event without a seq this build can read");
        return None;
    };
    tracing::warn!(seq, %error, "an event's envelope is unreadable; kept as rejected and passed over");
    Some(Event {
        seq,
        kind: UNREADABLE_ENVELOPE.to_owned(),
        at: chrono::Utc::now(),
        project_id: None,
        data: serde_json::json!({"error": error.to_string(), "envelope": envelope}),
    })
}
