//! Applying events and snapshots: idempotent upserts guarded by `version`, batched into
//! multi-row statements (per-statement overhead dominates in sqlx), one transaction per batch.

use std::collections::HashMap;

use spartex_api::{Agent, Approval, CostRecord, Event, EventPayload, Message, Project, Stop, Task};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::upsert::upsert;
use super::{messages, meta, sortable_time, Store, StoreError, StoreResult, ROWS_PER_STATEMENT};
use crate::Change;

/// What one applied batch did.
#[derive(Debug, Default)]
pub struct AppliedBatch {
    pub last_seq: i64,
    pub applied: usize,
    pub changes: Vec<Change>,
    /// Events kept in `rejected_events` because this build could not read them.
    pub rejected: usize,
}

/// Resources of one batch, collapsed to the newest version of each.
#[derive(Default)]
pub(super) struct Grouped {
    projects: HashMap<String, Project>,
    agents: HashMap<String, Agent>,
    tasks: HashMap<String, Task>,
    approvals: HashMap<String, Approval>,
    stops: HashMap<String, Stop>,
    messages: Vec<Message>,
    costs: Vec<(i64, CostRecord)>,
    /// The schedule or its overrides changed: who is on call is read again from the server.
    on_call_changed: bool,
}

fn keep_newest<R>(
    map: &mut HashMap<String, R>,
    id: &str,
    resource: R,
    version: impl Fn(&R) -> i64,
) {
    match map.get(id) {
        Some(existing) if version(existing) >= version(&resource) => {}
        _ => {
            map.insert(id.to_owned(), resource);
        }
    }
}

impl Grouped {
    pub(super) fn add(&mut self, seq: i64, payload: EventPayload) {
        match payload {
            EventPayload::Project(p) => {
                keep_newest(&mut self.projects, &p.id.clone(), p, |r| r.version)
            }
            EventPayload::Agent(a) => {
                keep_newest(&mut self.agents, &a.id.clone(), a, |r| r.version)
            }
            EventPayload::Task(t) => keep_newest(&mut self.tasks, &t.id.clone(), t, |r| r.version),
            EventPayload::Approval(a) => {
                keep_newest(&mut self.approvals, &a.id.clone(), a, |r| r.version)
            }
            EventPayload::Stop(s) => keep_newest(&mut self.stops, &s.id.clone(), s, |r| r.version),
            EventPayload::Message(m) => self.messages.push(m),
            EventPayload::Cost(c) => self.costs.push((seq, c)),
            // Read live with `GET /oncall` (its answer is kept for offline): the event only
            // says to read it again.
            EventPayload::OnCall(_) => self.on_call_changed = true,
        }
    }
}

impl Store {
    /// Applies events after the stored `seq`, in order, in one transaction with the new `seq`.
    /// Events at or below the stored `seq` are skipped (a replay changes nothing); a jump past
    /// `seq + 1` is a [`StoreError::Gap`] and applies nothing.
    pub async fn apply_events(&self, events: &[Event]) -> StoreResult<AppliedBatch> {
        let mut tx = self.begin_write().await?;
        let stored: Option<String> = sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(meta::LAST_SEQ)
            .fetch_optional(&mut *tx)
            .await?;
        let mut last = stored.and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        let mut batch = AppliedBatch {
            last_seq: last,
            ..AppliedBatch::default()
        };
        let mut grouped = Grouped::default();
        for event in events {
            if event.seq <= last {
                continue;
            }
            if event.seq != last + 1 {
                if batch.applied == 0 {
                    return Err(StoreError::Gap {
                        last,
                        next: event.seq,
                    });
                }
                break; // apply the contiguous prefix; the caller fills the gap
            }
            match event.payload() {
                Ok(payload) => grouped.add(event.seq, payload),
                Err(error) => {
                    tracing::warn!(seq = event.seq, kind = %event.kind, %error, "kept an event this build cannot read");
                    sqlx::query("INSERT OR REPLACE INTO rejected_events (seq, kind, error, raw) VALUES (?, ?, ?, ?)")
                        .bind(event.seq)
                        .bind(&event.kind)
                        .bind(error.to_string())
                        .bind(serde_json::to_string(event)?)
                        .execute(&mut *tx)
                        .await?;
                    batch.rejected += 1;
                }
            }
            last = event.seq;
            batch.applied += 1;
        }
        if batch.applied == 0 {
            return Ok(batch);
        }
        batch.changes = write_grouped(&mut tx, grouped).await?;
        set_last_seq(&mut tx, last).await?;
        tx.commit().await?;
        batch.last_seq = last;
        Ok(batch)
    }

