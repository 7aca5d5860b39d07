//! The client engine's hot paths, measured on this machine; prints a table against the targets
//! of issue 3 and the SQLite figures in `shared/design/measured.md`.
//!
//! Run: `cargo bench -p spartex-core --bench core_bench`; add `-- ingest` (or `catch-up`,
//! `notify`, `dashboard`) to run only the sections named, e.g. under `perf record`.
//!
//! 1. Cold-sync ingest: 100,000 events applied to the SQLCipher cache in transactions of
//!    10,000 as catch-up applies them, taking turns with its floor over five rounds
//!    (target ≥ 50,000 events/s; measured.md: 96,200 events/s for bare multi-row upserts).
//!    `SPARTEX_BENCH_VERBOSE=1` prints each round, with the engine's CPU time on the calling
//!    thread and on all threads beside its wall time (how much of the two overlaps).
//! 2. Catch-up after 10,000 missed events from the real server, over HTTP and by the event
//!    socket's replay (target ≤ 500 ms).
//! 3. Event-to-notification latency on loopback, from the server's append to the `Notifier`
//!    call, with new approvals arriving at 1,000 events/s (target p99 ≤ 20 ms).
//! 4. The dashboard query on a cache of 1,000 projects and 10,000 agents (target ≤ 5 ms): as
//!    typed rows (the CLI), and as the desktop shell answers the UI (JSON text for its IPC),
//!    beside the same answer written from typed rows, as the shell did before, in turns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::json;
use spartex_api::{Event, RequestApproval, Risk};
use spartex_core::notify::{Notification, NotificationPrefs, Notifier, NotifyError};
use spartex_core::secret_store::InsecureFileSecretStore;
use spartex_core::store::{new_cache_key, Store};
use spartex_core::sync::CATCH_UP_EVENTS_PER_TRANSACTION;
use spartex_core::{Core, CoreConfig, Secret};
use spartex_server::auth::AgentPrincipal;
use spartex_server::store::WriteScope;
use spartex_server::write::Write;
use spartex_testkit::demo::ONCALL;
use spartex_testkit::{TestServer, PASSWORD};

fn event(seq: i64, kind: &str, data: serde_json::Value) -> Event {
    Event {
        seq,
        kind: kind.into(),
        at: Utc::now(),
        project_id: Some("prj_1".into()),
        data,
    }
}

/// A realistic mix: mostly chat and heartbeats, some tasks and approvals.
fn synthetic_events(count: i64) -> Vec<Event> {
    let at = "2026-11-28T10:00:00Z";
    (1..=count)
        .map(|seq| match seq % 20 {
            0..=11 => event(seq, "message.created", json!({"id": format!("msg_{seq}"), "project_id": format!("prj_{}", seq % 50),
                "agent_id": format!("agt_{}", seq % 500), "author_kind": "agent", "author_id": format!("agt_{}", seq % 500), "author_name": "Quill",
                "body": "Drafted three variants of the spring hero ad; the second tests best on the 25-44 audience. Sending it for approval after compliance review of the claims.",
                "created_at": at, "client_msg_id": null})),
            12..=16 => event(seq, "agent.upserted", json!({"id": format!("agt_{}", seq % 500), "project_id": format!("prj_{}", seq % 50),
                "name": "Quill", "role": "Copywriter", "model": "gpt-5", "status": "working", "current_task_id": null,
                "last_heartbeat_at": at, "tokens_used": seq, "cost_usd": 0.5, "version": seq})),
            17 | 18 => event(seq, "task.upserted", json!({"id": format!("tsk_{}", seq % 2000), "project_id": format!("prj_{}", seq % 50),
                "agent_id": null, "title": "Write ad set for Bloom & Co", "status": "running", "progress": seq % 100, "updated_at": at, "version": seq})),
            _ => event(seq, "approval.upserted", json!({"id": format!("apr_{seq}"), "project_id": format!("prj_{}", seq % 50), "agent_id": null,
                "task_id": null, "kind": "publish_ad", "title": "Publish the spring hero ad", "summary": "Bloom & Co, Meta feed", "payload": {},
                "preview": null, "risk": "high", "status": "pending", "created_at": at, "expires_at": at, "on_expiry": "reject",
                "decided_by": null, "decided_at": null, "comment": null, "version": 1})),
        })
        .collect()
}

