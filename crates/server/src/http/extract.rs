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
/// A field the type does not take is refused where the type says so (`deny_unknown_fields`),
/// and left out elsewhere, so a newer client may send an older server a field it added.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        read_json(req, state, Fields::AsTheTypeSays)
            .await
            .map(ApiJson)
    }
}

/// A JSON body none of whose fields may be unknown, for the types a request shares with an
/// answer (the on-call schedule, the escalation policy): they cannot deny unknown fields
/// themselves, or an older client could not read an answer a newer server added a field to.
pub struct ExactJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ExactJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        read_json(req, state, Fields::AllKnown).await.map(ExactJson)
    }
}

/// Which fields of a body a request refuses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    /// Those the type refuses (`deny_unknown_fields`).
    AsTheTypeSays,
    /// Every field the type does not take.
    AllKnown,
}

async fn read_json<T: DeserializeOwned>(
    req: Request,
    state: &AppState,
    fields: Fields,
) -> Result<T, ApiError> {
    match axum::Json::<serde_json::Value>::from_request(req, state).await {
        Ok(axum::Json(value)) => object_body(value, fields),
        Err(rejection) => Err(json_rejection(rejection, state.settings.max_body_bytes)),
    }
}

/// Reads a body that must be a JSON object: serde alone would also take a struct written as an
/// array (`[]`), which the document does not allow. Its enum fields are read strictly
/// (`open::strictly`): `Unknown` is what an older client makes of a newer server's value, never
/// something to send.
pub fn object_body<T: DeserializeOwned>(
    value: serde_json::Value,
    fields: Fields,
) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "The body must be a JSON object, as the API's document shows for this request.",
        ));
    }
    let mut unknown = Vec::new();
    let body = spartex_api::open::strictly(|| {
        serde_ignored::deserialize(value, |path| unknown.push(path.to_string()))
    })
    .map_err(|e| ApiError::bad_request(format!("The body does not fit this request: {e}")))?;
    match unknown.first() {
        Some(field) if fields == Fields::AllKnown => Err(ApiError::bad_request(format!(
            "The body has a field this request does not take: `{field}`. Leave it out, or check \
             its spelling against the API's document."
        ))),
        _ => Ok(body),
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

/// The parts of a mutation that make it replayable: its Idempotency-Key, method, path and
/// the hash of its body.
pub struct Mutation {
    key: Option<String>,
    method: String,
    path: String,
    request_hash: Option<String>,
}

impl Mutation {
    /// The mutation as made by `principal_id` of `tenant_id`.
    pub fn scope(self, tenant_id: &str, principal_id: &str) -> IdempotencyScope {
        IdempotencyScope {
            tenant_id: tenant_id.to_owned(),
            principal_id: principal_id.to_owned(),
            key: self.key,
            method: self.method,
            path: self.path,
            request_hash: self.request_hash,
        }
    }
}

/// The SHA-256 of a keyed request's body, left in its extensions by [`fingerprint_keyed_requests`].
#[derive(Debug, Clone)]
pub struct RequestHash(pub String);

/// Hashes the body of every request that carries an Idempotency-Key, so that a key reused
/// with another body is told apart from a retry. The body is handed on unchanged.
pub async fn fingerprint_keyed_requests(
    axum::extract::State(max_body): axum::extract::State<usize>,
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if !request.headers().contains_key(IDEMPOTENCY_KEY_HEADER) {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, max_body).await {
        Ok(bytes) => bytes,
        Err(error) => {
            return body_unreadable(&error.to_string(), max_body).into_response();
        }
    };
    parts
        .extensions
        .insert(RequestHash(crate::auth::sha256_hex(&bytes)));
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

fn body_unreadable(error: &str, max_body: usize) -> ApiError {
    if error.contains("length limit") {
        ApiError::too_large(max_body)
    } else {
        ApiError::bad_request(format!("The body could not be read: {error}"))
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
            request_hash: parts
                .extensions
                .get::<RequestHash>()
                .map(|hash| hash.0.clone()),
        })
    }
}

/// The client's address: as the listener saw it (unspecified when served without one), or,
/// from a trusted proxy (`--trusted-proxy`), the last address its `X-Forwarded-For` names
/// that is not a trusted proxy itself (what a client writes there first is not believed).
pub struct ClientAddress(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        let trusted = &state.settings.trusted_proxies;
        if !trusted.contains(peer) {
            return Ok(ClientAddress(peer));
        }
        let forwarded = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let client = forwarded
            .iter()
            .rev()
            .map(|hop| hop.parse::<std::net::IpAddr>())
            .find(|hop| !hop.as_ref().is_ok_and(|ip| trusted.contains(*ip)));
        Ok(ClientAddress(match client {
            Some(Ok(client)) => client,
            // Nothing forwarded, or a hop that is no address: the proxy's own.
            _ => peer,
        }))
    }
}
