//! The client routes: what the desktop app, the phone and the CLI call (people, signed in with
//! a user's access token). The event stream they also open is in `event_stream.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use spartex_api::{
    Agent, Approval, ApprovalStatus, CreateProjectRequest, DecisionRequest, ErrorBody, Health,
    LoginRequest, LogoutRequest, Me, Message, PostMessageRequest, Project, ProjectDetail,
    ProjectMetrics, RefreshRequest, Stop, StopRequest, SyncPage, Task, TokenPair,
    UpdateProjectRequest,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    BadInput, Conflict, Gone, IdPath, IdempotencyKey, Idempotent, Invalid, JsonBody, NotFound,
    SignedIn, Throttled, Unreachable,
};
use super::extract::{object_body, ApiJson, ApiQuery, ClientAddress, Fields, Mutation};
use super::{read, read_all, read_all_json, WireJson};
use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::service::stops::StopTarget;
use crate::service::{approvals, messages, projects, sessions, stops};
use crate::state::AppState;
use crate::store::{DocFilter, DocKind};
use crate::write::{mutate, Answer, Reply};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project))
        .routes(routes!(list_messages, post_message))
        .routes(routes!(project_metrics))
        .routes(routes!(list_approvals))
        .routes(routes!(get_approval))
        .routes(routes!(decide_approval))
        .routes(routes!(stop_project))
        .routes(routes!(resume_project))
        .routes(routes!(stop_tenant))
        .routes(routes!(list_stops))
        .routes(routes!(get_stop))
        .routes(routes!(sync))
}

#[utoipa::path(get, path = "/healthz", tag = "sync", responses((status = 200, body = Health), Unreachable))]
async fn healthz(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    state.store.log_bounds("").await?; // proves the database answers
    Ok(Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// Signs in. 401 `invalid_credentials` for a wrong email or password; 429 while a client
/// address and account are throttled after failures.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenPair), JsonBody, Throttled,
        (status = 401, description = "`invalid_credentials`", body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(sessions::login(&state, client, req).await?))
}

/// Rotates the refresh token. Reusing a rotated one revokes the whole sign-in.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenPair), JsonBody, Unreachable,
        (status = 401, description = "The refresh token is unknown, expired, revoked or was reused \
            (`refresh_token_reused`: the whole sign-in is revoked).", body = ErrorBody)))]
async fn refresh(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> ApiResult<Json<TokenPair>> {
    Ok(Json(sessions::refresh(&state, req).await?))
}

/// Signs out: revokes the caller's session, and the one `refresh_token` belongs to if it is the
/// caller's. The body is optional.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = Option<LogoutRequest>,
    security(("bearer" = [])), responses((status = 204, description = "Signed out"), SignedIn, JsonBody))]
async fn logout(
    State(state): State<AppState>,
    user: UserPrincipal,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    let req: LogoutRequest = optional_body(&body)?;
    sessions::logout(&state, &user, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), SignedIn, NotFound))]
async fn me(State(state): State<AppState>, user: UserPrincipal) -> ApiResult<Json<Me>> {
    let found = state
        .store
        .user(&user.tenant_id, &user.user_id)
        .await?
        .ok_or(ApiError::NotFound { what: "user" })?;
    let tenant = state
        .store
        .tenant(&user.tenant_id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "organisation",
        })?;
    Ok(Json(Me {
        user: found,
        tenant,
    }))
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", security(("bearer" = [])),
    responses((status = 200, body = Vec<Project>), SignedIn))]
async fn list_projects(
    State(state): State<AppState>,
    user: UserPrincipal,
) -> ApiResult<WireJson<Vec<Project>>> {
    read_all_json(&state, &user.tenant_id, DocFilter::all(DocKind::Project)).await
}

/// Creates a project; managers and owners only.
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = CreateProjectRequest,
    params(IdempotencyKey), security(("bearer" = [])),
    responses((status = 201, body = Project), SignedIn, JsonBody, Idempotent, Invalid, Throttled))]
async fn create_project(
    State(state): State<AppState>,
    user: UserPrincipal,
    mutation: Mutation,
    ApiJson(req): ApiJson<CreateProjectRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        projects::create(w, &user, req).await.map(Reply::created)
    })
    .await
}

/// The project with its agents and open tasks.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(IdPath), security(("bearer" = [])),
    responses((status = 200, body = ProjectDetail), SignedIn, NotFound))]
