//! Load benchmark of the real `spartex-server` binary: REST reads and WebSocket event fan-out.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p spartex-server-bin --bench server_load
//! ```
//!
//! It starts the release server binary as a child process (`--demo --demo-pace 3600`, so the
//! simulated agents take a step an hour and otherwise only answer chat, on a fresh SQLite
//! database in a temporary folder, on a free 127.0.0.1 port), then measures, with this process
//! as the only client on the same machine:
//!
//! 1. `GET /api/v1/projects` with a Bearer access token over 64 concurrent connections for
//!    `SPARTEX_BENCH_READ_SECS` seconds (default 10; at most `SPARTEX_BENCH_READ_REQUESTS`
//!    requests, default 5,000,000): requests/s and mean/p50/p99 latency.
//! 2. For each N in `SPARTEX_BENCH_SOCKETS` (default `1000,10000`): how long connecting N
//!    `GET /api/v1/events` sockets takes (100 handshakes at a time), then for
//!    `SPARTEX_BENCH_ROUNDS` rounds (default 5) one `POST /api/v1/projects/{id}/messages`
//!    as the on-call user, timing each socket from just before the POST is sent to the moment
//!    it reads that `message.created` frame: p50/p99/max, and how many sockets got every event.
//!
//! It prints a table beside the recorded peer figures of the FastAPI + uvicorn implementation
//! on the same 2-core machine (1,150 requests/s, mean 57 ms at 64 connections; fan-out to
//! 1,000 sockets p50 17 ms / p99 145 ms, to 10,000 sockets p50 198 ms / p99 1,065 ms after
//! 19.6 s of connecting) and checks the target: 10,000 sockets with p99 under 250 ms.
//! It exits non-zero when an event was lost or a request failed.
//!
//! 3. Push latency (see `server_load/push.rs`): with `SPARTEX_BENCH_PUSH_DEVICES` Web Push
//!    devices registered (default 1,000), the time from an agent's approval request to each
//!    device's push arriving at a push service on loopback.
//!
//! Set `SPARTEX_BENCH_READ_SECS=0`, `SPARTEX_BENCH_SOCKETS=` (empty) or
//! `SPARTEX_BENCH_PUSH_DEVICES=0` to skip a part.

#[path = "server_load/push.rs"]
mod push;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::{json, Value};
use spartex_testkit::demo::{MANAGER, ONCALL};
use spartex_testkit::PASSWORD;
use tokio::sync::{oneshot, watch, Barrier};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Concurrent connections of the REST read test (the peer figure was taken at 64).
const READ_CONNECTIONS: usize = 64;
/// WebSocket handshakes in flight at once while connecting. Kept under the server's accept
/// backlog of 128 (tokio's `TcpListener::bind`): with 200 in flight the queue overflowed
/// whenever accepting lagged, and each dropped handshake waited 1 s for a SYN-ACK resend.
const CONNECT_CONCURRENCY: usize = 100;
/// Attempts per socket before it counts as failed to connect.
const CONNECT_ATTEMPTS: u32 = 3;
/// File descriptors kept free for everything that is not an event socket.
const SPARE_FDS: u64 = 200;
/// The target: this many sockets with p99 fan-out latency under `TARGET_P99_MS`.
const TARGET_SOCKETS: usize = 10_000;
const TARGET_P99_MS: f64 = 250.0;

/// Recorded figures of the FastAPI + uvicorn implementation on the same machine.
struct PeerFanout {
    sockets: usize,
    connect_s: Option<f64>,
    p50_ms: f64,
    p99_ms: f64,
}
const PEER_READ_RPS: f64 = 1_150.0;
const PEER_READ_MEAN_MS: f64 = 57.0;
const PEER_FANOUT: &[PeerFanout] = &[
    PeerFanout {
        sockets: 1_000,
        connect_s: None,
        p50_ms: 17.0,
        p99_ms: 145.0,
    },
    PeerFanout {
        sockets: 10_000,
        connect_s: Some(19.6),
        p50_ms: 198.0,
        p99_ms: 1_065.0,
    },
];

struct Config {
    read_secs: f64,
    read_max_requests: u64,
    sockets: Vec<usize>,
    rounds: usize,
    push_devices: usize,
    push_rounds: usize,
}

