//! The outbox: actions taken here wait with their optimistic effect, written in the same
//! transaction, until the server answers. Nothing is dropped silently: every end is an outcome.

use chrono::{DateTime, Utc};
use serde::Serialize;
use spartex_api::EventPayload;

use super::apply::{write_grouped, Grouped};
use super::{messages, Store, StoreResult};
use crate::actions::{LocalEffect, OutboxKind, OutboxRequest, PreparedAction};
use crate::{Change, Outcome};

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: OutboxKind,
    pub idempotency_key: String,
    /// `POST`, for people and scripts reading the outbox (`spartex status --json`).
    pub method: String,
    /// `/api/v1/…`, as the request will be sent.
    pub path: String,
    /// The request's JSON body.
    pub body: serde_json::Value,
    /// The request as it will be sent; `method`, `path` and `body` are read from it.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub request: OutboxRequest,
    /// What it is, in words: "Approve “Publish the spring hero ad”".
    pub label: String,
    pub approval_id: Option<String>,
    pub project_id: Option<String>,
    pub client_msg_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// An action in the outbox that this build cannot read: a newer build (the CLI updated before
/// the app) queued a kind of request this one does not know. It is kept, untouched, for a build
/// that can send it, and never sent by this one; what this build can read is delivered around
/// it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeptForNewerVersion {
    pub id: i64,
    #[serde(skip)]
    pub idempotency_key: String,
    /// What it is, in words, as the build that queued it wrote them.
    pub label: String,
    pub created_at: DateTime<Utc>,
    /// Why this build cannot read it.
    pub unreadable_because: String,
}

impl KeptForNewerVersion {
    /// What a person is told of it: it waits for a newer version of the app.
    pub fn waiting_label(&self) -> String {
        format!(
            "{} (waits for a newer version of Spartex Control to send it)",
            self.label
        )
    }
}

/// The outbox as this build reads it.
#[derive(Debug, Clone, Default)]
pub struct OutboxAsRead {
    /// What this build can send, in delivery order.
    pub entries: Vec<OutboxEntry>,
    /// What only a newer build can send.
    pub for_a_newer_version: Vec<KeptForNewerVersion>,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    idempotency_key: String,
    request: String,
    label: String,
    approval_id: Option<String>,
    project_id: Option<String>,
    client_msg_id: Option<String>,
    created_at: String,
    attempts: i64,
    last_error: Option<String>,
}

impl TryFrom<EntryRow> for OutboxEntry {
    type Error = super::StoreError;

    fn try_from(row: EntryRow) -> StoreResult<OutboxEntry> {
        let request: OutboxRequest = serde_json::from_str(&row.request)?;
        let (method, path, body) = wire(&request)?;
        Ok(OutboxEntry {
            id: row.id,
            kind: request.kind(),
            idempotency_key: row.idempotency_key,
            method,
            path,
            body,
            request,
            label: row.label,
            approval_id: row.approval_id,
            project_id: row.project_id,
            client_msg_id: row.client_msg_id,
            created_at: row.created_at.parse().unwrap_or_default(),
            attempts: row.attempts,
            last_error: row.last_error,
        })
    }
}

/// The entry `action` makes, with a fresh Idempotency-Key, not (yet) kept in the outbox: id 0.
pub fn unkept_entry(action: PreparedAction) -> StoreResult<OutboxEntry> {
    let (method, path, body) = wire(&action.request)?;
    Ok(OutboxEntry {
        id: 0,
        kind: action.request.kind(),
        idempotency_key: uuid::Uuid::new_v4().to_string(),
        method,
        path,
        body,
        request: action.request,
        label: action.label,
        approval_id: action.approval_id,
        project_id: action.project_id,
        client_msg_id: action.client_msg_id,
        created_at: action.created_at,
        attempts: 0,
        last_error: None,
    })
}

