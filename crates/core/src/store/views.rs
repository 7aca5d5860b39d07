//! What the faces show: cache rows joined into the shapes a screen or a command needs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spartex_api::{Agent, Approval, Decision, Message, Project, Risk, Stop, Task};

/// One row of the dashboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProjectSummary {
    pub project: Project,
    pub agents_total: i64,
    pub agents_working: i64,
    pub agents_waiting: i64,
    pub agents_stopped: i64,
    pub agents_error: i64,
    pub pending_approvals: i64,
    /// The highest risk among the pending approvals; `None` when none is pending. A risk this
    /// build does not know (`unknown`) ranks above critical.
    #[serde(default, deserialize_with = "spartex_api::open::lenient_option")]
    pub pending_top_risk: Option<Risk>,
    pub last_activity: Option<DateTime<Utc>>,
    /// A stop of this project (or of everything) waits in the outbox.
    pub stop_sending: bool,
}

/// The dashboard's rows as JSON text, by name, as the cache holds them: what the desktop UI
/// reads, several times a second while a busy tenant's agents report, handed to the webview
/// without the shell building 1,000 rows' values and writing them out again on the way.
#[derive(Debug, Serialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "Array<ProjectSummary>"))]
pub struct DashboardJson(Box<serde_json::value::RawValue>);

impl DashboardJson {
    /// Fails if `text` is not JSON (a damaged cache row), so a face never passes on broken JSON.
    pub(super) fn new(text: String) -> serde_json::Result<DashboardJson> {
        serde_json::value::RawValue::from_string(text).map(DashboardJson)
    }

    /// The JSON text, as the face receives it.
    pub fn as_str(&self) -> &str {
        self.0.get()
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProjectView {
    pub project: Project,
    pub agents: Vec<Agent>,
    /// Open tasks first, then the most recently finished.
    pub tasks: Vec<Task>,
    pub approvals: Vec<ApprovalView>,
    pub messages: Vec<MessageView>,
    pub stops: Vec<Stop>,
    pub spend_by_day: Vec<SpendPoint>,
    /// What happened, newest first.
    pub timeline: Vec<super::timeline::TimelineEntry>,
    pub stop_sending: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ApprovalView {
    pub approval: Approval,
    pub project_name: String,
    pub agent_name: Option<String>,
    /// A decision made here that is still on its way.
    pub sending: Option<Decision>,
    /// Its project is stopped, or a stop of it waits in the outbox: no decision is taken.
    pub project_stopped: bool,
    /// Why Approve is refused now, in the core's words ([`spartex_policy::approval_blocker`]
    /// for the signed-in person); `None` when it is allowed. Filled by the account's reads.
    pub approve_blocker: Option<String>,
    /// Why Reject is refused now; `None` when it is allowed.
    pub reject_blocker: Option<String>,
}

/// Which of a project's conversations to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Thread {
    /// The project's own thread, where the people and the project's lead talk.
    Project,
    /// One agent's thread with the people.
    Agent { agent_id: String },
    /// Every conversation of the project, interleaved.
    Everything,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessageView {
    pub message: Message,
    /// Written here, still on its way.
    pub sending: bool,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SpendPoint {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub agent_id: String,
    pub cost_usd: f64,
    pub tokens: i64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SearchHit {
    pub kind: SearchHitKind,
    pub id: String,
    pub project_id: String,
    pub title: String,
    pub snippet: String,
}

/// What a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, sqlx::Type)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
#[sqlx(rename_all = "snake_case")]
pub enum SearchHitKind {
    Project,
    Task,
    Approval,
    Message,
}

impl std::fmt::Display for SearchHitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SearchHitKind::Project => "project",
            SearchHitKind::Task => "task",
            SearchHitKind::Approval => "approval",
            SearchHitKind::Message => "message",
        })
    }
}
