//! Applying events and snapshots: idempotent upserts guarded by `version`, batched into
//! multi-row statements (per-statement overhead dominates in sqlx), one transaction per batch.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use spartex_api::{
    Agent, Approval, CostRecord, Event, EventKind, EventPayload, Message, PayloadError, Project,
    Stop, Task,
};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::upsert::upsert;
use super::{
    messages, meta, set_meta_in, sortable_time, Store, StoreError, StoreResult, ROWS_PER_STATEMENT,
};
use crate::Change;

/// What one applied batch did.
#[derive(Debug, Default)]
pub struct AppliedBatch {
    /// The cache's `seq` before the batch: events at or below it were kept already.
    pub kept_before: i64,
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

/// A batch's events other than chat, read into [`Grouped`] a few at a time while SQLite writes
/// the batch's messages.
struct ReadMeanwhile<'e> {
    events: std::slice::Iter<'e, &'e Event>,
    grouped: Grouped,
    unreadable: Vec<(&'e Event, PayloadError)>,
}

impl<'e> ReadMeanwhile<'e> {
    /// Events read per slice: a slice takes a few tens of microseconds, well within a statement.
    const SLICE: usize = 16;

    fn new(events: &'e [&'e Event]) -> Self {
        Self {
            events: events.iter(),
            grouped: Grouped::default(),
            unreadable: Vec::new(),
        }
    }

