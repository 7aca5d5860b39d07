//! The `spartex-server` binary as a process: what its log looks like when it is not written to
//! a terminal, how it ends on SIGTERM, a database disk that fills up, and (on PostgreSQL) a
//! killed instance and a database that goes away and comes back.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;

mod disk_full;
mod failover;
mod outage;
#[path = "../support/small_disk.rs"]
mod small_disk;

/// How long a test waits for something that should happen at once; a ceiling, never a sleep.
const PATIENCE: Duration = Duration::from_secs(10);

/// The demo's password for everyone, as `Server` starts it.
const PASSWORD: &str = "binary-test-password";

/// The demo manager signed in on the server at `base`, and the path of their first project's
/// thread, where the tests write.
async fn manager_and_a_thread(base: &str) -> (spartex_testkit::Api, String) {
    let (status, session) = spartex_testkit::Api::at(base, None)
        .post(
            "/api/v1/auth/login",
            serde_json::json!({"email": "manager@acme.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "{session}");
    let api = spartex_testkit::Api::at(base, session["access_token"].as_str().map(str::to_owned));
    let projects = api.get_ok("/api/v1/projects").await;
    let project = projects[0]["id"].as_str().expect("a project").to_owned();
    (api, format!("/api/v1/projects/{project}/messages"))
}

/// The `spartex-server` binary, built for this run by the kit.
fn server_binary() -> std::path::PathBuf {
    spartex_testkit::cargo_bin("spartex-server-bin", "spartex-server")
}

/// A server process on a free port with a database of its own; its output, line by line.
struct Server {
    child: Child,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        Self::start_in(Command::new(server_binary()), extra)
    }

    /// Started by a shell that first lowers the soft limit on open files to `soft`.
    fn start_with_open_files(soft: u64) -> Server {
        let mut shell = Command::new("sh");
        shell
            .args(["-c", &format!("ulimit -S -n {soft} && exec \"$0\" \"$@\"")])
            .arg(server_binary());
        Self::start_in(shell, &[])
    }

    fn start_in(command: Command, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let database = format!("sqlite://{}", dir.path().join("server.db").display());
        Self::spawn(command, &database, extra, dir)
    }

    /// On a database another process may share (PostgreSQL).
    fn start_on(database: &str, extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().expect("a temporary directory");
        Self::spawn(Command::new(server_binary()), database, extra, dir)
    }

    fn spawn(
        mut command: Command,
        database: &str,
        extra: &[&str],
        dir: tempfile::TempDir,
    ) -> Server {
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--database-url", database])
            .args(["--demo-password", PASSWORD])
            .args(extra)
            .env_remove("SPARTEX_LOG")
            .env_remove("SPARTEX_DEMO")
            .env_remove("SPARTEX_DEMO_PACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the server binary starts");
        let (sender, lines) = mpsc::unbounded_channel();
        forward(child.stdout.take().expect("piped stdout"), sender.clone());
        forward(child.stderr.take().expect("piped stderr"), sender);
        Server {
            child,
            lines,
            seen: Vec::new(),
            _dir: dir,
        }
    }

    /// Waits (at most [`PATIENCE`]) for a line of output containing `text`.
    async fn wait_for_line(&mut self, text: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        while !self.seen.iter().any(|line| line.contains(text)) {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => self.seen.push(line),
                _ => panic!("no line with {text:?}; the output was:\n{}", self.output()),
            }
        }
    }

    /// `http://ADDR`, from the line that says where it listens.
    async fn url(&mut self) -> String {
        self.wait_for_line("spartex-server listening").await;
        let line = self
            .seen
            .iter()
            .find(|line| line.contains("spartex-server listening"))
            .expect("the line just seen");
        let addr = line
            .split_whitespace()
            .find_map(|word| word.strip_prefix("addr="))
            .unwrap_or_else(|| panic!("no addr= in {line:?}"));
        format!("http://{addr}")
    }

    fn output(&self) -> String {
        self.seen.join("\n")
    }

    /// Sends SIGTERM and returns what the process printed until it exited.
    async fn terminate(mut self, within: Duration) -> String {
        let pid = self.child.id().expect("still running").to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await
            .expect("kill runs");
        assert!(status.success());
        let exited = tokio::time::timeout(within, self.child.wait()).await;
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        let output = self.output();
        let status = exited
            .unwrap_or_else(|_| panic!("still running {within:?} after SIGTERM:\n{output}"))
            .expect("the exit status");
        assert!(status.success(), "exited with {status}:\n{output}");
        // The rest of the output, now that the pipes are closed.
        while let Some(line) = self.lines.recv().await {
            self.seen.push(line);
        }
        self.output()
    }
}

fn forward(stream: impl AsyncRead + Unpin + Send + 'static, lines: mpsc::UnboundedSender<String>) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
}

#[tokio::test]
async fn the_log_has_no_colour_codes_when_not_written_to_a_terminal() {
    let mut server = Server::start(&[]);
    server.wait_for_line("spartex-server listening").await;
    let output = server.terminate(PATIENCE).await;
    assert!(output.contains("shutting down"), "{output}");
    assert!(
        !output.contains('\u{1b}'),
        "ANSI escapes in the log:\n{output}"
    );
}

/// The per-address cap, not a default soft limit of 1,024 open files, turns clients away.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_open_files_soft_limit_is_raised_to_the_hard_one() {
    let mut server = Server::start_with_open_files(256);
    server.wait_for_line("spartex-server listening").await;
    let pid = server.child.id().expect("running");
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).expect("its limits");
    let open_files: Vec<&str> = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .expect("a line for open files")
        .split_whitespace()
        .collect();
    let (soft, hard) = (open_files[3], open_files[4]);
    assert_eq!(soft, hard, "{limits}");
    server.terminate(PATIENCE).await;
}

/// With 15 demo workers pacing an hour a step, SIGTERM used to wait 5 s for each of them.
#[tokio::test]
async fn sigterm_in_demo_mode_ends_promptly_however_slow_the_pace() {
    let mut server = Server::start(&["--demo", "--demo-pace", "3600"]);
    server.wait_for_line("Demo organisations are ready").await;
    let output = server.terminate(Duration::from_secs(30)).await;
    assert!(
        !output.contains("did not stop"),
        "workers had to be aborted:\n{output}"
    );
}
