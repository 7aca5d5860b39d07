//! How each resource maps onto a stored document and its query columns.

use super::StoreResult;
use axum::body::Bytes;
use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use spartex_api::{
    Agent, Approval, ApprovalStatus, EscalationPolicy, Message, OnCallConfig, Project, Stop, Task,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    Project,
    Agent,
    Task,
    Approval,
    Message,
    Stop,
    /// The tenant's on-call schedule and overrides: one document.
    OnCall,
    /// The tenant's escalation policy: one document.
    EscalationPolicy,
}

impl DocKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Project => "project",
            DocKind::Agent => "agent",
            DocKind::Task => "task",
            DocKind::Approval => "approval",
            DocKind::Message => "message",
            DocKind::Stop => "stop",
            DocKind::OnCall => "oncall",
            DocKind::EscalationPolicy => "escalation_policy",
        }
    }
}

/// A resource ready to store: its JSON and the columns queries use.
#[derive(Debug, Clone)]
pub struct Document {
    pub kind: DocKind,
    pub id: String,
    pub project_id: Option<String>,
    pub status: Option<String>,
    pub sort_key: String,
    pub due_at_ms: Option<i64>,
    pub lookup_key: Option<String>,
    pub data: Value,
}

/// A wire resource that is stored as a document.
pub trait Resource: Serialize + DeserializeOwned + Send + Sync {
    const KIND: DocKind;
    fn document(&self) -> Document;
}

/// A resource whose every stored change is one version step (all but messages, which never
/// change once posted).
pub trait Versioned: Resource {
    fn version_mut(&mut self) -> &mut i64;
}

macro_rules! versioned {
    ($($resource:ty),*) => {
        $(impl Versioned for $resource {
            fn version_mut(&mut self) -> &mut i64 {
                &mut self.version
            }
        })*
    };
}
versioned!(Project, Agent, Task, Approval, Stop, OnCallConfig);

/// Decodes a listing, leaving out (and reporting once) any row that no longer parses, so one
/// damaged row cannot take down a list, a stop or a sweep.
pub fn decode_all<R: Resource>(tenant_id: &str, values: Vec<Value>) -> Vec<R> {
    values
        .into_iter()
        .filter_map(|value| decode_one(tenant_id, value).ok())
        .collect()
}

/// Decodes one row; a row that no longer parses is reported once and answered as an error.
pub fn decode_one<R: Resource>(tenant_id: &str, value: Value) -> Result<R, serde_json::Error> {
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    serde_json::from_value(value).inspect_err(|error| {
        report_unreadable(tenant_id, R::KIND, &id.unwrap_or_default(), error);
    })
}

fn report_unreadable(tenant_id: &str, kind: DocKind, id: &str, error: &serde_json::Error) {
    if unreadable_rows::first_report(tenant_id, kind, id) {
        tracing::error!(tenant = tenant_id, kind = kind.as_str(), %id, %error,
            "a stored row does not parse; it is left out of listings until it is repaired");
    }
}

/// A listing as the API's JSON array, built from each row's stored JSON as it was written,
/// which is its wire form: joined, not decoded into the resource and encoded again. A row
/// that no longer decodes as its resource is left out and reported, as [`decode_all`] does.
pub fn wire_array(tenant_id: &str, kind: DocKind, rows: &[String]) -> Bytes {
    let mut array = Vec::with_capacity(rows.iter().map(|row| row.len() + 1).sum::<usize>() + 2);
    array.push(b'[');
    for row in rows {
        if let Err(error) = kind.check(row) {
            let id = serde_json::from_str::<Value>(row)
                .ok()
                .and_then(|value| value.get("id")?.as_str().map(str::to_owned));
            report_unreadable(tenant_id, kind, &id.unwrap_or_default(), &error);
            continue;
        }
        if array.len() > 1 {
            array.push(b',');
        }
        array.extend_from_slice(row.as_bytes());
    }
    array.push(b']');
    Bytes::from(array)
}

/// Each stored row of a listing as a value.
pub fn values(rows: &[String]) -> StoreResult<Vec<Value>> {
    rows.iter()
        .map(|data| Ok(serde_json::from_str(data)?))
        .collect()
}

impl DocKind {
    /// Whether `json` still decodes as this kind's resource.
    fn check(self, json: &str) -> Result<(), serde_json::Error> {
        fn decodes<R: DeserializeOwned>(json: &str) -> Result<(), serde_json::Error> {
            serde_json::from_str::<R>(json).map(drop)
        }
        match self {
            DocKind::Project => decodes::<Project>(json),
            DocKind::Agent => decodes::<Agent>(json),
            DocKind::Task => decodes::<Task>(json),
            DocKind::Approval => decodes::<Approval>(json),
            DocKind::Message => decodes::<Message>(json),
            DocKind::Stop => decodes::<Stop>(json),
            DocKind::OnCall => decodes::<OnCallConfig>(json),
            DocKind::EscalationPolicy => decodes::<EscalationPolicy>(json),
        }
    }
}

