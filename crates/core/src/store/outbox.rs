//! The outbox: actions taken here wait with their optimistic effect, written in the same
//! transaction, until the server answers. Nothing is dropped silently: every end is an outcome.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use spartex_api::{AuthorKind, Decision, EventPayload, Message};

use super::apply::{write_grouped, Grouped};
use super::{Store, StoreResult};
use crate::{Change, Outcome};

/// What kind of action waits; the order is the delivery priority (stops first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    Stop,
    Resume,
    Decision,
    Message,
}

impl OutboxKind {
    fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Stop => "stop",
            OutboxKind::Resume => "resume",
            OutboxKind::Decision => "decision",
            OutboxKind::Message => "message",
        }
    }

    fn priority(self) -> i64 {
        match self {
            OutboxKind::Stop => 0,
            OutboxKind::Resume => 1,
            OutboxKind::Decision => 2,
            OutboxKind::Message => 3,
        }
    }

    fn parse(text: &str) -> OutboxKind {
        match text {
            "stop" => OutboxKind::Stop,
            "resume" => OutboxKind::Resume,
            "decision" => OutboxKind::Decision,
            _ => OutboxKind::Message,
        }
    }
}

/// An action to deliver.
#[derive(Debug, Clone)]
pub enum QueuedAction {
    Decide {
        approval_id: String,
        title: String,
        decision: Decision,
        comment: Option<String>,
        seen_version: i64,
    },
    Message {
        project_id: String,
        agent_id: Option<String>,
        body: String,
        author_name: String,
    },
    StopProject {
        project_id: String,
        project_name: String,
        reason: String,
    },
    StopAll {
        reason: String,
    },
    Resume {
        project_id: String,
        project_name: String,
    },
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: OutboxKind,
    pub idempotency_key: String,
    pub method: String,
    pub path: String,
    pub body: Value,
    /// What it is, in words: "Approve “Publish the spring hero ad”".
    pub label: String,
    pub approval_id: Option<String>,
    pub project_id: Option<String>,
    pub client_msg_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

type EntryRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    Option<String>,
);

fn entry_from(row: EntryRow) -> StoreResult<OutboxEntry> {
    let (
        id,
        kind,
        idempotency_key,
        method,
        path,
        body,
        label,
        approval_id,
        project_id,
        client_msg_id,
        created_at,
        attempts,
        last_error,
    ) = row;
    Ok(OutboxEntry {
        id,
        kind: OutboxKind::parse(&kind),
        idempotency_key,
        method,
        path,
        body: serde_json::from_str(&body)?,
        label,
        approval_id,
        project_id,
        client_msg_id,
        created_at: created_at.parse().unwrap_or_default(),
        attempts,
        last_error,
    })
}

const ENTRY_COLUMNS: &str =
    "id, kind, idempotency_key, method, path, body, label, approval_id, project_id, client_msg_id, created_at, attempts, last_error";

