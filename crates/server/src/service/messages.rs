//! Chat between people and agents, per project and per agent.

use spartex_api::{
    Agent, AgentControl, AgentMessageRequest, AuthorKind, Message, PostMessageRequest, Role,
};

use super::{agents::acting_agent, new_id, text_field};
use crate::auth::{AgentPrincipal, UserPrincipal};
use crate::error::{ApiError, ApiResult};
use crate::store::{DocFilter, DocKind, Resource};
use crate::write::Write;

const MAX_BODY_CHARS: usize = 16_000;

/// Posts a person's message; a repeated `client_msg_id` returns the first one (`false`).
pub async fn post_from_user(
    w: &mut Write,
    user: &UserPrincipal,
    project_id: &str,
    req: PostMessageRequest,
) -> ApiResult<(Message, bool)> {
    user.require(Role::Oncall, "chat with agents")?;
    let tenant = user.tenant_id.as_str();
    let body = text_field("body", &req.body, MAX_BODY_CHARS)?;
    let _project: spartex_api::Project = w.fetch(tenant, project_id, "project").await?;
    if let Some(agent_id) = &req.agent_id {
        let agent: Agent = w.fetch(tenant, agent_id, "agent").await?;
        if agent.project_id != project_id {
            return Err(ApiError::invalid(
                "`agent_id` names an agent of another project.",
            ));
        }
    }
    if let Some(client_msg_id) = &req.client_msg_id {
        if client_msg_id.is_empty() || client_msg_id.len() > 100 {
            return Err(ApiError::invalid(
                "`client_msg_id` must be 1 to 100 characters.",
            ));
        }
        let filter = DocFilter {
            lookup_key: Some(client_msg_id),
            ..DocFilter::in_project(DocKind::Message, project_id)
        };
        if let Some(existing) = w.list::<Message>(tenant, filter).await?.into_iter().next() {
            return Ok((existing, false));
        }
    }
    let message = Message {
        id: new_id("msg"),
        project_id: project_id.to_owned(),
        agent_id: req.agent_id.clone(),
        author_kind: AuthorKind::User,
        author_id: Some(user.user_id.clone()),
        author_name: user.name.clone(),
        body,
        created_at: w.now(),
        client_msg_id: req.client_msg_id,
    };
    store(w, tenant, &message).await?;
    let recipients: Vec<String> = match &req.agent_id {
        Some(agent_id) => vec![agent_id.clone()],
        None => w
            .list::<Agent>(tenant, DocFilter::in_project(DocKind::Agent, project_id))
            .await?
            .into_iter()
            .map(|a| a.id)
            .collect(),
    };
    for agent_id in recipients {
        w.push_to_agent(
            &agent_id,
            AgentControl::Message {
                message: message.clone(),
            },
        );
    }
    Ok((message, true))
}

pub async fn post_from_agent(
    w: &mut Write,
    principal: &AgentPrincipal,
    req: AgentMessageRequest,
) -> ApiResult<Message> {
    let agent = acting_agent(w, principal).await?;
    let message = Message {
        id: new_id("msg"),
        project_id: agent.project_id.clone(),
        agent_id: (!req.to_project).then(|| agent.id.clone()),
        author_kind: AuthorKind::Agent,
        author_id: Some(agent.id.clone()),
        author_name: agent.name.clone(),
        body: text_field("body", &req.body, MAX_BODY_CHARS)?,
        created_at: w.now(),
        client_msg_id: None,
    };
    store(w, &principal.tenant_id, &message).await?;
    Ok(message)
}

async fn store(w: &mut Write, tenant_id: &str, message: &Message) -> ApiResult<()> {
    w.tx().put_doc(tenant_id, &message.document()).await?;
    w.emit(
        tenant_id,
        spartex_api::EventPayload::Message(message.clone()),
    )
    .await
}