async fn get_project(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
) -> ApiResult<Json<ProjectDetail>> {
    let tenant = &user.tenant_id;
    let project: Project = read(&state, tenant, &id, "project").await?;
    let agents: Vec<Agent> =
        read_all(&state, tenant, DocFilter::in_project(DocKind::Agent, &id)).await?;
    // The open ones alone, from the index: a project keeps every task it had.
    let tasks: Vec<Task> =
        read_all(&state, tenant, crate::service::agents::open_tasks_of(&id)).await?;
    Ok(Json(ProjectDetail {
        project,
        agents,
        tasks,
    }))
}

/// Renames, describes or re-budgets a project; managers and owners only. A budget raised above
/// the spend resumes a project its budget paused.
#[utoipa::path(patch, path = "/api/v1/projects/{id}", tag = "projects", params(IdPath, IdempotencyKey),
    request_body = UpdateProjectRequest, security(("bearer" = [])),
    responses((status = 200, body = Project), SignedIn, JsonBody, Idempotent, NotFound, Invalid, Throttled))]
async fn update_project(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
    ApiJson(req): ApiJson<UpdateProjectRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        projects::update(w, &user, &id, req).await.map(Reply::ok)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MessagesQuery {
    /// Only messages older than the message with this id (404 when there is no such message).
    #[param(min_length = 1)]
    before: Option<String>,
    /// At most this many (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

/// A page of the project's chat, oldest first, ending just before `before`.
#[utoipa::path(get, path = "/api/v1/projects/{id}/messages", tag = "chat", params(IdPath, MessagesQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<Message>), SignedIn, BadInput, NotFound))]
async fn list_messages(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> ApiResult<Json<Vec<Message>>> {
    let tenant = &user.tenant_id;
    let _project: Project = read(&state, tenant, &id, "project").await?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::bad_request("`limit` must be between 1 and 200."));
    }
    let before_key = match &query.before {
        Some(before) => {
            let message: Message = read(&state, tenant, before, "message").await?;
            Some(crate::store::Resource::document(&message).sort_key)
        }
        None => None,
    };
    let filter = DocFilter {
        before: before_key.as_deref(),
        limit: Some(limit),
        newest_first: true,
        ..DocFilter::in_project(DocKind::Message, &id)
    };
    let mut page: Vec<Message> = read_all(&state, tenant, filter).await?;
    page.reverse();
    Ok(Json(page))
}

/// Posts to the project's thread, or to one agent's. A repeated `client_msg_id` answers 200 with the first.
#[utoipa::path(post, path = "/api/v1/projects/{id}/messages", tag = "chat", params(IdPath, IdempotencyKey),
    request_body = PostMessageRequest, security(("bearer" = [])),
    responses((status = 201, body = Message), (status = 200, description = "The message first sent with this `client_msg_id`", body = Message),
        SignedIn, JsonBody, Idempotent, NotFound, Invalid, Throttled))]
async fn post_message(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
    ApiJson(req): ApiJson<PostMessageRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        let (message, first) = messages::post_from_user(w, &user, &id, req).await?;
        Ok(if first {
            Reply::created(message)
        } else {
            Reply::ok(message)
        })
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct MetricsQuery {
    /// The width of a bucket (default `day`).
    #[param(inline)]
    bucket: Option<Bucket>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Bucket {
    Hour,
    #[default]
    Day,
}

/// Tokens and cost per bucket and agent.
#[utoipa::path(get, path = "/api/v1/projects/{id}/metrics", tag = "projects", params(IdPath, MetricsQuery),
    security(("bearer" = [])), responses((status = 200, body = ProjectMetrics), SignedIn, BadInput, NotFound))]
