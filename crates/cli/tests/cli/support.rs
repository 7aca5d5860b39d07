//! The real server in-process on 127.0.0.1 (SQLite file, manual clock, demo seed), and the real
//! `spartex` binary run as child processes, each test with its own `SPARTEX_HOME`.
//!
//! Secrets: inside `scripts/test-env.sh` (`SPARTEX_TEST_DESKTOP=1`) the binary keeps its tokens
//! in the real OS keyring, under a service name of the test's own so that tests running side by
//! side never share an entry; elsewhere in the explicit insecure file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_core::secrets::{OsSecretStore, SecretStore};
use spartex_core::session::{cache_key_key, tokens_key};
use spartex_core::{Core, CoreConfig};
use spartex_demo::seed::{ensure_seeded, DemoAgent};
use spartex_server::clock::ManualClock;
use spartex_server::config::{Secret, Settings};
use spartex_server::state::AppState;
use spartex_server::store::{DocFilter, DocKind};
use spartex_server::RunningServer;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

pub const PASSWORD: &str = "cli-test-password";
pub const ONCALL: &str = "oncall@acme.test";
pub const MANAGER: &str = "manager@acme.test";

pub const SPRING: &str = "Spring Sale 2027 — Paid Social";
pub const LAUNCH: &str = "Lumen X1 Launch";

/// The longest a test waits for something to happen; a ceiling, never a sleep.
pub const PATIENCE: Duration = Duration::from_secs(20);
/// The longest one command of the binary may take before the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);

/// The exit codes of `spartex` (crates/cli/src/main.rs), as scripts see them.
pub mod exit {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 2;
    pub const AUTH: i32 = 3;
    pub const CONFLICT: i32 = 4;
    pub const QUEUED_OFFLINE: i32 = 5;
}

/// The server's clock is its own: fixed, and months behind the machine's clock the client
/// reads, as a server's and a laptop's clocks may disagree. Nothing the client shows or
/// decides may depend on the two agreeing.
fn server_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        "2026-03-02T09:00:00Z".parse().expect("a valid instant"),
    ))
}

