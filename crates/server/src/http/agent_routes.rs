//! The agent-worker routes: where agents plug in, with an agent's `sat_` token, and their
//! control socket.

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use futures_util::StreamExt;
use serde::Deserialize;
use spartex_api::{
    Agent, AgentControl, AgentMessageRequest, AgentStatus, Approval, ApprovalStatus, EventKind,
    HeartbeatRequest, HeartbeatResponse, Message, Project, ProjectStatus, RequestApproval, Stop,
    StopAckRequest, StopStatus, Task, UpsertTaskRequest, AGENT_TOKEN_REVOKED_CLOSE_CODE,
};
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    AgentOnly, BadInput, Conflict, IdPath, IdempotencyKey, Idempotent, Invalid, JsonBody, NotFound,
    Throttled,
};
use super::extract::{ApiJson, ApiQuery, Mutation};
use super::socket::{send_close, send_json, Followed, ForgetWhenDone, Pings, Sink, SocketResult};
use super::{read, read_all};
use crate::auth::{AgentPrincipal, TokenHash};
use crate::error::{ApiError, ApiResult};
use crate::hub::ToControl;
use crate::service::{agents, approvals, ask_again, messages, stops};
use crate::state::AppState;
use crate::store::{DocFilter, DocKind};
use crate::write::{mutate, Answer, Reply};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(heartbeat))
        .routes(routes!(request_approval))
        .routes(routes!(wait_for_approval))
        .routes(routes!(post_message))
        .routes(routes!(upsert_task))
        .routes(routes!(stop_ack))
        .routes(routes!(control))
}

/// Reports status and spend since the last beat; answers whether to stop.
#[utoipa::path(post, path = "/api/v1/agent/heartbeat", tag = "agent workers", request_body = HeartbeatRequest,
    params(IdempotencyKey), security(("agent_token" = [])),
    responses((status = 200, body = HeartbeatResponse), AgentOnly, JsonBody, Idempotent, NotFound, Invalid,
        Throttled))]
async fn heartbeat(
    State(state): State<AppState>,
    agent: AgentPrincipal,
    mutation: Mutation,
    ApiJson(req): ApiJson<HeartbeatRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&agent.tenant_id, &agent.agent_id);
    mutate(&state, scope, async |w| {
        agents::heartbeat(w, &agent, req).await.map(Reply::ok)
    })
    .await
}

/// Asks people to approve an action; refused (409 `agent_stopped`) once the agent is stopped,
/// and 429 while the agent already has as many requests pending as one agent may.
#[utoipa::path(post, path = "/api/v1/agent/approvals", tag = "agent workers", request_body = RequestApproval,
    params(IdempotencyKey), security(("agent_token" = [])),
    responses((status = 201, body = Approval), AgentOnly, JsonBody, Idempotent, NotFound, Conflict, Invalid,
        Throttled))]
async fn request_approval(
    State(state): State<AppState>,
    agent: AgentPrincipal,
    mutation: Mutation,
    ApiJson(req): ApiJson<RequestApproval>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&agent.tenant_id, &agent.agent_id);
    mutate(&state, scope, async |w| {
        approvals::request(w, &agent, req).await.map(Reply::created)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct WaitQuery {
    /// Seconds to wait for a decision (default 30); a longer wait is cut to the server's
    /// longest (50 s, under a proxy's usual 60 s).
    #[param(minimum = 0)]
    wait_s: Option<i64>,
}

/// Long-polls one of this agent's approvals until it is decided or the wait ends.
#[utoipa::path(get, path = "/api/v1/agent/approvals/{id}", tag = "agent workers", params(IdPath, WaitQuery),
    security(("agent_token" = [])), responses((status = 200, body = Approval), AgentOnly, BadInput, NotFound))]