    /// Replaces the cache's view of the server with fresh snapshots (after `resync_required`),
    /// keeping what was decided or written here and not yet delivered, and resumes from `head`.
    pub async fn replace_with_snapshot(&self, snapshot: Snapshot, head: i64) -> StoreResult<()> {
        let mut tx = self.begin_write().await?;
        for table in ["projects", "agents", "tasks", "approvals", "stops"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        let mut grouped = Grouped::default();
        for project in snapshot.projects {
            grouped.add(0, EventPayload::Project(project));
        }
        for agent in snapshot.agents {
            grouped.add(0, EventPayload::Agent(agent));
        }
        for task in snapshot.tasks {
            grouped.add(0, EventPayload::Task(task));
        }
        for approval in snapshot.approvals {
            grouped.add(0, EventPayload::Approval(approval));
        }
        for stop in snapshot.stops {
            grouped.add(0, EventPayload::Stop(stop));
        }
        grouped.messages = snapshot.messages;
        write_grouped(&mut tx, grouped).await?;
        // Decisions still in the outbox keep showing as "sending".
        sqlx::query(
            "UPDATE approvals SET local_decision = (SELECT json_extract(o.request, '$.body.decision') FROM outbox o \
             WHERE o.approval_id = approvals.id AND o.kind = 'decision' ORDER BY o.id DESC LIMIT 1)",
        )
        .execute(&mut *tx)
        .await?;
        set_last_seq(&mut tx, head).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Everything a fresh start needs, as read from the server's snapshot endpoints.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub projects: Vec<Project>,
    pub agents: Vec<Agent>,
    pub tasks: Vec<Task>,
    pub approvals: Vec<Approval>,
    pub stops: Vec<Stop>,
    pub messages: Vec<Message>,
}

async fn set_last_seq(conn: &mut SqliteConnection, seq: i64) -> StoreResult<()> {
    sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(meta::LAST_SEQ)
        .bind(seq.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

pub(super) async fn write_grouped(
    conn: &mut SqliteConnection,
    grouped: Grouped,
) -> StoreResult<Vec<Change>> {
    let mut changes = upsert(conn, grouped.projects).await?;
    changes.extend(upsert(conn, grouped.agents).await?);
    changes.extend(upsert(conn, grouped.tasks).await?);
    changes.extend(upsert(conn, grouped.approvals).await?);
    changes.extend(upsert(conn, grouped.stops).await?);

    // Messages written here and now confirmed by the server replace their local copies.
    let confirmed: Vec<&String> = grouped
        .messages
        .iter()
        .filter_map(|m| m.client_msg_id.as_ref())
        .collect();
    for chunk in confirmed.chunks(500) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "DELETE FROM messages WHERE pending = 1 AND client_msg_id IN (",
        );
        let mut separated = query.separated(", ");
        for id in chunk {
            separated.push_bind(*id);
        }
        query.push(")");
        query.build().execute(&mut *conn).await?;
    }
    messages::insert_received(conn, &grouped.messages).await?;
    // The dashboard's "last activity" is kept here, so reading it needs no scan of messages.
    let mut latest: HashMap<&str, String> = HashMap::new();
    for message in &grouped.messages {
        let at = sortable_time(&message.created_at);
        let entry = latest.entry(message.project_id.as_str()).or_default();
        if at > *entry {
            *entry = at;
        }
    }
    let latest: Vec<(&str, String)> = latest.into_iter().collect();
    for chunk in latest.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "UPDATE projects SET last_activity = latest.column2 FROM (",
        );
        query.push_values(chunk, |mut row, (project_id, at)| {
            row.push_bind(*project_id).push_bind(at);
        });
        query.push(
            ") AS latest WHERE projects.id = latest.column1 AND projects.last_activity < latest.column2",
        );
        query.build().execute(&mut *conn).await?;
    }
    changes.extend(grouped.messages.into_iter().map(|m| Change::Message {
        message: Box::new(m),
    }));

    for chunk in grouped.costs.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO costs (seq, project_id, agent_id, at, tokens, cost_usd) ",
        );
        query.push_values(chunk, |mut row, (seq, c)| {
            row.push_bind(seq)
                .push_bind(&c.project_id)
                .push_bind(&c.agent_id)
                .push_bind(sortable_time(&c.at))
                .push_bind(c.tokens_in + c.tokens_out)
                .push_bind(c.cost_usd);
        });
        query.build().execute(&mut *conn).await?;
    }
    changes.extend(grouped.costs.into_iter().map(|(_, record)| Change::Cost {
        record: Box::new(record),
    }));
    if grouped.on_call_changed {
        changes.push(Change::OnCall);
    }
    Ok(changes)
}
