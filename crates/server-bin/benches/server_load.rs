//! Load benchmark of the real `spartex-server` binary beside the FastAPI peer, in the same run:
//! REST reads, WebSocket connects and event fan-out, then push latency.
//!
//! Run it with
//!
//! ```text
//! cargo bench -p spartex-server-bin --bench server_load
//! ```
//!
//! It starts two servers as child processes, each on a free 127.0.0.1 port with a fresh SQLite
//! database in a temporary folder:
//!
//! - the release `spartex-server` binary, `--demo --demo-pace 3600` (the simulated agents take
//!   a step an hour and otherwise only answer chat);
//! - the peer: the seed's FastAPI + uvicorn stack, `shared/peers/fastapi/app.py` (found through
//!   `SPARTEX_BENCH_PEER_APP`, else `<workspace>/../shared/peers/fastapi/app.py`), run as
//!   `uvicorn app:app --host 127.0.0.1 --port P --log-level warning` (one worker) from the app's
//!   folder with `PEER_DB` in the temporary folder. It has no agents, so nothing answers chat.
//!   The bench installs it itself: `python3 -m venv <target>/bench-peer-venv` (`<target>` is
//!   `CARGO_TARGET_DIR` or `<workspace>/target`), then `pip install` of pinned `fastapi` and
//!   `uvicorn[standard]` (see `server_load/peer.rs`), skipped when the venv's marker file
//!   records the same pins. Needs `python3` with its venv module, and PyPI the first time.
//!   `SPARTEX_BENCH_PEER=off` runs without it.
//!
//! Then, with this process as the only client on the same machine, it measures each part on
//! spartex-server and then on the peer, never both at once, with the same driver code:
//!
//! 1. `GET /api/v1/projects` with a Bearer access token over 64 concurrent connections for
//!    `SPARTEX_BENCH_READ_SECS` seconds (default 10; at most `SPARTEX_BENCH_READ_REQUESTS`
//!    requests, default 5,000,000): requests/s and mean/p50/p99 latency.
//! 2. For each N in `SPARTEX_BENCH_SOCKETS` (default `1000,5000,10000`): the head from one
//!    socket's hello, then how long connecting N `GET /api/v1/events?since=<head>` sockets
//!    takes (100 handshakes at a time), then for `SPARTEX_BENCH_ROUNDS` rounds (default 5) one
//!    `POST /api/v1/projects/{id}/messages` (the first project the server lists), timing each
//!    socket from just before the POST is sent to the moment it reads that `message.created`
//!    frame: p50/p99/max, and how many sockets got every event. The sockets are closed before
//!    the next target connects, so both stay within the open-file limit.
//!
//! It prints each part's figures side by side with their ratios, then the goals, MET or NOT
//! MET: connecting at 5,000 handshakes/s or more and 10,000 sockets within 2 s; REST reads at
//! 20 times the peer's rate or more; fan-out p99 at 5,000 and 10,000 sockets at least 5 times
//! better than the peer's. A missed goal does not fail the run; it exits non-zero when
//! spartex-server lost an event or failed a request (the peer's losses are only reported).
//!
//! 3. Push latency (see `server_load/push.rs`, spartex-server only): with
//!    `SPARTEX_BENCH_PUSH_DEVICES` Web Push devices registered (default 1,000), the time from an
//!    agent's approval request to each device's push arriving at a push service on loopback.
//!
//! Set `SPARTEX_BENCH_READ_SECS=0`, `SPARTEX_BENCH_SOCKETS=` (empty) or
//! `SPARTEX_BENCH_PUSH_DEVICES=0` to skip a part.

#[path = "server_load/fanout.rs"]
mod fanout;
#[path = "server_load/peer.rs"]
mod peer;
#[path = "server_load/process.rs"]
mod process;
#[path = "server_load/push.rs"]
mod push;
#[path = "server_load/reads.rs"]
mod reads;
#[path = "server_load/report.rs"]
mod report;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use spartex_testkit::demo::{MANAGER, ONCALL};
use spartex_testkit::PASSWORD;

use process::{free_port, ChildServer};
use report::Compared;

