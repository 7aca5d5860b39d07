//! The shared test kit's server (`spartex-testkit`: in-process on 127.0.0.1, SQLite file,
//! manual clock, demo seed), and the real `spartex` binary run as child processes, each test
//! with its own `SPARTEX_HOME`.
//!
//! Secrets: inside `scripts/test-env.sh` (`SPARTEX_TEST_DESKTOP=1`) the binary keeps its tokens
//! in the real OS keyring, under a service name of the test's own so that tests running side by
//! side never share an entry; elsewhere in the explicit insecure file.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use spartex_core::secret_store::{OsSecretStore, SecretStore};
use spartex_core::session::{cache_key_key, tokens_key};
use spartex_core::{Core, CoreConfig};
use spartex_server::store::{DocFilter, DocKind};
pub use spartex_testkit::demo::{LAUNCH, MANAGER, ONCALL, OWNER, SPRING};
pub use spartex_testkit::PASSWORD;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

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

/// The kit's server, with this suite's clock and the reads its tests make of the server.
pub struct TestServer(spartex_testkit::TestServer);

impl Deref for TestServer {
    type Target = spartex_testkit::TestServer;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for TestServer {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl TestServer {
    /// A seeded server on a free port of 127.0.0.1. Its clock is its own: fixed, and months
    /// behind the machine's clock the client reads, as a server's and a laptop's clocks may
    /// disagree. Nothing the client shows or decides may depend on the two agreeing.
    pub async fn start() -> TestServer {
        TestServer(
            spartex_testkit::TestServer::builder()
                .manual_clock("2026-03-02T09:00:00Z".parse().expect("a valid instant"))
                .start()
                .await,
        )
    }

    /// [`TestServer::start`] whose people may write as fast as a test sends (the server holds a
    /// person back past 60 writes in a burst): for tests that need the log to grow quickly.
    pub async fn start_for_a_flood() -> TestServer {
        TestServer(
            spartex_testkit::TestServer::builder()
                .manual_clock("2026-03-02T09:00:00Z".parse().expect("a valid instant"))
                .settings(|s| {
                    s.user_write_burst = 1_000_000;
                    s.user_writes_per_second = 1_000_000;
                })
                .start()
                .await,
        )
    }

    /// A seeded server with the demo's on-call schedule and escalation policy, its clock at
    /// the machine's now (so the app, reading the last answer's shifts offline at its own
    /// time, finds the same person on call).
    pub async fn with_oncall() -> TestServer {
        TestServer(
            spartex_testkit::TestServer::builder()
                .manual_clock(chrono::Utc::now())
                .demo_oncall()
                .start()
                .await,
        )
    }

    /// The tenant of the demo organisation (Acme Ads).
    pub async fn tenant_id(&self) -> String {
        self.tenant_of(ONCALL).await
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

    /// GET as `token`; anything but 200 fails the test.
    pub async fn get(&self, token: &str, path: &str) -> Value {
        self.api(token).get_ok(path).await
    }

    /// POST as `token`, with a fresh `Idempotency-Key`.
    pub async fn post(&self, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
        self.api(token).post(path, body).await
    }

    /// The demo agent `agent` asks for an approval with a preview; returns the approval.
    pub async fn ask(&self, agent: &str, title: &str) -> Value {
        self.agent(agent).ask(title, "high", 3600).await
    }
}

/// The `spartex` binary, built for this test run.
fn spartex_binary() -> PathBuf {
    spartex_testkit::cargo_bin("spartex", "spartex")
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
    /// A command the binary runs under, with its arguments (`nsenter …` for a disk of its own).
    run_under: Vec<String>,
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
            run_under: Vec::new(),
        }
    }

    /// From now on every run of the binary is `PROGRAM ARGS… spartex …`.
    pub fn run_under(&mut self, program_and_args: Vec<String>) {
        self.run_under = program_and_args;
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
        let mut command = match self.run_under.split_first() {
            None => Command::new(spartex_binary()),
            Some((program, program_args)) => {
                let mut command = Command::new(program);
                command.args(program_args).arg(spartex_binary());
                command
            }
        };
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

    /// Ends this binary's session from elsewhere, as another device of the same sign-in or an
    /// admin's revocation would: the server revokes it, and the binary, whose tokens stay
    /// stored, finds out at its next call. The token is read here and never shown.
    pub async fn revoke_session(&self, server: &TestServer, account_id: &str) {
        let secrets = self.core_config().secrets;
        let key = tokens_key(account_id);
        let stored = tokio::task::spawn_blocking(move || secrets.get(&key))
            .await
            .expect("the secret store lookup runs")
            .expect("the secret store answers")
            .expect("the account's tokens are stored");
        let tokens: Value =
            serde_json::from_str(stored.expose()).expect("the stored tokens are JSON");
        let access = tokens["access_token"]
            .as_str()
            .expect("an access token is stored");
        let (status, _) = server
            .post(access, "/api/v1/auth/logout", serde_json::json!({}))
            .await;
        assert_eq!(
            status,
            StatusCode::NO_CONTENT,
            "the server revokes the session"
        );
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

    /// Waits (at most [`PATIENCE`]) for it to end by itself; its exit code and all it printed.
    pub async fn ended(mut self) -> (Option<i32>, Vec<String>) {
        let status = match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(status) => status.expect("its status"),
            Err(_) => {
                while let Ok(line) = self.lines.try_recv() {
                    self.seen.push(line);
                }
                panic!(
                    "it did not end within {PATIENCE:?}; it printed:\n{}",
                    self.seen.join("\n")
                )
            }
        };
        // What it wrote last is still on its way through the pipes.
        while let Ok(Some(line)) = tokio::time::timeout(PATIENCE, self.lines.recv()).await {
            self.seen.push(line);
        }
        (status.code(), self.seen)
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
pub async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    spartex_testkit::eventually(what, PATIENCE, probe).await
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