impl Config {
    fn from_env(fd_limit: u64) -> anyhow::Result<Self> {
        let read_secs: f64 = env_or("SPARTEX_BENCH_READ_SECS", "10")?
            .parse()
            .context("SPARTEX_BENCH_READ_SECS must be a number of seconds")?;
        ensure!(
            (0.0..=600.0).contains(&read_secs),
            "SPARTEX_BENCH_READ_SECS must be between 0 and 600"
        );
        let read_max_requests: u64 = env_or("SPARTEX_BENCH_READ_REQUESTS", "5000000")?
            .parse()
            .context("SPARTEX_BENCH_READ_REQUESTS must be a whole number")?;
        let rounds: usize = env_or("SPARTEX_BENCH_ROUNDS", "5")?
            .parse()
            .context("SPARTEX_BENCH_ROUNDS must be a whole number")?;
        ensure!(
            (1..=50).contains(&rounds),
            "SPARTEX_BENCH_ROUNDS must be between 1 and 50"
        );
        let mut sockets = Vec::new();
        for part in env_or("SPARTEX_BENCH_SOCKETS", "1000,10000")?.split(',') {
            let part = part.trim().replace('_', "");
            if part.is_empty() {
                continue;
            }
            let n: usize = part
                .parse()
                .with_context(|| format!("SPARTEX_BENCH_SOCKETS: `{part}` is not a count"))?;
            let most = fd_limit.saturating_sub(SPARE_FDS);
            ensure!(
                n > 0 && n as u64 <= most,
                "SPARTEX_BENCH_SOCKETS: {n} sockets do not fit the open-file limit of {fd_limit} (at most {most})"
            );
            // Every socket takes an ephemeral port of 127.0.0.1 (freed when the phase ends).
            if let Some(ports) = ephemeral_ports() {
                ensure!(
                    n as u64 + SPARE_FDS <= ports,
                    "SPARTEX_BENCH_SOCKETS: {n} sockets need more than the {ports} ephemeral ports \
                     of net.ipv4.ip_local_port_range"
                );
            }
            sockets.push(n);
        }
        let push_devices: usize = env_or("SPARTEX_BENCH_PUSH_DEVICES", "1000")?
            .parse()
            .context("SPARTEX_BENCH_PUSH_DEVICES must be a number")?;
        let push_rounds: usize = env_or("SPARTEX_BENCH_PUSH_ROUNDS", "10")?
            .parse()
            .context("SPARTEX_BENCH_PUSH_ROUNDS must be a number")?;
        ensure!(
            (1..=19).contains(&push_rounds),
            "SPARTEX_BENCH_PUSH_ROUNDS must be 1 to 19 (an agent may have 20 approvals waiting)"
        );
        Ok(Config {
            push_devices,
            push_rounds,
            read_secs,
            read_max_requests,
            sockets,
            rounds,
        })
    }
}

/// How many ports `net.ipv4.ip_local_port_range` allows for outgoing connections.
fn ephemeral_ports() -> Option<u64> {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut bounds = range.split_whitespace().map(str::parse::<u64>);
    let (low, high) = (bounds.next()?.ok()?, bounds.next()?.ok()?);
    Some(high.saturating_sub(low) + 1)
}

fn env_or(name: &str, default: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotPresent) => Ok(default.to_owned()),
        Err(e) => Err(e).with_context(|| format!("{name} is not valid text")),
    }
}

fn main() -> anyhow::Result<()> {
    let began = Instant::now();
    // Raised before the server is spawned, so the child inherits the higher soft limit.
    let fd_limit =
        rlimit::increase_nofile_limit(u64::MAX).context("could not raise RLIMIT_NOFILE")?;
    let config = Config::from_env(fd_limit)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the tokio runtime")?;
    let outcome = runtime.block_on(run(&config, fd_limit));
    println!(
        "\nThe whole run took {:.1} s.",
        began.elapsed().as_secs_f64()
    );
    outcome
}

