//! How each resource maps onto a stored document and its query columns.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;
use spartex_api::{Agent, Approval, Message, Project, Stop, Task};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Project,
    Agent,
    Task,
    Approval,
    Message,
    Stop,
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
            due_at_ms: Some(self.expires_at.timestamp_millis()),
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