    /// Reads the next slice; `false` once every event is read.
    fn read_some(&mut self) -> bool {
        for event in self.events.by_ref().take(Self::SLICE) {
            match event.payload() {
                Ok(payload) => self.grouped.add(event.seq, payload),
                Err(error) => self.unreadable.push((*event, error)),
            }
        }
        self.events.len() > 0
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
        let mut last_at = None;
        let mut batch = AppliedBatch {
            kept_before: last,
            last_seq: last,
            ..AppliedBatch::default()
        };
        // Chat, most of any log, is read as it is written, and the rest meanwhile.
        let mut message_events = Vec::new();
        let mut other_events = Vec::new();
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
            if event.kind == EventKind::MessageCreated.as_str() {
                message_events.push(event);
            } else {
                other_events.push(event);
            }
            last = event.seq;
            last_at = Some(event.at);
            batch.applied += 1;
        }
        if batch.applied == 0 {
            return Ok(batch);
        }
        let mut others = ReadMeanwhile::new(&other_events);
        let mut unreadable = Vec::new();
        let messages = message_events
            .iter()
            .filter_map(|event| match read_message(event) {
                Ok(message) => Some(message),
                Err(error) => {
                    unreadable.push((*event, error));
                    None
                }
            });
        let messages = messages::insert_received(&mut tx, messages, || others.read_some()).await?;
        while others.read_some() {}
        unreadable.extend(others.unreadable);
        batch.changes = write_batch(&mut tx, others.grouped, messages).await?;
        for (event, error) in &unreadable {
            keep_unreadable(&mut tx, event, error).await?;
        }
        if !unreadable.is_empty() {
            forget_the_oldest_unreadable(&mut tx).await?;
        }
        batch.rejected = unreadable.len();
        set_position(&mut tx, last, last_at).await?;
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
        set_position(&mut tx, head, None).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The message a `message.created` event carries (`Event::payload` for that one kind).
pub(super) fn read_message(event: &Event) -> Result<Message, PayloadError> {
    Message::deserialize(&event.data).map_err(|source| PayloadError::Malformed {
        kind: EventKind::MessageCreated,
        source,
    })
}

/// Keeps an event this build cannot read, to be read again by a build that can.
async fn keep_unreadable(
    conn: &mut SqliteConnection,
    event: &Event,
    error: &PayloadError,
) -> StoreResult<()> {
    tracing::warn!(seq = event.seq, kind = %event.kind, %error, "kept an event this build cannot read");
    sqlx::query(
        "INSERT OR REPLACE INTO rejected_events (seq, kind, error, raw) VALUES (?, ?, ?, ?)",
    )
    .bind(event.seq)
    .bind(&event.kind)
    .bind(error.to_string())
    .bind(serde_json::to_string(event)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// Events kept unread at most: the newest. A server newer than this build may send a kind it
/// does not know with every change, and the cache must not grow with them for ever.
pub(super) const UNREADABLE_KEPT: i64 = 1000;

/// Drops the unread events older than the newest [`UNREADABLE_KEPT`], once per batch.
async fn forget_the_oldest_unreadable(conn: &mut SqliteConnection) -> StoreResult<()> {
    sqlx::query(
        "DELETE FROM rejected_events WHERE seq <= \
         (SELECT seq FROM rejected_events ORDER BY seq DESC LIMIT 1 OFFSET ?)",
    )
    .bind(UNREADABLE_KEPT)
    .execute(conn)
    .await?;
    Ok(())
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

/// Where the cache stands in the log: the last `seq` applied and when that event was, to the
/// second (`None` after a rebuild from snapshots, which do not say), which the server compares
/// with its own event at that `seq` to tell a log restored from a backup.
async fn set_position(
    conn: &mut SqliteConnection,
    seq: i64,
    at: Option<DateTime<Utc>>,
) -> StoreResult<()> {
    let at = at.map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    set_meta_in(conn, meta::LAST_SEQ, &seq.to_string()).await?;
    set_meta_in(conn, meta::LAST_EVENT_AT, &at.unwrap_or_default()).await
}

/// Writes a batch (see [`write_batch`]).
pub(super) async fn write_grouped(
    conn: &mut SqliteConnection,
    grouped: Grouped,
) -> StoreResult<Vec<Change>> {
    write_batch(conn, grouped, Vec::new()).await
}

/// Adds the batch's costs to the project screen's spend per day and agent: one row per day
/// and agent, where every cost was kept and the screen grouped a project's whole history on
/// each read. Each cost is added once: only events past the cache's `seq` reach a batch.
async fn add_to_spend_days(
    conn: &mut SqliteConnection,
    costs: &[(i64, CostRecord)],
) -> StoreResult<()> {
    let mut by_day: HashMap<(&str, String, &str), (f64, i64)> = HashMap::new();
    for (_, cost) in costs {
        let day = cost.at.format("%Y-%m-%d").to_string();
        let spent = by_day
            .entry((cost.project_id.as_str(), day, cost.agent_id.as_str()))
            .or_default();
        spent.0 += cost.cost_usd;
        spent.1 = spent
            .1
            .saturating_add(cost.tokens_in.saturating_add(cost.tokens_out));
    }
    let by_day: Vec<_> = by_day.into_iter().collect();
    for chunk in by_day.chunks(ROWS_PER_STATEMENT) {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO spend_days (project_id, day, agent_id, cost_usd, tokens) ",
        );
        query.push_values(
            chunk,
            |mut row, ((project_id, day, agent_id), (cost_usd, tokens))| {
                row.push_bind(*project_id)
                    .push_bind(day)
                    .push_bind(*agent_id)
                    .push_bind(cost_usd)
                    .push_bind(tokens);
            },
        );
        query.push(
            " ON CONFLICT (project_id, day, agent_id) DO UPDATE SET \
             cost_usd = cost_usd + excluded.cost_usd, tokens = tokens + excluded.tokens",
        );
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Writes a batch: its messages (after `written`, messages of the batch written already), its
/// resources, the projects' last activity and its costs. Returns what the whole batch changed:
/// messages, costs, then resources. A catch-up's batch can hold more changes than a slow
/// subscriber's channel (the notifier's) keeps, which then loses the oldest: the resources,
/// one change each however many events they took (a request for approval, an agent that
/// failed), come last, past the floods of costs and messages.
pub(super) async fn write_batch(
    conn: &mut SqliteConnection,
    grouped: Grouped,
    written: Vec<Message>,
) -> StoreResult<Vec<Change>> {
    let mut messages = written;
    messages.extend(messages::insert_received(conn, grouped.messages.into_iter(), || false).await?);
    let mut resources = upsert(conn, grouped.projects).await?;
    resources.extend(upsert(conn, grouped.agents).await?);
    resources.extend(upsert(conn, grouped.tasks).await?);
    resources.extend(upsert(conn, grouped.approvals).await?);
    resources.extend(upsert(conn, grouped.stops).await?);

    // The dashboard's "last activity" is kept here, so reading it needs no scan of messages;
    // after the resources, which may add the project.
    let mut latest: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for message in &messages {
        let entry = latest
            .entry(message.project_id.as_str())
            .or_insert(message.created_at);
        *entry = message.created_at.max(*entry);
    }
    let latest: Vec<(&str, String)> = latest
        .into_iter()
        .map(|(project_id, at)| (project_id, sortable_time(&at)))
        .collect();
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
    let mut changes: Vec<Change> = messages
        .into_iter()
        .map(|m| Change::Message {
            message: Box::new(m),
        })
        .collect();

    add_to_spend_days(conn, &grouped.costs).await?;
    changes.extend(grouped.costs.into_iter().map(|(_, record)| Change::Cost {
        record: Box::new(record),
    }));
    changes.extend(resources);
    if grouped.on_call_changed {
        changes.push(Change::OnCall);
    }
    Ok(changes)
}