/// Which unreadable rows were already reported, so a row read on every request logs once.
mod unreadable_rows {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};

    use super::DocKind;

    const REMEMBERED: usize = 10_000;

    pub fn first_report(tenant_id: &str, kind: DocKind, id: &str) -> bool {
        static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
        let mut seen = SEEN
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() >= REMEMBERED {
            seen.clear();
        }
        seen.insert(format!("{tenant_id}/{}/{id}", kind.as_str()))
    }
}

fn doc<R: Serialize>(kind: DocKind, id: &str, resource: &R) -> Document {
    Document {
        kind,
        id: id.to_owned(),
        project_id: None,
        status: None,
        sort_key: String::new(),
        due_at_ms: None,
        lookup_key: None,
        // Plain structs of strings and numbers: serializing cannot fail.
        data: serde_json::to_value(resource).unwrap_or(Value::Null),
    }
}

impl Resource for Project {
    const KIND: DocKind = DocKind::Project;
    fn document(&self) -> Document {
        Document {
            status: Some(self.status.to_string()),
            sort_key: self.name.clone(),
            ..doc(Self::KIND, &self.id, self)
        }
    }
}

impl Resource for Agent {
    const KIND: DocKind = DocKind::Agent;
    fn document(&self) -> Document {
        Document {
            project_id: Some(self.project_id.clone()),
            status: Some(self.status.to_string()),
            sort_key: self.name.clone(),
            ..doc(Self::KIND, &self.id, self)
        }
    }
}

impl Resource for Task {
    const KIND: DocKind = DocKind::Task;
    fn document(&self) -> Document {
        Document {
            project_id: Some(self.project_id.clone()),
            status: Some(self.status.to_string()),
            sort_key: self.id.clone(),
            ..doc(Self::KIND, &self.id, self)
        }
    }
}

impl Resource for Approval {
    const KIND: DocKind = DocKind::Approval;
    fn document(&self) -> Document {
        Document {
            project_id: Some(self.project_id.clone()),
            status: Some(self.status.to_string()),
            sort_key: self
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            // While pending, its agent: how many an agent has waiting is counted from the index
            // alone. Once expired, only while an ask again is unanswered, and by its day: a
            // connecting agent reads the asks of the last day alone, however many lapsed.
            lookup_key: match (self.status, self.agent_id.as_deref()) {
                (ApprovalStatus::Pending, Some(agent_id)) => Some(pending_of_key(agent_id)),
                (_, Some(agent_id)) => self
                    .ask_again_requested_at
                    .filter(|_| self.ask_again_answered_by.is_none())
                    .map(|at| asked_again_key(agent_id, at.date_naive())),
                (_, None) => None,
            },
            // The sweeper's next look: the expiry, or the ladder's next level if sooner.
            due_at_ms: Some(
                self.escalation
                    .as_ref()
                    .and_then(|e| e.next_at)
                    .map_or(self.expires_at, |next| next.min(self.expires_at))
                    .timestamp_millis(),
            ),
            ..doc(Self::KIND, &self.id, self)
        }
    }
}

impl Resource for Message {
    const KIND: DocKind = DocKind::Message;
    fn document(&self) -> Document {
        Document {
            project_id: Some(self.project_id.clone()),
            // Ids are time-ordered (UUIDv7), so they break ties between equal timestamps.
            sort_key: format!(
                "{}|{}",
                self.created_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                self.id
            ),
            lookup_key: self.client_msg_id.clone(),
            ..doc(Self::KIND, &self.id, self)
        }
    }
}

impl Resource for Stop {
    const KIND: DocKind = DocKind::Stop;
    fn document(&self) -> Document {
        Document {
            project_id: self.project_id.clone(),
            status: Some(self.status.to_string()),
            sort_key: self
                .requested_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            due_at_ms: Some(self.requested_at.timestamp_millis()),
            ..doc(Self::KIND, &self.id, self)
        }
    }
}

/// The lookup key of an approval someone asked `agent_id` to propose again on `day` (UTC),
/// until it answers: what the agent's control socket and its next request look for, without
/// reading every request of its project.
pub fn asked_again_key(agent_id: &str, day: chrono::NaiveDate) -> String {
    format!("asked_again:{agent_id}:{day}")
}

/// The lookup key of `agent_id`'s pending approvals (the migration `pending_by_agent` writes
/// it for those stored before).
pub fn pending_of_key(agent_id: &str) -> String {
    format!("pending_of:{agent_id}")
}

/// The id of a tenant's one on-call document.
pub const ONCALL_ID: &str = "oncall";
/// The id of a tenant's one escalation policy document.
pub const POLICY_ID: &str = "policy";

impl Resource for OnCallConfig {
    const KIND: DocKind = DocKind::OnCall;
    fn document(&self) -> Document {
        doc(Self::KIND, ONCALL_ID, self)
    }
}

impl Resource for EscalationPolicy {
    const KIND: DocKind = DocKind::EscalationPolicy;
    fn document(&self) -> Document {
        doc(Self::KIND, POLICY_ID, self)
    }
}
