//! Bodies of the client endpoints.

use serde::{Deserialize, Serialize};

use crate::{Agent, Decision, Project, Task};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: Decision,
    /// Reaches the agent with a rejection, so it can change course.
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    #[serde(default)]
    pub comment: Option<String>,
    /// The approval's `version` the person looked at; a newer one answers 409 `approval_changed`.
    pub seen_version: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PostMessageRequest {
    /// Markdown.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 16000))]
    pub body: String,
    /// `None` posts to the project-wide thread.
    #[serde(default)]
    pub agent_id: Option<String>,
    /// The client's own id for the message, so a retried send shows once.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    #[serde(default)]
    pub client_msg_id: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StopRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 1000))]
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateProjectRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 120))]
    pub name: String,
    /// Kept to its first 2000 characters.
    #[serde(default)]
    pub description: String,
    /// Rounded to cents.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1e12))]
    pub budget_usd: f64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateProjectRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 120))]
    #[serde(default)]
    pub name: Option<String>,
    /// Kept to its first 2000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Rounded to cents.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1e12))]
    #[serde(default)]
    pub budget_usd: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateAgentRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 80))]
    pub name: String,
    /// What the agent does, e.g. "Copywriter".
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 80))]
    pub role: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 80))]
    pub model: String,
}

/// A new agent and the token its worker signs in with. Shown once; `Debug` hides the token.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedAgent {
    pub agent: Agent,
    pub agent_token: String,
}

impl std::fmt::Debug for CreatedAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedAgent")
            .field("agent", &self.agent)
            .field("agent_token", &"***")
            .finish()
    }
}

/// `GET /projects/{id}`: the project with its agents and open tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectDetail {
    pub project: Project,
    pub agents: Vec<Agent>,
    pub tasks: Vec<Task>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsBucket {
    /// Start of the bucket.
    pub at: chrono::DateTime<chrono::Utc>,
    pub agent_id: String,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectMetrics {
    pub project_id: String,
    /// `hour` or `day`.
    pub bucket: String,
    pub buckets: Vec<MetricsBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub status: String,
    pub version: String,
}
