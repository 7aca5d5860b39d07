//! The per-tenant event log as it travels over the socket and `GET /api/v1/sync`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::resources::wire_enum;
use crate::{Agent, Approval, CostRecord, Message, OnCallConfig, Project, Stop, Task};

wire_enum!(
    /// The kinds of event the log holds. Clients skip kinds they do not know.
    EventKind {
        ProjectUpserted => "project.upserted",
        AgentUpserted => "agent.upserted",
        TaskUpserted => "task.upserted",
        ApprovalUpserted => "approval.upserted",
        MessageCreated => "message.created",
        CostRecorded => "cost.recorded",
        StopUpserted => "stop.upserted",
        OncallUpdated => "oncall.updated",
    }
);

/// One entry of a tenant's log: `seq` numbers them 1, 2, 3, … with no gaps.
///
/// `kind` stays a string so that a client meets a newer server's event kinds as data it can
/// skip, not as a parse failure; [`Event::payload`] gives the typed resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: DateTime<Utc>,
    pub project_id: Option<String>,
    /// The whole resource after the change.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub data: Value,
}

/// The typed resource an event carries.
// Payloads are decoded one at a time and applied at once; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum EventPayload {
    Project(Project),
    Agent(Agent),
    Task(Task),
    Approval(Approval),
    Message(Message),
    Cost(CostRecord),
    Stop(Stop),
    OnCall(OnCallConfig),
}

/// Why an event's payload could not be read.
#[derive(Debug)]
pub enum PayloadError {
    /// A kind this build does not know: skip it, a newer server sent it.
    UnknownKind(String),
    /// A known kind whose data does not match the resource.
    Malformed {
        kind: EventKind,
        source: serde_json::Error,
    },
}

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PayloadError::UnknownKind(kind) => write!(f, "unknown event type `{kind}`"),
            PayloadError::Malformed { kind, source } => {
                write!(f, "malformed `{kind}` event: {source}")
            }
        }
    }
}

impl std::error::Error for PayloadError {}

impl EventPayload {
    pub fn kind(&self) -> EventKind {
        match self {
            EventPayload::Project(_) => EventKind::ProjectUpserted,
            EventPayload::Agent(_) => EventKind::AgentUpserted,
            EventPayload::Task(_) => EventKind::TaskUpserted,
            EventPayload::Approval(_) => EventKind::ApprovalUpserted,
            EventPayload::Message(_) => EventKind::MessageCreated,
            EventPayload::Cost(_) => EventKind::CostRecorded,
            EventPayload::Stop(_) => EventKind::StopUpserted,
            EventPayload::OnCall(_) => EventKind::OncallUpdated,
        }
    }

    /// The project the resource belongs to, if any.
    pub fn project_id(&self) -> Option<&str> {
        match self {
            EventPayload::Project(p) => Some(&p.id),
            EventPayload::Agent(a) => Some(&a.project_id),
            EventPayload::Task(t) => Some(&t.project_id),
            EventPayload::Approval(a) => Some(&a.project_id),
            EventPayload::Message(m) => Some(&m.project_id),
            EventPayload::Cost(c) => Some(&c.project_id),
            EventPayload::Stop(s) => s.project_id.as_deref(),
            EventPayload::OnCall(_) => None,
        }
    }

    /// The resource as JSON.
    pub fn to_value(&self) -> Value {
        let value = match self {
            EventPayload::Project(r) => serde_json::to_value(r),
            EventPayload::Agent(r) => serde_json::to_value(r),
            EventPayload::Task(r) => serde_json::to_value(r),
            EventPayload::Approval(r) => serde_json::to_value(r),
            EventPayload::Message(r) => serde_json::to_value(r),
            EventPayload::Cost(r) => serde_json::to_value(r),
            EventPayload::Stop(r) => serde_json::to_value(r),
            EventPayload::OnCall(r) => serde_json::to_value(r),
        };
        // These are plain structs of strings, numbers and maps: serializing cannot fail.
        value.unwrap_or(Value::Null)
    }
}

