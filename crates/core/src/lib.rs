//! `spartex-core`: the Spartex Control client engine. No GUI: the desktop app, the phone app and
//! the `spartex` CLI are faces over it.
//!
//! The path of one approval: the server's event reaches [`sync`], which applies it to the
//! encrypted SQLite cache ([`store`]) with its `seq` in one transaction and publishes a
//! [`Change`]; the notification policy ([`notify`]) decides whether it deserves a notification;
//! a decision goes to the outbox with its optimistic effect in one transaction, and the outbox
//! worker delivers it with its Idempotency-Key until the server answers.

pub mod account;
pub mod actions;
pub mod alerts;
pub mod changes;
pub mod core;
pub mod delivery;
pub mod devices;
mod dial;
pub mod error;
pub mod http;
pub mod notify;
pub mod oncall;
pub mod push;
pub mod registry;
pub mod secret_store;
pub mod server_clock;
pub mod session;
pub mod settings;
pub mod store;
pub mod sync;
mod tls;

pub use account::{Account, Queued, Running, Status};
pub use changes::{Change, LinkState, Outcome, OutcomeResult};
pub use core::{Core, CoreConfig, NotReached, Undelivered};
pub use error::{CoreError, CoreResult, ErrorKind};
pub use registry::AccountInfo;
pub use secret_store::{SecretError, SecretStore};
pub use spartex_api::Secret;
/// The rules every face shares (what may be decided, what deserves a notification).
pub use spartex_policy as rules;
pub use sync::AlertsHere;

#[cfg(test)]
mod layering;
#[cfg(test)]
mod test_support;
