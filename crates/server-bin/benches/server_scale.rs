//! Scale-out benchmark: the release `spartex-server` on SQLite (one instance) and on PostgreSQL
//! (two instances on one database), side by side in one run, over real sockets.
//!
//! ```text
//! cargo bench -p spartex-server-bin --bench server_scale
//! ```
//!
//! Needs PostgreSQL's programs (`scripts/install-deps.sh` installs them): it starts a private
//! cluster with `scripts/pg-cluster.sh`. For each deployment it measures, with this process as
//! the only client on the same machine:
//!
//! 1. REST reads: `GET /api/v1/projects` over 64 connections spread over the instances, for
//!    `SPARTEX_BENCH_SECS` seconds (default 5): requests/s, p50/p99.
//! 2. Writes of one tenant: 16 writers spread over the instances, each changing one project's
//!    description (`PATCH /api/v1/projects/{id}`, a write and its event, nothing the demo's
//!    agents answer) as fast as answers come, for the same time: commits/s, p50/p99.
//! 3. Fan-out: `SPARTEX_BENCH_SOCKETS` event sockets (default 10,000) spread over the
//!    instances, then 5 such changes, each made through the last instance: per-socket p50/p99
//!    from just before the request to the event's arrival.
//!
//! Then, on PostgreSQL alone, how one tenant's writers take turns: a row lock on the tenant's
//! counter (what the server does) against a transaction-scoped advisory lock with the next
//! `seq` read from the log, 16 connections appending for the same time.
//!
//! The anchor is the seed's FastAPI + uvicorn stack on this machine (`measured.md`): 1,150
//! reads/s at 64 connections; fan-out to 10,000 sockets p99 1,065 ms after 19.6 s of connecting.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use spartex_testkit::demo::{MANAGER, ONCALL};
use spartex_testkit::PASSWORD;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const READERS: usize = 64;
const WRITERS: usize = 16;
const ROUNDS: usize = 5;
const CONNECT_CONCURRENCY: usize = 100;

fn main() -> anyhow::Result<()> {
    let fd_limit = rlimit::increase_nofile_limit(u64::MAX).context("raising RLIMIT_NOFILE")?;
    let secs: f64 = env_or("SPARTEX_BENCH_SECS", "5")
        .parse()
        .context("SPARTEX_BENCH_SECS")?;
    let sockets: usize = env_or("SPARTEX_BENCH_SOCKETS", "10000")
        .parse()
        .context("SPARTEX_BENCH_SOCKETS")?;
    ensure!(
        (sockets as u64) + 500 < fd_limit,
        "{sockets} sockets need more open files than the limit {fd_limit} allows"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cluster = Cluster::start()?;
        let sqlite_dir = tempfile::tempdir()?;
        let sqlite_url = format!("sqlite://{}", sqlite_dir.path().join("bench.db").display());
        let sqlite =
            Deployment::start("SQLite, 1 instance", &sqlite_url, 1, sqlite_dir.path()).await?;
        let sqlite_figures = measure(&sqlite, secs, sockets).await?;
        drop(sqlite);
        let pg_url = cluster.database_url("spartex_bench");
        let pg =
            Deployment::start("PostgreSQL, 2 instances", &pg_url, 2, sqlite_dir.path()).await?;
        let pg_figures = measure(&pg, secs, sockets).await?;
        drop(pg);
        print_table(sockets, &[sqlite_figures, pg_figures]);
        let locks = turn_locks(&cluster.database_url("spartex_locks"), secs).await?;
        print_locks(&locks);
        Ok(())
    })
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A private PostgreSQL cluster in a temporary folder, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    admin_url: String,
}

impl Cluster {
    fn start() -> anyhow::Result<Cluster> {
        let dir = tempfile::tempdir()?;
        let output = Command::new("bash")
            .arg(workspace_root().join("scripts/pg-cluster.sh"))
            .arg("start")
            .arg(dir.path())
            .stderr(Stdio::inherit())
            .output()
            .context("running scripts/pg-cluster.sh")?;
        ensure!(
            output.status.success(),
            "the PostgreSQL cluster did not start"
        );
        let admin_url = String::from_utf8(output.stdout)?.trim().to_owned();
        Ok(Cluster { dir, admin_url })
    }