/// Rounds of the ingest row: this VM's disk and CPU drift by 2× within a minute, so the engine
/// and its floor take turns and each round's ratio is taken from the two runs side by side.
const INGEST_ROUNDS: usize = 5;

struct IngestRound {
    engine: EngineRun,
    floor: f64,
}

async fn ingest_rounds() -> Vec<IngestRound> {
    let mut rounds = Vec::with_capacity(INGEST_ROUNDS);
    for _ in 0..INGEST_ROUNDS {
        let floor = ingest_floor().await;
        let engine = ingest().await;
        rounds.push(IngestRound { engine, floor });
    }
    rounds
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// One engine run of the ingest row.
struct EngineRun {
    events_per_second: f64,
    /// CPU time of the calling thread and of all threads, over the run's wall time: where the
    /// calling thread's work overlaps SQLite's worker, `all` exceeds the wall time.
    cpu: Option<CpuTimes>,
}

struct CpuTimes {
    calling: Duration,
    all: Duration,
    wall: Duration,
}

/// Nanoseconds a thread has spent on a CPU, from Linux's scheduler statistics.
fn thread_cpu(schedstat: &std::path::Path) -> Option<u64> {
    std::fs::read_to_string(schedstat)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU nanoseconds of each thread of this process, by thread id.
fn threads_cpu() -> Option<HashMap<String, u64>> {
    let mut threads = HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let task = task.ok()?;
        if let Some(ns) = thread_cpu(&task.path().join("schedstat")) {
            threads.insert(task.file_name().to_string_lossy().into_owned(), ns);
        }
    }
    Some(threads)
}

/// CPU nanoseconds of (the calling thread, every thread of this process).
fn cpu_now() -> Option<(u64, HashMap<String, u64>)> {
    Some((
        thread_cpu("/proc/thread-self/schedstat".as_ref())?,
        threads_cpu()?,
    ))
}

/// CPU spent since `before` by the calling thread and by every thread alive now (a thread
/// that ended meanwhile is not counted).
fn cpu_since(before: &(u64, HashMap<String, u64>), wall: Duration) -> Option<CpuTimes> {
    let (calling, threads) = cpu_now()?;
    let all = threads
        .iter()
        .map(|(id, ns)| ns.saturating_sub(before.1.get(id).copied().unwrap_or(0)))
        .sum();
    Some(CpuTimes {
        calling: Duration::from_nanos(calling.saturating_sub(before.0)),
        all: Duration::from_nanos(all),
        wall,
    })
}

async fn ingest() -> EngineRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("cache.db"), &new_cache_key())
        .await
        .expect("opens");
    let events = synthetic_events(100_000);
    let cpu_before = cpu_now();
    let started = Instant::now();
    for batch in events.chunks(CATCH_UP_EVENTS_PER_TRANSACTION) {
        store.apply_events(batch).await.expect("applies");
    }
    let wall = started.elapsed();
    let cpu = cpu_before.and_then(|before| cpu_since(&before, wall));
    EngineRun {
        events_per_second: 100_000.0 / wall.as_secs_f64(),
        cpu,
    }
}

/// The anchor of the ingest row, measured in the same run: what this machine's SQLCipher does
/// with the bare rows and nothing else (measured.md's "100 rows per statement, 1,000 per
/// transaction": chat messages, ~400 bytes of JSON each, an upsert guarded by version, no
/// search index, no JSON read).
async fn ingest_floor() -> f64 {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    use sqlx::{Connection, QueryBuilder, Sqlite};
    spartex_core::store::set_up_crypto();
    let dir = tempfile::tempdir().expect("temp dir");
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("floor.db"))
        .create_if_missing(true)
        .pragma("key", format!("\"x'{}'\"", new_cache_key().expose()))
        .pragma("cipher_memory_security", "OFF")
        .pragma("cache_size", "-32000")
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("opens");
    sqlx::query(
        "CREATE TABLE messages (id TEXT PRIMARY KEY, version INTEGER NOT NULL, data TEXT NOT NULL)",
    )
    .execute(&mut conn)
    .await
    .expect("creates");
    let events: Vec<Event> = synthetic_events(100_000)
        .into_iter()
        .filter(|e| e.kind == "message.created")
        .collect();
    let started = Instant::now();
    for batch in events.chunks(1000) {
        let mut tx = conn.begin().await.expect("begins");
        for rows in batch.chunks(100) {
            let mut query =
                QueryBuilder::<Sqlite>::new("INSERT INTO messages (id, version, data) ");
            query.push_values(rows, |mut row, e| {
                row.push_bind(e.data["id"].as_str().unwrap_or_default().to_owned())
                    .push_bind(e.seq)
                    .push_bind(e.data.to_string());
            });
            query.push(" ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data WHERE excluded.version > messages.version");
            query.build().execute(&mut *tx).await.expect("inserts");
        }
        tx.commit().await.expect("commits");
    }
    let rate = events.len() as f64 / started.elapsed().as_secs_f64();
    // Closed here, so its worker thread has ended before the engine's round is measured.
    conn.close().await.expect("closes");
    rate
}

