//! The one error type of the HTTP boundary, rendered as the contract's error body.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use spartex_api::{ErrorBody, ErrorCode, ErrorDetail};

use crate::log_every::{LogEvery, ONCE_A_MINUTE};
use crate::store::StoreError;

pub type ApiResult<T> = Result<T, ApiError>;

/// Each variant is a situation the caller handles differently.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed; `message` names the field.
    #[error("{message}")]
    BadRequest { code: ErrorCode, message: String },
    /// 401: no valid credentials.
    #[error("{message}")]
    Unauthenticated { code: ErrorCode, message: String },
    /// 403: authenticated, but the role or token scope does not allow this.
    #[error("{message}")]
    Forbidden { message: String },
    /// 404: unknown, or another tenant's.
    #[error("{what} not found")]
    NotFound { what: &'static str },
    /// 409: the state changed under the caller; `details` holds the current state.
    #[error("{message}")]
    Conflict {
        code: ErrorCode,
        message: String,
        details: Value,
    },
    /// 410: gone for good, e.g. an expired approval.
    #[error("{message}")]
    Gone {
        code: ErrorCode,
        message: String,
        details: Value,
    },
    /// 413
    #[error("{message}")]
    TooLarge { message: String },
    /// 422: well-formed but not acceptable.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// 429
    #[error("too many attempts; retry in {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    /// 503: the database's disk is full; a retry succeeds once its operator frees space.
    #[error("the database's disk is full: {0}")]
    StorageFull(StoreError),
    /// 503: the database cannot be reached now; a retry succeeds once it is back.
    #[error("the database cannot be reached: {0}")]
    DatabaseUnavailable(StoreError),
    /// 503: the database ended the write to break a deadlock with another, twice (the first
    /// time it is run again, [`crate::write::mutate`]); nothing was kept, and a retry meets
    /// the other one finished.
    #[error("the write deadlocked with another: {0}")]
    Deadlocked(StoreError),
    /// 503: the database stopped a statement that ran past the server's statement timeout
    /// (`--statement-timeout-s`); a retry may succeed once it is less busy.
    #[error("the database took too long: {0}")]
    TooSlow(StoreError),
    /// 5xx: our fault. The detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(StoreError),
}

/// How long a client is asked to wait before retrying a write that met a full disk.
const STORAGE_FULL_RETRY_AFTER_S: u64 = 30;

/// How long a client is asked to wait while the database cannot be reached: a restart or a
/// failover takes seconds.
const DATABASE_UNAVAILABLE_RETRY_AFTER_S: u64 = 5;

/// While the disk stays full every write is refused: a line per write would flood the log
/// (and the disk, where the log is kept on it).
static DISK_FULL_LOG: LogEvery = LogEvery::new(ONCE_A_MINUTE);

/// Likewise every request while the database cannot be reached.
static DATABASE_UNAVAILABLE_LOG: LogEvery = LogEvery::new(ONCE_A_MINUTE);

/// How long a client is asked to wait before sending again a write that deadlocked: the write
/// it met is done in milliseconds.
const DEADLOCKED_RETRY_AFTER_S: u64 = 1;

/// A lock order this server gets wrong deadlocks under load again and again: said once a minute.
static DEADLOCKED_LOG: LogEvery = LogEvery::new(ONCE_A_MINUTE);

/// How long a client is asked to wait before asking again for what took the database too long.
const TOO_SLOW_RETRY_AFTER_S: u64 = 30;

