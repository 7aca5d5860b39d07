//! The core's one error type: each variant is a situation a face handles differently, and its
//! message says what happened in words any face can show. Advice that belongs to one face (the
//! CLI's "run `spartex login`", the app's buttons) is added by that face, never here.

use serde::Serialize;
use serde_json::Value;
use spartex_api::ErrorCode;
use spartex_policy::ApprovalBlocker;

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
        code: ErrorCode,
        message: String,
        details: Value,
    },
    #[error("{message}")]
    Gone {
        code: ErrorCode,
        message: String,
        details: Value,
    },
    /// The server refused the request as malformed or unacceptable (400, 422).
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    /// The core's own rule refused a decision before anything was queued.
    #[error("{message}")]
    Blocked {
        blocker: ApprovalBlocker,
        message: String,
    },
    #[error("A message needs some text.")]
    EmptyMessage,
    #[error("`{url}` is not a server URL; use http://HOST:PORT or https://HOST.")]
    BadServerUrl { url: String },
    #[error(
        "`{url}` is plain http://, which would send your password and every token unencrypted \
         over the network; use https://. Plain http:// is only for a server on this machine \
         (localhost, 127.0.0.1, [::1])."
    )]
    PlainHttp { url: String },
    #[error("The server is busy; retry in {retry_after_s} s.")]
    RateLimited { retry_after_s: u64 },
    #[error("The server failed ({status}): {message}")]
    Server {
        status: u16,
        message: String,
        /// The wait the server asked for (`Retry-After`, e.g. a full disk's 30 s).
        retry_after_s: Option<u64>,
    },
    #[error("The server at {server} did not answer as a Spartex server ({detail}). Check the server URL.")]
    Protocol { server: String, detail: String },
    /// A 3xx answer, never followed (it would carry the password or a token elsewhere).
    #[error("The server at {server} sent this request to {location}; sign in with that address if it is right.")]
    Redirected { server: String, location: String },
    /// A success whose resource this version cannot read (a newer server's): the server took
    /// the request, and what it did arrives with the events.
    #[error("The server at {server} took the request, but its answer is not one this version of Spartex Control reads ({detail}); what it did shows once synced. Update the app if this keeps happening.")]
    UnreadableAnswer { server: String, detail: String },
    #[error("{0}")]
    Secrets(#[from] crate::secret_store::SecretError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("No signed-in account `{0}`.")]
    UnknownAccount(String),
    #[error("No account is signed in.")]
    NoAccount,
    #[error("Several accounts are signed in: {0}.")]
    AmbiguousAccount(String),
    #[error("No {what} `{id}` in the cache.")]
    NotCached { what: &'static str, id: String },
    #[error("{0}")]
    Local(String),
    /// Signing out would drop actions the server has not taken yet.
    #[error(
        "{} not reached the server yet ({}): signing out would lose {}. Connect to deliver {}, \
         or sign out anyway.",
        if actions.len() == 1 { "1 action has".to_owned() } else { format!("{} actions have", actions.len()) },
        actions.join("; "),
        if actions.len() == 1 { "it" } else { "them" },
        if actions.len() == 1 { "it" } else { "them" }
    )]
    Undelivered {
        /// What each waiting action does, in words ("Approve “Spring hero ad”").
        actions: Vec<String>,
    },
}

/// The kind of a [`CoreError`], a closed set the faces branch on (the app receives it as
/// `CommandError.code`, a TypeScript union).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Offline,
    SignedOut,
    Forbidden,
    NotFound,
    Conflict,
    Gone,
    Invalid,
    RateLimited,
    ServerError,
    BadServer,
    SecretStore,
    LocalStorage,
    Account,
    /// Nobody is signed in.
    NoAccount,
    Local,
    /// Actions still wait to be delivered: the face asks before dropping them.
    Undelivered,
}

impl CoreError {
    /// How long the server asked to be left alone before the same request (`Retry-After` on a
    /// 429 or a 503), at most [`LONGEST_WAIT_ASKED`].
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        let asked = match self {
            CoreError::RateLimited { retry_after_s } => *retry_after_s,
            CoreError::Server {
                retry_after_s: Some(s),
                ..
            } => *s,
            _ => return None,
        };
        Some(std::time::Duration::from_secs(asked).min(LONGEST_WAIT_ASKED))
    }

    /// What kind of failure this is, for the faces to branch on.
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::Offline { .. } => ErrorKind::Offline,
            CoreError::SignedOut { .. } => ErrorKind::SignedOut,
            CoreError::Forbidden { .. } => ErrorKind::Forbidden,
            CoreError::NotFound { .. } | CoreError::NotCached { .. } => ErrorKind::NotFound,
            CoreError::Conflict { .. } => ErrorKind::Conflict,
            CoreError::Gone { .. } => ErrorKind::Gone,
            CoreError::Blocked { blocker, .. } => match blocker {
                ApprovalBlocker::AlreadyDecided
                | ApprovalBlocker::Sending
                | ApprovalBlocker::ProjectStopped => ErrorKind::Conflict,
                ApprovalBlocker::Expired => ErrorKind::Gone,
                ApprovalBlocker::RoleTooLow => ErrorKind::Forbidden,
                ApprovalBlocker::NoPreview => ErrorKind::Invalid,
            },
            CoreError::Invalid { .. }
            | CoreError::EmptyMessage
            | CoreError::BadServerUrl { .. }
            | CoreError::PlainHttp { .. } => ErrorKind::Invalid,
            CoreError::RateLimited { .. } => ErrorKind::RateLimited,
            CoreError::Server { .. } => ErrorKind::ServerError,
            CoreError::Protocol { .. }
            | CoreError::Redirected { .. }
            | CoreError::UnreadableAnswer { .. } => ErrorKind::BadServer,
            CoreError::Secrets(_) => ErrorKind::SecretStore,
            CoreError::Store(_) => ErrorKind::LocalStorage,
            CoreError::NoAccount => ErrorKind::NoAccount,
            CoreError::UnknownAccount(_) | CoreError::AmbiguousAccount(_) => ErrorKind::Account,
            CoreError::Local(_) => ErrorKind::Local,
            CoreError::Undelivered { .. } => ErrorKind::Undelivered,
        }
    }

    /// The server answered this request with a final no: sent again, it would get the same.
    /// Anything else (the link, the server failing, a secret store locked meanwhile) leaves an
    /// action queued for later, never dropped.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            CoreError::Forbidden { .. }
                | CoreError::NotFound { .. }
                | CoreError::Conflict { .. }
                | CoreError::Gone { .. }
                | CoreError::Invalid { .. }
        )
    }

    /// The server failed this one request and said nothing of the rest (a 500 without a
    /// wait asked): actions that need not follow it can still be sent.
    pub fn failed_this_request_only(&self) -> bool {
        matches!(
            self,
            CoreError::Server {
                status: 500,
                retry_after_s: None,
                ..
            }
        )
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

/// A server asking for a longer wait than this is waited this long: a misconfigured or hostile
/// `Retry-After` cannot hold an approval back for hours.
pub const LONGEST_WAIT_ASKED: std::time::Duration = std::time::Duration::from_secs(300);
