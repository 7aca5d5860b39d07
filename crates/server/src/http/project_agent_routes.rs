//! How people give a project an agent, and replace the token its worker signs in with (a
//! person's access token, managers and owners). The worker's own routes are in
//! `agent_routes.rs`.

use axum::extract::{Path, State};
use serde::Deserialize;
use spartex_api::{CreateAgentRequest, CreatedAgent};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    IdPath, IdempotencyKey, Idempotent, Invalid, JsonBody, NotFound, SignedIn, Throttled,
};
use super::extract::{ApiJson, Mutation};
use crate::auth::UserPrincipal;
use crate::error::ApiResult;
use crate::service::projects::{self, MintedAgent};
use crate::state::AppState;
use crate::write::{mutate, Answer, Reply};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_agent))
        .routes(routes!(replace_agent_token))
}

/// `{id}` and `{agent_id}`: a project and one of its agents. An unknown id, another project's
/// agent or another organisation's answers 404.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct AgentPath {
    /// The project's id, as the server gave it.
    #[param(min_length = 1)]
    id: String,
    /// The agent's id, as the server gave it.
    #[param(min_length = 1)]
    agent_id: String,
}

/// Adds an agent and returns the token its worker signs in with (shown once).
#[utoipa::path(post, path = "/api/v1/projects/{id}/agents", tag = "projects", params(IdPath, IdempotencyKey),
    request_body = CreateAgentRequest, security(("bearer" = [])),
    responses((status = 201, body = CreatedAgent), SignedIn, JsonBody, Idempotent, NotFound, Invalid, Throttled))]
async fn create_agent(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
    ApiJson(req): ApiJson<CreateAgentRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    let kept = mutate(&state, scope, async |w| {
        projects::create_agent(w, &user, &id, req)
            .await
            .map(kept_with_salt)
    })
    .await?;
    with_agent_token(&state, &user, projects::ADD_AGENTS, kept)
}

/// Gives the agent's worker a new token (shown once); managers and owners only. Every token
/// the agent had stops signing in as this commits (401), and its control sockets opened with
/// one close (code 4401): a token that leaked is cut off without deleting the agent or its
/// history. A retry with the same `Idempotency-Key` answers the same new token.
#[utoipa::path(post, path = "/api/v1/projects/{id}/agents/{agent_id}/token", tag = "projects",
    params(AgentPath, IdempotencyKey), security(("bearer" = [])),
    responses((status = 201, body = CreatedAgent), SignedIn, Idempotent, NotFound, Throttled))]
async fn replace_agent_token(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(AgentPath { id, agent_id }): Path<AgentPath>,
    mutation: Mutation,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    let kept = mutate(&state, scope, async |w| {
        projects::replace_agent_token(w, &user, &id, &agent_id)
            .await
            .map(kept_with_salt)
    })
    .await?;
    with_agent_token(&state, &user, projects::REPLACE_AGENT_TOKENS, kept)
}

/// What stands in a kept answer for the agent's token: the salt it was derived from.
const TOKEN_SALT_KEPT: &str = "salt:";

/// The answer to keep under the Idempotency-Key: the token's salt in its place, so a worker's
/// token is never stored in the clear ([`crate::auth::TokenKeys::agent_token`]).
fn kept_with_salt(minted: MintedAgent) -> Reply<CreatedAgent> {
    Reply::created(CreatedAgent {
        agent_token: format!("{TOKEN_SALT_KEPT}{}", minted.token_salt),
        ..minted.created
    })
}

/// The kept answer with the agent's token derived again in place of its salt, as it is sent,
/// if the caller may still hand one out (`action`): an answer kept under an Idempotency-Key is
/// sent again before any change runs, and a manager demoted since must not get a live token
/// back by repeating their request (403, as the route answers them). A refusal kept under the
/// key, or an answer kept before tokens were derived, goes as it was.
fn with_agent_token(
    state: &AppState,
    user: &UserPrincipal,
    action: &str,
    kept: Answer,
) -> ApiResult<Answer> {
    if !kept.status.is_success() {
        return Ok(kept);
    }
    let mut created: CreatedAgent =
        serde_json::from_str(&kept.body).map_err(crate::store::StoreError::from)?;
    let Some(salt) = created.agent_token.strip_prefix(TOKEN_SALT_KEPT) else {
        return Ok(kept);
    };
    projects::may_hand_out_agent_tokens(user, action)?;
    let (token, _) = state.tokens.agent_token(&created.agent.id, salt);
    created.agent_token = token.expose().to_owned();
    Ok(Answer {
        body: serde_json::to_string(&created).map_err(crate::store::StoreError::from)?,
        ..kept
    })
}