async fn run(config: &Config, fd_limit: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("could not make a temporary folder")?;
    // Declared after `dir`, so it is dropped (and the server killed) before the folder goes.
    let server = ServerProcess::spawn(dir.path())?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .context("could not build the HTTP client")?;
    server.wait_healthy(&http).await?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "spartex-server (release) at {} pid {}; {cores} cores shared by server and client; open-file limit {fd_limit}",
        server.base,
        server.child.id()
    );

    let token = login(&http, &server.base).await?;
    let projects: Vec<Value> = http
        .get(format!("{}/api/v1/projects", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .context("GET /api/v1/projects failed")?
        .error_for_status()
        .context("GET /api/v1/projects was refused")?
        .json()
        .await
        .context("GET /api/v1/projects did not answer a list")?;
    let project_id = projects
        .first()
        .and_then(|p| p["id"].as_str())
        .context("the demo tenant has no project")?
        .to_owned();

    let read = if config.read_secs > 0.0 {
        println!(
            "\nREST reads: GET /api/v1/projects, {READ_CONNECTIONS} connections, {} s…",
            config.read_secs
        );
        let result = read_load(&server.base, &token, config).await?;
        println!(
            "  {} requests in {:.2} s",
            fmt_int(result.ok),
            result.elapsed.as_secs_f64()
        );
        Some(result)
    } else {
        None
    };

    let mut fanouts = Vec::new();
    for &n in &config.sockets {
        println!(
            "\nFan-out to {} sockets, {} events…",
            fmt_int(n as u64),
            config.rounds
        );
        let result = fanout(&http, &server, &project_id, n, config.rounds).await?;
        fanouts.push(result);
        // Let the server finish closing the last run's sockets before the next one.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    let pushed = if config.push_devices > 0 {
        println!(
            "\nPush latency, {} devices…",
            fmt_int(config.push_devices as u64)
        );
        let manager = login_as(&http, &server.base, MANAGER).await?;
        let result = push::measure(
            &http,
            &server.base,
            &manager,
            &token,
            &project_id,
            config.push_devices,
            config.push_rounds,
        )
        .await?;
        Some(result)
    } else {
        None
    };

    let exited = server.has_exited();
    print_table(read.as_ref(), &fanouts, config.rounds);
    if let Some(pushed) = &pushed {
        push::print(pushed);
        if pushed.missing > 0 {
            eprintln!("problem: {} pushes never arrived", pushed.missing);
        }
    }
    let complaints = server.log_complaints();
    println!("Server log: {} warning or error lines.", complaints.len());
    for line in complaints.iter().take(5) {
        println!("  {line}");
    }

    let mut problems = Vec::new();
    if let Some(read) = &read {
        if read.errors > 0 {
            problems.push(format!(
                "{} REST reads failed (first: {})",
                read.errors,
                read.first_error.as_deref().unwrap_or("?")
            ));
        }
    }
    for f in &fanouts {
        if f.complete < f.requested {
            problems.push(format!(
                "{} of {} sockets did not receive every event ({} connect failures, {} missing arrivals, {} socket errors{})",
                f.requested - f.complete,
                f.requested,
                f.connect_failures,
                f.missing,
                f.socket_errors,
                f.first_failure.as_deref().map(|e| format!("; first: {e}")).unwrap_or_default()
            ));
        }
        if f.duplicates > 0 {
            problems.push(format!(
                "{} duplicate event frames at {} sockets",
                f.duplicates, f.requested
            ));
        }
    }
    if let Some(status) = exited {
        problems.push(format!(
            "the server exited during the run: {status}; log: {}",
            server.log_path.display()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        for p in &problems {
            eprintln!("problem: {p}");
        }
        eprintln!("server log tail:\n{}", server.log_tail(30));
        bail!("{} problem(s) seen; see above", problems.len())
    }
}

/// The server binary as a child process; killed when this is dropped, panics included.
struct ServerProcess {
    child: Child,
    base: String,
    port: u16,
    log_path: PathBuf,
}

impl ServerProcess {
    fn spawn(dir: &Path) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("could not find a free port")?
            .port();
        let log_path = dir.join("server.log");
        let log = File::create(&log_path).context("could not create the server log")?;
        let log_err = log.try_clone().context("could not share the server log")?;
        let database_url = format!("sqlite://{}", dir.join("bench.db").display());
        let child = Command::new(env!("CARGO_BIN_EXE_spartex-server"))
            .args([
                "--demo",
                "--demo-pace",
                "3600",
                "--demo-password",
                PASSWORD,
                // Every socket comes from 127.0.0.1: lift the per-address cap (512) above them.
                "--max-connections-per-ip",
                "1000000",
                // The bench's push service is on loopback over plain HTTP.
                "--insecure-push-endpoints",
                "--database-url",
                &database_url,
                "--listen",
            ])
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .context("could not start the spartex-server binary")?;
        Ok(ServerProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
            port,
            log_path,
        })
    }

    async fn wait_healthy(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        let url = format!("{}/healthz", self.base);
        for _ in 0..600 {
            if let Some(status) = self.has_exited() {
                bail!(
                    "the server exited before it was ready ({status}):\n{}",
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
            "the server did not answer GET /healthz within 60 s:\n{}",
            self.log_tail(30)
        )
    }

    /// `Some(status)` once the child has exited. Takes `&self` by asking /proc, so it can be
    /// called while the child is shared.
    fn has_exited(&self) -> Option<String> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // The state letter follows the parenthesised command name.
        let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
        matches!(state, "Z" | "X").then(|| format!("process state {state}"))
    }

    /// Resident memory of the server process in MiB, from /proc.
    fn rss_mib(&self) -> Option<f64> {
        rss_mib_of(&format!("/proc/{}/status", self.child.id()))
    }

    /// The server's WARN and ERROR log lines.
    fn log_complaints(&self) -> Vec<String> {
        let Ok(file) = File::open(&self.log_path) else {
            return Vec::new();
        };
        BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .collect()
    }

    fn log_tail(&self, lines: usize) -> String {
        let Ok(file) = File::open(&self.log_path) else {
            return String::from("(no log)");
        };
        let all: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rss_mib_of(status_path: &str) -> Option<f64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

async fn login(http: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    login_as(http, base, ONCALL).await
}

/// Signs in as a demo user. The server answers health before `--demo` has seeded its users
/// (hashing their passwords takes a moment on a loaded machine), so a 401 is tried again.
async fn login_as(http: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let response = loop {
        let response = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .context("POST /api/v1/auth/login failed")?;
        if response.status() != reqwest::StatusCode::UNAUTHORIZED || Instant::now() > deadline {
            break response;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let pair: Value = response
        .error_for_status()
        .context("POST /api/v1/auth/login was refused")?
        .json()
        .await
        .context("the login answer is not JSON")?;
    Ok(pair["access_token"]
        .as_str()
        .context("the login answer has no access_token")?
        .to_owned())
}

/// Latencies are recorded in microseconds, up to 10 minutes.
fn new_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000, 3).context("could not make a histogram")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

struct ReadResult {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
    latency: Histogram<u64>,
}

struct ReadWorker {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

/// `READ_CONNECTIONS` workers, each with its own client (so its own connection), issuing
/// `GET /api/v1/projects` back to back until the time or the request budget is spent.
async fn read_load(base: &str, token: &str, config: &Config) -> anyhow::Result<ReadResult> {
    let url = Arc::new(format!("{base}/api/v1/projects"));
    let token = Arc::new(token.to_owned());
    let issued = Arc::new(AtomicUsize::new(0));
    let max_requests = usize::try_from(config.read_max_requests).unwrap_or(usize::MAX);
    let barrier = Arc::new(Barrier::new(READ_CONNECTIONS + 1));
    let (start_tx, start_rx) = watch::channel(None::<Instant>);
    let duration = Duration::from_secs_f64(config.read_secs);
    let mut workers = Vec::new();
    for _ in 0..READ_CONNECTIONS {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10))
            .build()
            .context("could not build the HTTP client")?;
        let (url, token, issued, barrier) =
            (url.clone(), token.clone(), issued.clone(), barrier.clone());
        let mut start_rx = start_rx.clone();
        workers.push(tokio::spawn(async move {
            let mut worker = ReadWorker {
                ok: 0,
                errors: 0,
                first_error: None,
                latency: new_histogram()?,
            };
            // One unmeasured request opens the connection.
            let warm = get_projects(&client, &url, &token).await;
            barrier.wait().await;
            if let Err(e) = warm {
                worker.errors += 1;
                worker.first_error = Some(format!("warm-up: {e}"));
            }
            let start = *start_rx
                .wait_for(Option::is_some)
                .await
                .context("the start signal was lost")?;
            let Some(start) = start else {
                bail!("no start time")
            };
            let deadline = start + duration;
            while Instant::now() < deadline && issued.fetch_add(1, Ordering::Relaxed) < max_requests
            {
                let sent = Instant::now();
                match get_projects(&client, &url, &token).await {
                    Ok(()) => {
                        worker.ok += 1;
                        worker.latency.record(micros(sent.elapsed()))?;
                    }
                    Err(e) => {
                        worker.errors += 1;
                        worker.first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            anyhow::Ok(worker)
        }));
    }
    barrier.wait().await;
    let start = Instant::now();
    start_tx.send_replace(Some(start));
    let mut result = ReadResult {
        ok: 0,
        errors: 0,
        first_error: None,
        elapsed: Duration::ZERO,
        latency: new_histogram()?,
    };
    for worker in workers {
        let worker = worker.await.context("a read worker panicked")??;
        result.ok += worker.ok;
        result.errors += worker.errors;
        if result.first_error.is_none() {
            result.first_error = worker.first_error;
        }
        result
            .latency
            .add(&worker.latency)
            .context("could not merge histograms")?;
    }
    result.elapsed = start.elapsed();
    Ok(result)
}

async fn get_projects(client: &reqwest::Client, url: &str, token: &str) -> anyhow::Result<()> {
    let response = client.get(url).bearer_auth(token).send().await?;
    let status = response.status();
    // Read the whole body, as a real client would.
    let body = response.bytes().await?;
    ensure!(status == reqwest::StatusCode::OK, "status {status}");
    ensure!(body.first() == Some(&b'['), "the answer is not a list");
    Ok(())
}

struct FanoutResult {
    requested: usize,
    connected: usize,
    connect_failures: usize,
    connect_retries: u32,
    connect_time: Duration,
    handshake: Histogram<u64>,
    server_rss_mib: Option<f64>,
    client_rss_mib: Option<f64>,
    latency: Histogram<u64>,
    /// Per round: (p50, max) in microseconds and the POST's own latency.
    rounds: Vec<(u64, u64, Duration)>,
    complete: usize,
    missing: usize,
    duplicates: usize,
    socket_errors: usize,
    first_failure: Option<String>,
    replies_seen: usize,
    other_frames: usize,
    /// Growth of the kernel's ListenOverflows counter while connecting (all of this host).
    listen_overflows: Option<u64>,
}

/// Counters the socket readers bump, one slot per round.
struct Tally {
    received: Vec<AtomicUsize>,
    /// Frames of the lead agent's reply to a round's message (they quote it).
    replies: Vec<AtomicUsize>,
    failed: AtomicUsize,
    /// Text frames that were neither a round's event nor a reply to one: other activity.
    other: AtomicUsize,
}

struct SocketLog {
    arrivals: Vec<Option<Instant>>,
    duplicates: usize,
    failure: Option<String>,
}

#[derive(Deserialize)]
struct FrameHead {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    head: Option<i64>,
    #[serde(default)]
    data: Option<FrameData>,
}

#[derive(Deserialize)]
struct FrameData {
    #[serde(default)]
    body: Option<String>,
}

async fn fanout(
    http: &reqwest::Client,
    server: &ServerProcess,
    project_id: &str,
    n: usize,
    rounds: usize,
) -> anyhow::Result<FanoutResult> {
    let token = login(http, &server.base).await?;
    let ws_url = format!("ws://127.0.0.1:{}/api/v1/events", server.port);
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .context("the token is not a header value")?;

    // Connect, CONNECT_CONCURRENCY handshakes at a time, each waiting for its hello.
    let overflows_before = listen_overflows();
    let started = Instant::now();
    let attempts: Vec<anyhow::Result<(Ws, Duration, u32)>> = tokio::time::timeout(
        Duration::from_secs(900),
        futures_util::stream::iter(0..n)
            .map(|_| connect_one(&ws_url, &bearer))
            .buffer_unordered(CONNECT_CONCURRENCY)
            .collect(),
    )
    .await
    .context("connecting the sockets took over 15 minutes")?;
    let connect_time = started.elapsed();
    let listen_overflows = listen_overflows()
        .zip(overflows_before)
        .map(|(after, before)| after.saturating_sub(before));
    let mut sockets = Vec::with_capacity(n);
    let mut handshake = new_histogram()?;
    let mut connect_failures = 0;
    let mut connect_retries = 0;
    let mut first_failure = None;
    for attempt in attempts {
        match attempt {
            Ok((ws, took, tries)) => {
                handshake.record(micros(took))?;
                connect_retries += tries - 1;
                sockets.push(ws);
            }
            Err(e) => {
                connect_failures += 1;
                first_failure.get_or_insert_with(|| format!("connect: {e:#}"));
            }
        }
    }
    let connected = sockets.len();
    let server_rss_mib = server.rss_mib();
    let client_rss_mib = rss_mib_of("/proc/self/status");
    println!(
        "  connected {} of {} in {:.2} s (handshake p50 {:.1} ms, p99 {:.1} ms, {} retries); server RSS {}",
        fmt_int(connected as u64),
        fmt_int(n as u64),
        connect_time.as_secs_f64(),
        handshake.value_at_quantile(0.5) as f64 / 1000.0,
        handshake.value_at_quantile(0.99) as f64 / 1000.0,
        connect_retries,
        server_rss_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "?".into()),
    );

    // One reader task per socket; each notes when it sees each round's event.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let nonce = format!("{:x}-{}", now.as_nanos(), std::process::id());
    let markers: Arc<Vec<String>> = Arc::new(
        (0..rounds)
            .map(|r| format!("bench fan-out to {n} sockets, event {} [{nonce}]", r + 1))
            .collect(),
    );
    let tally = Arc::new(Tally {
        received: (0..rounds).map(|_| AtomicUsize::new(0)).collect(),
        replies: (0..rounds).map(|_| AtomicUsize::new(0)).collect(),
        failed: AtomicUsize::new(0),
        other: AtomicUsize::new(0),
    });
    // A stop signal per socket: a shared watch would make every reader take its lock twice
    // per frame, on the client's two threads, in the middle of the measurement.
    let mut stops = Vec::with_capacity(connected);
    let readers: Vec<_> = sockets
        .into_iter()
        .map(|ws| {
            let (stop_tx, stop_rx) = oneshot::channel();
            stops.push(stop_tx);
            tokio::spawn(read_socket(
                ws,
                nonce.clone(),
                markers.clone(),
                tally.clone(),
                stop_rx,
            ))
        })
        .collect();

    let post_url = format!("{}/api/v1/projects/{project_id}/messages", server.base);
    let mut sent_at = Vec::with_capacity(rounds);
    let mut post_latency = Vec::with_capacity(rounds);
    let mut replies_expected = false;
    for (round, marker) in markers.iter().enumerate() {
        let sent = Instant::now();
        sent_at.push(sent);
        let response = http
            .post(&post_url)
            .bearer_auth(&token)
            .json(&json!({ "body": marker }))
            .send()
            .await
            .context("POST …/messages failed")?;
        post_latency.push(sent.elapsed());
        ensure!(
            response.status() == reqwest::StatusCode::CREATED,
            "POST …/messages answered {}",
            response.status()
        );
        // Every live socket should get it; give up on stragglers after 30 s.
        let deadline = sent + Duration::from_secs(30);
        while tally.received[round].load(Ordering::Acquire) + tally.failed.load(Ordering::Acquire)
            < connected
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // A connected lead agent answers the thread, quoting the message, at most 3 s later;
        // let that fan-out pass so it does not overlap the next measurement. The demo workers
        // connect within about 2 s of the start, so the project's lead usually answers; when
        // the first round shows no reply, later rounds wait only if replies appeared.
        if round == 0 || replies_expected {
            let start_by = sent + Duration::from_millis(4500);
            let end_by = sent + Duration::from_secs(10);
            loop {
                let replies = tally.replies[round].load(Ordering::Acquire);
                let now = Instant::now();
                if replies + tally.failed.load(Ordering::Acquire) >= connected
                    || now >= end_by
                    || (replies == 0 && now >= start_by)
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        replies_expected = tally.replies[round].load(Ordering::Acquire) > 0;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    for stop in stops {
        let _ = stop.send(());
    }
    let mut logs = Vec::with_capacity(readers.len());
    let drain = tokio::time::timeout(Duration::from_secs(60), async {
        for reader in readers {
            logs.push(reader.await);
        }
    })
    .await;
    ensure!(drain.is_ok(), "the socket readers did not stop within 60 s");

    let mut latency = new_histogram()?;
    let mut per_round: Vec<Histogram<u64>> = (0..rounds)
        .map(|_| new_histogram())
        .collect::<Result<_, _>>()?;
    let mut complete = 0;
    let mut missing = connect_failures * rounds;
    let mut duplicates = 0;
    let mut socket_errors = 0;
    for log in logs {
        let log = log.context("a socket reader panicked")?;
        let mut all = true;
        for (round, arrival) in log.arrivals.iter().enumerate() {
            match arrival {
                Some(at) => {
                    let us = micros(at.saturating_duration_since(sent_at[round]));
                    latency.record(us)?;
                    per_round[round].record(us)?;
                }
                None => {
                    all = false;
                    missing += 1;
                }
            }
        }
        complete += usize::from(all);
        duplicates += log.duplicates;
        if let Some(failure) = log.failure {
            socket_errors += 1;
            first_failure.get_or_insert(failure);
        }
    }
    let replies_seen = tally
        .replies
        .iter()
        .map(|r| r.load(Ordering::Acquire))
        .sum();
    let rounds_summary = per_round
        .iter()
        .zip(post_latency)
        .map(|(h, post)| (h.value_at_quantile(0.5), h.max(), post))
        .collect();
    Ok(FanoutResult {
        requested: n,
        connected,
        connect_failures,
        connect_retries,
        connect_time,
        handshake,
        server_rss_mib,
        client_rss_mib,
        latency,
        rounds: rounds_summary,
        complete,
        missing,
        duplicates,
        socket_errors,
        first_failure,
        replies_seen,
        other_frames: tally.other.load(Ordering::Acquire),
        listen_overflows,
    })
}

/// Opens one event socket and reads its hello. Returns the socket, the time it took and the
/// number of attempts.
async fn connect_one(url: &str, bearer: &HeaderValue) -> anyhow::Result<(Ws, Duration, u32)> {
    let mut last_error = None;
    for attempt in 1..=CONNECT_ATTEMPTS {
        let started = Instant::now();
        match tokio::time::timeout(Duration::from_secs(30), handshake(url, bearer)).await {
            Ok(Ok(ws)) => return Ok((ws, started.elapsed(), attempt)),
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => last_error = Some(anyhow::anyhow!("no hello within 30 s")),
        }
        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("never attempted")))
}

async fn handshake(url: &str, bearer: &HeaderValue) -> anyhow::Result<Ws> {
    let mut request = url.into_client_request()?;
    request.headers_mut().insert(AUTHORIZATION, bearer.clone());
    // Small buffers: ten thousand sockets of the default 128 KiB would be 1.3 GB of client.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::connect_async_with_config(request, Some(config), true).await?;
    match ws.next().await {
        Some(Ok(WsMessage::Text(text))) => {
            let frame: FrameHead =
                serde_json::from_str(&text).context("the first frame is not JSON")?;
            ensure!(
                frame.kind == "hello" && frame.head.is_some(),
                "the first frame is not a hello: {text}"
            );
            Ok(ws)
        }
        other => bail!("expected the hello frame, got {other:?}"),
    }
}

async fn read_socket(
    mut ws: Ws,
    nonce: String,
    markers: Arc<Vec<String>>,
    tally: Arc<Tally>,
    mut stop: oneshot::Receiver<()>,
) -> SocketLog {
    let mut log = SocketLog {
        arrivals: vec![None; markers.len()],
        duplicates: 0,
        failure: None,
    };
    loop {
        let frame = tokio::select! {
            biased;
            frame = ws.next() => frame,
            _ = &mut stop => break,
        };
        let at = Instant::now();
        match frame {
            Some(Ok(WsMessage::Text(text))) => {
                // Only our own messages and the replies quoting them carry the nonce.
                if !text.contains(nonce.as_str()) {
                    tally.other.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let Ok(frame) = serde_json::from_str::<FrameHead>(&text) else {
                    continue;
                };
                let body = frame.data.and_then(|d| d.body).unwrap_or_default();
                if frame.kind != "message.created" {
                    tally.other.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                if let Some(round) = markers.iter().position(|m| *m == body) {
                    if log.arrivals[round].is_some() {
                        log.duplicates += 1;
                    } else {
                        log.arrivals[round] = Some(at);
                        tally.received[round].fetch_add(1, Ordering::AcqRel);
                    }
                } else if let Some(round) = markers.iter().position(|m| body.contains(m.as_str())) {
                    tally.replies[round].fetch_add(1, Ordering::AcqRel);
                }
            }
            Some(Ok(WsMessage::Close(close))) => {
                log.failure = Some(format!("the server closed the socket: {close:?}"));
                break;
            }
            Some(Ok(_)) => {} // pings (answered by tungstenite), pongs
            Some(Err(e)) => {
                log.failure = Some(format!("socket error: {e}"));
                break;
            }
            None => {
                log.failure = Some("the socket ended without a close frame".into());
                break;
            }
        }
    }
    if log.failure.is_some() {
        tally.failed.fetch_add(1, Ordering::AcqRel);
    } else {
        let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
        // Read until the server's close arrives (bounded by the same kind of timeout).
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    }
    log
}

/// The kernel's count of connections dropped because a listen queue was full.
fn listen_overflows() -> Option<u64> {
    let netstat = std::fs::read_to_string("/proc/net/netstat").ok()?;
    let mut lines = netstat.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if !names.starts_with("TcpExt:") {
            continue;
        }
        let index = names
            .split_whitespace()
            .position(|n| n == "ListenOverflows")?;
        return values.split_whitespace().nth(index)?.parse().ok();
    }
    None
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn fmt_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_table(read: Option<&ReadResult>, fanouts: &[FanoutResult], rounds: usize) {
    let line = "-".repeat(100);
    println!("\n{line}");
    if let Some(r) = read {
        let rps = r.ok as f64 / r.elapsed.as_secs_f64();
        println!(
            "REST reads: GET /api/v1/projects (Bearer), {READ_CONNECTIONS} connections, {:.1} s",
            r.elapsed.as_secs_f64()
        );
        println!(
            "{:<28} {:>12} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "", "requests/s", "mean ms", "p50 ms", "p99 ms", "max ms", "errors"
        );
        println!(
            "{:<28} {:>12} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10}",
            "spartex-server (this run)",
            fmt_int(rps.round() as u64),
            r.latency.mean() / 1000.0,
            ms(r.latency.value_at_quantile(0.5)),
            ms(r.latency.value_at_quantile(0.99)),
            ms(r.latency.max()),
            r.errors
        );
        println!(
            "{:<28} {:>12} {:>10.2} {:>10} {:>10} {:>10} {:>10}",
            "FastAPI + uvicorn (peer)",
            fmt_int(PEER_READ_RPS as u64),
            PEER_READ_MEAN_MS,
            "-",
            "-",
            "-",
            "-"
        );
        println!(
            "{:<28} {:>12}",
            "ratio",
            format!("{:.1}x", rps / PEER_READ_RPS)
        );
        println!();
    }
    if !fanouts.is_empty() {
        println!(
            "Fan-out: one message.created event to N sockets of GET /api/v1/events, {rounds} events; POST sent -> frame read"
        );
        println!(
            "{:<28} {:>8} {:>10} {:>9} {:>9} {:>9} {:>20}",
            "", "sockets", "connect s", "p50 ms", "p99 ms", "max ms", "got every event"
        );
        for f in fanouts {
            println!(
                "{:<28} {:>8} {:>10.2} {:>9.1} {:>9.1} {:>9.1} {:>20}",
                "spartex-server (this run)",
                fmt_int(f.requested as u64),
                f.connect_time.as_secs_f64(),
                ms(f.latency.value_at_quantile(0.5)),
                ms(f.latency.value_at_quantile(0.99)),
                ms(f.latency.max()),
                format!(
                    "{} / {}",
                    fmt_int(f.complete as u64),
                    fmt_int(f.requested as u64)
                )
            );
            if let Some(peer) = PEER_FANOUT.iter().find(|p| p.sockets == f.requested) {
                println!(
                    "{:<28} {:>8} {:>10} {:>9.1} {:>9.1} {:>9} {:>20}",
                    "FastAPI (peer)",
                    fmt_int(peer.sockets as u64),
                    peer.connect_s
                        .map(|s| format!("{s:.1}"))
                        .unwrap_or_else(|| "-".into()),
                    peer.p50_ms,
                    peer.p99_ms,
                    "-",
                    "-"
                );
            }
        }
        println!();
        for f in fanouts {
            let per_round: Vec<String> = f
                .rounds
                .iter()
                .map(|(p50, max, post)| {
                    format!(
                        "{:.0}/{:.0} ({:.0})",
                        ms(*p50),
                        ms(*max),
                        post.as_secs_f64() * 1000.0
                    )
                })
                .collect();
            println!(
                "  {} sockets: per event p50/max ms (POST answered ms): {}",
                fmt_int(f.requested as u64),
                per_round.join(", ")
            );
            println!(
                "  {} sockets: connected {}, connect failures {}, retries {}, handshake p50 {:.1} ms / p99 {:.1} ms, \
                 missing arrivals {}, duplicates {}, socket errors {}, agent-reply frames {}, other frames {}, \
                 listen-queue overflows while connecting {}; RSS server {} client {}",
                fmt_int(f.requested as u64),
                fmt_int(f.connected as u64),
                f.connect_failures,
                f.connect_retries,
                ms(f.handshake.value_at_quantile(0.5)),
                ms(f.handshake.value_at_quantile(0.99)),
                f.missing,
                f.duplicates,
                f.socket_errors,
                fmt_int(f.replies_seen as u64),
                fmt_int(f.other_frames as u64),
                f.listen_overflows.map(|o| o.to_string()).unwrap_or_else(|| "?".into()),
                f.server_rss_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "?".into()),
                f.client_rss_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "?".into()),
            );
        }
        if let Some(f) = fanouts.iter().find(|f| f.requested == TARGET_SOCKETS) {
            let p99 = ms(f.latency.value_at_quantile(0.99));
            let met = p99 < TARGET_P99_MS && f.complete == f.requested;
            println!(
                "\nTarget: {} sockets, p99 under {TARGET_P99_MS:.0} ms, nothing lost: {} (p99 {p99:.1} ms, {} / {} complete)",
                fmt_int(TARGET_SOCKETS as u64),
                if met { "MET" } else { "MISSED" },
                fmt_int(f.complete as u64),
                fmt_int(f.requested as u64),
            );
        }
    }
    println!("{line}");
}