/// The method, path and JSON body a request is sent with.
fn wire(request: &OutboxRequest) -> StoreResult<(String, String, serde_json::Value)> {
    let (method, path) = request.route();
    let body = match serde_json::to_value(request)? {
        serde_json::Value::Object(mut fields) => fields.remove("body"),
        _ => None,
    };
    Ok((
        method.to_owned(),
        path,
        body.unwrap_or_else(|| serde_json::Value::Object(serde_json::Map::new())),
    ))
}

/// An outbox row as a damaged cache still holds it, to carry over to the cache rebuilt in its
/// place: the same Idempotency-Key, so that sending it again is harmless.
#[derive(sqlx::FromRow)]
pub(crate) struct SalvagedRow {
    kind: String,
    priority: i64,
    idempotency_key: String,
    method: String,
    path: String,
    body: String,
    /// `NULL` in a cache from before the typed outbox, which this build cannot send.
    request: Option<String>,
    label: String,
    approval_id: Option<String>,
    project_id: Option<String>,
    client_msg_id: Option<String>,
    created_at: String,
    attempts: i64,
    last_error: Option<String>,
}

pub(crate) const SALVAGED_COLUMNS: &str = "kind, priority, idempotency_key, method, path, body, request, label, approval_id, project_id, client_msg_id, created_at, attempts, last_error";

/// What a cache that had to be started afresh still had to deliver.
pub(crate) enum Salvaged {
    /// Its outbox, read whole.
    Read(Vec<SalvagedRow>),
    /// Nothing could be read (its key is gone, or the outbox itself is damaged): whatever it
    /// had not delivered is lost.
    Lost,
}

impl Salvaged {
    /// What it still has to deliver, in words; `None` when nothing could be read.
    pub(crate) fn labels(&self) -> Option<Vec<String>> {
        match self {
            Salvaged::Read(rows) => Some(rows.iter().map(|row| row.label.clone()).collect()),
            Salvaged::Lost => None,
        }
    }
}

const ENTRY_COLUMNS: &str = "id, idempotency_key, request, label, approval_id, project_id, client_msg_id, created_at, attempts, last_error";

