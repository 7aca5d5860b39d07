//! On-call and escalation (protocol v1.2): the schedule, overrides, the escalation policy, and
//! what a person does with an approval on the ladder (acknowledge it, ask again once expired).

use axum::extract::{Path, State};
use axum::Json;
use spartex_api::{Approval, AskAgainRequest, EscalationPolicy, NewOverride, OnCall, Schedule};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    Conflict, IdPath, IdempotencyKey, Idempotent, Invalid, JsonBody, NotFound, SignedIn, Throttled,
};
use super::extract::{ApiJson, ExactJson, Mutation};
use super::read_optional;
use crate::auth::UserPrincipal;
use crate::error::ApiResult;
use crate::service::{ask_again, escalation, oncall};
use crate::state::AppState;
use crate::store::POLICY_ID;
use crate::write::{mutate, Answer, Reply};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_oncall))
        .routes(routes!(put_schedule))
        .routes(routes!(create_override))
        .routes(routes!(delete_override))
        .routes(routes!(get_policy, put_policy))
        .routes(routes!(ack_approval))
        .routes(routes!(ask_again))
}

/// Who is on call now, when that next changes, the schedule and overrides, and the week ahead
/// as shifts. Without a schedule, everyone with role `oncall` is on call.
#[utoipa::path(get, path = "/api/v1/oncall", tag = "on call", security(("bearer" = [])),
    responses((status = 200, body = OnCall), SignedIn))]
async fn get_oncall(State(state): State<AppState>, user: UserPrincipal) -> ApiResult<Json<OnCall>> {
    Ok(Json(oncall::overview(&state, &user.tenant_id).await?))
}

/// Replaces the schedule's layers (manager, owner). Event: `oncall.updated`. Sent with the
/// `version` it was made from, a change someone else's came between is refused with 409
/// `schedule_changed`.
#[utoipa::path(put, path = "/api/v1/oncall/schedule", tag = "on call", request_body = Schedule,
    params(IdempotencyKey), security(("bearer" = [])),
    responses((status = 200, body = OnCall), SignedIn, JsonBody, Idempotent, Conflict, Invalid, Throttled))]
async fn put_schedule(
    State(state): State<AppState>,
    user: UserPrincipal,
    mutation: Mutation,
    ExactJson(schedule): ExactJson<Schedule>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        oncall::put_schedule(w, &user, schedule)
            .await
            .map(Reply::ok)
    })
    .await
}

/// Someone covers for a while ("cover for …"): an oncall user names themselves, a manager
/// anyone. Event: `oncall.updated`.
#[utoipa::path(post, path = "/api/v1/oncall/overrides", tag = "on call", request_body = NewOverride,
    params(IdempotencyKey), security(("bearer" = [])),
    responses((status = 201, body = OnCall), SignedIn, JsonBody, Idempotent, Invalid, Throttled))]
async fn create_override(
    State(state): State<AppState>,
    user: UserPrincipal,
    mutation: Mutation,
    ApiJson(cover): ApiJson<NewOverride>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        oncall::add_override(w, &user, cover)
            .await
            .map(Reply::created)
    })
    .await
}

/// Removes an override: its own person or author, or a manager. Event: `oncall.updated`.
#[utoipa::path(delete, path = "/api/v1/oncall/overrides/{id}", tag = "on call",
    params(IdPath, IdempotencyKey), security(("bearer" = [])),
    responses((status = 200, body = OnCall), SignedIn, Idempotent, NotFound, Throttled))]
async fn delete_override(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        oncall::delete_override(w, &user, &id).await.map(Reply::ok)
    })
    .await
}

/// The escalation policy; with no levels (the default) no approval climbs a ladder.
#[utoipa::path(get, path = "/api/v1/escalation-policy", tag = "on call", security(("bearer" = [])),
    responses((status = 200, body = EscalationPolicy), SignedIn))]
async fn get_policy(
    State(state): State<AppState>,
    user: UserPrincipal,
) -> ApiResult<Json<EscalationPolicy>> {
    let stored = read_optional::<EscalationPolicy>(&state, &user.tenant_id, POLICY_ID).await?;
    Ok(Json(
        stored.map_or_else(EscalationPolicy::none, oncall::with_version),
    ))
}

/// Replaces the escalation policy (manager, owner). Approvals already on a ladder follow the
/// new one from their next level. Sent with the `version` it was made from, a change someone
/// else's came between is refused with 409 `policy_changed`.
#[utoipa::path(put, path = "/api/v1/escalation-policy", tag = "on call", request_body = EscalationPolicy,
    params(IdempotencyKey), security(("bearer" = [])),
    responses((status = 200, body = EscalationPolicy), SignedIn, JsonBody, Idempotent, Conflict, Invalid, Throttled))]
async fn put_policy(
    State(state): State<AppState>,
    user: UserPrincipal,
    mutation: Mutation,
    ExactJson(policy): ExactJson<EscalationPolicy>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        oncall::put_policy(w, &user, policy).await.map(Reply::ok)
    })
    .await
}

/// "I am on it": stops the escalation ladder and shows everyone who took it; the approval
/// stays pending. Acking twice is harmless; acking a settled approval is 409.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/ack", tag = "approvals", params(IdPath, IdempotencyKey),
    security(("bearer" = [])), responses((status = 200, body = Approval), SignedIn, Idempotent, NotFound, Conflict, Throttled))]
async fn ack_approval(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        escalation::ack(w, &user, &id).await.map(Reply::ok)
    })
    .await
}

/// Asks the agent of an expired approval to propose again (`ask_again` on its control
/// socket), with an optional comment; 409 `approval_not_expired` for any other status.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/ask-again", tag = "approvals",
    params(IdPath, IdempotencyKey), request_body = Option<AskAgainRequest>, security(("bearer" = [])),
    responses((status = 200, body = Approval), SignedIn, JsonBody, Idempotent, NotFound, Conflict, Invalid, Throttled))]
async fn ask_again(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
    body: axum::body::Bytes,
) -> ApiResult<Answer> {
    let request: AskAgainRequest = super::client_routes::optional_body(&body)?;
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        ask_again::ask_again(w, &user, &id, request.comment)
            .await
            .map(Reply::ok)
    })
    .await
}