pub struct TestServer {
    server: Option<RunningServer>,
    pub addr: SocketAddr,
    pub database_url: String,
    pub agents: Vec<DemoAgent>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A seeded server on a free port of 127.0.0.1.
    pub async fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database_url = format!("sqlite://{}", dir.path().join("server.db").display());
        let server = launch("127.0.0.1:0".parse().expect("an address"), &database_url).await;
        let world = ensure_seeded(&server.state, &Secret::new(PASSWORD))
            .await
            .expect("the demo world is seeded");
        TestServer {
            addr: server.addr,
            server: Some(server),
            database_url,
            agents: world.agents,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client"),
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn state(&self) -> &AppState {
        &self.server.as_ref().expect("the server is running").state
    }

    /// Stops the server gracefully; its address and database stay for [`TestServer::restart`].
    pub async fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    /// Starts the server again on the same address and the same database file.
    pub async fn restart(&mut self) {
        assert!(self.server.is_none(), "shut the server down first");
        let server = launch(self.addr, &self.database_url).await;
        assert_eq!(server.addr, self.addr, "the server is back on its address");
        self.server = Some(server);
    }

    pub fn agent(&self, name: &str) -> &DemoAgent {
        self.agents
            .iter()
            .find(|a| a.agent.name == name)
            .unwrap_or_else(|| panic!("no demo agent {name}"))
    }

    /// The demo agents of one project, for simulated workers.
    pub fn agents_of(&self, project: &str) -> Vec<DemoAgent> {
        self.agents
            .iter()
            .filter(|a| a.project_name == project)
            .map(|a| DemoAgent {
                agent: a.agent.clone(),
                project_name: a.project_name.clone(),
                token: a.token.clone(),
                lead: a.lead,
            })
            .collect()
    }

    pub async fn tenant_id(&self) -> String {
        self.state()
            .store
            .user_credentials(ONCALL)
            .await
            .expect("the store answers")
            .expect("the demo user exists")
            .tenant_id
    }

    /// Every message of a project, straight from the server's database.
    pub async fn messages(&self, project_id: &str) -> Vec<Value> {
        let tenant = self.tenant_id().await;
        self.state()
            .store
            .list_docs(&tenant, DocFilter::in_project(DocKind::Message, project_id))
            .await
            .expect("the store lists messages")
    }

    /// Every message of the tenant, straight from the server's database.
    pub async fn all_messages(&self) -> Vec<Value> {
        let tenant = self.tenant_id().await;
        self.state()
            .store
            .list_docs(&tenant, DocFilter::all(DocKind::Message))
            .await
            .expect("the store lists messages")
    }

    /// Signs in over HTTP and returns the access token.
    pub async fn token(&self, email: &str) -> String {
        let (status, body) = self
            .send(
                self.http
                    .post(format!("{}/api/v1/auth/login", self.url()))
                    .json(&json!({ "email": email, "password": PASSWORD })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request
            .send()
            .await
            .expect("the request reaches the server");
        let status = response.status();
        let text = response.text().await.expect("a body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("a non-JSON answer ({status}): {text}"))
        };
        (status, body)
    }

    /// GET as `token`; anything but 200 fails the test.
    pub async fn get(&self, token: &str, path: &str) -> Value {
        let (status, body) = self
            .send(
                self.http
                    .get(format!("{}{path}", self.url()))
                    .bearer_auth(token),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(format!("{}{path}", self.url()))
                .bearer_auth(token)
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&body),
        )
        .await
    }

    /// The demo agent `agent` asks for an approval with a preview; returns the approval.
    pub async fn ask(&self, agent: &str, title: &str) -> Value {
        let token = self.agent(agent).token.expose().to_owned();
        let (status, approval) = self
            .post(
                &token,
                "/api/v1/agent/approvals",
                json!({
                    "kind": "publish_ad",
                    "title": title,
                    "summary": "Headline and copy below.",
                    "payload": { "network": "meta", "ad_set": "as-1" },
                    "preview": { "type": "copy", "channel": "Meta", "headline": "30% off",
                                 "body": "Spring sale.", "image_description": null, "audience": null },
                    "risk": "high",
                    "expires_in_s": 3600,
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "ask: {approval}");
        approval
    }

    /// A project's id by name.
    pub async fn project_id(&self, token: &str, name: &str) -> String {
        self.get(token, "/api/v1/projects")
            .await
            .as_array()
            .expect("a list of projects")
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["id"].as_str())
            .unwrap_or_else(|| panic!("no project {name}"))
            .to_owned()
    }

    /// The head of the tenant's event log.
    pub async fn head(&self, token: &str) -> i64 {
        self.get(token, "/api/v1/sync?since=0&limit=1").await["head"]
            .as_i64()
            .expect("a head")
    }

    /// Every event of the tenant's log.
    pub async fn all_events(&self, token: &str) -> Vec<Value> {
        let mut since = 0;
        let mut events = Vec::new();
        loop {
            let page = self
                .get(token, &format!("/api/v1/sync?since={since}&limit=1000"))
                .await;
            let batch = page["events"].as_array().expect("events").clone();
            let Some(last) = batch.last() else {
                return events;
            };
            since = last["seq"].as_i64().expect("a seq");
            events.extend(batch);
        }
    }
}

/// Starts the server, retrying a bind for a moment: right after a shutdown another process's
/// outgoing connection may hold the port briefly.
async fn launch(addr: SocketAddr, database_url: &str) -> RunningServer {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut settings = Settings::new(addr, database_url);
        settings.jwt_secret = Some(Secret::new("cli-test-jwt-secret"));
        settings.sweep_interval = Duration::from_millis(50);
        match spartex_server::start(settings, server_clock()).await {
            Ok(server) => return server,
            Err(spartex_server::StartError::Bind { source, .. })
                if tokio::time::Instant::now() < deadline =>
            {
                eprintln!("binding {addr} failed ({source}); trying again");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("the server starts on {addr}: {error}"),
        }
    }
}

/// True inside `scripts/test-env.sh`: the binary must then use the real OS keyring.
pub fn desktop_session() -> bool {
    if std::env::var("SPARTEX_TEST_DESKTOP").as_deref() != Ok("1") {
        return false;
    }
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "SPARTEX_TEST_DESKTOP=1 but there is no D-Bus session: run through scripts/test-env.sh"
    );
    true
}

/// The `spartex` binary with a data folder of its own.
pub struct Cli {
    home: tempfile::TempDir,
    /// The keyring service its entries are filed under, in a desktop session.
    keyring_service: Option<String>,
}

/// How one run of the binary ended.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails the test, showing everything the command printed, unless it exited with `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "`spartex {}` exited with {:?}, expected {code}\n--- stdout\n{}--- stderr\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn expect_ok(&self) -> &Run {
        self.expect_code(exit::OK)
    }

