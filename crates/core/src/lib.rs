//! `spartex-core`: the Spartex Control client engine. No GUI: the desktop app, the phone app and
//! the `spartex` CLI are faces over it.
//!
//! The path of one approval: the server's event reaches [`sync`], which applies it to the
//! encrypted SQLite cache ([`store`]) with its `seq` in one transaction and publishes a
//! [`Change`]; the notification policy ([`notify`]) decides whether it deserves a notification;
//! a decision goes to the outbox with its optimistic effect in one transaction, and the outbox
//! worker delivers it with its Idempotency-Key until the server answers.

pub mod account;
pub mod accounts;
pub mod alerts;
pub mod api;
pub mod changes;
pub mod delivery;
pub mod engine;
pub mod error;
pub mod notify;
pub mod rules;
pub mod secret;
pub mod secrets;
pub mod session;
pub mod store;
pub mod sync;

pub use account::{Account, Queued, Running, Status};
pub use accounts::AccountInfo;
pub use changes::{Change, LinkState, Outcome};
pub use engine::{Core, CoreConfig};
pub use error::{CoreError, CoreResult};
pub use secret::Secret;
pub use secrets::{SecretError, SecretStore};

#[cfg(test)]
mod test_support;
