//! Wire types of the Spartex v1 contract (`shared/design/protocol.md`).
//!
//! Every type here is what travels between a client and the server, defined once for both.
//! The crate does no I/O: it is serde types and the few pure helpers that belong to them.

mod agent_worker;
mod auth;
pub mod endpoints;
mod error;
mod event;
#[cfg(any(test, feature = "fixtures"))]
mod fixtures;
mod oncall;
pub mod open;
mod push;
mod requests;
mod resources;
mod secret;
mod sentences;

pub use agent_worker::*;
pub use auth::*;
pub use endpoints::{Endpoint, Method};
pub use error::*;
pub use event::*;
pub use oncall::*;
pub use push::*;
pub use requests::*;
pub use resources::*;
pub use secret::Secret;

/// The path prefix of every v1 route.
pub const API_PREFIX: &str = "/api/v1";

/// The WebSocket close code of an event stream whose session ended (signed out, revoked, or
/// expired): the client must sign in again, not reconnect.
pub const SESSION_ENDED_CLOSE_CODE: u16 = 4401;

/// The WebSocket close code of an agent's control socket whose token was replaced
/// (`POST /projects/{id}/agents/{agent_id}/token`): that token now answers 401, so the worker
/// needs the new one rather than a reconnect.
pub const AGENT_TOKEN_REVOKED_CLOSE_CODE: u16 = 4401;

/// The WebSocket close code of an event stream whose organisation's log was rewound under it (a
/// database failover lost the last commits, and their `seq`s are given to new events): the
/// standard "service restart". The client reconnects from the `seq` it applied, which is now
/// above the log's head, and is told `resync_required`.
pub const LOG_REWOUND_CLOSE_CODE: u16 = 1012;

/// The header that makes a mutation safe to retry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

#[cfg(test)]
mod fuzz;
