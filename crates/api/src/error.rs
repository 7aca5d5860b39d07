//! The error body every non-2xx answer carries.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `{"error": {"code", "message", "details"}}`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// A stable snake_case code that programs branch on.
    pub code: String,
    /// A sentence for a person: what happened and what to do.
    pub message: String,
    /// What the caller needs to act on the error, e.g. the current state after a conflict.
    /// Always an object on the wire: `{}` when there is nothing (a `null` here is sent so).
    #[serde(default = "no_details", serialize_with = "details_object")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object, required = true))]
    pub details: Value,
}

fn no_details() -> Value {
    Value::Object(serde_json::Map::new())
}

fn details_object<S: serde::Serializer>(details: &Value, serializer: S) -> Result<S::Ok, S::Error> {
    match details {
        Value::Null => serializer.collect_map(std::iter::empty::<((), ())>()),
        other => other.serialize(serializer),
    }
}

/// The error codes the contract names; servers may add more.
pub mod codes {
    pub const BAD_REQUEST: &str = "bad_request";
    pub const UNAUTHENTICATED: &str = "unauthenticated";
    pub const TOKEN_EXPIRED: &str = "token_expired";
    pub const INVALID_CREDENTIALS: &str = "invalid_credentials";
    pub const REFRESH_TOKEN_REUSED: &str = "refresh_token_reused";
    pub const FORBIDDEN: &str = "forbidden";
    pub const NOT_FOUND: &str = "not_found";
    pub const APPROVAL_ALREADY_DECIDED: &str = "approval_already_decided";
    pub const APPROVAL_CHANGED: &str = "approval_changed";
    pub const APPROVAL_EXPIRED: &str = "approval_expired";
    pub const IDEMPOTENCY_KEY_REUSED: &str = "idempotency_key_reused";
    pub const AGENT_STOPPED: &str = "agent_stopped";
    pub const PROJECT_STOPPED: &str = "project_stopped";
    pub const RESERVED_KIND: &str = "reserved_kind";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    /// The request's body did not arrive in time (408).
    pub const REQUEST_TIMEOUT: &str = "request_timeout";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const INTERNAL: &str = "internal";
    pub const UNAVAILABLE: &str = "unavailable";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_are_always_an_object_on_the_wire() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: codes::NOT_FOUND.into(),
                message: "No such thing.".into(),
                details: Value::Null,
            },
        };
        let wire = serde_json::to_value(&body).expect("serializes");
        assert_eq!(wire["error"]["details"], json!({}));

        let without: ErrorBody =
            serde_json::from_value(json!({"error": {"code": "x", "message": "y"}}))
                .expect("parses without details");
        assert_eq!(without.error.details, json!({}));
        let with: ErrorBody = serde_json::from_value(
            json!({"error": {"code": "x", "message": "y", "details": {"retry_after_s": 3}}}),
        )
        .expect("parses with details");
        assert_eq!(with.error.details["retry_after_s"], 3);
    }
}
