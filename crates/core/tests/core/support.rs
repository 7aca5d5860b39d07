//! The shared test kit's server (`spartex-testkit`: real, in-process on 127.0.0.1:0, SQLite
//! file, demo seed) on a manual clock that starts at the machine's now, so the client's clock
//! and the server's agree; and client cores, each with its own data folder.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use spartex_core::secret_store::InsecureFileSecretStore;
use spartex_core::{Account, Core, CoreConfig, Secret};
use spartex_server::clock::ManualClock;
use spartex_testkit::TestServer;
use spartex_testkit::PASSWORD;

pub const PATIENCE: Duration = Duration::from_secs(15);

pub struct World {
    pub server: TestServer,
    pub clock: Arc<ManualClock>,
    pub url: String,
    /// The client cores' data folders.
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl World {
    pub async fn start() -> World {
        World::start_at(chrono::Utc::now()).await
    }

    /// A server whose clock reads `now` while this machine's reads its own.
    pub async fn start_at(now: chrono::DateTime<chrono::Utc>) -> World {
        World::around(TestServer::builder().manual_clock(now)).await
    }

    /// [`World::start`] with the server's settings changed by `tweak`.
    pub async fn start_with(
        tweak: impl FnOnce(&mut spartex_server::config::Settings) + 'static,
    ) -> World {
        World::around(
            TestServer::builder()
                .manual_clock(chrono::Utc::now())
                .settings(tweak),
        )
        .await
    }

    /// [`World::start`] with the demo's on-call schedule and escalation policy.
    pub async fn start_with_oncall() -> World {
        World::around(
            TestServer::builder()
                .manual_clock(chrono::Utc::now())
                .demo_oncall(),
        )
        .await
    }

    pub async fn around(server: spartex_testkit::Builder) -> World {
        let server = server.start().await;
        World {
            clock: server.clock(),
            url: server.url(),
            server,
            dir: tempfile::tempdir().expect("temp dir"),
            http: reqwest::Client::new(),
        }
    }

    pub fn core(&self, name: &str) -> Core {
        let data_dir = self.dir.path().join(name);
        let secrets = Arc::new(InsecureFileSecretStore::new(data_dir.join("secrets.json")));
        Core::new(CoreConfig { data_dir, secrets })
    }

    pub async fn login(&self, core: &Core, email: &str) -> Account {
        core.login(&self.url, email, &Secret::new(PASSWORD))
            .await
            .expect("signs in")
    }

    pub async fn stop_server(&mut self) {
        self.server.shutdown().await;
    }

    /// Starts the server again on the same address, database and clock.
    pub async fn restart_server(&mut self) {
        self.server.restart().await;
    }

    pub fn agent_token(&self, name: &str) -> String {
        self.server.agent_token(name).to_owned()
    }

    pub async fn server_token(&self, email: &str) -> String {
        self.server.token(email).await
    }

    pub async fn get(&self, token: &str, path: &str) -> Value {
        self.server.api(token).get(path).await.1
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let (status, body) = self.server.api(token).post(path, body).await;
        (status.as_u16(), body)
    }

    /// An agent asks for approval; returns the approval.
    pub async fn ask(&self, agent: &str, title: &str) -> Value {
        let (status, approval) = self
            .post(
                &self.agent_token(agent),
                "/api/v1/agent/approvals",
                json!({"kind": "publish_ad", "title": title, "payload": {}, "risk": "high", "expires_in_s": 600,
                       "preview": {"type": "amount", "currency": "USD", "old_amount": 100.0, "new_amount": 150.0, "period": "day"}}),
            )
            .await;
        assert_eq!(status, 201, "{approval}");
        approval
    }
}

/// Polls until `check` holds, failing the test after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    spartex_testkit::eventually(what, PATIENCE, async || check().await.then_some(())).await
}