    /// Stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`spartex {}` printed no JSON ({e}):\n{}\n--- stderr\n{}",
                self.args.join(" "),
                self.stdout,
                self.stderr
            )
        })
    }
}

impl Cli {
    pub fn new() -> Cli {
        let keyring_service = desktop_session()
            .then(|| format!("spartex-control-cli-test-{}", uuid::Uuid::new_v4().simple()));
        Cli {
            home: tempfile::tempdir().expect("a temporary SPARTEX_HOME"),
            keyring_service,
        }
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The same data folder and secret store the binary uses, for opening its cache here.
    pub fn core_config(&self) -> CoreConfig {
        let data_dir = self.home().to_owned();
        match &self.keyring_service {
            Some(service) => CoreConfig {
                data_dir,
                secrets: Arc::new(OsSecretStore::new(service.clone())),
            },
            None => CoreConfig::insecure_file_secrets(data_dir),
        }
    }

    /// A signed-in account's cache file.
    pub fn cache_path(&self, account_id: &str) -> PathBuf {
        self.home()
            .join("accounts")
            .join(account_id)
            .join("cache.db")
    }

    fn command(&self, args: &[&str], password: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_spartex"));
        command
            .args(args)
            .env("SPARTEX_HOME", self.home())
            .env("SPARTEX_PASSWORD", password)
            .env("SPARTEX_LOG", "warn")
            .env_remove("SPARTEX_ACCOUNT")
            .env_remove("SPARTEX_SERVER")
            .env_remove("SPARTEX_INSECURE_FILE_SECRETS")
            .env_remove("SPARTEX_SECRET_SERVICE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        match &self.keyring_service {
            Some(service) => {
                command.env("SPARTEX_SECRET_SERVICE", service);
            }
            None => {
                command.env("SPARTEX_INSECURE_FILE_SECRETS", "1");
            }
        }
        command
    }

    /// Runs `spartex ARGS` to its end.
    pub async fn run(&self, args: &[&str]) -> Run {
        self.run_with_password(args, PASSWORD).await
    }

    pub async fn run_with_password(&self, args: &[&str], password: &str) -> Run {
        let child = self
            .command(args, password)
            .spawn()
            .expect("the spartex binary starts");
        finish(args.iter().map(|a| (*a).to_owned()).collect(), child).await
    }

    /// Runs several commands side by side, as separate processes, each to its end.
    pub async fn run_together(&self, commands: &[Vec<String>]) -> Vec<Run> {
        let children: Vec<_> = commands
            .iter()
            .map(|args| {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                self.command(&args, PASSWORD)
                    .spawn()
                    .expect("the spartex binary starts")
            })
            .collect();
        let mut runs = Vec::new();
        for (args, child) in commands.iter().zip(children) {
            runs.push(finish(args.clone(), child).await);
        }
        runs
    }

    /// Starts `spartex ARGS` with its stdout and stderr piped to the test, to read as it likes.
    pub fn start(&self, args: &[&str]) -> Child {
        self.command(args, PASSWORD)
            .spawn()
            .expect("the spartex binary starts")
    }

    /// Starts `spartex ARGS` and leaves it running; its output is collected line by line.
    pub fn spawn(&self, args: &[&str]) -> Running {
        let mut child = self
            .command(args, PASSWORD)
            .spawn()
            .expect("the spartex binary starts");
        let (lines, receiver) = tokio::sync::mpsc::unbounded_channel();
        forward_lines(
            child.stdout.take().expect("piped stdout"),
            "",
            lines.clone(),
        );
        forward_lines(
            child.stderr.take().expect("piped stderr"),
            "stderr: ",
            lines,
        );
        Running {
            child,
            lines: receiver,
            seen: Vec::new(),
        }
    }

    /// `spartex login` as `email`, which also syncs the cache; returns the account id.
    pub async fn login(&self, server: &TestServer, email: &str) -> String {
        let url = server.url();
        let run = self
            .run(&["login", "--server", &url, "--email", email, "--json"])
            .await;
        run.expect_ok();
        let id = run.json()["id"].as_str().expect("an account id").to_owned();
        let file = self.home().join("insecure-secrets.json");
        match self.keyring_service.clone() {
            Some(service) => {
                assert!(
                    !file.exists(),
                    "in a desktop session no secret goes to a file"
                );
                let key = tokens_key(&id);
                let stored =
                    tokio::task::spawn_blocking(move || OsSecretStore::new(service).get(&key))
                        .await
                        .expect("the keyring lookup runs")
                        .expect("the keyring answers");
                assert!(stored.is_some(), "the tokens are in the OS keyring");
            }
            None => assert!(
                file.exists(),
                "the tokens are in the explicit insecure file"
            ),
        }
        id
    }
}

impl Drop for Cli {
    /// Removes this test's entries from the keyring (best effort: the keyring of
    /// scripts/test-env.sh is thrown away anyway).
    fn drop(&mut self) {
        let Some(service) = &self.keyring_service else {
            return;
        };
        let store = OsSecretStore::new(service.clone());
        let Ok(accounts) = Core::new(self.core_config()).accounts() else {
            return;
        };
        for account in accounts {
            let _ = store.delete(&tokens_key(&account.id));
            let _ = store.delete(&cache_key_key(&account.id));
        }
    }
}

fn forward_lines(
    stream: impl AsyncRead + Unpin + Send + 'static,
    prefix: &'static str,
    lines: tokio::sync::mpsc::UnboundedSender<String>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if lines.send(format!("{prefix}{line}")).is_err() {
                return;
            }
        }
    });
}

