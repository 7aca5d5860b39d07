//! The core's one error type: each variant is a situation a face handles differently, and its
//! message says what happened and what to do.

use serde_json::Value;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("Can't reach the server at {server} ({reason}). Showing the cache; changes wait in the outbox.")]
    Offline { server: String, reason: String },
    #[error("{message}")]
    SignedOut { message: String },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    NotFound { message: String },
    /// The state changed under the caller; `details` holds the current state.
    #[error("{message}")]
    Conflict {
        code: String,
        message: String,
        details: Value,
    },
    #[error("{message}")]
    Gone {
        code: String,
        message: String,
        details: Value,
    },
    #[error("{message}")]
    Invalid { code: String, message: String },
    #[error("The server is busy; retry in {retry_after_s} s.")]
    RateLimited { retry_after_s: u64 },
    #[error("The server failed ({status}): {message}")]
    Server { status: u16, message: String },
    #[error("The server at {server} did not answer as a Spartex server ({detail}). Check the server URL.")]
    Protocol { server: String, detail: String },
    #[error("{0}")]
    Secrets(#[from] crate::secrets::SecretError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("No account `{0}`. `spartex accounts` lists the signed-in accounts.")]
    UnknownAccount(String),
    #[error("No account is signed in. Sign in with `spartex login --server URL --email EMAIL`.")]
    NoAccount,
    #[error("Several accounts are signed in; pick one with --account: {0}.")]
    AmbiguousAccount(String),
    #[error("No {what} `{id}` in the cache. Run `spartex sync`, or check the id.")]
    NotCached { what: &'static str, id: String },
    #[error("{0}")]
    Local(String),
}

impl CoreError {
    /// A stable code for the faces to branch on (the Tauri boundary sends it with the message).
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::Offline { .. } => "offline",
            CoreError::SignedOut { .. } => "signed_out",
            CoreError::Forbidden { .. } => "forbidden",
            CoreError::NotFound { .. } | CoreError::NotCached { .. } => "not_found",
            CoreError::Conflict { .. } => "conflict",
            CoreError::Gone { .. } => "gone",
            CoreError::Invalid { .. } => "invalid",
            CoreError::RateLimited { .. } => "rate_limited",
            CoreError::Server { .. } => "server_error",
            CoreError::Protocol { .. } => "bad_server",
            CoreError::Secrets(_) => "secret_store",
            CoreError::Store(_) => "local_storage",
            CoreError::UnknownAccount(_)
            | CoreError::NoAccount
            | CoreError::AmbiguousAccount(_) => "account",
            CoreError::Local(_) => "local",
        }
    }

    /// Worth retrying later: the link or the server, not the request.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CoreError::Offline { .. }
                | CoreError::RateLimited { .. }
                | CoreError::Server { .. }
                | CoreError::Protocol { .. }
        )
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
