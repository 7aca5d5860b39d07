//! Reads for the faces. All from the cache: they work offline.

use spartex_api::{Agent, Approval, Decision, Message, Project, Stop, Task};

use super::messages::{MessageRow, MESSAGE_COLUMNS};
use super::views::{
    ApprovalView, DashboardJson, MessageView, ProjectSummary, ProjectView, SearchHit,
    SearchHitKind, SpendPoint, Thread,
};
use super::{Store, StoreResult};

fn parse<R: serde::de::DeserializeOwned>(data: &str) -> StoreResult<R> {
    Ok(serde_json::from_str(data)?)
}

fn decision(local: Option<String>) -> Option<Decision> {
    local.and_then(|d| d.parse().ok())
}

impl Store {
    /// Every project with its agents by status, pending approvals and last activity, by name.
    pub async fn dashboard(&self) -> StoreResult<Vec<ProjectSummary>> {
        parse(&self.dashboard_text().await?)
    }

    /// [`Store::dashboard`] as JSON text, for a face that passes it on.
    pub async fn dashboard_json(&self) -> StoreResult<DashboardJson> {
        Ok(DashboardJson::new(self.dashboard_text().await?)?)
    }

    /// The dashboard's JSON array, built in one row: sqlx hands rows over one by one from its
    /// worker thread, which costs more than the query for a thousand projects. Each project's
    /// stored JSON (serde's, written by `upsert`; a field added to `Project` later reaches the
    /// UI only once its rows are written again) goes in as it is, and the rest are numbers, a
    /// quoted timestamp and a flag, so SQLite parses no JSON to build it. Every term is
    /// `NOT NULL` or given a default: a NULL would make `||` drop the project from the array.
    /// The agent counts are `agent_counts`' rows, which triggers keep as agents are written;
    /// the highest risk waiting is read from the pending requests' JSON (a few per agent), a
    /// risk this build does not know above critical.
    async fn dashboard_text(&self) -> StoreResult<String> {
        let json: String = sqlx::query_scalar(
            r#"SELECT '[' || COALESCE(group_concat(
                 '{"project":' || p.data
                 || ',"agents_total":' || COALESCE(a.total, 0)
                 || ',"agents_working":' || COALESCE(a.working, 0)
                 || ',"agents_waiting":' || COALESCE(a.waiting, 0)
                 || ',"agents_stopped":' || COALESCE(a.stopped, 0)
                 || ',"agents_error":' || COALESCE(a.error, 0)
                 || ',"pending_approvals":' || COALESCE(ap.pending, 0)
                 || ',"pending_top_risk":' || CASE ap.top_risk WHEN 5 THEN '"unknown"' WHEN 4 THEN '"critical"'
                     WHEN 3 THEN '"high"' WHEN 2 THEN '"medium"' WHEN 1 THEN '"low"' ELSE 'null' END
                 || ',"last_activity":' || json_quote(NULLIF(p.last_activity, ''))
                 || ',"stop_sending":' || CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'stop'
                     AND (o.project_id = p.id OR o.project_id IS NULL)) THEN 'true' ELSE 'false' END
                 || '}', ',' ORDER BY p.name, p.id), '') || ']'
             FROM projects p
             LEFT JOIN agent_counts a ON a.project_id = p.id
             LEFT JOIN (SELECT project_id, COUNT(*) AS pending,
                               MAX(CASE json_extract(data, '$.risk') WHEN 'unknown' THEN 5 WHEN 'critical' THEN 4
                                   WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END) AS top_risk
                        FROM approvals WHERE status = 'pending' GROUP BY project_id) ap
                    ON ap.project_id = p.id"#,
        )
        .fetch_one(&self.reader)
        .await?;
        Ok(json)
    }

    /// A project by its id.
    pub async fn project_by_id(&self, project_id: &str) -> StoreResult<Option<Project>> {
        self.by_id("projects", project_id).await
    }

    /// An agent by its id.
    pub async fn agent_by_id(&self, agent_id: &str) -> StoreResult<Option<Agent>> {
        self.by_id("agents", agent_id).await
    }

    /// The resource `id` of one of the versioned tables, from its stored wire JSON.
    async fn by_id<R: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        id: &str,
    ) -> StoreResult<Option<R>> {
        let data: Option<String> =
            sqlx::query_scalar(&format!("SELECT data FROM {table} WHERE id = ?"))
                .bind(id)
                .fetch_optional(&self.reader)
                .await?;
        data.map(|d| parse(&d)).transpose()
    }

    /// A project by id, or by name (case-insensitive, unique prefix).
    pub async fn find_project(&self, id_or_name: &str) -> StoreResult<Option<Project>> {
        let exact: Option<String> =
            sqlx::query_scalar("SELECT data FROM projects WHERE id = ? OR name = ? COLLATE NOCASE")
                .bind(id_or_name)
                .bind(id_or_name)
                .fetch_optional(&self.reader)
                .await?;
        if let Some(data) = exact {
            return Ok(Some(parse(&data)?));
        }
        let matches: Vec<String> = sqlx::query_scalar(
            "SELECT data FROM projects WHERE name LIKE ? || '%' ESCAPE '\\' COLLATE NOCASE LIMIT 2",
        )
        .bind(
            id_or_name
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_"),
        )
        .fetch_all(&self.reader)
        .await?;
        match matches.as_slice() {
            [one] => Ok(Some(parse(one)?)),
            _ => Ok(None),
        }
    }

    pub async fn project(&self, project_id: &str) -> StoreResult<Option<ProjectView>> {
        let Some(data): Option<String> =
            sqlx::query_scalar("SELECT data FROM projects WHERE id = ?")
                .bind(project_id)
                .fetch_optional(&self.reader)
                .await?
        else {
            return Ok(None);
        };
        let project: Project = parse(&data)?;
        let agents: Vec<Agent> = sqlx::query_scalar::<_, String>(
            "SELECT data FROM agents WHERE project_id = ? ORDER BY json_extract(data, '$.name')",
        )
        .bind(project_id)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|d| parse(d))
        .collect::<StoreResult<_>>()?;
        let tasks: Vec<Task> = sqlx::query_scalar::<_, String>(
            "SELECT data FROM tasks WHERE project_id = ? \
             ORDER BY status IN ('done', 'failed', 'cancelled'), updated_at DESC LIMIT 200",
        )
        .bind(project_id)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|d| parse(d))
        .collect::<StoreResult<_>>()?;
        let approvals = self
            .approvals_where("a.project_id = ?", Some(project_id), 200)
            .await?;
        let messages = self.messages(project_id, &Thread::Everything, 200).await?;
        let stops: Vec<Stop> = sqlx::query_scalar::<_, String>(
            "SELECT data FROM stops WHERE project_id = ? OR project_id IS NULL ORDER BY requested_at DESC LIMIT 20",
        )
        .bind(project_id)
        .fetch_all(&self.reader)
        .await?
        .iter()
        .map(|d| parse(d))
        .collect::<StoreResult<_>>()?;
        let spend_by_day = sqlx::query_as::<_, (String, String, f64, i64)>(
            "SELECT day, agent_id, cost_usd, tokens FROM spend_days \
             WHERE project_id = ? ORDER BY day, agent_id",
        )
        .bind(project_id)
        .fetch_all(&self.reader)
        .await?
        .into_iter()
        .map(|(day, agent_id, cost_usd, tokens)| SpendPoint {
            day,
            agent_id,
            cost_usd,
            tokens,
        })
        .collect();
        let stop_sending: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE kind = 'stop' AND (project_id = ? OR project_id IS NULL))",
        )
        .bind(project_id)
        .fetch_one(&self.reader)
        .await?;
        let approval_rows: Vec<_> = approvals.iter().map(|a| a.approval.clone()).collect();
        let timeline =
            super::timeline::timeline(&agents, &tasks, &approval_rows, &stops, &messages);
        Ok(Some(ProjectView {
            project,
            agents,
            tasks,
            approvals,
            messages,
            stops,
            spend_by_day,
            timeline,
            stop_sending,
        }))
    }

    /// Approvals, most urgent first: pending before settled, then risk (one this build does not
    /// know as critical), then expiry.
    pub async fn approvals(&self, pending_only: bool) -> StoreResult<Vec<ApprovalView>> {
        if pending_only {
            self.approvals_where("a.status = 'pending'", None, 1000)
                .await
        } else {
            self.approvals_where("1 = 1", None, 1000).await
        }
    }

    pub async fn approval(&self, id: &str) -> StoreResult<Option<ApprovalView>> {
        Ok(self
            .approvals_where("a.id = ?", Some(id), 1)
            .await?
            .into_iter()
            .next())
    }

    async fn approvals_where(
        &self,
        condition: &str,
        bind: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<ApprovalView>> {
        let sql = format!(
            "SELECT a.data, a.local_decision, COALESCE(p.name, ''), json_extract(ag.data, '$.name'), \
                    COALESCE(p.status = 'stopped', 0) OR EXISTS (SELECT 1 FROM outbox o WHERE o.kind = 'stop' \
                        AND (o.project_id = a.project_id OR o.project_id IS NULL)) \
             FROM approvals a LEFT JOIN projects p ON p.id = a.project_id \
             LEFT JOIN agents ag ON ag.id = json_extract(a.data, '$.agent_id') \
             WHERE {condition} \
             ORDER BY a.status != 'pending', \
                      CASE json_extract(a.data, '$.risk') WHEN 'unknown' THEN 0 WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END, \
                      a.expires_at \
             LIMIT {limit}"
        );
        type Row = (String, Option<String>, String, Option<String>, bool);
        let mut query = sqlx::query_as::<_, Row>(&sql);
        if let Some(value) = bind {
            query = query.bind(value);
        }
        query
            .fetch_all(&self.reader)
            .await?
            .into_iter()
            .map(|(data, local, project_name, agent_name, project_stopped)| {
                Ok(ApprovalView {
                    approval: parse::<Approval>(&data)?,
                    project_name,
                    agent_name,
                    sending: decision(local),
                    project_stopped,
                    approve_blocker: None,
                    reject_blocker: None,
                })
            })
            .collect()
    }

    /// The latest `limit` messages of one of a project's conversations, oldest first.
    pub async fn messages(
        &self,
        project_id: &str,
        thread: &Thread,
        limit: i64,
    ) -> StoreResult<Vec<MessageView>> {
        const LATEST_FIRST: &str = "ORDER BY created_at DESC, id DESC LIMIT ?";
        let query = match thread {
            Thread::Project => format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE project_id = ? AND agent_id IS NULL {LATEST_FIRST}"
            ),
            Thread::Agent { .. } => format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE project_id = ? AND agent_id = ? {LATEST_FIRST}"
            ),
            Thread::Everything => format!(
                "SELECT {MESSAGE_COLUMNS} FROM messages WHERE project_id = ? {LATEST_FIRST}"
            ),
        };
        let mut query = sqlx::query_as::<_, MessageRow>(&query).bind(project_id);
        if let Thread::Agent { agent_id } = thread {
            query = query.bind(agent_id);
        }
        let rows = query.bind(limit).fetch_all(&self.reader).await?;
        let mut views = rows
            .into_iter()
            .map(|row| {
                let sending = row.pending;
                Ok(MessageView {
                    message: Message::try_from(row)?,
                    sending,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        views.reverse();
        Ok(views)
    }

    pub async fn stop(&self, stop_id: &str) -> StoreResult<Option<Stop>> {
        self.by_id("stops", stop_id).await
    }

    /// The newest stop of a scope (a project's id, or `None` for stops of every project), by
    /// the server's `requested_at`.
    pub async fn latest_stop(&self, project_id: Option<&str>) -> StoreResult<Option<Stop>> {
        let data: Option<String> = sqlx::query_scalar(
            "SELECT data FROM stops WHERE project_id IS ? ORDER BY requested_at DESC, id DESC LIMIT 1",
        )
        .bind(project_id)
        .fetch_optional(&self.reader)
        .await?;
        data.map(|d| parse(&d)).transpose()
    }

    /// Full-text search over projects, tasks, approvals and messages, best matches first.
    pub async fn search(&self, text: &str, limit: i64) -> StoreResult<Vec<SearchHit>> {
        let query = fts_query(text);
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(SearchHitKind, String, String, String, String)> = sqlx::query_as(
            "SELECT kind, id, project_id, title, snippet FROM ( \
               SELECT 'project' AS kind, p.id, p.id AS project_id, p.title, snippet(projects_fts, 1, '[', ']', '…', 12) AS snippet, bm25(projects_fts) AS rank \
                 FROM projects_fts JOIN projects p ON p.rowid = projects_fts.rowid WHERE projects_fts MATCH ?1 \
               UNION ALL \
               SELECT 'task', t.id, t.project_id, t.title, snippet(tasks_fts, 0, '[', ']', '…', 12), bm25(tasks_fts) \
                 FROM tasks_fts JOIN tasks t ON t.rowid = tasks_fts.rowid WHERE tasks_fts MATCH ?1 \
               UNION ALL \
               SELECT 'approval', a.id, a.project_id, a.title, snippet(approvals_fts, 1, '[', ']', '…', 12), bm25(approvals_fts) \
                 FROM approvals_fts JOIN approvals a ON a.rowid = approvals_fts.rowid WHERE approvals_fts MATCH ?1 \
               UNION ALL \
               SELECT 'message', m.id, m.project_id, m.title, snippet(messages_fts, 1, '[', ']', '…', 12), bm25(messages_fts) \
                 FROM messages_fts JOIN messages m ON m.rowid = messages_fts.rowid WHERE messages_fts MATCH ?1 \
             ) ORDER BY rank LIMIT ?2",
        )
        .bind(&query)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(kind, id, project_id, title, snippet)| SearchHit {
                kind,
                id,
                project_id,
                title,
                snippet,
            })
            .collect())
    }
}

/// Turns what a person typed into an FTS5 query of prefix terms, so no input is a syntax error.
fn fts_query(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(|word| format!("\"{word}\"*"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn search_input_never_becomes_fts_syntax() {
        assert_eq!(
            super::fts_query("spring \"sale\" OR -x*"),
            "\"spring\"* \"sale\"* \"OR\"* \"x\"*"
        );
        assert_eq!(super::fts_query("  ---  "), "");
    }
}