/// How the dashboard is read, for the bench's turns.
#[derive(Clone, Copy)]
enum DashboardRead {
    /// `Store::dashboard`: typed rows.
    Typed,
    /// `Store::dashboard_json`, written out as Tauri's IPC does: what the desktop UI gets.
    ForIpc,
    /// Typed rows written out for IPC: how the shell answered the UI before `dashboard_json`.
    ForIpcThroughTypedRows,
}

/// p50 and p99 of each way, in the order given, and the cache file's size.
async fn dashboard(ways: &[DashboardRead]) -> (Vec<(Duration, Duration)>, u64) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("cache.db"), &new_cache_key())
        .await
        .expect("opens");
    let at = "2026-11-28T10:00:00Z";
    let mut events = Vec::new();
    let mut seq = 0;
    for p in 0..1000 {
        seq += 1;
        events.push(event(seq, "project.upserted", json!({"id": format!("prj_{p:04}"), "name": format!("Project {p:04}"), "description": "",
            "status": "active", "budget_usd": 1000.0, "spent_usd": 412.0, "created_at": at, "updated_at": at, "version": 1})));
    }
    let statuses = ["working", "waiting_approval", "idle", "stopped", "error"];
    for a in 0..10_000 {
        seq += 1;
        events.push(event(seq, "agent.upserted", json!({"id": format!("agt_{a}"), "project_id": format!("prj_{:04}", a % 1000), "name": "Quill",
            "role": "Copywriter", "model": "gpt-5", "status": statuses[a % 5], "current_task_id": null, "last_heartbeat_at": at,
            "tokens_used": 1, "cost_usd": 0.5, "version": 1})));
    }
    for e in synthetic_events(20_000)
        .into_iter()
        .filter(|e| e.kind == "message.created" || e.kind == "approval.upserted")
    {
        seq += 1;
        events.push(Event { seq, ..e });
    }
    for batch in events.chunks(1000) {
        store.apply_events(batch).await.expect("applies");
    }
    store.checkpoint().await.expect("checkpoints");
    let size = std::fs::metadata(store.path()).expect("cache file").len();
    let mut histograms: Vec<_> = ways
        .iter()
        .map(|_| hdrhistogram::Histogram::<u64>::new(3).expect("histogram"))
        .collect();
    for _ in 0..50 {
        for (way, histogram) in ways.iter().zip(&mut histograms) {
            let started = Instant::now();
            let answered = match way {
                DashboardRead::Typed => store.dashboard().await.expect("dashboard").len(),
                DashboardRead::ForIpc => {
                    let json = store.dashboard_json().await.expect("dashboard");
                    serde_json::to_string(&json).expect("writes").len()
                }
                DashboardRead::ForIpcThroughTypedRows => {
                    let rows = store.dashboard().await.expect("dashboard");
                    serde_json::to_string(&rows).expect("writes").len()
                }
            };
            histogram
                .record(started.elapsed().as_micros() as u64)
                .expect("records");
            assert!(answered > 0);
        }
    }
    let quantiles = histograms
        .iter()
        .map(|h| {
            (
                Duration::from_micros(h.value_at_quantile(0.5)),
                Duration::from_micros(h.value_at_quantile(0.99)),
            )
        })
        .collect();
    (quantiles, size)
}

struct RecordingNotifier {
    started: Arc<Mutex<HashMap<String, Instant>>>,
    latencies: Arc<Mutex<Vec<Duration>>>,
}

#[async_trait::async_trait]
impl Notifier for RecordingNotifier {
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        let now = Instant::now();
        let title = notification
            .title
            .trim_start_matches("Approval needed: ")
            .to_owned();
        if let Some(started) = self.started.lock().expect("lock").get(&title) {
            self.latencies.lock().expect("lock").push(now - *started);
        }
        Ok(())
    }
}