async fn wait_for_approval(
    State(state): State<AppState>,
    agent: AgentPrincipal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<WaitQuery>,
) -> ApiResult<Json<Approval>> {
    let wait_s = u64::try_from(query.wait_s.unwrap_or(30))
        .map_err(|_| ApiError::bad_request("`wait_s` must be 0 or more seconds."))?;
    let wait = std::time::Duration::from_secs(wait_s).min(state.settings.max_long_poll);
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let _forget = ForgetWhenDone::new(&state, Followed::Tenant(agent.tenant_id.clone()));
    let mut live = state.events.subscribe(&agent.tenant_id);
    let approval: Approval = read(&state, &agent.tenant_id, &id, "approval").await?;
    if approval.agent_id.as_deref() != Some(agent.agent_id.as_str()) {
        return Err(ApiError::NotFound { what: "approval" });
    }
    if approval.status != ApprovalStatus::Pending || wait.is_zero() {
        return Ok(Json(approval));
    }
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut stopping => break,
            received = live.recv() => match received {
                Ok(published) if published.event.kind == EventKind::ApprovalUpserted.as_str()
                    && published.event.data.get("id").and_then(|v| v.as_str()) == Some(id.as_str()) =>
                {
                    let current: Approval = serde_json::from_value(published.event.data.clone())
                        .map_err(|e| ApiError::Internal(e.into()))?;
                    if current.status != ApprovalStatus::Pending {
                        return Ok(Json(current));
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    let current: Approval = read(&state, &agent.tenant_id, &id, "approval").await?;
                    if current.status != ApprovalStatus::Pending {
                        return Ok(Json(current));
                    }
                }
                Err(RecvError::Closed) => break,
            },
            _ = &mut deadline => break,
        }
    }
    Ok(Json(read(&state, &agent.tenant_id, &id, "approval").await?))
}

/// Posts to this agent's thread, or to the project's with `to_project`.
#[utoipa::path(post, path = "/api/v1/agent/messages", tag = "agent workers", request_body = AgentMessageRequest,
    params(IdempotencyKey), security(("agent_token" = [])),
    responses((status = 201, body = Message), AgentOnly, JsonBody, Idempotent, NotFound, Conflict, Invalid,
        Throttled))]
async fn post_message(
    State(state): State<AppState>,
    agent: AgentPrincipal,
    mutation: Mutation,
    ApiJson(req): ApiJson<AgentMessageRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&agent.tenant_id, &agent.agent_id);
    mutate(&state, scope, async |w| {
        messages::post_from_agent(w, &agent, req)
            .await
            .map(Reply::created)
    })
    .await
}

/// Creates a task, or updates the one named by `id`.
#[utoipa::path(post, path = "/api/v1/agent/tasks", tag = "agent workers", request_body = UpsertTaskRequest,
    params(IdempotencyKey), security(("agent_token" = [])),
    responses((status = 200, body = Task), AgentOnly, JsonBody, Idempotent, NotFound, Conflict, Invalid,
        Throttled))]
async fn upsert_task(
    State(state): State<AppState>,
    agent: AgentPrincipal,
    mutation: Mutation,
    ApiJson(req): ApiJson<UpsertTaskRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&agent.tenant_id, &agent.agent_id);
    mutate(&state, scope, async |w| {
        agents::upsert_task(w, &agent, req).await.map(Reply::ok)
    })
    .await
}

/// Confirms this agent stopped.
#[utoipa::path(post, path = "/api/v1/agent/stop-ack", tag = "agent workers", request_body = StopAckRequest,
    params(IdempotencyKey), security(("agent_token" = [])),
    responses((status = 200, body = Stop), AgentOnly, JsonBody, Idempotent, NotFound, Invalid))]
async fn stop_ack(
    State(state): State<AppState>,
    agent: AgentPrincipal,
    mutation: Mutation,
    ApiJson(req): ApiJson<StopAckRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&agent.tenant_id, &agent.agent_id);
    mutate(&state, scope, async |w| {
        stops::acknowledge(w, &agent, &req.stop_id)
            .await
            .map(Reply::ok)
    })
    .await
}

/// The agent's control socket (WebSocket): `{"type":"stop","stop_id":…}` the moment a stop
/// covers it, and `resume`, `pause`, `message` and `ask_again` frames. At connect, what it
/// missed while away: a pending stop, a pause, the ask-agains it has not answered. Closed with
/// code 4401 once the token it was opened with is replaced.
#[utoipa::path(get, path = "/api/v1/agent/control", tag = "agent workers", security(("agent_token" = [])),
    responses((status = 101, description = "Switching to the control socket"), AgentOnly, BadInput))]
async fn control(
    State(state): State<AppState>,
    agent: AgentPrincipal,
    token: TokenHash,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .max_message_size(16 * 1024)
        .on_upgrade(move |socket| async move {
            if let Err(ended) = serve_control(state, agent, token, socket).await {
                ended.log("agent control");
            }
        })
}

