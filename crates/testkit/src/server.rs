//! The real server in this process: a real socket on 127.0.0.1, a real SQLite file in a
//! temporary folder (or a PostgreSQL database of its own, [`crate::database`]), the demo world
//! seeded, and a clock the test controls.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_demo::seed::{ensure_seeded, DemoAgent, DemoUser};
use spartex_demo::workers::{self, Workers};
use spartex_server::clock::{Clock, ManualClock, SystemClock};
use spartex_server::config::{Secret, Settings};
use spartex_server::state::AppState;
use spartex_server::{RunningServer, StartError};

use crate::database::TestDatabase;
use crate::{Api, Socket, PASSWORD};

/// Where a manual clock starts unless a suite picks its own instant.
pub const DEFAULT_START: &str = "2026-11-28T10:00:00Z";
/// How long a socket waits for a frame that should come at once; a ceiling, never a sleep.
const SOCKET_PATIENCE: Duration = Duration::from_secs(10);
/// How long a restart keeps trying to bind its old address: right after a shutdown another
/// process's outgoing connection may hold the port for a moment.
const BIND_PATIENCE: Duration = Duration::from_secs(20);

enum ClockChoice {
    Manual(DateTime<Utc>),
    System,
}

type Tweak = Box<dyn FnOnce(&mut Settings)>;

/// How to start a [`TestServer`]; [`TestServer::builder`].
pub struct Builder {
    clock: ClockChoice,
    tweak: Option<Tweak>,
    workers: Option<Duration>,
    oncall: bool,
}

impl Builder {
    /// A manual clock that reads `start` until the test moves it (the default, at
    /// [`DEFAULT_START`]).
    pub fn manual_clock(mut self, start: DateTime<Utc>) -> Builder {
        self.clock = ClockChoice::Manual(start);
        self
    }

    /// The wall clock, for tests where time passes as it does for the app and its agents.
    pub fn system_clock(mut self) -> Builder {
        self.clock = ClockChoice::System;
        self
    }

    /// Changes the settings (limits, timeouts) before the server starts.
    pub fn settings(mut self, tweak: impl FnOnce(&mut Settings) + 'static) -> Builder {
        self.tweak = Some(Box::new(tweak));
        self
    }

    /// Seeds the demo's on-call schedule and escalation policy too, as `--demo` does.
    pub fn demo_oncall(mut self) -> Builder {
        self.oncall = true;
        self
    }

    /// Runs the demo agents as simulated workers, a step every `pace`, from start to
    /// shutdown (and again after a restart).
    pub fn workers(mut self, pace: Duration) -> Builder {
        self.workers = Some(pace);
        self
    }

    pub async fn start(self) -> TestServer {
        show_server_logs_in_test_output();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database = TestDatabase::for_test(dir.path());
        let mut settings =
            Settings::new("127.0.0.1:0".parse().expect("an address"), database.url());
        settings.jwt_secret = Some(Secret::new(
            "spartex-testkit-jwt-secret-long-enough-for-hs256",
        ));
        if let ClockChoice::Manual(_) = self.clock {
            // A test that moves the clock sees deadlines (expiry, a stop's force) act at once.
            settings.sweep_interval = Duration::from_millis(20);
        }
        if let Some(tweak) = self.tweak {
            tweak(&mut settings);
        }
        let (clock, manual): (Arc<dyn Clock>, _) = match self.clock {
            ClockChoice::Manual(start) => {
                let manual = Arc::new(ManualClock::new(start));
                (manual.clone(), Some(manual))
            }
            ClockChoice::System => (Arc::new(SystemClock), None),
        };
        let running = spartex_server::start(settings.clone(), clock.clone())
            .await
            .expect("the server starts");
        let world = ensure_seeded(&running.state, &Secret::new(PASSWORD))
            .await
            .expect("the demo world is seeded");
        if self.oncall {
            spartex_demo::oncall::ensure_seeded(&running.state)
                .await
                .expect("the demo on-call schedule is seeded");
        }
        // From now on the server lives at this address: a restart binds it again.
        settings.listen = running.addr;
        let mut server = TestServer {
            addr: running.addr,
            base: running.url(),
            running: Some(running),
            settings,
            clock,
            manual,
            users: world.users,
            agents: world.agents,
            pace: self.workers,
            workers: None,
            http: reqwest::Client::builder()
                // Longer than the longest long poll (60 s); a hung request still fails.
                .timeout(Duration::from_secs(90))
                // Shorter than the server's keep-alive, so no request rides a closing connection.
                .pool_idle_timeout(Duration::from_secs(5))
                .build()
                .expect("an HTTP client"),
            dir,
            database,
        };
        server.start_workers();
        server
    }
}

