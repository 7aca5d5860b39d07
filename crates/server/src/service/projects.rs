//! Projects and their agents, as managers set them up.

use spartex_api::{
    Agent, AgentControl, AgentStatus, CreateAgentRequest, CreateProjectRequest, CreatedAgent,
    Project, ProjectStatus, Role, UpdateProjectRequest,
};

use super::{money_field, new_id, text_field};
use crate::auth::{new_salt, UserPrincipal};
use crate::error::{ApiError, ApiResult};
use crate::store::{DocFilter, DocKind};
use crate::write::Write;

pub async fn create(
    w: &mut Write,
    user: &UserPrincipal,
    req: CreateProjectRequest,
) -> ApiResult<Project> {
    user.require(Role::Manager, "create projects")?;
    create_in(w, &user.tenant_id, req).await
}

/// Creates a project without a caller's role check; for seeding.
pub async fn create_in(
    w: &mut Write,
    tenant_id: &str,
    req: CreateProjectRequest,
) -> ApiResult<Project> {
    let now = w.now();
    let project = Project {
        id: new_id("prj"),
        name: text_field("name", &req.name, 120)?,
        description: req.description.trim().chars().take(2000).collect(),
        status: ProjectStatus::Active,
        budget_usd: money_field("budget_usd", req.budget_usd)?,
        spent_usd: 0.0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    w.create(tenant_id, &project).await?;
    Ok(project)
}

pub async fn update(
    w: &mut Write,
    user: &UserPrincipal,
    project_id: &str,
    req: UpdateProjectRequest,
) -> ApiResult<Project> {
    user.require(Role::Manager, "change projects")?;
    let mut project: Project = w.fetch(&user.tenant_id, project_id, "project").await?;
    if let Some(name) = &req.name {
        project.name = text_field("name", name, 120)?;
    }
    if let Some(description) = &req.description {
        project.description = description.trim().chars().take(2000).collect();
    }
    if let Some(budget) = req.budget_usd {
        project.budget_usd = money_field("budget_usd", budget)?;
    }
    project.updated_at = w.now();
    w.update(&user.tenant_id, &mut project).await?;
    if project.status == ProjectStatus::Paused
        && project.budget_state() != spartex_api::BudgetState::Exceeded
    {
        project = reactivate(w, &user.tenant_id, project).await?;
    }
    Ok(project)
}

/// An agent with its worker's new token, and the salt that token was derived from (see
/// [`crate::auth::TokenKeys::agent_token`]).
pub struct MintedAgent {
    pub created: CreatedAgent,
    pub token_salt: String,
}

/// What adding an agent and replacing an agent's token are called in a refusal.
pub const ADD_AGENTS: &str = "add agents";
pub const REPLACE_AGENT_TOKENS: &str = "replace agents' tokens";

/// Only managers and owners hand out an agent's token: checked as the change runs, and again
/// whenever its answer is sent again under its Idempotency-Key, since that answer gives the
/// token out once more (derived again from its kept salt) and the caller may have been
/// demoted meanwhile.
pub fn may_hand_out_agent_tokens(user: &UserPrincipal, action: &str) -> ApiResult<()> {
    user.require(Role::Manager, action)
}

pub async fn create_agent(
    w: &mut Write,
    user: &UserPrincipal,
    project_id: &str,
    req: CreateAgentRequest,
) -> ApiResult<MintedAgent> {
    may_hand_out_agent_tokens(user, ADD_AGENTS)?;
    create_agent_in(w, &user.tenant_id, project_id, req).await
}

/// Creates an agent and its worker token without a caller's role check; for seeding.
pub async fn create_agent_in(
    w: &mut Write,
    tenant_id: &str,
    project_id: &str,
    req: CreateAgentRequest,
) -> ApiResult<MintedAgent> {
    let _project: Project = w.fetch(tenant_id, project_id, "project").await?;
    let agent = Agent {
        id: new_id("agt"),
        project_id: project_id.to_owned(),
        name: text_field("name", &req.name, 80)?,
        role: text_field("role", &req.role, 80)?,
        model: text_field("model", &req.model, 80)?,
        status: AgentStatus::Idle,
        current_task_id: None,
        last_heartbeat_at: None,
        tokens_used: 0,
        cost_usd: 0.0,
        version: 1,
    };
    w.create(tenant_id, &agent).await?;
    mint_token(w, tenant_id, agent).await
}

/// Gives the worker of an agent of the project a new token: every token the agent had stops
/// signing in, and the control sockets opened with one close, as this write commits. For a
/// token that leaked (a log, a repository): the agent keeps its history and its work.
pub async fn replace_agent_token(
    w: &mut Write,
    user: &UserPrincipal,
    project_id: &str,
    agent_id: &str,
) -> ApiResult<MintedAgent> {
    may_hand_out_agent_tokens(user, REPLACE_AGENT_TOKENS)?;
    let tenant_id = &user.tenant_id;
    let _project: Project = w.fetch(tenant_id, project_id, "project").await?;
    let agent: Agent = w.fetch(tenant_id, agent_id, "agent").await?;
    if agent.project_id != project_id {
        return Err(ApiError::NotFound { what: "agent" });
    }
    w.revoke_agent_tokens(tenant_id, &agent.id).await?;
    mint_token(w, tenant_id, agent).await
}

/// A new token for the agent's worker, kept only as its hash.
async fn mint_token(w: &mut Write, tenant_id: &str, agent: Agent) -> ApiResult<MintedAgent> {
    let token_salt = new_salt();
    let (token, token_hash) = w.state().tokens.agent_token(&agent.id, &token_salt);
    w.tx()
        .insert_agent_token(&token_hash, tenant_id, &agent.id)
        .await?;
    let created = CreatedAgent {
        agent,
        agent_token: token.expose().to_owned(),
    };
    Ok(MintedAgent {
        created,
        token_salt,
    })
}

/// Lifts a stop or a budget pause. Resuming an active project is harmless.
pub async fn resume(w: &mut Write, user: &UserPrincipal, project_id: &str) -> ApiResult<Project> {
    user.require(Role::Manager, "resume a stopped project")?;
    let project: Project = w.fetch(&user.tenant_id, project_id, "project").await?;
    let halted = matches!(
        project.status,
        ProjectStatus::Stopped | ProjectStatus::Paused
    );
    if !halted && !has_halted_agents(w, &user.tenant_id, project_id).await? {
        return Ok(project);
    }
    reactivate(w, &user.tenant_id, project).await
}

/// An active project can still hold stopped agents, left by a stop a resume did not lift.
async fn has_halted_agents(w: &mut Write, tenant_id: &str, project_id: &str) -> ApiResult<bool> {
    let agents: Vec<Agent> = w
        .list(tenant_id, DocFilter::in_project(DocKind::Agent, project_id))
        .await?;
    Ok(agents
        .iter()
        .any(|a| matches!(a.status, AgentStatus::Stopped | AgentStatus::Stopping)))
}

/// Sets the project active and its stopped agents idle, and tells their workers.
pub async fn reactivate(
    w: &mut Write,
    tenant_id: &str,
    mut project: Project,
) -> ApiResult<Project> {
    project.status = ProjectStatus::Active;
    project.updated_at = w.now();
    w.update(tenant_id, &mut project).await?;
    super::stops::supersede_pending(w, tenant_id, &project.id).await?;
    let agents: Vec<Agent> = w
        .list(
            tenant_id,
            DocFilter::in_project(DocKind::Agent, &project.id),
        )
        .await?;
    for mut agent in agents {
        if matches!(agent.status, AgentStatus::Stopped | AgentStatus::Stopping) {
            agent.status = AgentStatus::Idle;
            w.update(tenant_id, &mut agent).await?;
        }
        w.push_to_agent(&agent.id, AgentControl::Resume);
    }
    Ok(project)
}