macro_rules! payload_from {
    ($($resource:ident => $variant:ident),+) => {
        $(impl From<$resource> for EventPayload {
            fn from(resource: $resource) -> Self {
                EventPayload::$variant(resource)
            }
        })+
    };
}
payload_from!(Project => Project, Agent => Agent, Task => Task, Approval => Approval, Message => Message, CostRecord => Cost, Stop => Stop, OnCallConfig => OnCall);

impl Event {
    pub fn payload(&self) -> Result<EventPayload, PayloadError> {
        let kind: EventKind = self
            .kind
            .parse()
            .map_err(|_| PayloadError::UnknownKind(self.kind.clone()))?;
        // Read from the borrowed tree: no copy of the event's JSON per event.
        let data = &self.data;
        let malformed = |source| PayloadError::Malformed { kind, source };
        Ok(match kind {
            EventKind::ProjectUpserted => {
                EventPayload::Project(Deserialize::deserialize(data).map_err(malformed)?)
            }
            EventKind::AgentUpserted => {
                EventPayload::Agent(Deserialize::deserialize(data).map_err(malformed)?)
            }
            EventKind::TaskUpserted => {
                EventPayload::Task(Deserialize::deserialize(data).map_err(malformed)?)
            }
            EventKind::ApprovalUpserted => {
                EventPayload::Approval(Deserialize::deserialize(data).map_err(malformed)?)
            }
            EventKind::MessageCreated => {
                EventPayload::Message(Deserialize::deserialize(data).map_err(malformed)?)
            }
            EventKind::CostRecorded => {
                EventPayload::Cost(Deserialize::deserialize(data).map_err(malformed)?)
            }
            EventKind::StopUpserted => {
                EventPayload::Stop(Deserialize::deserialize(data).map_err(malformed)?)
            }
            EventKind::OncallUpdated => {
                EventPayload::OnCall(Deserialize::deserialize(data).map_err(malformed)?)
            }
        })
    }
}

/// A frame on the client event socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StreamFrame {
    Control(ControlFrame),
    Event(Event),
}

/// The socket's own frames, told from events by their `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ControlFrame {
    /// First frame of every connection: the log's head when the socket opened.
    Hello { head: i64 },
    /// `since` is older than the log keeps: fetch fresh snapshots, then resume from `head`.
    ResyncRequired { head: i64 },
}

/// `GET /api/v1/sync` answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncPage {
    pub events: Vec<Event>,
    pub head: i64,
    pub resync_required: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_event_kinds_are_skippable_not_fatal() {
        let event: Event = serde_json::from_str(
            r#"{"seq":3,"type":"budget.rebalanced","at":"2026-11-28T10:00:00Z","project_id":null,"data":{}}"#,
        )
        .expect("an unknown kind still parses as an event");
        assert!(
            matches!(event.payload(), Err(PayloadError::UnknownKind(k)) if k == "budget.rebalanced")
        );
    }

    #[test]
    fn frames_are_told_apart_by_type() {
        let hello: StreamFrame =
            serde_json::from_str(r#"{"type":"hello","head":7}"#).expect("hello");
        assert_eq!(hello, StreamFrame::Control(ControlFrame::Hello { head: 7 }));
        let resync: StreamFrame =
            serde_json::from_str(r#"{"type":"resync_required","head":9}"#).expect("resync");
        assert_eq!(
            resync,
            StreamFrame::Control(ControlFrame::ResyncRequired { head: 9 })
        );
        let event: StreamFrame = serde_json::from_str(
            r#"{"seq":1,"type":"message.created","at":"2026-11-28T10:00:00Z","project_id":"p","data":{}}"#,
        )
        .expect("event");
        assert!(matches!(event, StreamFrame::Event(e) if e.seq == 1));
    }

    #[test]
    fn a_known_kind_with_the_wrong_shape_is_malformed() {
        let event = Event {
            seq: 1,
            kind: "agent.upserted".into(),
            at: Utc::now(),
            project_id: None,
            data: serde_json::json!({"id": 5}),
        };
        assert!(matches!(
            event.payload(),
            Err(PayloadError::Malformed {
                kind: EventKind::AgentUpserted,
                ..
            })
        ));
    }
}