/// A seeded reference server on 127.0.0.1, its demo users and agents, and clients for it.
pub struct TestServer {
    running: Option<RunningServer>,
    addr: SocketAddr,
    base: String,
    settings: Settings,
    clock: Arc<dyn Clock>,
    manual: Option<Arc<ManualClock>>,
    /// The demo users (both organisations), each with the password [`PASSWORD`].
    pub users: Vec<DemoUser>,
    /// The demo agents, each with its worker token.
    pub agents: Vec<DemoAgent>,
    pace: Option<Duration>,
    workers: Option<Workers>,
    http: reqwest::Client,
    dir: tempfile::TempDir,
    // After `running`: the server lets go of its database before it is dropped.
    database: TestDatabase,
}

impl TestServer {
    pub fn builder() -> Builder {
        Builder {
            clock: ClockChoice::Manual(DEFAULT_START.parse().expect("a valid instant")),
            tweak: None,
            workers: None,
            oncall: false,
        }
    }

    /// A seeded server with a manual clock at [`DEFAULT_START`].
    pub async fn start() -> TestServer {
        Self::builder().start().await
    }

    /// The same, with settings changed first.
    pub async fn start_with(tweak: impl FnOnce(&mut Settings) + 'static) -> TestServer {
        Self::builder().settings(tweak).start().await
    }

    /// A second instance of this server on the same PostgreSQL database, with the same clock
    /// and signing key, on an address of its own: what a load balancer would put beside it.
    /// Fails the test on SQLite, which one instance uses alone.
    pub async fn another_instance(&self) -> TestServer {
        self.another_instance_on(self.database_url()).await
    }

    /// [`TestServer::another_instance`], reaching the database at `database_url` (the same
    /// database through a [`crate::port_in_front::PortInFront`], say).
    pub async fn another_instance_on(&self, database_url: &str) -> TestServer {
        let database = self.database.shared();
        let mut settings = self.settings.clone();
        settings.listen = "127.0.0.1:0".parse().expect("an address");
        settings.database_url = Secret::new(database_url.to_owned());
        let running = spartex_server::start(settings.clone(), self.clock.clone())
            .await
            .expect("the second instance starts");
        settings.listen = running.addr;
        TestServer {
            addr: running.addr,
            base: running.url(),
            running: Some(running),
            settings,
            clock: self.clock.clone(),
            manual: self.manual.clone(),
            users: self.users.clone(),
            agents: self.agents.clone(),
            pace: None,
            workers: None,
            http: self.http.clone(),
            dir: tempfile::tempdir().expect("a temporary directory"),
            database,
        }
    }

    /// Runs one SQL statement on the server's database, as its administrator would (to change
    /// a person's role, or cut PostgreSQL's connections).
    pub async fn execute_sql(&self, statement: &str) {
        self.database.execute(statement).await;
    }

    /// Whether this instance runs the deployment's once-only jobs (sweeper, push) now.
    pub fn leads(&self) -> bool {
        *self
            .running
            .as_ref()
            .expect("the server is running")
            .leading
            .borrow()
    }

