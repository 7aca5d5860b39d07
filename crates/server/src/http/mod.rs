//! The HTTP boundary: routes, the OpenAPI document, and middleware that keeps every answer in
//! the contract's shape (no HTML errors, no panics on the wire, no secrets in logs).

mod agent_routes;
mod client_routes;
mod deadline;
mod doc;
mod event_stream;
mod extract;
mod oncall_routes;
mod openapi;
mod project_agent_routes;
mod push_routes;
mod socket;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use spartex_api::ErrorCode;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::error::{error_response, ApiError, ApiResult};
use crate::state::AppState;
use crate::store::Resource;
use crate::write::Answer;

/// A mutation's answer as JSON; a replayed one says so in `Idempotent-Replayed: true`.
impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body,
        )
            .into_response();
        if self.replayed {
            response.headers_mut().insert(
                "idempotent-replayed",
                axum::http::HeaderValue::from_static("true"),
            );
        }
        response
    }
}

/// The router and the OpenAPI document, built from the same route list.
pub fn router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let max_body = state.settings.max_body_bytes;
    let (routes, api) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(client_routes::routes())
        .merge(project_agent_routes::routes())
        .merge(push_routes::routes())
        .merge(oncall_routes::routes())
        .merge(agent_routes::routes())
        .merge(event_stream::routes())
        .split_for_parts();
    let document = api.clone();
    let router = routes
        .route("/api/v1/openapi.json", axum::routing::get(move || async move { axum::Json(api) }))
        .fallback(|| async {
            error_response(StatusCode::NOT_FOUND, ErrorCode::NotFound, "There is no such route. See /api/v1/openapi.json.")
        })
        .method_not_allowed_fallback(|| async {
            error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                "This route does not take that method. See /api/v1/openapi.json.",
            )
        })
        .layer(axum::middleware::from_fn_with_state(
            max_body,
            extract::fingerprint_keyed_requests,
        ))
        .layer(axum::middleware::map_response_with_state(max_body, contract_errors_only))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.body_read_timeout,
            deadline::body_deadline,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(CatchPanicLayer::custom(|_panic| {
            tracing::error!("a request handler panicked");
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "The server failed to handle this request. Nothing was changed; try again in a moment.",
            )
        }))
        .layer(
            // Spans name the method and path only: query strings may carry `access_token`.
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<Body>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                // The server's own line says why a request failed (`error.rs`), once a minute
                // for what lasts (a full disk, the database away); one more per 5xx would
                // flood the log.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
        )
        .with_state(state);
    (router, document)
}

/// Any error that some layer produced without the contract's JSON body gets one.
async fn contract_errors_only(State(max_body): State<usize>, response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large(max_body).into_response();
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            ErrorCode::NotFound,
            "There is no such route. See /api/v1/openapi.json.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            "This route does not take that method.",
        ),
        s if s.is_client_error() => (
            ErrorCode::BadRequest,
            "The request could not be understood; check its headers and body.",
        ),
        _ => (
            ErrorCode::Internal,
            "The server failed to handle this request. Try again in a moment.",
        ),
    };
    error_response(status, code, message)
}

/// A resource that may not exist yet (a tenant's schedule, its policy).
pub async fn read_optional<R: Resource>(
    state: &AppState,
    tenant_id: &str,
    id: &str,
) -> ApiResult<Option<R>> {
    match state.store.get_doc(tenant_id, R::KIND, id).await? {
        Some(value) => crate::store::decode_one(tenant_id, value)
            .map(Some)
            .map_err(|e| ApiError::Internal(e.into())),
        None => Ok(None),
    }
}

/// Reads one resource of the caller's tenant; another tenant's id is a 404 like an unknown one.
pub async fn read<R: Resource>(
    state: &AppState,
    tenant_id: &str,
    id: &str,
    what: &'static str,
) -> ApiResult<R> {
    let value = state
        .store
        .get_doc(tenant_id, R::KIND, id)
        .await?
        .ok_or(ApiError::NotFound { what })?;
    crate::store::decode_one(tenant_id, value).map_err(|e| ApiError::Internal(e.into()))
}

/// A listing of `R` as the JSON array the store keeps for it, sent as it is.
pub async fn read_all_json<R: Resource>(
    state: &AppState,
    tenant_id: &str,
    filter: crate::store::DocFilter<'_>,
) -> ApiResult<WireJson<Vec<R>>> {
    debug_assert_eq!(filter.kind, R::KIND);
    let json = state.store.list_docs_json(tenant_id, filter).await?;
    Ok(WireJson(json, std::marker::PhantomData))
}

/// JSON already encoded, of the shape `T` (which the API document names).
pub struct WireJson<T>(axum::body::Bytes, std::marker::PhantomData<T>);

impl<T> IntoResponse for WireJson<T> {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "application/json")],
            Body::from(self.0),
        )
            .into_response()
    }
}

pub async fn read_all<R: Resource>(
    state: &AppState,
    tenant_id: &str,
    filter: crate::store::DocFilter<'_>,
) -> ApiResult<Vec<R>> {
    let values = state.store.list_docs(tenant_id, filter).await?;
    Ok(crate::store::decode_all(tenant_id, values))
}
