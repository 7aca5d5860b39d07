//! The budget guardrail: warn at 80 %, pause and ask at 100 % instead of failing mid-task.

use serde_json::json;
use spartex_api::{
    Agent, AgentControl, AgentStatus, Approval, ApprovalStatus, BudgetState, CostRecord,
    EventPayload, OnExpiry, Preview, Project, ProjectStatus, Risk,
};

use crate::error::ApiResult;
use crate::store::{DocFilter, DocKind, NewCost};
use crate::write::Write;

pub const BUDGET_EXCEEDED_KIND: &str = "budget_exceeded";
const BUDGET_QUESTION_TTL_S: i64 = 4 * 3600;

/// Records spend by an agent; pauses the project and asks for more budget when it runs out.
pub async fn record_cost(
    w: &mut Write,
    tenant_id: &str,
    agent: &mut Agent,
    tokens_in: i64,
    tokens_out: i64,
    cost_usd: f64,
) -> ApiResult<()> {
    let now = w.now();
    w.tx()
        .insert_cost(
            tenant_id,
            &NewCost {
                project_id: &agent.project_id,
                agent_id: &agent.id,
                at_s: now.timestamp(),
                model: &agent.model,
                tokens_in,
                tokens_out,
                cost_usd,
            },
        )
        .await?;
    // Bounded per heartbeat by the caller; saturating so no history of them can wrap.
    agent.tokens_used = agent
        .tokens_used
        .saturating_add(tokens_in.saturating_add(tokens_out));
    agent.cost_usd += cost_usd;

    let mut project: Project = w.fetch(tenant_id, &agent.project_id, "project").await?;
    project.spent_usd = ((project.spent_usd + cost_usd) * 10_000.0).round() / 10_000.0;
    project.updated_at = now;
    let state = project.budget_state();
    let exceeded_while_active =
        state == BudgetState::Exceeded && project.status == ProjectStatus::Active;
    if exceeded_while_active {
        project.status = ProjectStatus::Paused;
    }
    w.update(tenant_id, &mut project).await?;
    let record = CostRecord {
        project_id: project.id.clone(),
        agent_id: agent.id.clone(),
        at: now,
        model: agent.model.clone(),
        tokens_in,
        tokens_out,
        cost_usd,
        budget_state: state,
        project_spent_usd: project.spent_usd,
        project_budget_usd: project.budget_usd,
    };
    w.emit(tenant_id, EventPayload::Cost(record)).await?;
    if exceeded_while_active {
        pause_for_budget(w, tenant_id, &project, agent).await?;
    }
    Ok(())
}

async fn pause_for_budget(
    w: &mut Write,
    tenant_id: &str,
    project: &Project,
    trigger: &mut Agent,
) -> ApiResult<()> {
    let agents: Vec<Agent> = w
        .list(
            tenant_id,
            DocFilter::in_project(DocKind::Agent, &project.id),
        )
        .await?;
    let reason = format!("Budget of ${:.2} reached", project.budget_usd);
    for mut agent in agents {
        w.push_to_agent(
            &agent.id,
            AgentControl::Pause {
                reason: reason.clone(),
            },
        );
        if agent.id == trigger.id {
            trigger.status = AgentStatus::Idle;
            continue;
        }
        if matches!(
            agent.status,
            AgentStatus::Working | AgentStatus::WaitingApproval
        ) {
            agent.status = AgentStatus::Idle;
            w.update(tenant_id, &mut agent).await?;
        }
    }
    let pending = DocFilter::in_project(DocKind::Approval, &project.id).with_status("pending");
    let already_asked = w
        .list::<Approval>(tenant_id, pending)
        .await?
        .iter()
        .any(|a| a.kind == BUDGET_EXCEEDED_KIND);
    if already_asked {
        return Ok(());
    }
    let new_budget = suggested_budget(project.budget_usd, project.spent_usd);
    let now = w.now();
    let mut approval = Approval {
        id: super::approvals::new_budget_approval_id(),
        project_id: project.id.clone(),
        agent_id: Some(trigger.id.clone()),
        task_id: trigger.current_task_id.clone(),
        kind: BUDGET_EXCEEDED_KIND.into(),
        title: format!("Raise the budget of {} to ${new_budget:.0} and continue?", project.name),
        summary: format!(
            "**{}** has spent ${:.2} of its ${:.2} budget, so its agents are paused. Approve to raise the \
             budget to **${new_budget:.0}** and let them continue; reject to keep the project paused.",
            project.name, project.spent_usd, project.budget_usd
        ),
        payload: json!({ "project_id": project.id, "current_budget_usd": project.budget_usd, "new_budget_usd": new_budget }),
        preview: Some(Preview::Amount {
            currency: "USD".into(),
            old_amount: Some(project.budget_usd),
            new_amount: new_budget,
            period: Some("project total".into()),
        }),
        risk: Risk::High,
        status: ApprovalStatus::Pending,
        created_at: now,
        expires_at: now + chrono::Duration::seconds(BUDGET_QUESTION_TTL_S),
        on_expiry: OnExpiry::Reject,
        decided_by: None,
        decided_at: None,
        comment: None,
        escalation: None,
        ask_again_requested_at: None,
        ask_again_requested_by: None,
        ask_again_comment: None,
        ask_again_answered_by: None,
        answers_ask: None,
        version: 1,
    };
    super::escalation::start(w, tenant_id, &mut approval).await?;
    w.create(tenant_id, &approval).await
}

/// Half again, rounded up to a round figure, and at least what was already spent.
fn suggested_budget(budget: f64, spent: f64) -> f64 {
    let target = (budget * 1.5).max(spent * 1.2).max(100.0);
    let step = if target >= 10_000.0 { 1_000.0 } else { 100.0 };
    (target / step).ceil() * step
}

/// When a `budget_exceeded` approval is approved, raises the budget and lets the agents go on.
pub async fn on_budget_approval_settled(
    w: &mut Write,
    tenant_id: &str,
    approval: &Approval,
) -> ApiResult<()> {
    if approval.kind != BUDGET_EXCEEDED_KIND || approval.status != ApprovalStatus::Approved {
        return Ok(());
    }
    let Some(mut project) = w.get::<Project>(tenant_id, &approval.project_id).await? else {
        return Ok(());
    };
    // Exactly the amount the approver saw, never the payload: the two could differ.
    let Some(Preview::Amount { new_amount, .. }) = &approval.preview else {
        tracing::warn!(approval = %approval.id, "a budget approval without an amount preview changes nothing");
        return Ok(());
    };
    let Ok(new_budget) = super::money_field("new_amount", *new_amount) else {
        tracing::warn!(approval = %approval.id, "a budget approval with an amount that cannot be stored changes nothing");
        return Ok(());
    };
    project.budget_usd = new_budget;
    project.updated_at = w.now();
    if project.status == ProjectStatus::Paused {
        super::projects::reactivate(w, tenant_id, project).await?;
    } else {
        w.update(tenant_id, &mut project).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::suggested_budget;

    #[test]
    fn the_suggested_budget_is_a_round_figure_above_the_spend() {
        assert_eq!(suggested_budget(1_000.0, 1_001.0), 1_500.0);
        assert_eq!(suggested_budget(12_000.0, 12_050.0), 18_000.0);
        assert_eq!(suggested_budget(10.0, 10.5), 100.0);
    }
}
