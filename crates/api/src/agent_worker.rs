//! The agent-worker side of the contract: where agents plug in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{AgentStatus, Message, OnExpiry, Preview, Risk, TaskStatus};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {
    pub status: AgentStatus,
    /// The task the agent works on, by id.
    #[serde(default)]
    pub current_task: Option<String>,
    /// Tokens and cost spent since the previous heartbeat.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100000000))]
    #[serde(default)]
    pub tokens_in: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100000000))]
    #[serde(default)]
    pub tokens_out: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10000))]
    #[serde(default)]
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatResponse {
    pub stop_requested: bool,
    /// The stop to acknowledge with `POST /agent/stop-ack`, when one covers this agent.
    #[serde(default)]
    pub stop_id: Option<String>,
    /// The project is paused (budget reached): do no new work until it is active again.
    #[serde(default)]
    pub paused: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RequestApproval {
    /// snake_case, e.g. `publish_ad`. Kinds the server raises itself (`budget_exceeded`, and
    /// any starting `spartex_`, `system_` or `server_`) answer 422 `reserved_kind`.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_]+$")
    )]
    pub kind: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub title: String,
    /// Markdown.
    #[cfg_attr(feature = "openapi", schema(max_length = 20000))]
    #[serde(default)]
    pub summary: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
    #[serde(default)]
    pub preview: Option<Preview>,
    pub risk: Risk,
    #[cfg_attr(feature = "openapi", schema(minimum = 10, maximum = 604800))]
    pub expires_in_s: i64,
    #[serde(default)]
    pub task_id: Option<String>,
    #[serde(default)]
    pub on_expiry: Option<OnExpiry>,
    /// The `approval_id` of the ask-again this request answers (`{"type": "ask_again",
    /// "approval_id"}` on the control socket): the asked request links to this one, and the ask
    /// is no longer repeated. It must be one of this agent's asks from the last 24 h, not
    /// answered yet by another request that named it, else 422; the kind may differ. Without
    /// it, the agent's next request of the same kind answers its oldest open ask of that kind.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answers_ask: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AgentMessageRequest {
    /// Markdown.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 16000))]
    pub body: String,
    /// Post to the project-wide thread instead of this agent's own thread.
    #[serde(default)]
    pub to_project: bool,
}

/// `POST /agent/tasks`: creates a task, or updates the one named by `id`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpsertTaskRequest {
    #[serde(default)]
    pub id: Option<String>,
    /// Needed to create a task.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// Percent done; `done` sets it to 100.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    #[serde(default)]
    pub progress: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StopAckRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub stop_id: String,
}

/// A frame the server pushes on an agent's control socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentControl {
    /// Stop now, then acknowledge with `POST /agent/stop-ack`.
    Stop { stop_id: String },
    /// The project was resumed: work may go on.
    Resume,
    /// The project is paused (its budget is spent): finish nothing new until `resume`.
    Pause { reason: String },
    /// A person wrote to this agent or to its project's thread.
    Message { message: Message },
    /// A person asks the agent to propose again what expired unanswered, as a new approval,
    /// taking `comment` into account.
    AskAgain {
        approval_id: String,
        comment: Option<String>,
    },
}
