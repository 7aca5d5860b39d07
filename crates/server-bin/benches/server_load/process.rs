//! A server under test as a child process of `server_load`: the `spartex-server` binary or
//! the FastAPI peer. Its output goes to a log file; it is killed (and waited for) when dropped,
//! panics included.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};

pub struct ChildServer {
    /// What the tables call it.
    pub name: &'static str,
    child: Child,
    pub base: String,
    pub port: u16,
    pub log_path: PathBuf,
}

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("could not find a free port")?
        .port())
}

impl ChildServer {
    /// Starts `command`, which is to listen on 127.0.0.1:`port`, with its output in `log_path`.
    pub fn spawn(
        name: &'static str,
        mut command: Command,
        port: u16,
        log_path: PathBuf,
    ) -> anyhow::Result<Self> {
        let log = File::create(&log_path)
            .with_context(|| format!("could not create {}", log_path.display()))?;
        let log_err = log.try_clone().context("could not share the log file")?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .with_context(|| {
                format!(
                    "could not start {name}: {}",
                    command.get_program().to_string_lossy()
                )
            })?;
        Ok(ChildServer {
            name,
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            log_path,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub async fn wait_healthy(
        &self,
        http: &reqwest::Client,
        within: Duration,
    ) -> anyhow::Result<()> {
        let url = format!("{}/healthz", self.base);
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.has_exited() {
                bail!(
                    "{} exited before it was ready ({status}); its log {}:\n{}",
                    self.name,
                    self.log_path.display(),
                    self.log_tail(30)
                );
            }
            let answer = http.get(&url).timeout(Duration::from_secs(1)).send().await;
            if answer.is_ok_and(|r| r.status() == reqwest::StatusCode::OK) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "{} did not answer GET /healthz within {} s; its log {}:\n{}",
            self.name,
            within.as_secs(),
            self.log_path.display(),
            self.log_tail(30)
        )
    }

    /// `Some(status)` once the child has exited. Takes `&self` by asking /proc, so it can be
    /// called while the child is shared.
    pub fn has_exited(&self) -> Option<String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The state letter follows the parenthesised command name.
        let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
        matches!(state, "Z" | "X").then(|| format!("process state {state}"))
    }

    /// Resident memory of the process in MiB, from /proc.
    pub fn rss_mib(&self) -> Option<f64> {
        rss_mib_of(&format!("/proc/{}/status", self.child.id()))
    }

    /// The log's warning and error lines.
    pub fn log_complaints(&self) -> Vec<String> {
        let Ok(file) = File::open(&self.log_path) else {
            return Vec::new();
        };
        BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let Ok(file) = File::open(&self.log_path) else {
            return String::from("(no log)");
        };
        let all: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_mib_of(status_path: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