impl Store {
    /// Queues a prepared action and shows its effect at once, in one transaction.
    pub async fn enqueue(&self, action: PreparedAction) -> StoreResult<OutboxEntry> {
        let effect = action.effect.clone();
        let mut entry = unkept_entry(action)?;
        let request = serde_json::to_string(&entry.request)?;
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (kind, priority, idempotency_key, method, path, body, request, label, approval_id, project_id, client_msg_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(entry.kind.as_str())
        .bind(entry.kind.priority())
        .bind(&entry.idempotency_key)
        .bind(&entry.method)
        .bind(&entry.path)
        .bind(entry.body.to_string())
        .bind(&request)
        .bind(&entry.label)
        .bind(&entry.approval_id)
        .bind(&entry.project_id)
        .bind(&entry.client_msg_id)
        .bind(entry.created_at.to_rfc3339())
        .fetch_one(&mut *tx)
        .await?;
        match &effect {
            LocalEffect::Deciding {
                approval_id,
                decision,
            } => {
                sqlx::query("UPDATE approvals SET local_decision = ? WHERE id = ?")
                    .bind(decision.as_str())
                    .bind(approval_id)
                    .execute(&mut *tx)
                    .await?;
            }
            LocalEffect::PendingMessage(local) => {
                messages::insert_pending(&mut tx, local).await?;
            }
            LocalEffect::Nothing => {}
        }
        tx.commit().await?;
        entry.id = id;
        Ok(entry)
    }

    /// Everything waiting that this build can send, in delivery order. Actions only a newer
    /// build can read are left out ([`Store::outbox_as_read`] has them): one of them must not
    /// hold back the rest, stops included.
    pub async fn outbox(&self) -> StoreResult<Vec<OutboxEntry>> {
        Ok(self.outbox_as_read().await?.entries)
    }

    /// Everything waiting: what this build can send, in delivery order, and what it cannot read.
    pub async fn outbox_as_read(&self) -> StoreResult<OutboxAsRead> {
        let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox ORDER BY priority, id"
        ))
        .fetch_all(&self.reader)
        .await?;
        let mut read = OutboxAsRead::default();
        for row in rows {
            let (id, key) = (row.id, row.idempotency_key.clone());
            let (label, created_at) = (row.label.clone(), row.created_at.clone());
            match OutboxEntry::try_from(row) {
                Ok(entry) => read.entries.push(entry),
                Err(error) => read.for_a_newer_version.push(KeptForNewerVersion {
                    id,
                    idempotency_key: key,
                    label,
                    created_at: created_at.parse().unwrap_or_default(),
                    unreadable_because: error.to_string(),
                }),
            }
        }
        Ok(read)
    }

    /// The Idempotency-Key of every action waiting, whoever queued it: cheap enough to read every
    /// few seconds, so that an idle outbox worker notices what another process sharing the cache
    /// (the CLI beside the app) queued or settled.
    pub async fn outbox_keys(&self) -> StoreResult<std::collections::HashSet<String>> {
        let keys: Vec<String> = sqlx::query_scalar("SELECT idempotency_key FROM outbox")
            .fetch_all(&self.reader)
            .await?;
        Ok(keys.into_iter().collect())
    }

    /// The server took the action: drop it from the outbox and keep the server's answer.
    pub async fn outbox_delivered(
        &self,
        entry: &OutboxEntry,
        answer: EventPayload,
        outcome: Option<&Outcome>,
    ) -> StoreResult<Vec<Change>> {
        let mut tx = self.begin_write().await?;
        let still_waiting = sqlx::query("DELETE FROM outbox WHERE id = ? AND idempotency_key = ?")
            .bind(entry.id)
            .bind(&entry.idempotency_key)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let mut grouped = Grouped::default();
        grouped.add(0, answer);
        let changes = write_grouped(&mut tx, grouped).await?;
        // Another process sharing the cache (the CLI beside the app) sent it too, under the same
        // key, and already kept what became of it.
        if let (true, Some(outcome)) = (still_waiting, outcome) {
            record_outcome(&mut tx, outcome).await?;
        }
        tx.commit().await?;
        Ok(changes)
    }

    /// The server took the action, but its answer could not be read: the entry goes, the
    /// approval no longer reads as being decided here (the events bring what it became), and a
    /// message's local copy stays until the server's replaces it.
    pub async fn outbox_taken_unread(
        &self,
        entry: &OutboxEntry,
        outcome: &Outcome,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        if settle(&mut tx, entry).await? {
            record_outcome(&mut tx, outcome).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The server refused the action for good: undo its local effect and say why.
    pub async fn outbox_refused(
        &self,
        entry: &OutboxEntry,
        outcome: &Outcome,
        current: Option<EventPayload>,
    ) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let settled = settle(&mut tx, entry).await?;
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
        if settled {
            record_outcome(&mut tx, outcome).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// After the cache was started afresh in place of one that could not be read: what the
    /// old one still had to deliver waits again (without its optimistic effects, which the
    /// server's events bring once it is delivered), and what could not be read is told as lost,
    /// an outcome the person sees, never dropped without a word.
    pub(crate) async fn carry_over(&self, salvaged: Salvaged) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        let lost = match salvaged {
            Salvaged::Lost => Some(None),
            Salvaged::Read(rows) => {
                let mut lost = Vec::new();
                for row in rows {
                    let Some(request) = row.request else {
                        lost.push(row.label);
                        continue;
                    };
                    sqlx::query(&format!(
                        "INSERT INTO outbox ({SALVAGED_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (idempotency_key) DO NOTHING"
                    ))
                    .bind(row.kind)
                    .bind(row.priority)
                    .bind(row.idempotency_key)
                    .bind(row.method)
                    .bind(row.path)
                    .bind(row.body)
                    .bind(request)
                    .bind(row.label)
                    .bind(row.approval_id)
                    .bind(row.project_id)
                    .bind(row.client_msg_id)
                    .bind(row.created_at)
                    .bind(row.attempts)
                    .bind(row.last_error)
                    .execute(&mut *tx)
                    .await?;
                }
                (!lost.is_empty()).then_some(Some(lost))
            }
        };
        if let Some(labels) = lost {
            let outcome = lost_outcome(labels.as_deref());
            tracing::warn!(message = %outcome.message, "the local cache was started afresh");
            record_outcome(&mut tx, &outcome).await?;
        }
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

    /// The most recent outcomes, newest first. One this build cannot read (a newer build's
    /// kind of result) is left out, not an error: the list is what a person sees after acting,
    /// and the action itself is long settled.
    pub async fn outcomes(&self, limit: i64) -> StoreResult<Vec<Outcome>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, data FROM outcomes ORDER BY id DESC LIMIT ?")
                .bind(limit)
                .fetch_all(&self.reader)
                .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, data)| match serde_json::from_str(&data) {
                Ok(outcome) => Some(outcome),
                Err(error) => {
                    tracing::debug!(id, %error, "left out an outcome this build cannot read");
                    None
                }
            })
            .collect())
    }
}

