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
    #[serde(default, skip_serializing_if = "Value::is_null")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: Value,
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
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
    pub const VALIDATION_FAILED: &str = "validation_failed";
    pub const RATE_LIMITED: &str = "rate_limited";
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const INTERNAL: &str = "internal";
    pub const UNAVAILABLE: &str = "unavailable";
}