/// File descriptors kept free for everything that is not an event socket.
const SPARE_FDS: u64 = 200;

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
        for part in env_or("SPARTEX_BENCH_SOCKETS", "1000,5000,10000")?.split(',') {
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

pub fn env_or(name: &str, default: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotPresent) => Ok(default.to_owned()),
        Err(e) => Err(e).with_context(|| format!("{name} is not valid text")),
    }
}

fn main() -> anyhow::Result<()> {
    let began = Instant::now();
    // Raised before the servers are spawned, so the children inherit the higher soft limit.
    let fd_limit =
        rlimit::increase_nofile_limit(u64::MAX).context("could not raise RLIMIT_NOFILE")?;
    let config = Config::from_env(fd_limit)?;
    let peer = peer::locate()?;
    if let Some(peer) = &peer {
        peer.install()?;
    } else {
        println!("FastAPI peer: off (SPARTEX_BENCH_PEER=off)");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the tokio runtime")?;
    let outcome = runtime.block_on(run(&config, fd_limit, peer.as_ref()));
    println!(
        "\nThe whole run took {:.1} s.",
        began.elapsed().as_secs_f64()
    );
    outcome
}

/// A server under test, signed in, with the project the bench posts to.
pub struct Target<'a> {
    server: &'a ChildServer,
    token: String,
    project_id: String,
    /// Whether agents answer chat (spartex-server's demo agents); the peer has none.
    agents_reply: bool,
}

impl<'a> Target<'a> {
    async fn sign_in(
        http: &reqwest::Client,
        server: &'a ChildServer,
        agents_reply: bool,
    ) -> anyhow::Result<Target<'a>> {
        let token = login(http, &server.base).await?;
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
            .with_context(|| format!("{} lists no project", server.name))?
            .to_owned();
        Ok(Target {
            server,
            token,
            project_id,
            agents_reply,
        })
    }
}

/// The peer's part: its figures, or why there are none (the run goes on without them).
fn peer_part<T>(name: &str, outcome: anyhow::Result<T>) -> Result<T, report::PeerFailed> {
    outcome.map_err(|e| {
        eprintln!("FastAPI peer: {name} failed: {e:#}");
        report::PeerFailed::new(name, &e)
    })
}