    /// The address it listens on; the same across restarts.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// `http://ADDR`, borrowed.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn state(&self) -> &AppState {
        &self.running.as_ref().expect("the server is running").state
    }

    /// The manual clock; fails the test if the server runs on the wall clock.
    pub fn clock(&self) -> Arc<ManualClock> {
        self.manual
            .clone()
            .expect("the server runs on a manual clock")
    }

    /// Moves the manual clock.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock().advance(by);
    }

    /// The URL of the server's database.
    pub fn database_url(&self) -> &str {
        self.settings.database_url.expose()
    }

    /// The server's SQLite file; fails the test on PostgreSQL (`SPARTEX_TEST_DATABASE`), which
    /// has no file of ours to look at.
    pub fn database_path(&self) -> PathBuf {
        assert!(
            self.database.is_sqlite(),
            "this test looks at SQLite's files; the PostgreSQL run of the suite leaves it out"
        );
        self.dir.path().join("server.db")
    }

    /// Stops the simulated workers, then the server (gracefully); its address, file and clock
    /// stay for [`TestServer::restart`].
    pub async fn shutdown(&mut self) {
        if let Some(workers) = self.workers.take() {
            workers.stop().await;
        }
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }

    /// Starts the server again on the same address, file and clock, with its workers.
    pub async fn restart(&mut self) {
        assert!(self.running.is_none(), "shut the server down first");
        let deadline = tokio::time::Instant::now() + BIND_PATIENCE;
        let running = loop {
            match spartex_server::start(self.settings.clone(), self.clock.clone()).await {
                Ok(running) => break running,
                Err(StartError::Bind { source, .. }) if tokio::time::Instant::now() < deadline => {
                    eprintln!("binding {} failed ({source}); trying again", self.addr);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("the server starts again on {}: {error}", self.addr),
            }
        };
        assert_eq!(running.addr, self.addr, "the server is back on its address");
        self.running = Some(running);
        self.start_workers();
    }

    /// Shuts down for good.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    fn start_workers(&mut self) {
        if let Some(pace) = self.pace {
            self.workers = Some(workers::spawn_all(self.url(), self.agents.clone(), pace));
        }
    }

    pub fn agent_named(&self, name: &str) -> &DemoAgent {
        self.agents
            .iter()
            .find(|a| a.agent.name == name)
            .unwrap_or_else(|| panic!("no demo agent {name}"))
    }

    /// A demo agent's worker token.
    pub fn agent_token(&self, name: &str) -> &str {
        self.agent_named(name).token.expose()
    }

    /// The demo agents of one project, for simulated workers of a test's own.
    pub fn agents_of(&self, project: &str) -> Vec<DemoAgent> {
        self.agents
            .iter()
            .filter(|a| a.project_name == project)
            .cloned()
            .collect()
    }

    /// The tenant of a demo user, straight from the server's store.
    pub async fn tenant_of(&self, email: &str) -> String {
        self.state()
            .store
            .user_credentials(email)
            .await
            .expect("the store answers")
            .unwrap_or_else(|| panic!("no demo user {email}"))
            .tenant_id
    }

    /// Signs in over HTTP; the whole answer (access and refresh token).
    pub async fn login_pair(&self, email: &str) -> Value {
        let (status, body) = self
            .anonymous()
            .post(
                "/api/v1/auth/login",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        body
    }

    /// Signs in over HTTP; the access token.
    pub async fn token(&self, email: &str) -> String {
        self.login_pair(email).await["access_token"]
            .as_str()
            .expect("an access token")
            .to_owned()
    }

    /// Signs in and returns a client for that person.
    pub async fn login(&self, email: &str) -> Api {
        let token = self.token(email).await;
        self.api(&token)
    }

    pub fn api(&self, token: &str) -> Api {
        Api::new(self.http.clone(), self.base.clone(), Some(token.to_owned()))
    }

    pub fn anonymous(&self) -> Api {
        Api::new(self.http.clone(), self.base.clone(), None)
    }

    /// A client authenticated as an agent worker.
    pub fn agent(&self, name: &str) -> Api {
        self.api(self.agent_token(name))
    }

    /// The event stream as `token`, from `since` if given.
    pub async fn events(&self, token: &str, since: Option<i64>) -> Socket {
        let query = since.map(|s| format!("?since={s}")).unwrap_or_default();
        Socket::connect(
            &format!("{}/api/v1/events{query}", self.ws_base()),
            token,
            SOCKET_PATIENCE,
        )
        .await
    }

    /// The live event stream of an app that raises no notifications (`alerts=false`).
    pub async fn events_without_alerts(&self, token: &str) -> Socket {
        Socket::connect(
            &format!("{}/api/v1/events?alerts=false", self.ws_base()),
            token,
            SOCKET_PATIENCE,
        )
        .await
    }

    /// The event stream from `since`, saying the event applied there was at `since_at`.
    pub async fn events_since(&self, token: &str, since: i64, since_at: &str) -> Socket {
        Socket::connect(
            &format!(
                "{}/api/v1/events?since={since}&since_at={since_at}",
                self.ws_base()
            ),
            token,
            SOCKET_PATIENCE,
        )
        .await
    }

    /// An agent's control socket.
    pub async fn control(&self, agent: &str) -> Socket {
        Socket::connect(
            &format!("{}/api/v1/agent/control", self.ws_base()),
            self.agent_token(agent),
            SOCKET_PATIENCE,
        )
        .await
    }

    fn ws_base(&self) -> String {
        self.base.replacen("http", "ws", 1)
    }
}

/// The in-process server's warnings and errors (a 500's cause among them) go to the test's own
/// output, which the test runner shows when the test fails. `SPARTEX_TEST_LOG` (an `EnvFilter`,
/// e.g. `spartex_server=debug`) shows more. The server never logs a token or a password.
fn show_server_logs_in_test_output() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SPARTEX_TEST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    // A second server in the same test process finds it set already.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .with_ansi(false)
        .try_init();
}