/// A `spartex` process still running.
pub struct Running {
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Waits (at most [`PATIENCE`]) for a line of its output that contains `text`.
    pub async fn wait_for_line(&mut self, text: &str) {
        if self.seen.iter().any(|line| line.contains(text)) {
            return;
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    let found = line.contains(text);
                    self.seen.push(line);
                    if found {
                        return;
                    }
                }
                Ok(None) | Err(_) => panic!(
                    "no line with “{text}” within {PATIENCE:?}; it printed:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// `kill -9`, and waits until it is gone.
    pub async fn kill_9(mut self) -> Vec<String> {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "it ended by itself ({status}) before it could be killed; it printed:\n{}",
                self.seen.join("\n")
            );
        }
        self.child.start_kill().expect("SIGKILL is sent");
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("a killed process ends")
            .expect("its status");
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "ended by SIGKILL: {status}");
        }
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        self.seen
    }
}

/// Polls `probe` until it yields a value, at most [`PATIENCE`]; fails the test naming `what`.
pub async fn eventually<T>(what: &str, mut probe: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits for a started `spartex` to end (within [`COMMAND_TIMEOUT`]) and keeps what it printed.
async fn finish(args: Vec<String>, child: tokio::process::Child) -> Run {
    let output = tokio::time::timeout(COMMAND_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "`spartex {}` did not end within {COMMAND_TIMEOUT:?}",
                args.join(" ")
            )
        })
        .expect("the spartex binary runs");
    Run {
        args,
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