async fn run(config: &Config, fd_limit: u64, peer: Option<&peer::Peer>) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("could not make a temporary folder")?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .context("could not build the HTTP client")?;
    // Declared after `dir`, so they are dropped (and killed) before the folder goes.
    let server = spawn_server(dir.path())?;
    server.wait_healthy(&http, Duration::from_secs(60)).await?;
    // Started once the server listens, so the two free ports cannot collide.
    let peer_server = match peer {
        Some(peer) => {
            let child = peer.spawn(dir.path())?;
            child.wait_healthy(&http, Duration::from_secs(60)).await?;
            Some(child)
        }
        None => None,
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    println!(
        "spartex-server (release) at {} pid {}; {cores} cores shared by servers and client; open-file limit {fd_limit}",
        server.base,
        server.pid()
    );
    if let (Some(peer), Some(child)) = (peer, &peer_server) {
        println!(
            "FastAPI peer (uvicorn, 1 worker) at {} pid {}, app {}",
            child.base,
            child.pid(),
            peer.app().display()
        );
    }

    let ours = Target::sign_in(&http, &server, true).await?;
    let theirs = match &peer_server {
        Some(child) => Some(Target::sign_in(&http, child, false).await?),
        None => None,
    };

    let read = if config.read_secs > 0.0 {
        let ours_read = measure_reads(&ours, config).await?;
        println!("  {} requests", fmt_int(ours_read.ok));
        let peer_read = match &theirs {
            Some(target) => Some(peer_part("REST reads", measure_reads(target, config).await)),
            None => None,
        };
        if let Some(Ok(r)) = &peer_read {
            println!("  {} requests", fmt_int(r.ok));
        }
        Some(Compared {
            ours: ours_read,
            peer: peer_read,
        })
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
        let ours_fanout = fanout::fanout(&http, &ours, n, config.rounds).await?;
        // Let the server finish closing the last run's sockets before the next one.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let peer_fanout = match &theirs {
            Some(target) => {
                let outcome = fanout::fanout(&http, target, n, config.rounds).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
                Some(peer_part(&format!("fan-out to {n} sockets"), outcome))
            }
            None => None,
        };
        fanouts.push(Compared {
            ours: ours_fanout,
            peer: peer_fanout,
        });
    }

    let pushed = if config.push_devices > 0 {
        println!(
            "\nPush latency, {} devices (spartex-server only)…",
            fmt_int(config.push_devices as u64)
        );
        let manager = login_as(&http, &server.base, MANAGER).await?;
        let result = push::measure(
            &http,
            &server.base,
            &manager,
            &ours.token,
            &ours.project_id,
            config.push_devices,
            config.push_rounds,
        )
        .await?;
        Some(result)
    } else {
        None
    };

    let exited = server.has_exited();
    let line = "-".repeat(100);
    println!("\n{line}");
    if let Some(read) = &read {
        report::print_reads(read);
    }
    if !fanouts.is_empty() {
        report::print_fanouts(&fanouts, config.rounds);
    }
    report::print_goals(read.as_ref(), &fanouts);
    println!("{line}");
    if let Some(pushed) = &pushed {
        push::print(pushed);
        if pushed.missing > 0 {
            eprintln!("problem: {} pushes never arrived", pushed.missing);
        }
    }
    for child in std::iter::once(&server).chain(&peer_server) {
        let complaints = child.log_complaints();
        println!(
            "{} log: {} warning or error lines.",
            child.name,
            complaints.len()
        );
        for line in complaints.iter().take(5) {
            println!("  {line}");
        }
    }
    if let Some(child) = &peer_server {
        if let Some(status) = child.has_exited() {
            println!(
                "note: the FastAPI peer exited during the run ({status}); its log:\n{}",
                child.log_tail(20)
            );
        }
    }
    for pair in &fanouts {
        if let Some(Ok(f)) = &pair.peer {
            if f.complete < f.requested || f.duplicates > 0 {
                println!(
                    "note: at the peer, {} of {} sockets did not receive every event ({} duplicates){}",
                    f.requested - f.complete,
                    f.requested,
                    f.duplicates,
                    f.first_failure.as_deref().map(|e| format!("; first: {e}")).unwrap_or_default()
                );
            }
        }
    }

    let mut problems = Vec::new();
    if let Some(read) = &read {
        let read = &read.ours;
        if read.errors > 0 {
            problems.push(format!(
                "{} REST reads failed (first: {})",
                read.errors,
                read.first_error.as_deref().unwrap_or("?")
            ));
        }
    }
    for f in fanouts.iter().map(|pair| &pair.ours) {
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

async fn measure_reads(target: &Target<'_>, config: &Config) -> anyhow::Result<reads::ReadResult> {
    println!(
        "\nREST reads on {}: GET /api/v1/projects, {} connections, {} s…",
        target.server.name,
        reads::READ_CONNECTIONS,
        config.read_secs
    );
    reads::read_load(
        &target.server.base,
        &target.token,
        Duration::from_secs_f64(config.read_secs),
        config.read_max_requests,
    )
    .await
}

/// The release server binary on a free port of 127.0.0.1, its database in `dir`.
fn spawn_server(dir: &Path) -> anyhow::Result<ChildServer> {
    let port = free_port()?;
    let database_url = format!("sqlite://{}", dir.join("bench.db").display());
    let mut command = Command::new(env!("CARGO_BIN_EXE_spartex-server"));
    command
        .args([
            "--demo",
            "--demo-pace",
            "3600",
            "--demo-password",
            PASSWORD,
            // Every socket comes from 127.0.0.1: lift the per-address cap (512) above them.
            "--max-connections-per-ip",
            "1000000",
            // The push part registers its devices as one person, faster than anyone does by
            // hand: lift the people's write quota (60 at once, then 10 a second) above it.
            "--user-write-burst",
            "1000000",
            "--user-writes-per-second",
            "1000000",
            // The bench's push service is on loopback over plain HTTP.
            "--insecure-push-endpoints",
            "--database-url",
            &database_url,
            "--listen",
        ])
        .arg(format!("127.0.0.1:{port}"));
    ChildServer::spawn("spartex-server", command, port, dir.join("server.log"))
}

/// Signs in as the on-call demo user (the peer takes any email and password).
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

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn fmt_int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