impl Store {
    /// Queues an action and shows its effect at once, in one transaction.
    pub async fn enqueue(
        &self,
        action: QueuedAction,
        now: DateTime<Utc>,
    ) -> StoreResult<OutboxEntry> {
        let key = uuid::Uuid::new_v4().to_string();
        let mut approval_id = None;
        let mut project_id = None;
        let mut client_msg_id = None;
        let (kind, path, body, label) = match &action {
            QueuedAction::Decide {
                approval_id: id,
                title,
                decision,
                comment,
                seen_version,
            } => {
                approval_id = Some(id.clone());
                let verb = match decision {
                    Decision::Approve => "Approve",
                    Decision::Reject => "Reject",
                };
                (
                    OutboxKind::Decision,
                    format!("/api/v1/approvals/{id}/decision"),
                    json!({ "decision": decision, "comment": comment, "seen_version": seen_version }),
                    format!("{verb} “{title}”"),
                )
            }
            QueuedAction::Message {
                project_id: project,
                agent_id,
                body,
                ..
            } => {
                project_id = Some(project.clone());
                let msg_id = uuid::Uuid::new_v4().to_string();
                client_msg_id = Some(msg_id.clone());
                let preview: String = body.chars().take(40).collect();
                (
                    OutboxKind::Message,
                    format!("/api/v1/projects/{project}/messages"),
                    json!({ "body": body, "agent_id": agent_id, "client_msg_id": msg_id }),
                    format!("Message “{preview}”"),
                )
            }
            QueuedAction::StopProject {
                project_id: project,
                project_name,
                reason,
            } => {
                project_id = Some(project.clone());
                (
                    OutboxKind::Stop,
                    format!("/api/v1/projects/{project}/stop"),
                    json!({ "reason": reason }),
                    format!("Emergency stop of {project_name}"),
                )
            }
            QueuedAction::StopAll { reason } => (
                OutboxKind::Stop,
                "/api/v1/stop".to_owned(),
                json!({ "reason": reason }),
                "Emergency stop of every project".to_owned(),
            ),
            QueuedAction::Resume {
                project_id: project,
                project_name,
            } => {
                project_id = Some(project.clone());
                (
                    OutboxKind::Resume,
                    format!("/api/v1/projects/{project}/resume"),
                    json!({}),
                    format!("Resume {project_name}"),
                )
            }
        };
        let mut tx = self.writer.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (kind, priority, idempotency_key, method, path, body, label, approval_id, project_id, client_msg_id, created_at) \
             VALUES (?, ?, ?, 'POST', ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(kind.as_str())
        .bind(kind.priority())
        .bind(&key)
        .bind(&path)
        .bind(body.to_string())
        .bind(&label)
        .bind(&approval_id)
        .bind(&project_id)
        .bind(&client_msg_id)
        .bind(now.to_rfc3339())
        .fetch_one(&mut *tx)
        .await?;
        match &action {
            QueuedAction::Decide {
                approval_id,
                decision,
                ..
            } => {
                sqlx::query("UPDATE approvals SET local_decision = ? WHERE id = ?")
                    .bind(decision.as_str())
                    .bind(approval_id)
                    .execute(&mut *tx)
                    .await?;
            }
            QueuedAction::Message {
                project_id,
                agent_id,
                body,
                author_name,
            } => {
                let msg_id = client_msg_id.clone().unwrap_or_default();
                let local = Message {
                    id: format!("local:{msg_id}"),
                    project_id: project_id.clone(),
                    agent_id: agent_id.clone(),
                    author_kind: AuthorKind::User,
                    author_id: None,
                    author_name: author_name.clone(),
                    body: body.clone(),
                    created_at: now,
                    client_msg_id: Some(msg_id),
                };
                sqlx::query(
                    "INSERT INTO messages (id, project_id, agent_id, created_at, client_msg_id, pending, title, body, data) \
                     VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)",
                )
                .bind(&local.id)
                .bind(&local.project_id)
                .bind(&local.agent_id)
                .bind(now.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
                .bind(&local.client_msg_id)
                .bind(&local.author_name)
                .bind(&local.body)
                .bind(serde_json::to_string(&local)?)
                .execute(&mut *tx)
                .await?;
            }
            _ => {}
        }
        tx.commit().await?;
        Ok(OutboxEntry {
            id,
            kind,
            idempotency_key: key,
            method: "POST".into(),
            path,
            body,
            label,
            approval_id,
            project_id,
            client_msg_id,
            created_at: now,
            attempts: 0,
            last_error: None,
        })
    }

    /// Everything waiting, in delivery order.
    pub async fn outbox(&self) -> StoreResult<Vec<OutboxEntry>> {
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox ORDER BY priority, id"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter().map(entry_from).collect()
    }

    /// The server took the action: drop it from the outbox and keep the server's answer.
    pub async fn outbox_delivered(
        &self,
        entry: &OutboxEntry,
        answer: &Value,
        outcome: Option<&Outcome>,
    ) -> StoreResult<Vec<Change>> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM outbox WHERE id = ?")
            .bind(entry.id)
            .execute(&mut *tx)
            .await?;
        let payload = match entry.kind {
            OutboxKind::Decision => serde_json::from_value(answer.clone())
                .ok()
                .map(EventPayload::Approval),
            OutboxKind::Message => serde_json::from_value(answer.clone())
                .ok()
                .map(EventPayload::Message),
            OutboxKind::Stop => serde_json::from_value(answer.clone())
                .ok()
                .map(EventPayload::Stop),
            OutboxKind::Resume => serde_json::from_value(answer.clone())
                .ok()
                .map(EventPayload::Project),
        };
        let mut changes = Vec::new();
        if let Some(payload) = payload {
            let mut grouped = Grouped::default();
            grouped.add(0, payload);
            changes = write_grouped(&mut tx, grouped).await?;
        }
        if let Some(outcome) = outcome {
            record_outcome(&mut tx, outcome).await?;
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// The server refused the action for good: undo its local effect and say why.
    pub async fn outbox_refused(
        &self,
        entry: &OutboxEntry,
        outcome: &Outcome,
        current: Option<EventPayload>,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM outbox WHERE id = ?")
            .bind(entry.id)
            .execute(&mut *tx)
            .await?;
        if let Some(approval_id) = &entry.approval_id {
            sqlx::query("UPDATE approvals SET local_decision = NULL WHERE id = ?")
                .bind(approval_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(client_msg_id) = &entry.client_msg_id {
            sqlx::query("DELETE FROM messages WHERE pending = 1 AND client_msg_id = ?")
                .bind(client_msg_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(payload) = current {
            let mut grouped = Grouped::default();
            grouped.add(0, payload);
            write_grouped(&mut tx, grouped).await?;
        }
        record_outcome(&mut tx, outcome).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A delivery attempt failed in a way worth retrying.
    pub async fn outbox_attempt_failed(&self, entry_id: i64, error: &str) -> StoreResult<()> {
        sqlx::query("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?")
            .bind(error)
            .bind(entry_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// The most recent outcomes, newest first.
    pub async fn outcomes(&self, limit: i64) -> StoreResult<Vec<Outcome>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT data FROM outcomes ORDER BY id DESC LIMIT ?")
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(|d| Ok(serde_json::from_str(d)?)).collect()
    }
}

async fn record_outcome(conn: &mut sqlx::SqliteConnection, outcome: &Outcome) -> StoreResult<()> {
    sqlx::query("INSERT INTO outcomes (at, data) VALUES (?, ?)")
        .bind(outcome.at.to_rfc3339())
        .bind(serde_json::to_string(outcome)?)
        .execute(conn)
        .await?;
    Ok(())
}