async fn project_metrics(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<MetricsQuery>,
) -> ApiResult<Json<ProjectMetrics>> {
    let _project: Project = read(&state, &user.tenant_id, &id, "project").await?;
    let (bucket, bucket_s) = match query.bucket.unwrap_or_default() {
        Bucket::Hour => ("hour", 3600),
        Bucket::Day => ("day", 86_400),
    };
    let buckets = state
        .store
        .cost_buckets(&user.tenant_id, &id, bucket_s)
        .await?;
    Ok(Json(ProjectMetrics {
        project_id: id,
        bucket: bucket.to_owned(),
        buckets,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ApprovalsQuery {
    /// `pending`, `approved`, `rejected`, `expired` or `cancelled`; all when absent.
    status: Option<spartex_api::ApprovalStatus>,
    project_id: Option<String>,
}

/// Approvals, most urgent first (risk, then expiry): every pending one, and of the others the
/// most recent (`max_decided_approvals_listed`, 5,000 by default).
#[utoipa::path(get, path = "/api/v1/approvals", tag = "approvals", params(ApprovalsQuery),
    security(("bearer" = [])), responses((status = 200, body = Vec<Approval>), SignedIn, BadInput))]
async fn list_approvals(
    State(state): State<AppState>,
    user: UserPrincipal,
    ApiQuery(query): ApiQuery<ApprovalsQuery>,
) -> ApiResult<Json<Vec<Approval>>> {
    let in_scope = |status: Option<&'static str>| {
        let mut filter = DocFilter::all(DocKind::Approval);
        filter.status = status;
        filter.project_id = query.project_id.as_deref();
        filter
    };
    // An organisation's decided requests grow for years, and this answer (read whole by a
    // client's resync) was every one of them: the pending, which agents' quotas bound, and the
    // most recent of the others.
    let limit = state.settings.max_decided_approvals_listed;
    let pending = ApprovalStatus::Pending;
    let mut approvals: Vec<Approval> = match query.status {
        Some(status) if status == pending => {
            read_all(&state, &user.tenant_id, in_scope(Some(pending.as_str()))).await?
        }
        Some(status) => {
            let filter = in_scope(Some(status.as_str())).newest(limit);
            read_all(&state, &user.tenant_id, filter).await?
        }
        None => {
            let mut others = in_scope(None).newest(limit);
            others.any_status = DECIDED_APPROVAL_STATUSES;
            let mut all: Vec<Approval> =
                read_all(&state, &user.tenant_id, in_scope(Some(pending.as_str()))).await?;
            all.extend(read_all::<Approval>(&state, &user.tenant_id, others).await?);
            all
        }
    };
    approvals.sort_by(|a, b| {
        b.risk_rank()
            .cmp(&a.risk_rank())
            .then(a.expires_at.cmp(&b.expires_at))
    });
    Ok(Json(approvals))
}

/// The statuses of an approval no longer pending, read from the index in one query.
const DECIDED_APPROVAL_STATUSES: &[&str] = &["approved", "rejected", "expired", "cancelled"];

trait RiskRank {
    fn risk_rank(&self) -> usize;
}

impl RiskRank for Approval {
    fn risk_rank(&self) -> usize {
        spartex_api::Risk::ALL
            .iter()
            .position(|r| *r == self.risk)
            .unwrap_or(0)
    }
}

#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "approvals", params(IdPath), security(("bearer" = [])),
    responses((status = 200, body = Approval), SignedIn, NotFound))]
async fn get_approval(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
) -> ApiResult<Json<Approval>> {
    Ok(Json(read(&state, &user.tenant_id, &id, "approval").await?))
}

/// Approve or reject. 409 `approval_already_decided` names who decided first; 409
/// `approval_changed` when the request changed after `seen_version`; 410 `approval_expired`.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/decision", tag = "approvals", params(IdPath, IdempotencyKey),
    request_body = DecisionRequest, security(("bearer" = [])),
    responses((status = 200, body = Approval), SignedIn, JsonBody, Idempotent, NotFound, Conflict, Gone, Invalid, Throttled))]
async fn decide_approval(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
    ApiJson(req): ApiJson<DecisionRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        approvals::decide(w, &user, &id, req).await.map(Reply::ok)
    })
    .await
}

/// Emergency stop of one project's agents; oncall and above. Stopping twice is harmless. The
/// body is optional.
#[utoipa::path(post, path = "/api/v1/projects/{id}/stop", tag = "emergency stop", params(IdPath, IdempotencyKey),
    request_body = Option<StopRequest>, security(("bearer" = [])),
    responses((status = 202, body = Stop), SignedIn, JsonBody, Idempotent, NotFound, Invalid))]
async fn stop_project(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
    body: axum::body::Bytes,
) -> ApiResult<Answer> {
    let req: StopRequest = optional_body(&body)?;
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        stops::stop(w, &user, StopTarget::Project(&id), &req.reason)
            .await
            .map(Reply::accepted)
    })
    .await
}

/// Emergency stop of every project of the organisation; oncall and above. The body is optional.
#[utoipa::path(post, path = "/api/v1/stop", tag = "emergency stop", request_body = Option<StopRequest>,
    params(IdempotencyKey), security(("bearer" = [])),
    responses((status = 202, body = Stop), SignedIn, JsonBody, Idempotent, Invalid))]
