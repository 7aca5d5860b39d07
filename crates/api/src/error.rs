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
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: ErrorCode,
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

/// Declares [`ErrorCode`]: each contract code once, with its wire spelling.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)*) => {
        /// The contract's error codes, compared as this enum and never as strings. A code this
        /// build does not know (a newer server may add codes) is kept as [`ErrorCode::Other`].
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
            /// A code this build does not know, kept as sent.
            Other(String),
        }

        impl ErrorCode {
            /// Every code the contract names, for tests and documentation.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code's wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ErrorCode::$variant => $wire,)*
                    ErrorCode::Other(code) => code,
                }
            }

            /// The code sent as `wire`; unknown codes are kept as [`ErrorCode::Other`].
            pub fn parse(wire: &str) -> ErrorCode {
                match wire {
                    $($wire => ErrorCode::$variant,)*
                    other => ErrorCode::Other(other.to_owned()),
                }
            }
        }
    };
}

error_codes! {
    BadRequest = "bad_request",
    Unauthenticated = "unauthenticated",
    TokenExpired = "token_expired",
    InvalidCredentials = "invalid_credentials",
    RefreshTokenReused = "refresh_token_reused",
    Forbidden = "forbidden",
    NotFound = "not_found",
    ApprovalAlreadyDecided = "approval_already_decided",
    ApprovalChanged = "approval_changed",
    /// A change to the escalation policy made from a version someone changed since (409).
    PolicyChanged = "policy_changed",
    /// A change to the on-call schedule made from a version someone changed since (409).
    ScheduleChanged = "schedule_changed",
    ApprovalExpired = "approval_expired",
    /// Ask-again on an approval that has not expired (409).
    ApprovalNotExpired = "approval_not_expired",
    IdempotencyKeyReused = "idempotency_key_reused",
    AgentStopped = "agent_stopped",
    ProjectStopped = "project_stopped",
    ReservedKind = "reserved_kind",
    PayloadTooLarge = "payload_too_large",
    /// The request's body did not arrive in time (408).
    RequestTimeout = "request_timeout",
    ValidationFailed = "validation_failed",
    /// A Web Push endpoint the server will not call: not https, or a private address (422).
    PushEndpointRefused = "push_endpoint_refused",
    RateLimited = "rate_limited",
    MethodNotAllowed = "method_not_allowed",
    Internal = "internal",
    Unavailable = "unavailable",
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(ErrorCode::parse(&wire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_are_always_an_object_on_the_wire() {
        let body = ErrorBody {
            error: ErrorDetail {
                code: ErrorCode::NotFound,
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
        assert_eq!(with.error.code, ErrorCode::Other("x".into()));
    }

    #[test]
    fn every_code_round_trips_through_its_wire_spelling() {
        for code in ErrorCode::KNOWN {
            let wire = serde_json::to_value(code).expect("serializes");
            assert_eq!(wire, json!(code.as_str()));
            let back: ErrorCode = serde_json::from_value(wire).expect("parses");
            assert_eq!(&back, code);
        }
        assert_eq!(
            ErrorCode::parse("approval_changed"),
            ErrorCode::ApprovalChanged
        );
    }
}
