//! Approvals: agents ask, people decide, the clock expires what nobody decided.

use serde_json::json;
use spartex_api::{
    AgentStatus, Approval, ApprovalStatus, DecidedBy, Decision, DecisionRequest, ErrorCode,
    OnExpiry, Project, ProjectStatus, RequestApproval, Risk, Role,
};

use super::{agents::acting_agent, budget, new_id, text_field};
use crate::auth::{AgentPrincipal, UserPrincipal};
use crate::error::{ApiError, ApiResult};
use crate::write::Write;

const MIN_EXPIRY_S: i64 = 10;
/// How long an agent over its share of waiting approvals is told to wait before asking again.
const PENDING_RETRY_AFTER_S: u64 = 30;
/// The shortest expiry after which silence may approve (`on_expiry: approve`).
const MIN_SILENCE_AS_YES_S: i64 = 15 * 60;

/// Kinds the server raises itself; an agent may not file them, so it cannot pre-empt or
/// imitate a guardrail's question (and, through it, fund itself).
const RESERVED_KINDS: &[&str] = &[budget::BUDGET_EXCEEDED_KIND];
const RESERVED_PREFIXES: &[&str] = &["spartex_", "system_", "server_"];

pub fn is_reserved_kind(kind: &str) -> bool {
    RESERVED_KINDS.contains(&kind) || RESERVED_PREFIXES.iter().any(|p| kind.starts_with(p))
}
const MAX_EXPIRY_S: i64 = 7 * 24 * 3600;

pub async fn decide(
    w: &mut Write,
    user: &UserPrincipal,
    id: &str,
    req: DecisionRequest,
) -> ApiResult<Approval> {
    user.require(Role::Oncall, "decide approvals")?;
    if req
        .comment
        .as_deref()
        .is_some_and(|c| c.chars().count() > 4000)
    {
        return Err(ApiError::invalid(
            "`comment` is longer than 4000 characters.",
        ));
    }
    let comment = match req.comment.as_deref().map(str::trim) {
        Some("") | None => None,
        Some(c) => Some(c.to_owned()),
    };
    let mut approval: Approval = w.fetch(&user.tenant_id, id, "approval").await?;
    let now = w.now();
    match approval.status {
        ApprovalStatus::Pending if approval.expires_at <= now => return Err(expired(&approval)),
        ApprovalStatus::Pending => {}
        ApprovalStatus::Expired => return Err(expired(&approval)),
        _ => return Err(already_decided(&approval)),
    }
    if req.seen_version != approval.version {
        return Err(ApiError::Conflict {
            code: ErrorCode::ApprovalChanged,
            message: "This request changed after you looked at it. Review the new version, then decide again.".into(),
            details: json!({ "approval": approval }),
        });
    }
    approval.status = match req.decision {
        Decision::Approve => ApprovalStatus::Approved,
        Decision::Reject => ApprovalStatus::Rejected,
    };
    approval.decided_by = Some(DecidedBy {
        id: user.user_id.clone(),
        name: user.name.clone(),
        email: Some(user.email.clone()),
        role: Some(user.role),
    });
    approval.decided_at = Some(now);
    approval.comment = comment;
    super::escalation::settle(&mut approval);
    w.update(&user.tenant_id, &mut approval).await?;
    budget::on_budget_approval_settled(w, &user.tenant_id, &approval).await?;
    Ok(approval)
}

fn expired(approval: &Approval) -> ApiError {
    ApiError::Gone {
        code: ErrorCode::ApprovalExpired,
        message: approval.expired_message(),
        details: json!({ "approval": approval }),
    }
}

fn already_decided(approval: &Approval) -> ApiError {
    ApiError::Conflict {
        code: ErrorCode::ApprovalAlreadyDecided,
        message: approval.already_decided_message(),
        details: json!({
            "approval": approval,
            "decided_by": approval.decided_by,
            "decided_at": approval.decided_at,
        }),
    }
}

