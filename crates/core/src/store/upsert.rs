//! The five versioned resource tables of the cache (projects, agents, tasks, approvals, stops)
//! as one table of row shapes, written by one generic upsert: multi-row statements, a row
//! replaced only by a newer `version`, and the state before each write kept for the policy.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use spartex_api::{Agent, Approval, Project, Stop, Task};
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::overlapped::execute_overlapped;
use super::{sortable_time, StoreResult, ROWS_PER_STATEMENT};
use crate::Change;

type Row<'r, 'args> = Separated<'r, 'args, Sqlite, &'static str>;

/// A resource kept in a table of its own, with the columns the cache queries by.
pub(super) trait Cached: Serialize + DeserializeOwned + Sized {
    const TABLE: &'static str;
    /// Every column but `data`, which always comes last and holds the resource as JSON.
    const COLUMNS: &'static str;
    /// What a newer version replaces; `WHERE excluded.version > <table>.version` always.
    const ON_CONFLICT: &'static str;
    fn id(&self) -> &str;
    fn version(&self) -> i64;
    /// Binds [`Cached::COLUMNS`] in order.
    fn bind<'args>(&'args self, row: &mut Row<'_, 'args>);
    fn change(before: Option<Self>, after: Self) -> Change;
}

impl Cached for Project {
    const TABLE: &'static str = "projects";
    const COLUMNS: &'static str =
        "id, version, name, status, updated_at, last_activity, title, body";
    const ON_CONFLICT: &'static str = "version = excluded.version, name = excluded.name, \
        status = excluded.status, updated_at = excluded.updated_at, \
        last_activity = MAX(projects.last_activity, excluded.updated_at), \
        title = excluded.title, body = excluded.body, data = excluded.data";
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn bind<'args>(&'args self, row: &mut Row<'_, 'args>) {
        row.push_bind(&self.id)
            .push_bind(self.version)
            .push_bind(&self.name)
            .push_bind(self.status.as_str())
            .push_bind(sortable_time(&self.updated_at))
            .push_bind(sortable_time(&self.updated_at))
            .push_bind(&self.name)
            .push_bind(&self.description);
    }
    fn change(before: Option<Self>, after: Self) -> Change {
        Change::Project {
            before: before.map(Box::new),
            after: Box::new(after),
        }
    }
}

impl Cached for Agent {
    const TABLE: &'static str = "agents";
    const COLUMNS: &'static str = "id, project_id, version, status";
    const ON_CONFLICT: &'static str = "project_id = excluded.project_id, \
        version = excluded.version, status = excluded.status, data = excluded.data";
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn bind<'args>(&'args self, row: &mut Row<'_, 'args>) {
        row.push_bind(&self.id)
            .push_bind(&self.project_id)
            .push_bind(self.version)
            .push_bind(self.status.as_str());
    }
    fn change(before: Option<Self>, after: Self) -> Change {
        Change::Agent {
            before: before.map(Box::new),
            after: Box::new(after),
        }
    }
}

impl Cached for Task {
    const TABLE: &'static str = "tasks";
    const COLUMNS: &'static str = "id, project_id, version, status, updated_at, title, body";
    const ON_CONFLICT: &'static str = "project_id = excluded.project_id, \
        version = excluded.version, status = excluded.status, updated_at = excluded.updated_at, \
        title = excluded.title, data = excluded.data";
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn bind<'args>(&'args self, row: &mut Row<'_, 'args>) {
        row.push_bind(&self.id)
            .push_bind(&self.project_id)
            .push_bind(self.version)
            .push_bind(self.status.as_str())
            .push_bind(sortable_time(&self.updated_at))
            .push_bind(&self.title)
            .push_bind("");
    }
    fn change(_before: Option<Self>, after: Self) -> Change {
        Change::Task {
            after: Box::new(after),
        }
    }
}

