//! The emergency stop: every agent in scope is told at once, acknowledges, or is stopped by
//! force when its time runs out.

use spartex_api::{
    Agent, AgentControl, AgentStatus, Project, ProjectStatus, Role, Stop, StopAgent, StopScope,
    StopStatus,
};

use super::{approvals, new_id};
use crate::auth::{AgentPrincipal, UserPrincipal};
use crate::error::{ApiError, ApiResult};
use crate::store::{DocFilter, DocKind};
use crate::write::Write;

pub enum StopTarget<'a> {
    Project(&'a str),
    Tenant,
}

pub async fn stop(
    w: &mut Write<'_>,
    user: &UserPrincipal,
    target: StopTarget<'_>,
    reason: &str,
) -> ApiResult<Stop> {
    user.require(Role::Oncall, "pull the emergency stop")?;
    if reason.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "`reason` is longer than 1000 characters.",
        ));
    }
    let tenant = user.tenant_id.as_str();
    let (scope, projects) = match target {
        StopTarget::Project(id) => (
            StopScope::Project,
            vec![w.fetch::<Project>(tenant, id, "project").await?],
        ),
        StopTarget::Tenant => (
            StopScope::Tenant,
            w.list::<Project>(tenant, DocFilter::all(DocKind::Project))
                .await?,
        ),
    };
    let project_id = match scope {
        StopScope::Project => projects.first().map(|p| p.id.clone()),
        StopScope::Tenant => None,
    };

    let pending: Vec<Stop> = w
        .list(tenant, DocFilter::all(DocKind::Stop).with_status("pending"))
        .await?;
    if let Some(existing) = pending
        .into_iter()
        .find(|s| s.scope == scope && s.project_id == project_id)
    {
        return Ok(existing); // stopping twice is harmless
    }

    let now = w.now();
    let stop_id = new_id("stp");
    let mut in_scope = Vec::new();
    for mut project in projects {
        let agents: Vec<Agent> = w
            .list(tenant, DocFilter::in_project(DocKind::Agent, &project.id))
            .await?;
        for mut agent in agents
            .into_iter()
            .filter(|a| a.status != AgentStatus::Stopped)
        {
            in_scope.push(StopAgent {
                agent_id: agent.id.clone(),
                agent_name: agent.name.clone(),
                project_id: project.id.clone(),
                acked_at: None,
                forced: false,
            });
            if agent.status != AgentStatus::Stopping {
                agent.status = AgentStatus::Stopping;
                agent.version += 1;
                w.upsert(tenant, &agent).await?;
            }
            w.push_to_agent(
                &agent.id,
                AgentControl::Stop {
                    stop_id: stop_id.clone(),
                },
            );
        }
        if matches!(
            project.status,
            ProjectStatus::Active | ProjectStatus::Paused
        ) {
            project.status = ProjectStatus::Stopped;
            project.updated_at = now;
            project.version += 1;
            w.upsert(tenant, &project).await?;
        }
        approvals::cancel_pending(w, tenant, &project.id).await?;
    }

    let nothing_to_stop = in_scope.is_empty();
    let stop = Stop {
        id: stop_id,
        scope,
        project_id,
        requested_by: user.email.clone(),
        reason: reason.trim().to_owned(),
        status: if nothing_to_stop {
            StopStatus::Completed
        } else {
            StopStatus::Pending
        },
        requested_at: now,
        completed_at: nothing_to_stop.then_some(now),
        agents_total: i64::try_from(in_scope.len()).unwrap_or(i64::MAX),
        agents_stopped: 0,
        agents: in_scope,
        version: 1,
    };
    w.upsert(tenant, &stop).await?;
    Ok(stop)
}

/// An agent confirms it stopped.
pub async fn acknowledge(
    w: &mut Write<'_>,
    principal: &AgentPrincipal,
    stop_id: &str,
) -> ApiResult<Stop> {
    let tenant = principal.tenant_id.as_str();
    let mut stop: Stop = w.fetch(tenant, stop_id, "stop").await?;
    let now = w.now();
    let Some(entry) = stop
        .agents
        .iter_mut()
        .find(|a| a.agent_id == principal.agent_id)
    else {
        return Err(ApiError::invalid(
            "This stop does not cover this agent; nothing to acknowledge.",
        ));
    };
    if entry.acked_at.is_some() {
        return Ok(stop); // a repeated ack changes nothing
    }
    entry.acked_at = Some(now);
    if !entry.forced {
        stop.agents_stopped += 1;
    }
    let mut agent: Agent = w.fetch(tenant, &principal.agent_id, "agent").await?;
    if agent.status != AgentStatus::Stopped {
        agent.status = AgentStatus::Stopped;
        agent.version += 1;
        w.upsert(tenant, &agent).await?;
    }
    if stop.status == StopStatus::Pending && stop.agents.iter().all(|a| a.acked_at.is_some()) {
        stop.status = StopStatus::Completed;
        stop.completed_at = Some(now);
    }
    stop.version += 1;
    w.upsert(tenant, &stop).await?;
    Ok(stop)
}

/// Stops by force every agent that did not acknowledge in time; the stop ends `partial`.
pub async fn force_overdue(
    w: &mut Write<'_>,
    tenant_id: &str,
    stop_id: &str,
    timeout: chrono::Duration,
) -> ApiResult<()> {
    let Some(mut stop) = w.get::<Stop>(tenant_id, stop_id).await? else {
        return Ok(());
    };
    let now = w.now();
    if stop.status != StopStatus::Pending || stop.requested_at + timeout > now {
        return Ok(());
    }
    for entry in stop.agents.iter_mut().filter(|a| a.acked_at.is_none()) {
        entry.forced = true;
        if let Some(mut agent) = w.get::<Agent>(tenant_id, &entry.agent_id).await? {
            if agent.status != AgentStatus::Stopped {
                agent.status = AgentStatus::Stopped;
                agent.version += 1;
                w.upsert(tenant_id, &agent).await?;
            }
        }
    }
    stop.status = if stop.agents.iter().any(|a| a.forced) {
        StopStatus::Partial
    } else {
        StopStatus::Completed
    };
    stop.completed_at = Some(now);
    stop.version += 1;
    w.upsert(tenant_id, &stop).await
}
