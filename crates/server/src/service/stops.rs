//! The emergency stop: every agent in scope is told at once, acknowledges, or is stopped by
//! force when its time runs out.

use std::collections::BTreeSet;

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
    w: &mut Write,
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
    // Agents are listed by themselves, not through their projects, so that a project row
    // that no longer parses cannot hide its agents from the stop.
    let (scope, projects, agents) = match target {
        StopTarget::Project(id) => (
            StopScope::Project,
            vec![w.fetch::<Project>(tenant, id, "project").await?],
            w.list::<Agent>(tenant, DocFilter::in_project(DocKind::Agent, id))
                .await?,
        ),
        StopTarget::Tenant => (
            StopScope::Tenant,
            w.list::<Project>(tenant, DocFilter::all(DocKind::Project))
                .await?,
            w.list::<Agent>(tenant, DocFilter::all(DocKind::Agent))
                .await?,
        ),
    };
    let project_id = match scope {
        StopScope::Project => projects.first().map(|p| p.id.clone()),
        StopScope::Tenant | StopScope::Unknown => None,
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
    let mut project_ids: BTreeSet<String> = projects.iter().map(|p| p.id.clone()).collect();
    for mut agent in agents
        .into_iter()
        .filter(|a| a.status != AgentStatus::Stopped)
    {
        project_ids.insert(agent.project_id.clone());
        in_scope.push(StopAgent {
            agent_id: agent.id.clone(),
            agent_name: agent.name.clone(),
            project_id: agent.project_id.clone(),
            acked_at: None,
            forced: false,
            resumed_at: None,
        });
        if agent.status != AgentStatus::Stopping {
            agent.status = AgentStatus::Stopping;
            w.update(tenant, &mut agent).await?;
        }
        w.push_to_agent(
            &agent.id,
            AgentControl::Stop {
                stop_id: stop_id.clone(),
            },
        );
    }
    for mut project in projects {
        if matches!(
            project.status,
            ProjectStatus::Active | ProjectStatus::Paused
        ) {
            project.status = ProjectStatus::Stopped;
            project.updated_at = now;
            w.update(tenant, &mut project).await?;
        }
    }
    for project_id in &project_ids {
        approvals::cancel_pending(w, tenant, project_id).await?;
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
    w.create(tenant, &stop).await?;
    Ok(stop)
}

/// An agent confirms it stopped.
pub async fn acknowledge(
    w: &mut Write,
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
    // A repeated ack changes nothing; neither does a late one, after the stop ended or after
    // a resume lifted it for this agent: the agent may be working again by now.
    if entry.acked_at.is_some() || entry.resumed_at.is_some() || stop.status != StopStatus::Pending
    {
        return Ok(stop);
    }
    entry.acked_at = Some(now);
    if !entry.forced {
        stop.agents_stopped += 1;
    }
    let mut agent: Agent = w.fetch(tenant, &principal.agent_id, "agent").await?;
    if agent.status != AgentStatus::Stopped {
        agent.status = AgentStatus::Stopped;
        w.update(tenant, &mut agent).await?;
    }
    settle_if_answered(&mut stop, now);
    w.update(tenant, &mut stop).await?;
    Ok(stop)
}

/// Ends a pending stop once every agent in it acknowledged or was resumed.
fn settle_if_answered(stop: &mut Stop, now: chrono::DateTime<chrono::Utc>) {
    let answered = |a: &StopAgent| a.acked_at.is_some() || a.resumed_at.is_some();
    if stop.status == StopStatus::Pending && stop.agents.iter().all(answered) {
        stop.status = StopStatus::Completed;
        stop.completed_at = Some(now);
    }
}

/// A resume of `project_id` lifts every pending stop there: its agents that have not
/// acknowledged are marked resumed, so late acks and the force deadline leave them alone.
pub async fn supersede_pending(w: &mut Write, tenant_id: &str, project_id: &str) -> ApiResult<()> {
    let pending: Vec<Stop> = w
        .list(
            tenant_id,
            DocFilter::all(DocKind::Stop).with_status("pending"),
        )
        .await?;
    let now = w.now();
    for mut stop in pending {
        let mut lifted = false;
        for entry in stop.agents.iter_mut().filter(|a| {
            a.project_id == project_id && a.acked_at.is_none() && a.resumed_at.is_none()
        }) {
            entry.resumed_at = Some(now);
            lifted = true;
        }
        if !lifted {
            continue;
        }
        settle_if_answered(&mut stop, now);
        w.update(tenant_id, &mut stop).await?;
    }
    Ok(())
}

/// Stops by force every agent that did not acknowledge in time; the stop ends `partial`.
pub async fn force_overdue(
    w: &mut Write,
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
    for entry in stop
        .agents
        .iter_mut()
        .filter(|a| a.acked_at.is_none() && a.resumed_at.is_none())
    {
        entry.forced = true;
        if let Some(mut agent) = w.get::<Agent>(tenant_id, &entry.agent_id).await? {
            if agent.status != AgentStatus::Stopped {
                agent.status = AgentStatus::Stopped;
                w.update(tenant_id, &mut agent).await?;
            }
        }
    }
    stop.status = if stop.agents.iter().any(|a| a.forced) {
        StopStatus::Partial
    } else {
        StopStatus::Completed
    };
    stop.completed_at = Some(now);
    w.update(tenant_id, &mut stop).await
}