    fn database_url(&self, name: &str) -> String {
        let (server, _) = self
            .admin_url
            .rsplit_once('/')
            .unwrap_or((&self.admin_url, ""));
        format!("{server}/{name}")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(workspace_root().join("scripts/pg-cluster.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// Server processes on one database; killed when dropped.
struct Deployment {
    name: &'static str,
    bases: Vec<String>,
    children: Vec<Child>,
    token: String,
    project: String,
}

impl Deployment {
    async fn start(
        name: &'static str,
        database: &str,
        instances: usize,
        logs: &Path,
    ) -> anyhow::Result<Deployment> {
        let http = reqwest::Client::new();
        let mut bases = Vec::new();
        let mut children = Vec::new();
        for n in 0..instances {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let log = std::fs::File::create(logs.join(format!("{}-{n}.log", name.len())))?;
            let mut command = Command::new(env!("CARGO_BIN_EXE_spartex-server"));
            if n == 0 {
                // One instance runs the demo's simulated agents (slowly): the other would double them.
                command.args(["--demo", "--demo-pace", "3600", "--demo-password", PASSWORD]);
            }
            let child = command
                .args([
                    "--max-connections-per-ip",
                    "1000000",
                    // The write part's 16 writers share one person's sign-in and write as fast
                    // as answers come: lift the people's write quota above them.
                    "--user-write-burst",
                    "1000000",
                    "--user-writes-per-second",
                    "1000000",
                    "--database-url",
                    database,
                ])
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .context("starting spartex-server")?;
            children.push(child);
            let base = format!("http://127.0.0.1:{port}");
            wait_ready(&http, &base, n == 0).await?;
            bases.push(base);
        }
        let (status, body) = post(
            &http,
            &bases[0],
            None,
            "/api/v1/auth/login",
            json!({"email": MANAGER, "password": PASSWORD}),
        )
        .await?;
        ensure!(status == 200, "sign-in refused: {body}");
        let token = body["access_token"].as_str().context("a token")?.to_owned();
        let projects: Value = http
            .get(format!("{}/api/v1/projects", bases[0]))
            .bearer_auth(&token)
            .send()
            .await?
            .json()
            .await?;
        let project = projects[0]["id"].as_str().context("a project")?.to_owned();
        Ok(Deployment {
            name,
            bases,
            children,
            token,
            project,
        })
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Waits for `/healthz`, and for the demo to be seeded when this instance seeds it.
async fn wait_ready(http: &reqwest::Client, base: &str, seeds: bool) -> anyhow::Result<()> {
    for _ in 0..600 {
        let healthy = http
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200);
        let seeded = !seeds
            || post(
                http,
                base,
                None,
                "/api/v1/auth/login",
                json!({"email": ONCALL, "password": PASSWORD}),
            )
            .await
            .is_ok_and(|(status, _)| status == 200);
        if healthy && seeded {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("{base} did not get ready within 60 s")
}

async fn post(
    http: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    path: &str,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    send(http.post(format!("{base}{path}")), token, body).await
}

/// Changes the project's description: one write and its `project.upserted` event.
async fn describe(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    project: &str,
    description: String,
) -> anyhow::Result<(u16, Value)> {
    let request = http.patch(format!("{base}/api/v1/projects/{project}"));
    send(request, Some(token), json!({ "description": description })).await
}

async fn send(
    request: reqwest::RequestBuilder,
    token: Option<&str>,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let mut request = request.json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

struct Rate {
    per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

struct Fanout {
    connect_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    complete: usize,
}

struct Figures {
    name: &'static str,
    reads: Rate,
    writes: Rate,
    fanout: Fanout,
}

async fn measure(deployment: &Deployment, secs: f64, sockets: usize) -> anyhow::Result<Figures> {
    println!("{}: reads…", deployment.name);
    let reads = hammer(deployment, READERS, secs, false).await?;
    println!("{}: writes…", deployment.name);
    let writes = hammer(deployment, WRITERS, secs, true).await?;
    println!("{}: fan-out to {sockets} sockets…", deployment.name);
    let fanout = fan_out(deployment, sockets).await?;
    Ok(Figures {
        name: deployment.name,
        reads,
        writes,
        fanout,
    })
}

/// `workers` clients spread over the instances, each sending reads (or message posts) one
/// after another for `secs`.
async fn hammer(
    deployment: &Deployment,
    workers: usize,
    secs: f64,
    write: bool,
) -> anyhow::Result<Rate> {
    let running = Arc::new(AtomicBool::new(true));
    let mut tasks = Vec::new();
    for n in 0..workers {
        let base = deployment.bases[n % deployment.bases.len()].clone();
        let (token, project, running) = (
            deployment.token.clone(),
            deployment.project.clone(),
            running.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .tcp_nodelay(true)
                .build()?;
            let mut latency = Histogram::<u64>::new(3)?;
            let mut errors = 0u64;
            let mut first_error = None;
            let mut sent = 0u64;
            while running.load(Ordering::Relaxed) {
                let began = Instant::now();
                let answer = if write {
                    describe(&http, &base, &token, &project, format!("bench {n} {sent}")).await
                } else {
                    let read = http
                        .get(format!("{base}/api/v1/projects"))
                        .bearer_auth(&token);
                    read.send()
                        .await
                        .map(|r| (r.status().as_u16(), Value::Null))
                        .map_err(anyhow::Error::from)
                };
                let ok = matches!(answer, Ok((200, _)));
                if !ok && first_error.is_none() {
                    first_error = Some(format!("{answer:?}"));
                }
                sent += 1;
                if ok {
                    latency
                        .record(u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX))?;
                } else {
                    errors += 1;
                }
            }
            anyhow::Ok((latency, errors, first_error))
        }));
    }
    let began = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    running.store(false, Ordering::Relaxed);
    let mut all = Histogram::<u64>::new(3)?;
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let (latency, failed, first) = task.await??;
        all.add(latency)?;
        errors += failed;
        first_error = first_error.or(first);
    }
    if let Some(first) = first_error {
        eprintln!("  {errors} requests failed; the first: {first}");
    }
    let elapsed = began.elapsed().as_secs_f64();
    Ok(Rate {
        per_s: all.len() as f64 / elapsed,
        p50_ms: all.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: all.value_at_quantile(0.99) as f64 / 1000.0,
        errors,
    })
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: String, token: String) -> anyhow::Result<Ws> {
    let mut request = url.into_client_request()?;
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
    ws.next().await.context("no hello")??;
    Ok(ws)
}

/// Sockets spread over the instances; each round's message is posted through the last one.
async fn fan_out(deployment: &Deployment, sockets: usize) -> anyhow::Result<Fanout> {
    let began = Instant::now();
    let mut connected = Vec::with_capacity(sockets);
    let urls: Vec<String> = (0..sockets)
        .map(|n| {
            format!(
                "{}/api/v1/events",
                deployment.bases[n % deployment.bases.len()].replacen("http", "ws", 1)
            )
        })
        .collect();
    let mut pending = futures_util::stream::iter(
        urls.into_iter()
            .map(|url| connect(url, deployment.token.clone())),
    )
    .buffer_unordered(CONNECT_CONCURRENCY);
    while let Some(ws) = pending.next().await {
        connected.push(ws?);
    }
    let connect_s = began.elapsed().as_secs_f64();
    let mut readers = Vec::new();
    for mut ws in connected {
        readers.push(tokio::spawn(async move {
            // Each round's event, by round, with the moment it arrived.
            let mut arrivals = Vec::new();
            while arrivals.len() < ROUNDS {
                let Ok(Some(Ok(WsMessage::Text(text)))) =
                    tokio::time::timeout(Duration::from_secs(30), ws.next()).await
                else {
                    break;
                };
                let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let round = frame["data"]["description"]
                    .as_str()
                    .and_then(|d| d.strip_prefix("fan-out round "))
                    .and_then(|n| n.parse::<usize>().ok());
                if let (true, Some(round)) = (frame["type"] == "project.upserted", round) {
                    arrivals.push((round, Instant::now()));
                }
            }
            arrivals
        }));
    }
    let http = reqwest::Client::new();
    let through = deployment.bases.last().context("an instance")?;
    let mut sent_at = Vec::new();
    for round in 0..ROUNDS {
        sent_at.push(Instant::now());
        let description = format!("fan-out round {round}");
        describe(
            &http,
            through,
            &deployment.token,
            &deployment.project,
            description,
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let mut latency = Histogram::<u64>::new(3)?;
    let mut complete = 0;
    for reader in readers {
        let arrivals = reader.await?;
        complete += usize::from(arrivals.len() == ROUNDS);
        for (round, arrived) in arrivals {
            let took = arrived.saturating_duration_since(sent_at[round]);
            latency.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX))?;
        }
    }
    Ok(Fanout {
        connect_s,
        p50_ms: latency.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: latency.value_at_quantile(0.99) as f64 / 1000.0,
        complete,
    })
}

fn print_table(sockets: usize, figures: &[Figures]) {
    println!(
        "\n| path | {} | seed FastAPI stack (measured.md) |",
        figures
            .iter()
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}---|", "---|".repeat(figures.len()));
    let row = |what: &str, cell: &dyn Fn(&Figures) -> String, peer: &str| {
        let cells: Vec<String> = figures.iter().map(cell).collect();
        println!("| {what} | {} | {peer} |", cells.join(" | "));
    };
    row(
        &format!("`GET /projects`, {READERS} connections"),
        &|f| rate(&f.reads),
        "1,150 req/s",
    );
    row(
        &format!("`PATCH /projects/{{id}}` (one tenant), {WRITERS} writers"),
        &|f| rate(&f.writes),
        "—",
    );
    row(
        &format!("{sockets} sockets connected"),
        &|f| format!("{:.2} s", f.fanout.connect_s),
        "19.6 s (10,000)",
    );
    row(
        &format!("one event to {sockets} sockets"),
        &|f| {
            format!(
                "p50 {:.1} ms, p99 {:.1} ms; {}/{sockets} got all {ROUNDS}",
                f.fanout.p50_ms, f.fanout.p99_ms, f.fanout.complete
            )
        },
        "p50 198 ms, p99 1,065 ms (10,000)",
    );
}

fn rate(rate: &Rate) -> String {
    format!(
        "{:.0}/s (p50 {:.1} ms, p99 {:.1} ms{})",
        rate.per_s,
        rate.p50_ms,
        rate.p99_ms,
        if rate.errors > 0 {
            format!(", {} errors", rate.errors)
        } else {
            String::new()
        }
    )
}

/// How one tenant's writers take turns on PostgreSQL, measured on the database alone.
async fn turn_locks(database: &str, secs: f64) -> anyhow::Result<Vec<(&'static str, Rate)>> {
    use sqlx::postgres::PgPoolOptions;
    let options: sqlx::postgres::PgConnectOptions = database.parse()?;
    let admin = options.clone().database("postgres");
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&admin).await?;
    sqlx::query("CREATE DATABASE spartex_locks")
        .execute(&mut conn)
        .await?;
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32)
        .connect_with(options)
        .await?;
    sqlx::query("CREATE TABLE tenants (id TEXT PRIMARY KEY, head BIGINT NOT NULL)")
        .execute(&pool)
        .await?;
    sqlx::query(
        "CREATE TABLE events (tenant TEXT, seq BIGINT, body TEXT, PRIMARY KEY (tenant, seq))",
    )
    .execute(&pool)
    .await?;
    let mut results = Vec::new();
    // Each variant: its tenant, how a write takes its turn, how it numbers its event.
    let variants = [
        (
            "row lock on the tenant's counter row (the first version)",
            "t1",
            "SELECT 1 FROM tenants WHERE id = $1 FOR NO KEY UPDATE",
            "UPDATE tenants SET head = head + 1 WHERE id = $1 RETURNING head",
        ),
        (
            "advisory lock, same counter row (the server's now)",
            "t2",
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            "UPDATE tenants SET head = head + 1 WHERE id = $1 RETURNING head",
        ),
        (
            "advisory lock, next seq read from the log (no counter row)",
            "t3",
            "SELECT pg_advisory_xact_lock(hashtext($1))",
            "SELECT coalesce(max(seq), 0) + 1 FROM events WHERE tenant = $1",
        ),
    ];
    for (name, tenant, turn, next) in variants {
        sqlx::query("INSERT INTO tenants VALUES ($1, 0)")
            .bind(tenant)
            .execute(&pool)
            .await?;
        let running = Arc::new(AtomicBool::new(true));
        let mut tasks = Vec::new();
        for _ in 0..WRITERS {
            let (pool, running) = (pool.clone(), running.clone());
            tasks.push(tokio::spawn(async move {
                let mut latency = Histogram::<u64>::new(3)?;
                while running.load(Ordering::Relaxed) {
                    let began = Instant::now();
                    let mut tx = pool.begin().await?;
                    sqlx::query(turn).bind(tenant).execute(&mut *tx).await?;
                    let seq: i64 = sqlx::query_scalar(next)
                        .bind(tenant)
                        .fetch_one(&mut *tx)
                        .await?;
                    sqlx::query("INSERT INTO events VALUES ($1, $2, 'x')")
                        .bind(tenant)
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    latency
                        .record(u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX))?;
                }
                anyhow::Ok(latency)
            }));
        }
        let began = Instant::now();
        tokio::time::sleep(Duration::from_secs_f64(secs)).await;
        running.store(false, Ordering::Relaxed);
        let mut all = Histogram::<u64>::new(3)?;
        for task in tasks {
            all.add(task.await??)?;
        }
        results.push((
            name,
            Rate {
                per_s: all.len() as f64 / began.elapsed().as_secs_f64(),
                p50_ms: all.value_at_quantile(0.5) as f64 / 1000.0,
                p99_ms: all.value_at_quantile(0.99) as f64 / 1000.0,
                errors: 0,
            },
        ));
    }
    Ok(results)
}

fn print_locks(locks: &[(&str, Rate)]) {
    println!("\n| one tenant's turn on PostgreSQL, {WRITERS} connections appending | appends/s (p50, p99) |\n|---|---|");
    for (name, rate_of) in locks {
        println!("| {name} | {} |", rate(rate_of));
    }
}