pub async fn request(
    w: &mut Write,
    principal: &AgentPrincipal,
    req: RequestApproval,
) -> ApiResult<Approval> {
    let tenant = &principal.tenant_id;
    let mut agent = acting_agent(w, principal).await?;
    let project: Project = w.fetch(tenant, &agent.project_id, "project").await?;
    match project.status {
        ProjectStatus::Active => {}
        ProjectStatus::Paused => {
            return Err(ApiError::Conflict {
                code: ErrorCode::ProjectStopped,
                message:
                    "The project is paused (its budget is spent); ask again once it is resumed."
                        .into(),
                details: json!({ "project_status": project.status }),
            })
        }
        status => {
            return Err(ApiError::Conflict {
                code: ErrorCode::ProjectStopped,
                message: format!("The project is {status}; it takes no new approval requests."),
                details: json!({ "project_status": status }),
            })
        }
    }
    if !(MIN_EXPIRY_S..=MAX_EXPIRY_S).contains(&req.expires_in_s) {
        return Err(ApiError::invalid(format!(
            "`expires_in_s` must be between {MIN_EXPIRY_S} and {MAX_EXPIRY_S} seconds."
        )));
    }
    if !req.payload.is_object() {
        return Err(ApiError::invalid(
            "`payload` must be a JSON object: the arguments the agent will act with, by name.",
        ));
    }
    // Silence as a yes is the agent's choice: never where a person's answer matters most.
    if req.on_expiry == Some(OnExpiry::Approve) && matches!(req.risk, Risk::High | Risk::Critical) {
        return Err(ApiError::invalid(
            "`on_expiry: approve` is for low- and medium-risk requests only: a high or critical \
             request nobody answered is rejected. Leave `on_expiry` out, or give people longer \
             with `expires_in_s`.",
        ));
    }
    let kind = text_field("kind", &req.kind, 64)?;
    // As sent: " publish_ad" is not snake_case, though it trims to it.
    if !req
        .kind
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ApiError::invalid(
            "`kind` must be snake_case, e.g. `publish_ad`.",
        ));
    }
    if is_reserved_kind(&kind) {
        return Err(ApiError::Invalid {
            code: ErrorCode::ReservedKind,
            message: format!(
                "`{kind}` is a kind only the server raises (budgets and other guardrails); \
                 name your request after what the agent wants to do, e.g. `spend_budget`."
            ),
        });
    }
    // Silence as a yes only once people had time to say no: an agent asking with a short
    // expiry would otherwise approve its own request in seconds.
    if req.on_expiry == Some(OnExpiry::Approve) && req.expires_in_s < MIN_SILENCE_AS_YES_S {
        return Err(ApiError::invalid(format!(
            "`on_expiry: approve` needs `expires_in_s` of at least {MIN_SILENCE_AS_YES_S} s \
             (15 minutes), so people have time to say no; ask with a longer expiry, or leave \
             `on_expiry` out."
        )));
    }
    // Counted from the index: a looping agent at its limit must not have every attempt read its
    // pending requests (each up to the body limit) under the write lock.
    let key = crate::store::pending_of_key(&agent.id);
    let pending = crate::store::DocFilter {
        lookup_key: Some(&key),
        ..crate::store::DocFilter::all(crate::store::DocKind::Approval).with_status("pending")
    };
    let waiting = w.count(tenant, pending).await?;
    if waiting >= w.state().settings.max_pending_approvals_per_agent as i64 {
        // Each request pages a person: a looping agent must not bury the on-call in them.
        return Err(ApiError::RateLimited {
            retry_after_s: PENDING_RETRY_AFTER_S,
        });
    }
    if let Some(task_id) = &req.task_id {
        let task: spartex_api::Task = w.fetch(tenant, task_id, "task").await?;
        if task.project_id != agent.project_id {
            return Err(ApiError::invalid(
                "`task_id` names a task of another project.",
            ));
        }
    }
    if req.summary.chars().count() > 20_000 {
        return Err(ApiError::invalid(
            "`summary` is longer than 20000 characters.",
        ));
    }
    let now = w.now();
    let mut approval = Approval {
        id: new_id("apr"),
        project_id: agent.project_id.clone(),
        agent_id: Some(agent.id.clone()),
        task_id: req.task_id,
        kind,
        title: text_field("title", &req.title, 200)?,
        summary: req.summary,
        payload: req.payload,
        preview: req.preview,
        risk: req.risk,
        status: ApprovalStatus::Pending,
        created_at: now,
        expires_at: now + chrono::Duration::seconds(req.expires_in_s),
        on_expiry: req.on_expiry.unwrap_or(OnExpiry::Reject),
        decided_by: None,
        decided_at: None,
        comment: None,
        escalation: None,
        ask_again_requested_at: None,
        ask_again_requested_by: None,
        ask_again_comment: None,
        ask_again_answered_by: None,
        answers_ask: req.answers_ask,
        version: 1,
    };
    let answered = super::ask_again::answered_ask(w, tenant, &approval).await?;
    super::escalation::start(w, tenant, &mut approval).await?;
    w.create(tenant, &approval).await?;
    if let Some(asked) = answered {
        super::ask_again::note_answer(w, tenant, asked, &approval).await?;
    }
    agent.status = AgentStatus::WaitingApproval;
    w.update(tenant, &mut agent).await?;
    Ok(approval)
}

/// Settles a pending approval whose time ran out, as its `on_expiry` says (fail closed by default).
pub async fn expire(w: &mut Write, tenant_id: &str, approval_id: &str) -> ApiResult<()> {
    let Some(mut approval) = w.get::<Approval>(tenant_id, approval_id).await? else {
        return Ok(());
    };
    if approval.status != ApprovalStatus::Pending || approval.expires_at > w.now() {
        return Ok(());
    }
    // Money never moves without a person: a budget change fails closed whatever it says.
    let approves = approval.on_expiry == OnExpiry::Approve && !is_reserved_kind(&approval.kind);
    let (status, name) = if approves {
        (ApprovalStatus::Approved, "Approved on expiry")
    } else {
        (ApprovalStatus::Expired, "Expired without a decision")
    };
    approval.status = status;
    approval.decided_by = Some(DecidedBy {
        id: "system".into(),
        name: name.into(),
        email: None,
        role: None,
    });
    approval.decided_at = Some(w.now());
    super::escalation::settle(&mut approval);
    w.update(tenant_id, &mut approval).await?;
    budget::on_budget_approval_settled(w, tenant_id, &approval).await
}

/// Cancels the pending approvals of a project whose agents are being stopped.
pub async fn cancel_pending(w: &mut Write, tenant_id: &str, project_id: &str) -> ApiResult<()> {
    let filter = crate::store::DocFilter::in_project(crate::store::DocKind::Approval, project_id)
        .with_status("pending");
    let pending: Vec<Approval> = w.list(tenant_id, filter).await?;
    for mut approval in pending {
        approval.status = ApprovalStatus::Cancelled;
        approval.decided_by = Some(DecidedBy {
            id: "system".into(),
            name: "Cancelled by emergency stop".into(),
            email: None,
            role: None,
        });
        approval.decided_at = Some(w.now());
        super::escalation::settle(&mut approval);
        w.update(tenant_id, &mut approval).await?;
    }
    Ok(())
}

pub fn new_budget_approval_id() -> String {
    new_id("apr")
}
