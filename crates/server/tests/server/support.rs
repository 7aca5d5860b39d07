//! The shared test kit's server (`spartex-testkit`): a real server on 127.0.0.1:0 with a real
//! SQLite file and a manual clock, seeded with the demo organisations, and real HTTP and
//! WebSocket clients to drive it. What is this suite's own is below.

use std::time::Duration;

use serde_json::Value;
pub use spartex_testkit::demo::{LAUNCH, NEWSLETTER, SPRING};
pub use spartex_testkit::{Api, TestServer, PASSWORD};

/// How long a test waits for something that should happen at once; a ceiling, never a sleep.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A project's id by name, as seen by `api`.
pub async fn project_id(api: &Api, name: &str) -> String {
    api.project_id(name).await
}

/// Asks for approval as `agent`, returning the approval.
pub async fn ask(agent: &Api, risk: &str, expires_in_s: i64) -> Value {
    agent
        .ask("Publish the spring hero ad", risk, expires_in_s)
        .await
}
