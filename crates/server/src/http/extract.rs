//! Extractors whose rejections are the contract's error body, saying which field to fix.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use spartex_api::IDEMPOTENCY_KEY_HEADER;

use crate::error::ApiError;
use crate::state::AppState;
use crate::write::IdempotencyScope;

/// A JSON body; malformed, mistyped, unknown-field and oversize bodies get a 4xx that says why.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection, state.settings.max_body_bytes)),
        }
    }
}

fn json_rejection(rejection: JsonRejection, max_body_bytes: usize) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::bad_request(format!(
            "The body does not fit this request: {}",
            serde_detail(&e.body_text())
        )),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(format!(
            "The body is not valid JSON: {}",
            serde_detail(&e.body_text())
        )),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::bad_request("Send the body as JSON, with `Content-Type: application/json`.")
        }
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::too_large(max_body_bytes)
        }
        other => {
            ApiError::bad_request(format!("The body could not be read: {}", other.body_text()))
        }
    }
}

/// axum prefixes serde's message with its own sentence; keep serde's part, which names the field.
fn serde_detail(text: &str) -> String {
    text.split_once(": ")
        .map_or(text, |(_, detail)| detail)
        .to_owned()
}

/// Query parameters, with the same treatment as bodies.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::bad_request(format!(
                    "A query parameter is wrong: {}",
                    serde_detail(&e.body_text())
                )))
            }
            Err(other) => Err(ApiError::bad_request(other.body_text())),
        }
    }
}

/// The parts of a mutation that make it replayable: its Idempotency-Key, method and path.
pub struct Mutation {
    key: Option<String>,
    method: String,
    path: String,
}

impl Mutation {
    pub fn scope(self, principal_id: &str) -> IdempotencyScope {
        IdempotencyScope {
            principal_id: principal_id.to_owned(),
            key: self.key,
            method: self.method,
            path: self.path,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Mutation {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let key = match parts.headers.get(IDEMPOTENCY_KEY_HEADER) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| {
                        ApiError::bad_request(
                            "Idempotency-Key must be plain ASCII (a UUID is ideal).",
                        )
                    })?
                    .trim()
                    .to_owned(),
            ),
        };
        Ok(Mutation {
            key,
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
        })
    }
}