async fn stop_tenant(
    State(state): State<AppState>,
    user: UserPrincipal,
    mutation: Mutation,
    body: axum::body::Bytes,
) -> ApiResult<Answer> {
    let req: StopRequest = optional_body(&body)?;
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        stops::stop(w, &user, StopTarget::Tenant, &req.reason)
            .await
            .map(Reply::accepted)
    })
    .await
}

/// A body that may be left out: empty, or JSON `null`, is the default request.
pub(super) fn optional_body<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> ApiResult<T> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Null) => Ok(T::default()),
        Ok(value) => object_body(value, Fields::AsTheTypeSays),
        Err(e) => Err(ApiError::bad_request(format!(
            "The body is not valid JSON: {e}"
        ))),
    }
}

/// Lifts a stop (or a budget pause); managers and owners only.
#[utoipa::path(post, path = "/api/v1/projects/{id}/resume", tag = "emergency stop", params(IdPath, IdempotencyKey),
    security(("bearer" = [])), responses((status = 200, body = Project), SignedIn, Idempotent, NotFound, Throttled))]
async fn resume_project(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        projects::resume(w, &user, &id).await.map(Reply::ok)
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StopsQuery {
    status: Option<spartex_api::StopStatus>,
}

/// Stops, newest first.
#[utoipa::path(get, path = "/api/v1/stops", tag = "emergency stop", params(StopsQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<Stop>), SignedIn, BadInput))]
async fn list_stops(
    State(state): State<AppState>,
    user: UserPrincipal,
    ApiQuery(query): ApiQuery<StopsQuery>,
) -> ApiResult<Json<Vec<Stop>>> {
    let mut filter = DocFilter::all(DocKind::Stop).newest(200);
    filter.status = query.status.map(|s| s.as_str());
    Ok(Json(read_all(&state, &user.tenant_id, filter).await?))
}

#[utoipa::path(get, path = "/api/v1/stops/{id}", tag = "emergency stop", params(IdPath), security(("bearer" = [])),
    responses((status = 200, body = Stop), SignedIn, NotFound))]
async fn get_stop(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
) -> ApiResult<Json<Stop>> {
    Ok(Json(read(&state, &user.tenant_id, &id, "stop").await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct SyncQuery {
    /// The last `seq` the client applied (0 for everything the log keeps).
    #[param(minimum = 0)]
    since: i64,
    /// At most this many events (default 500).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// The `at` of the event the client applied at `since`: when the log's event there is
    /// another (restored from a backup), the answer is `resync_required`.
    since_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The event log after `since`, for catch-up without a socket.
#[utoipa::path(get, path = "/api/v1/sync", tag = "sync", params(SyncQuery), security(("bearer" = [])),
    responses((status = 200, body = SyncPage), SignedIn, BadInput, NotFound))]
async fn sync(
    State(state): State<AppState>,
    user: UserPrincipal,
    ApiQuery(query): ApiQuery<SyncQuery>,
) -> ApiResult<Json<SyncPage>> {
    let limit = query.limit.unwrap_or(500);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("`limit` must be between 1 and 1000."));
    }
    if query.since < 0 {
        return Err(ApiError::bad_request(
            "`since` is a `seq` the client applied: 0 or more.",
        ));
    }
    let bounds = state
        .store
        .log_bounds(&user.tenant_id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "organisation",
        })?;
    if query.since < bounds.floor
        || query.since > bounds.head
        || !super::event_stream::holds_what_was_applied(
            &state,
            &user.tenant_id,
            query.since,
            query.since_at,
        )
        .await?
    {
        return Ok(Json(SyncPage {
            events: Vec::new(),
            head: bounds.head,
            resync_required: true,
        }));
    }
    let events = state
        .store
        .events_after(&user.tenant_id, query.since, limit)
        .await?;
    Ok(Json(SyncPage {
        events,
        head: bounds.head,
        resync_required: false,
    }))
}

#[cfg(test)]
mod tests {
    use spartex_api::ApprovalStatus;

    use super::DECIDED_APPROVAL_STATUSES;

    #[test]
    fn the_decided_statuses_are_every_status_but_pending() {
        for status in ApprovalStatus::ALL {
            assert_eq!(
                DECIDED_APPROVAL_STATUSES.contains(&status.as_str()),
                *status != ApprovalStatus::Pending,
                "{status:?}"
            );
        }
    }
}