/// A slow read is asked for again and again (a dashboard refreshing): said once a minute.
static TOO_SLOW_LOG: LogEvery = LogEvery::new(ONCE_A_MINUTE);

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_text_with_nul() {
            return ApiError::bad_request(
                "A text field or path holds the NUL character (\\u0000), which cannot be stored; remove it.",
            );
        }
        if error.is_disk_full() {
            return ApiError::StorageFull(error);
        }
        if error.is_unavailable() {
            return ApiError::DatabaseUnavailable(error);
        }
        if error.is_deadlock() {
            return ApiError::Deadlocked(error);
        }
        if error.is_statement_timeout() {
            return ApiError::TooSlow(error);
        }
        ApiError::Internal(error)
    }
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code: ErrorCode::BadRequest,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code: ErrorCode::ValidationFailed,
            message: message.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError::Forbidden {
            message: message.into(),
        }
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        ApiError::Unauthenticated {
            code: ErrorCode::Unauthenticated,
            message: message.into(),
        }
    }

    /// 413, naming the limit the server was started with (`--max-body-bytes`).
    pub fn too_large(max_body_bytes: usize) -> Self {
        ApiError::TooLarge {
            message: format!(
                "The body is too large. Keep requests under {}; send big previews as links.",
                byte_size(max_body_bytes)
            ),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::StorageFull(_)
            | ApiError::DatabaseUnavailable(_)
            | ApiError::Deadlocked(_)
            | ApiError::TooSlow(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The database ended the write to break a deadlock: run again, it meets the other done.
    pub fn is_deadlock(&self) -> bool {
        matches!(self, ApiError::Deadlocked(_))
    }

    /// True for answers that depend only on the request and the state it met, so an
    /// Idempotency-Key may keep them; a 5xx may succeed when retried.
    pub fn is_final(&self) -> bool {
        self.status().is_client_error() && !matches!(self, ApiError::RateLimited { .. })
    }

    pub fn body(&self) -> ErrorBody {
        let (code, message, details) = match self {
            ApiError::BadRequest { code, message } | ApiError::Invalid { code, message } => {
                (code.clone(), message.clone(), Value::Null)
            }
            ApiError::Unauthenticated { code, message } => (code.clone(), message.clone(), Value::Null),
            ApiError::Forbidden { message } => (ErrorCode::Forbidden, message.clone(), Value::Null),
            ApiError::NotFound { what } => (
                ErrorCode::NotFound,
                format!("No {what} with that id exists in your organisation. Check the id, or refresh your list."),
                Value::Null,
            ),
            ApiError::Conflict { code, message, details } | ApiError::Gone { code, message, details } => {
                (code.clone(), message.clone(), details.clone())
            }
            ApiError::TooLarge { message } => (ErrorCode::PayloadTooLarge, message.clone(), Value::Null),
            ApiError::RateLimited { retry_after_s } => (
                ErrorCode::RateLimited,
                format!("Too many attempts. Wait {retry_after_s} seconds, then try again."),
                json!({ "retry_after_s": retry_after_s }),
            ),
            ApiError::StorageFull(_) => (
                ErrorCode::Unavailable,
                "The server's disk is full, so it cannot keep anything new. Nothing was changed; \
                 try again once its operator has freed space."
                    .to_owned(),
                json!({ "retry_after_s": STORAGE_FULL_RETRY_AFTER_S }),
            ),
            ApiError::DatabaseUnavailable(_) => (
                ErrorCode::Unavailable,
                "The server cannot reach its database just now. Try again in a few seconds: a \
                 change sent again with the same Idempotency-Key is never applied twice."
                    .to_owned(),
                json!({ "retry_after_s": DATABASE_UNAVAILABLE_RETRY_AFTER_S }),
            ),
            ApiError::Deadlocked(_) => (
                ErrorCode::Unavailable,
                "This change met another made at the same moment and could not be applied. \
                 Nothing was changed; send it again (with the same Idempotency-Key, it is never \
                 applied twice)."
                    .to_owned(),
                json!({ "retry_after_s": DEADLOCKED_RETRY_AFTER_S }),
            ),
            ApiError::TooSlow(_) => (
                ErrorCode::Unavailable,
                "The database took too long over this request, so the server stopped it. \
                 Nothing was changed; try again in a minute, or ask for less at once."
                    .to_owned(),
                json!({ "retry_after_s": TOO_SLOW_RETRY_AFTER_S }),
            ),
            ApiError::Internal(_) => (
                ErrorCode::Internal,
                "The server failed to handle this request. Nothing was changed; try again in a moment.".to_owned(),
                Value::Null,
            ),
        };
        ErrorBody {
            error: ErrorDetail {
                code,
                message,
                details,
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            ApiError::Internal(source) => {
                tracing::error!(error = %source, "request failed inside the server");
            }
            ApiError::StorageFull(source) => {
                if let Some(refused_since_last_said) = DISK_FULL_LOG.now() {
                    tracing::error!(
                        error = %source,
                        refused_since_last_said,
                        "the database's disk is full: free space on it; writes are refused until then (said once a minute)"
                    );
                }
            }
            ApiError::DatabaseUnavailable(source) => {
                if let Some(refused_since_last_said) = DATABASE_UNAVAILABLE_LOG.now() {
                    tracing::error!(
                        error = %source,
                        refused_since_last_said,
                        "cannot reach the database, or it gave no connection in time; requests that need it are answered 503 until it is back (said once a minute)"
                    );
                }
            }
            ApiError::Deadlocked(source) => {
                if let Some(refused_since_last_said) = DEADLOCKED_LOG.now() {
                    tracing::warn!(
                        error = %source,
                        refused_since_last_said,
                        "a write deadlocked with another twice and was answered 503 (said once a minute)"
                    );
                }
            }
            ApiError::TooSlow(source) => {
                if let Some(refused_since_last_said) = TOO_SLOW_LOG.now() {
                    tracing::warn!(
                        error = %source,
                        refused_since_last_said,
                        "the database stopped a statement that ran past the statement timeout (--statement-timeout-s); the request was answered 503 (said once a minute)"
                    );
                }
            }
            _ => {}
        }
        let mut response = (self.status(), axum::Json(self.body())).into_response();
        let retry_after_s = match self {
            ApiError::RateLimited { retry_after_s } => Some(retry_after_s),
            ApiError::StorageFull(_) => Some(STORAGE_FULL_RETRY_AFTER_S),
            ApiError::DatabaseUnavailable(_) => Some(DATABASE_UNAVAILABLE_RETRY_AFTER_S),
            ApiError::Deadlocked(_) => Some(DEADLOCKED_RETRY_AFTER_S),
            ApiError::TooSlow(_) => Some(TOO_SLOW_RETRY_AFTER_S),
            _ => None,
        };
        if let Some(value) = retry_after_s.and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// `262144` → `256 KiB`; sizes that are not whole KiB or MiB stay in bytes.
fn byte_size(bytes: usize) -> String {
    const KIB: usize = 1024;
    const MIB: usize = 1024 * 1024;
    match bytes {
        0 => "0 bytes".to_owned(),
        b if b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// An error body built outside a handler (fallbacks, panics, middleware rejections).
pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message: message.to_owned(),
            details: Value::Null,
        },
    };
    (status, axum::Json(body)).into_response()
}

/// Serializes an error that has no response to go in (it is logged) as the contract's error
/// body does: `{code, message}`.
pub(crate) fn code_and_message<S: serde::Serializer>(
    serializer: S,
    code: &'static str,
    message: String,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut body = serializer.serialize_struct("Error", 2)?;
    body.serialize_field("code", code)?;
    body.serialize_field("message", &message)?;
    body.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_size_limit_is_named_as_set() {
        assert_eq!(byte_size(256 * 1024), "256 KiB");
        assert_eq!(byte_size(2 * 1024 * 1024), "2 MiB");
        assert_eq!(byte_size(1000), "1000 bytes");
        let ApiError::TooLarge { message } = ApiError::too_large(64 * 1024) else {
            panic!("a 413");
        };
        assert!(message.contains("under 64 KiB"), "{message}");
    }
}