struct ServerWorld {
    server: TestServer,
    tenant_id: String,
    agent_id: String,
}

/// The real server with the demo world, on the wall clock, as a deployment runs. One agent
/// asks for thousands of approvals here, so its share of waiting ones is lifted.
async fn server_world() -> ServerWorld {
    let server = TestServer::builder()
        .system_clock()
        .settings(|s| s.max_pending_approvals_per_agent = 100_000)
        .start()
        .await;
    let tenant_id = server.tenant_of(ONCALL).await;
    let agent_id = server.agent_named("Quill").agent.id.clone();
    ServerWorld {
        server,
        tenant_id,
        agent_id,
    }
}

async fn client(world: &ServerWorld, dir: &std::path::Path) -> spartex_core::Account {
    let secrets = Arc::new(InsecureFileSecretStore::new(dir.join("secrets.json")));
    let core = Core::new(CoreConfig {
        data_dir: dir.to_owned(),
        secrets,
    });
    let account = core
        .login(&world.server.url(), ONCALL, &Secret::new(PASSWORD))
        .await
        .expect("signs in");
    account.catch_up().await.expect("first sync");
    account
}

/// How a client that was away gets the 10,000 events it missed.
#[derive(Clone, Copy)]
enum Return {
    /// `GET /sync`, as the CLI and a push-woken phone do.
    Http,
    /// The event socket's replay from the stored `seq`, as the app does when it opens.
    Socket,
}