async fn serve_control(
    state: AppState,
    principal: AgentPrincipal,
    token: TokenHash,
    socket: WebSocket,
) -> SocketResult<()> {
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let (mut sink, mut incoming) = socket.split();
    let _forget = ForgetWhenDone::new(&state, Followed::Agent(principal.agent_id.clone()));
    let mut frames = state.agents.subscribe(&principal.agent_id);
    let mut resyncs = state.agents.resyncs();
    // Checked again once subscribed: a token revoked as this socket opened was told to no one.
    if closed_as_revoked(&state, &principal, &token, &mut sink).await? {
        return Ok(());
    }
    // A stop, pause or ask-again that happened while the worker was away is sent at once.
    send_missed_frames(&state, &principal, &mut sink).await?;
    let mut pings = Pings::every(state.settings.ping_interval).await;
    loop {
        tokio::select! {
            () = &mut stopping => {
                let _ = send_close(&mut sink, None).await;
                return Ok(());
            }
            // What this instance may have missed includes a revocation.
            Ok(()) = resyncs.changed() => {
                if closed_as_revoked(&state, &principal, &token, &mut sink).await? {
                    return Ok(());
                }
                send_missed_frames(&state, &principal, &mut sink).await?;
            }
            received = frames.recv() => match received {
                Ok(ToControl::Frame(frame)) => send_json(&mut sink, &frame).await?,
                Ok(ToControl::CheckToken) => {
                    if closed_as_revoked(&state, &principal, &token, &mut sink).await? {
                        return Ok(());
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    if closed_as_revoked(&state, &principal, &token, &mut sink).await? {
                        return Ok(());
                    }
                    send_missed_frames(&state, &principal, &mut sink).await?;
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            () = pings.due() => {
                if !pings.send(&mut incoming, &mut sink).await? {
                    return Ok(());
                }
            }
            frame = incoming.next() => match frame {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Ok(()),
                Some(Ok(_)) => pings.heard(), // pongs and client chatter carry nothing else
            },
        }
    }
}

/// Closes the socket when the token it was opened with no longer signs in, with the code that
/// tells the worker so (reconnecting with it answers 401: the new one is needed). Answers
/// whether it closed.
async fn closed_as_revoked(
    state: &AppState,
    principal: &AgentPrincipal,
    token: &TokenHash,
    sink: &mut Sink,
) -> SocketResult<bool> {
    if token.signs_in(state, principal).await? {
        return Ok(false);
    }
    let frame = CloseFrame {
        code: AGENT_TOKEN_REVOKED_CLOSE_CODE,
        reason: "token_revoked: this agent's token was replaced; connect with the new one".into(),
    };
    send_close(sink, Some(frame)).await?;
    Ok(true)
}

/// Sends the agent what it may have missed: at connect, after its feed lagged, and when this
/// instance may have lost announcements (`AgentControlHub::resync_all`). A stop or pause first;
/// then its open asks, which can so arrive twice (agents propose again once per approval), and
/// whose read failing holds up nothing else.
async fn send_missed_frames(
    state: &AppState,
    principal: &AgentPrincipal,
    sink: &mut Sink,
) -> SocketResult<()> {
    for frame in missed_frames(state, principal).await? {
        send_json(sink, &frame).await?;
    }
    let asks = match open_asks(state, principal).await {
        Ok(asks) => asks,
        Err(error) => {
            tracing::warn!(%error, agent = %principal.agent_id, "could not read the agent's open asks; they are sent at its next connect");
            Vec::new()
        }
    };
    for frame in asks {
        send_json(sink, &frame).await?;
    }
    Ok(())
}

async fn missed_frames(
    state: &AppState,
    principal: &AgentPrincipal,
) -> ApiResult<Vec<AgentControl>> {
    let agent: Agent = read(state, &principal.tenant_id, &principal.agent_id, "agent").await?;
    let mut frames = Vec::new();
    if agent.status == AgentStatus::Stopping {
        let pending: Vec<Stop> = read_all(
            state,
            &principal.tenant_id,
            DocFilter::all(DocKind::Stop).with_status(StopStatus::Pending.as_str()),
        )
        .await?;
        if let Some(stop) = pending.iter().find(|s| {
            s.agents
                .iter()
                .any(|a| a.agent_id == agent.id && a.acked_at.is_none())
        }) {
            frames.push(AgentControl::Stop {
                stop_id: stop.id.clone(),
            });
        }
    }
    let project: Project = read(state, &principal.tenant_id, &agent.project_id, "project").await?;
    if project.status == ProjectStatus::Paused {
        frames.push(AgentControl::Pause {
            reason: "The project's budget is spent".into(),
        });
    }
    Ok(frames)
}

/// The asks the agent has not answered: two indexed reads, today's and yesterday's (usually
/// of nothing).
async fn open_asks(state: &AppState, principal: &AgentPrincipal) -> ApiResult<Vec<AgentControl>> {
    let now = state.now();
    let mut asked: Vec<Approval> = Vec::new();
    for key in ask_again::open_ask_keys(&principal.agent_id, now) {
        asked.extend(read_all(state, &principal.tenant_id, ask_again::open_asks_of(&key)).await?);
    }
    Ok(ask_again::ask_frames(&asked, &principal.agent_id, now))
}