impl Cached for Approval {
    const TABLE: &'static str = "approvals";
    const COLUMNS: &'static str = "id, project_id, version, status, expires_at, title, body";
    // A decision settles a local "sending" state; an unrelated change keeps it.
    const ON_CONFLICT: &'static str = "project_id = excluded.project_id, \
        version = excluded.version, status = excluded.status, expires_at = excluded.expires_at, \
        title = excluded.title, body = excluded.body, data = excluded.data, \
        local_decision = CASE WHEN excluded.status = 'pending' THEN approvals.local_decision END";
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn bind<'args>(&'args self, row: &mut Row<'_, 'args>) {
        row.push_bind(&self.id)
            .push_bind(&self.project_id)
            .push_bind(self.version)
            .push_bind(self.status.as_str())
            .push_bind(sortable_time(&self.expires_at))
            .push_bind(&self.title)
            .push_bind(approval_search_body(self));
    }
    fn change(before: Option<Self>, after: Self) -> Change {
        Change::Approval {
            before: before.map(Box::new),
            after: Box::new(after),
        }
    }
}

impl Cached for Stop {
    const TABLE: &'static str = "stops";
    const COLUMNS: &'static str = "id, project_id, version, status, requested_at";
    const ON_CONFLICT: &'static str =
        "version = excluded.version, status = excluded.status, data = excluded.data";
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> i64 {
        self.version
    }
    fn bind<'args>(&'args self, row: &mut Row<'_, 'args>) {
        row.push_bind(&self.id)
            .push_bind(&self.project_id)
            .push_bind(self.version)
            .push_bind(self.status.as_str())
            .push_bind(sortable_time(&self.requested_at));
    }
    fn change(before: Option<Self>, after: Self) -> Change {
        Change::Stop {
            before: before.map(Box::new),
            after: Box::new(after),
        }
    }
}

/// Writes the newest version of each resource that is newer than the cached one, and returns
/// what changed, each with the state it replaced.
pub(super) async fn upsert<R: Cached>(
    conn: &mut SqliteConnection,
    newest: HashMap<String, R>,
) -> StoreResult<Vec<Change>> {
    let ids: Vec<&String> = newest.keys().collect();
    let mut prior: HashMap<String, R> = rows_before(conn, R::TABLE, &ids).await?;
    let fresh: Vec<R> = newest
        .into_values()
        .filter(|r| prior.get(r.id()).is_none_or(|b| b.version() < r.version()))
        .collect();
    let mut chunks = fresh.chunks(ROWS_PER_STATEMENT);
    execute_overlapped(
        conn,
        || {
            let Some(chunk) = chunks.next() else {
                return Ok(None);
            };
            let mut rows = Vec::with_capacity(chunk.len());
            for resource in chunk {
                rows.push((resource, serde_json::to_string(resource)?));
            }
            let mut query = QueryBuilder::<Sqlite>::new(format!(
                "INSERT INTO {} ({}, data) ",
                R::TABLE,
                R::COLUMNS
            ));
            query.push_values(rows, |mut row, (resource, data)| {
                resource.bind(&mut row);
                row.push_bind(data);
            });
            query.push(format!(
                " ON CONFLICT (id) DO UPDATE SET {} WHERE excluded.version > {}.version",
                R::ON_CONFLICT,
                R::TABLE
            ));
            Ok(Some(query))
        },
        || false,
    )
    .await?;
    Ok(fresh
        .into_iter()
        .map(|after| {
            let before = prior.remove(after.id());
            R::change(before, after)
        })
        .collect())
}

/// The rows of `table` among `ids`, as they were before this batch.
async fn rows_before<R: DeserializeOwned>(
    conn: &mut SqliteConnection,
    table: &str,
    ids: &[&String],
) -> StoreResult<HashMap<String, R>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(500) {
        let mut query =
            QueryBuilder::<Sqlite>::new(format!("SELECT id, data FROM {table} WHERE id IN ("));
        let mut separated = query.separated(", ");
        for id in chunk {
            separated.push_bind(*id);
        }
        query.push(")");
        let rows: Vec<(String, String)> = query.build_query_as().fetch_all(&mut *conn).await?;
        for (id, data) in rows {
            found.insert(id, serde_json::from_str(&data)?);
        }
    }
    Ok(found)
}

/// What search finds an approval by: its summary and the words of its preview.
fn approval_search_body(approval: &Approval) -> String {
    let preview = approval
        .preview
        .as_ref()
        .map(|p| serde_json::to_value(p).unwrap_or(Value::Null));
    let mut body = approval.summary.clone();
    if let Some(Value::Object(fields)) = preview {
        for value in fields.values() {
            if let Value::String(text) = value {
                body.push('\n');
                body.push_str(text);
            }
        }
    }
    body
}
