//! What can go wrong setting up a push service, or building one push: each kind its own
//! variant with a stable `code`, serialized as `{code, message}` like the API's errors.

use crate::error::code_and_message;

/// A push service the flags name cannot be set up: the server does not start.
#[derive(Debug, thiserror::Error)]
pub enum PushSetupError {
    #[error("{flag} {path}: cannot read it: {source}")]
    Unreadable {
        flag: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("{flag} {path}: {problem}")]
    Invalid {
        flag: &'static str,
        path: String,
        problem: String,
    },
    #[error("{flag} is empty")]
    Empty { flag: &'static str },
    #[error("the {service} client: {source}")]
    Client {
        service: &'static str,
        source: reqwest::Error,
    },
}

impl PushSetupError {
    pub fn code(&self) -> &'static str {
        match self {
            PushSetupError::Unreadable { .. } => "push_credentials_unreadable",
            PushSetupError::Invalid { .. } => "push_credentials_invalid",
            PushSetupError::Empty { .. } => "push_setting_empty",
            PushSetupError::Client { .. } => "push_client_failed",
        }
    }
}

/// One Web Push cannot be built from the stored subscription: it is dropped, the device kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushRequestError {
    #[error("the endpoint is not a URI: {0}")]
    BadEndpoint(String),
    #[error("the endpoint has no scheme")]
    NoScheme,
    #[error("the endpoint has no host")]
    NoHost,
    #[error("the subscription's p256dh is not a P-256 point")]
    BadP256dh,
    #[error("the subscription's auth secret is not 16 bytes")]
    BadAuth,
    #[error("could not encrypt the push: {0}")]
    Encrypt(String),
    #[error("could not sign the VAPID token: {0}")]
    Vapid(String),
    #[error("the VAPID header: {0}")]
    VapidHeader(String),
    #[error("the push request: {0}")]
    Request(String),
}

impl PushRequestError {
    pub fn code(&self) -> &'static str {
        match self {
            PushRequestError::BadEndpoint(_)
            | PushRequestError::NoScheme
            | PushRequestError::NoHost => "push_endpoint_invalid",
            PushRequestError::BadP256dh | PushRequestError::BadAuth => "push_keys_invalid",
            PushRequestError::Encrypt(_) => "push_encryption_failed",
            PushRequestError::Vapid(_) | PushRequestError::VapidHeader(_) => "push_signing_failed",
            PushRequestError::Request(_) => "push_request_invalid",
        }
    }
}

impl serde::Serialize for PushSetupError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        code_and_message(serializer, self.code(), self.to_string())
    }
}

impl serde::Serialize for PushRequestError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        code_and_message(serializer, self.code(), self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_serializes_as_code_and_message() {
        let error = PushSetupError::Empty {
            flag: "--apns-team-id",
        };
        assert_eq!(
            serde_json::to_value(&error).expect("serializes"),
            serde_json::json!({"code": "push_setting_empty", "message": "--apns-team-id is empty"})
        );
        assert_eq!(
            serde_json::to_value(PushRequestError::BadAuth).expect("serializes")["code"],
            "push_keys_invalid"
        );
    }
}