/// The entry leaves the outbox, and its approval no longer reads as being decided here. False
/// when it had already left: another process sharing the cache settled it, outcome and all.
async fn settle(conn: &mut sqlx::SqliteConnection, entry: &OutboxEntry) -> StoreResult<bool> {
    // By its key too: ids are reused, and another process may have settled this one and
    // queued another since.
    let settled = sqlx::query("DELETE FROM outbox WHERE id = ? AND idempotency_key = ?")
        .bind(entry.id)
        .bind(&entry.idempotency_key)
        .execute(&mut *conn)
        .await?
        .rows_affected()
        > 0;
    if let Some(approval_id) = &entry.approval_id {
        sqlx::query("UPDATE approvals SET local_decision = NULL WHERE id = ?")
            .bind(approval_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(settled)
}

/// What a person is told of actions lost with a cache that had to be started afresh.
fn lost_outcome(labels: Option<&[String]>) -> Outcome {
    let (action, what) = match labels {
        Some([one]) => (
            one.clone(),
            "it had not reached the server yet and was lost".to_owned(),
        ),
        Some(many) => (
            format!("{} actions", many.len()),
            format!(
                "they had not reached the server yet and were lost ({})",
                many.join("; ")
            ),
        ),
        None => (
            "Actions taken here".to_owned(),
            "any that had not reached the server yet were lost".to_owned(),
        ),
    };
    Outcome {
        at: Utc::now(),
        result: crate::OutcomeResult::Refused,
        action,
        message: format!(
            "The local cache could not be read (damaged, or its key lost) and was rebuilt from \
             the server: {what}. Check what you did last, and take it again if it still matters."
        ),
        approval_id: None,
        project_id: None,
    }
}

/// Outcomes kept at most: the newest. A person reads the last few; the rest would only grow
/// the cache for as long as the app is used.
pub(super) const OUTCOMES_KEPT: i64 = 1000;

/// Keeps `outcome`, and forgets those older than the newest [`OUTCOMES_KEPT`].
async fn record_outcome(conn: &mut sqlx::SqliteConnection, outcome: &Outcome) -> StoreResult<()> {
    sqlx::query("INSERT INTO outcomes (at, data) VALUES (?, ?)")
        .bind(outcome.at.to_rfc3339())
        .bind(serde_json::to_string(outcome)?)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "DELETE FROM outcomes WHERE id <= \
         (SELECT id FROM outcomes ORDER BY id DESC LIMIT 1 OFFSET ?)",
    )
    .bind(OUTCOMES_KEPT)
    .execute(conn)
    .await?;
    Ok(())
}
