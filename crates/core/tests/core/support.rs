//! A real server in-process on 127.0.0.1:0 (SQLite file, manual clock, demo seed) and a client
//! core with its own data folder.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use spartex_core::secrets::InsecureFileSecretStore;
use spartex_core::{Account, Core, CoreConfig, Secret};
use spartex_demo::seed::{ensure_seeded, DemoAgent};
use spartex_server::clock::ManualClock;
use spartex_server::config::{Secret as ServerSecret, Settings};
use spartex_server::RunningServer;

pub const PASSWORD: &str = "core-test-password";
pub const PATIENCE: Duration = Duration::from_secs(15);

pub struct World {
    pub server: Option<RunningServer>,
    pub clock: Arc<ManualClock>,
    pub agents: Vec<DemoAgent>,
    pub url: String,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl World {
    pub async fn start() -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = format!("sqlite://{}", dir.path().join("server.db").display());
        let (server, clock) = start_server("127.0.0.1:0", &database_url).await;
        let world = ensure_seeded(&server.state, &ServerSecret::new(PASSWORD))
            .await
            .expect("seeds");
        let url = server.url();
        World {
            server: Some(server),
            clock,
            agents: world.agents,
            url,
            database_url,
            dir,
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
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    /// Starts the server again on the same address and database.
    pub async fn restart_server(&mut self) {
        let addr = self.url.trim_start_matches("http://").to_owned();
        let (server, clock) = start_server(&addr, &self.database_url).await;
        self.server = Some(server);
        self.clock = clock;
    }

    pub fn agent_token(&self, name: &str) -> String {
        self.agents
            .iter()
            .find(|a| a.agent.name == name)
            .expect("demo agent")
            .token
            .expose()
            .to_owned()
    }

    pub async fn server_token(&self, email: &str) -> String {
        let answer: Value = self
            .http
            .post(format!("{}/api/v1/auth/login", self.url))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("login")
            .json()
            .await
            .expect("json");
        answer["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn get(&self, token: &str, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json")
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await
            .expect("post");
        (
            response.status().as_u16(),
            response.json().await.unwrap_or(Value::Null),
        )
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

async fn start_server(listen: &str, database_url: &str) -> (RunningServer, Arc<ManualClock>) {
    let mut settings = Settings::new(listen.parse().expect("addr"), database_url);
    settings.jwt_secret = Some(ServerSecret::new("core-tests"));
    settings.sweep_interval = Duration::from_millis(20);
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    (
        spartex_server::start(settings, clock.clone())
            .await
            .expect("server starts"),
        clock,
    )
}

/// Polls until `check` holds, failing the test after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within {PATIENCE:?}");
}
