//! The worker side: heartbeats, tasks, and whether an agent may still act.

use serde_json::json;
use spartex_api::{
    Agent, AgentStatus, ErrorCode, HeartbeatRequest, HeartbeatResponse, Project, ProjectStatus,
    Stop, Task, TaskStatus, UpsertTaskRequest,
};

use super::{budget, new_id, text_field};
use crate::auth::AgentPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::store::{DocFilter, DocKind};
use crate::write::Write;

/// More tokens than any model spends between two heartbeats; the bound keeps every counter
/// the server adds them to far from overflow.
pub const MAX_TOKENS_PER_HEARTBEAT: i64 = 100_000_000;

/// The calling agent, refused when a stop covers it: a stopped agent's token can no longer act.
pub async fn acting_agent(w: &mut Write, principal: &AgentPrincipal) -> ApiResult<Agent> {
    let agent: Agent = w
        .fetch(&principal.tenant_id, &principal.agent_id, "agent")
        .await?;
    if matches!(agent.status, AgentStatus::Stopping | AgentStatus::Stopped) {
        return Err(ApiError::Conflict {
            code: ErrorCode::AgentStopped,
            message: "This agent was stopped; it may not act until a manager resumes its project."
                .into(),
            details: json!({ "agent_status": agent.status }),
        });
    }
    Ok(agent)
}

pub async fn heartbeat(
    w: &mut Write,
    principal: &AgentPrincipal,
    req: HeartbeatRequest,
) -> ApiResult<HeartbeatResponse> {
    let tenant = &principal.tenant_id;
    let mut agent: Agent = w.fetch(tenant, &principal.agent_id, "agent").await?;
    for (field, value) in [("tokens_in", req.tokens_in), ("tokens_out", req.tokens_out)] {
        if !(0..=MAX_TOKENS_PER_HEARTBEAT).contains(&value) {
            return Err(ApiError::invalid(format!(
                "`{field}` must be between 0 and {MAX_TOKENS_PER_HEARTBEAT} for one heartbeat; \
                 report large runs over several heartbeats."
            )));
        }
    }
    if !req.cost_usd.is_finite() || req.cost_usd < 0.0 || req.cost_usd > 10_000.0 {
        return Err(ApiError::invalid(
            "`cost_usd` must be between 0 and 10000 for one heartbeat.",
        ));
    }
    let stop_requested = matches!(agent.status, AgentStatus::Stopping | AgentStatus::Stopped);
    if !stop_requested {
        if matches!(req.status, AgentStatus::Stopping | AgentStatus::Stopped) {
            return Err(ApiError::invalid(
                "An agent reports `stopped` by acknowledging a stop (POST /api/v1/agent/stop-ack), not by heartbeat.",
            ));
        }
        if let Some(task_id) = &req.current_task {
            let task: Task = w.fetch(tenant, task_id, "task").await?;
            if task.project_id != agent.project_id {
                return Err(ApiError::invalid(
                    "`current_task` names a task of another project.",
                ));
            }
        }
        agent.status = req.status;
        agent.current_task_id = req.current_task;
    }
    agent.last_heartbeat_at = Some(w.now());
    if req.cost_usd > 0.0 || req.tokens_in > 0 || req.tokens_out > 0 {
        budget::record_cost(
            w,
            tenant,
            &mut agent,
            req.tokens_in,
            req.tokens_out,
            req.cost_usd,
        )
        .await?;
    }
    w.update(tenant, &mut agent).await?;
    let project: Project = w.fetch(tenant, &agent.project_id, "project").await?;
    let stop_id = if stop_requested {
        stop_covering(w, tenant, &agent.id).await?
    } else {
        None
    };
    Ok(HeartbeatResponse {
        stop_requested,
        stop_id,
        paused: project.status == ProjectStatus::Paused,
    })
}

/// The latest stop that names this agent.
pub async fn stop_covering(
    w: &mut Write,
    tenant_id: &str,
    agent_id: &str,
) -> ApiResult<Option<String>> {
    let filter = DocFilter::all(DocKind::Stop).newest(50);
    let stops: Vec<Stop> = w.list(tenant_id, filter).await?;
    Ok(stops
        .into_iter()
        .find(|s| s.agents.iter().any(|a| a.agent_id == agent_id))
        .map(|s| s.id))
}

/// The statuses of a task not finished, read and counted from the index.
pub const OPEN_TASK_STATUSES: &[&str] = &["queued", "running", "blocked"];

/// A project's open tasks, in one query.
pub fn open_tasks_of(project_id: &str) -> DocFilter<'_> {
    DocFilter {
        any_status: OPEN_TASK_STATUSES,
        ..DocFilter::in_project(DocKind::Task, project_id)
    }
}

/// Refuses one more open task in a project that has as many as it may.
async fn ensure_room_for_an_open_task(
    w: &mut Write,
    tenant_id: &str,
    project_id: &str,
) -> ApiResult<()> {
    let limit = w.state().settings.max_open_tasks_per_project;
    let open = w.count(tenant_id, open_tasks_of(project_id)).await?;
    if open >= limit {
        return Err(ApiError::invalid(format!(
            "This project has {open} open tasks (queued, running or blocked), as many as it may \
             have; finish, fail or cancel some before adding more."
        )));
    }
    Ok(())
}

pub async fn upsert_task(
    w: &mut Write,
    principal: &AgentPrincipal,
    req: UpsertTaskRequest,
) -> ApiResult<Task> {
    let tenant = &principal.tenant_id;
    let agent = acting_agent(w, principal).await?;
    if let Some(progress) = req.progress {
        if !(0..=100).contains(&progress) {
            return Err(ApiError::invalid("`progress` must be between 0 and 100."));
        }
    }
    let now = w.now();
    let opens = |status: Option<TaskStatus>| status.is_some_and(|s| !s.is_finished());
    let task = match &req.id {
        Some(id) => {
            let mut task: Task = w.fetch(tenant, id, "task").await?;
            if task.project_id != agent.project_id {
                return Err(ApiError::NotFound { what: "task" });
            }
            if task.status.is_finished() && opens(req.status) {
                ensure_room_for_an_open_task(w, tenant, &agent.project_id).await?;
            }
            if let Some(title) = &req.title {
                task.title = text_field("title", title, 200)?;
            }
            if let Some(status) = req.status {
                task.status = status;
            }
            if let Some(progress) = req.progress {
                task.progress = progress;
            }
            if task.status == TaskStatus::Done {
                task.progress = 100;
            }
            task.agent_id = Some(agent.id.clone());
            task.updated_at = now;
            w.update(tenant, &mut task).await?;
            task
        }
        None => {
            if opens(Some(req.status.unwrap_or(TaskStatus::Queued))) {
                ensure_room_for_an_open_task(w, tenant, &agent.project_id).await?;
            }
            let task = Task {
                id: new_id("tsk"),
                project_id: agent.project_id.clone(),
                agent_id: Some(agent.id.clone()),
                title: text_field("title", req.title.as_deref().unwrap_or_default(), 200)?,
                status: req.status.unwrap_or(TaskStatus::Queued),
                progress: req.progress.unwrap_or(0),
                updated_at: now,
                version: 1,
            };
            w.create(tenant, &task).await?;
            task
        }
    };
    Ok(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_open_statuses_are_those_of_every_task_not_finished() {
        for status in TaskStatus::ALL {
            assert_eq!(
                OPEN_TASK_STATUSES.contains(&status.as_str()),
                !status.is_finished(),
                "{status:?}"
            );
        }
    }
}