/// The time to apply 10,000 missed chat messages, and how many events that was.
async fn catch_up(way: Return) -> (Duration, i64) {
    let world = server_world().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let account = client(&world, dir.path()).await;
    let before = account.store().last_seq().await.expect("seq");
    let agent = AgentPrincipal {
        agent_id: world.agent_id.clone(),
        tenant_id: world.tenant_id.clone(),
    };
    for _ in 0..10 {
        let mut w = Write::begin(world.server.state(), WriteScope::Tenant(&world.tenant_id))
            .await
            .expect("begins");
        for n in 0..1000 {
            let request = spartex_api::AgentMessageRequest {
                body: format!("progress note {n}: variant B leads on CTR"),
                to_project: false,
            };
            spartex_server::service::messages::post_from_agent(&mut w, &agent, request)
                .await
                .expect("posts");
        }
        w.commit().await.expect("commits");
    }
    let started = Instant::now();
    match way {
        Return::Http => {
            account.catch_up().await.expect("catches up");
        }
        Return::Socket => {
            let running = account.start();
            while account.link() != spartex_core::LinkState::Connected {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            running.stop().await;
        }
    }
    let took = started.elapsed();
    let applied = account.store().last_seq().await.expect("seq") - before;
    world.server.stop().await;
    (took, applied)
}

async fn notification_latency() -> (Duration, Duration, usize) {
    let world = server_world().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let account = client(&world, dir.path()).await;
    let started = Arc::new(Mutex::new(HashMap::new()));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let notifier = Arc::new(RecordingNotifier {
        started: started.clone(),
        latencies: latencies.clone(),
    });
    let running = account.start();
    let alerts = spartex_core::alerts::spawn_notifications(
        &account,
        notifier,
        Arc::new(std::sync::RwLock::new(NotificationPrefs::default())),
    );
    while account.link() != spartex_core::LinkState::Connected {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let agent = AgentPrincipal {
        agent_id: world.agent_id.clone(),
        tenant_id: world.tenant_id.clone(),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    let total = 2000;
    for n in 0..total {
        tick.tick().await;
        let title = format!("Publish variant {n}");
        let request = RequestApproval {
            kind: "publish_ad".into(),
            title: title.clone(),
            summary: String::new(),
            payload: json!({}),
            preview: None,
            risk: Risk::High,
            expires_in_s: 3600,
            task_id: None,
            on_expiry: None,
            answers_ask: None,
        };
        let mut w = Write::begin(world.server.state(), WriteScope::Tenant(&world.tenant_id))
            .await
            .expect("begins");
        spartex_server::service::approvals::request(&mut w, &agent, request)
            .await
            .expect("asks");
        started.lock().expect("lock").insert(title, Instant::now());
        w.commit().await.expect("commits");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while latencies.lock().expect("lock").len() < total && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    alerts.abort();
    running.stop().await;
    world.server.stop().await;
    let mut histogram = hdrhistogram::Histogram::<u64>::new(3).expect("histogram");
    let seen = latencies.lock().expect("lock").clone();
    for latency in &seen {
        histogram
            .record(latency.as_micros() as u64)
            .expect("records");
    }
    (
        Duration::from_micros(histogram.value_at_quantile(0.5)),
        Duration::from_micros(histogram.value_at_quantile(0.99)),
        seen.len(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with('-'))
        .collect();
    let wanted = |section: &str| only.is_empty() || only.iter().any(|name| name == section);
    runtime.block_on(async {
        println!(
            "spartex-core benchmarks (this machine: {} cores)\n",
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        println!("{:<58} {:>18} {:>16}", "what", "measured", "target");
        if wanted("ingest") {
            let rounds = ingest_rounds().await;
            let rate = median(rounds.iter().map(|r| r.engine.events_per_second));
            let floor = median(rounds.iter().map(|r| r.floor));
            let ratio = median(rounds.iter().map(|r| r.engine.events_per_second / r.floor));
            println!(
                "{:<58} {:>13.0} ev/s {:>16}",
                format!(
                    "cold sync: 100,000 events into the SQLCipher cache ({INGEST_ROUNDS}, median)"
                ),
                rate,
                "≥ 80,000 ev/s"
            );
            println!(
                "{:<58} {:>18} {:>16}",
                "  (time for all 100,000, search index included)",
                ms(Duration::from_secs_f64(100_000.0 / rate)),
                "≤ 1,250 ms"
            );
            println!(
                "{:<58} {:>13.0} ev/s {:>16}",
                "  the floor, taking turns: bare rows, 100 per statement",
                floor,
                "measured.md 96,200"
            );
            println!(
                "{:<58} {:>17.2}× {:>16}",
                "  cold sync against the floor, median of the rounds' ratios", ratio, "≥ 0.83×"
            );
            if std::env::var_os("SPARTEX_BENCH_VERBOSE").is_some() {
                for (n, round) in rounds.iter().enumerate() {
                    let cpu = round.engine.cpu.as_ref().map_or(String::new(), |cpu| {
                        format!(
                            " (wall {}, CPU: calling thread {}, all threads {})",
                            ms(cpu.wall),
                            ms(cpu.calling),
                            ms(cpu.all)
                        )
                    });
                    println!(
                        "    round {n}: engine {:.0} ev/s{cpu}, floor {:.0} ev/s",
                        round.engine.events_per_second, round.floor
                    );
                }
            }
        }
        if wanted("catch-up") {
            for (way, label) in [
                (Return::Http, "HTTP /sync"),
                (Return::Socket, "socket replay"),
            ] {
                let (took, applied) = catch_up(way).await;
                println!(
                    "{:<58} {:>18} {:>16}",
                    format!("catch-up after {applied} missed events: {label}"),
                    ms(took),
                    "≤ 500 ms"
                );
            }
        }
        if wanted("notify") {
            let (p50, p99, seen) = notification_latency().await;
            println!(
                "{:<58} {:>18} {:>16}",
                format!("event → Notifier at 1,000 ev/s, p50 ({seen} of 2,000 seen)"),
                ms(p50),
                ""
            );
            println!(
                "{:<58} {:>18} {:>16}",
                "event → Notifier at 1,000 ev/s, p99",
                ms(p99),
                "≤ 20 ms"
            );
        }
        if wanted("dashboard") {
            let ways = [
                (
                    DashboardRead::Typed,
                    "dashboard query, 1,000 projects / 10,000 agents",
                    "≤ 5 ms",
                ),
                (
                    DashboardRead::ForIpc,
                    "  as the desktop UI gets it (JSON text for IPC)",
                    "≤ 5 ms",
                ),
                (
                    DashboardRead::ForIpcThroughTypedRows,
                    "  … written from typed rows (the shell before)",
                    "",
                ),
            ];
            let (quantiles, size) = dashboard(&ways.map(|(way, _, _)| way)).await;
            for ((_, label, target), (p50, p99)) in ways.iter().zip(quantiles) {
                println!(
                    "{:<58} {:>18} {:>16}",
                    format!("{label}, p50"),
                    ms(p50),
                    target
                );
                println!("{:<58} {:>18} {:>16}", format!("{label}, p99"), ms(p99), "");
            }
            println!(
                "{:<58} {:>15.1} MB {:>16}",
                "  the cache file it reads",
                size as f64 / 1e6,
                ""
            );
        }
    });
}
