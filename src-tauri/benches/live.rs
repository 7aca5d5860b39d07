//! The desktop bench's live part: the app signed in to a running server with 1,000 projects on
//! its dashboard, the CPU its processes use at rest and while an agent reports at a steady rate
//! (each report a change the app syncs, and a re-read of the dashboard it shows). The anchor is
//! the same app at rest: what a busy tenant costs a manager's laptop.
//!
//! Only this part: `SPARTEX_BENCH_PART=live bash scripts/test-env.sh cargo bench -p spartex-desktop --features custom-protocol --bench desktop`.
//!
//! Where the busy CPU goes: add `SPARTEX_BENCH_PERF=<folder>` to record each process with
//! `perf record` while the agent reports (`main.data`, `web.data`), and
//! `SPARTEX_BENCH_APP_PROFILE=bench` so that the app has symbols; then
//! `perf report -i <folder>/main.data --no-children`.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::json;
use spartex_testkit::demo::OWNER;
use spartex_testkit::{procs, TestServer};
use tokio::runtime::Runtime;

use crate::{end_tree, spawn_logging, wait_for_line, PROJECTS};

/// Agent reports a second while the app is measured busy.
const REPORTS_PER_SECOND: u64 = 50;
const SPELL: Duration = Duration::from_secs(10);
/// Busy spells, one after the other; the table shows their median (a spell varies by a few %).
const BUSY_SPELLS: u64 = 3;

pub fn measure(app: &Path, runtime: &Runtime) {
    let home = tempfile::tempdir().expect("a data folder");
    let service = format!("spartex-bench-live-{}", uuid::Uuid::new_v4());
    let server = runtime.block_on(async {
        // One manager creates every project: their writes are not held back as a person's.
        let server = TestServer::builder()
            .system_clock()
            .settings(|s| {
                s.user_write_burst = 1_000_000;
                s.user_writes_per_second = 1_000_000;
            })
            .start()
            .await;
        fill_and_sign_in(&server, home.path(), &service).await;
        server
    });

    let mut child = spawn_logging(app, home.path(), &service, "warn,spartex::startup=info");
    let expected = format!("items={}", PROJECTS + 3);
    wait_for_line(&mut child, move |line| {
        line.contains(r#"screen="dashboard""#) && line.contains(&expected)
    });
    // The first sync, the first frame kept: let them pass.
    std::thread::sleep(Duration::from_secs(5));

    let at_rest = cpu_over(&child, || std::thread::sleep(SPELL));
    let mut accepted = 0;
    let busy: Vec<Cpu> = (0..BUSY_SPELLS)
        .map(|spell| {
            cpu_over(&child, || {
                let recording = (spell == 0).then(|| Profiles::start(&child));
                accepted += runtime.block_on(report_steadily(&server, SPELL));
                if let Some(recording) = recording {
                    recording.stop();
                }
            })
        })
        .collect();
    end_tree(&mut child);
    runtime.block_on(server.stop());

    println!(
        "\nlive: signed in to a running server, {PROJECTS} projects on the dashboard; CPU in % of one core over {} s (busy: the median of {BUSY_SPELLS})",
        SPELL.as_secs()
    );
    println!(
        "{:<62} {:>14} {:>18}",
        "",
        "at rest",
        format!("{REPORTS_PER_SECOND} reports/s")
    );
    for name in ["main process", "WebKitWebProces"] {
        let mut each: Vec<f64> = busy.iter().map(|cpu| cpu.percent(name)).collect();
        each.sort_by(f64::total_cmp);
        println!(
            "{:<62} {:>12.1} % {:>16.1} %   (spells: {})",
            format!("  {name}"),
            at_rest.percent(name),
            each[each.len() / 2],
            each.iter()
                .map(|p| format!("{p:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "{:<62} {:>14} {:>18}",
        "  agent reports the server accepted",
        "",
        format!("{accepted} in {} s", BUSY_SPELLS * SPELL.as_secs())
    );
}

/// The manager's tenant with `PROJECTS` more projects, and the manager signed in with the
/// app's data folder and secret store, synced.
async fn fill_and_sign_in(server: &TestServer, home: &Path, service: &str) {
    let owner = server.login(OWNER).await;
    for p in 0..PROJECTS {
        let (status, body) = owner
            .post(
                "/api/v1/projects",
                json!({"name": format!("Client campaign {p:04}"), "budget_usd": 5000.0}),
            )
            .await;
        assert!(status.is_success(), "a project: {body}");
    }
    let account = crate::signed_in_manager(server, home, service).await;
    account.store().close().await;
}

/// One agent's heartbeats, each with a cost, `REPORTS_PER_SECOND` for `spell`; how many the
/// server accepted.
async fn report_steadily(server: &TestServer, spell: Duration) -> u64 {
    let agent = server.agent("Quill");
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / REPORTS_PER_SECOND));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let until = Instant::now() + spell;
    let mut accepted = 0;
    while Instant::now() < until {
        tick.tick().await;
        let (status, _) = agent
            .post(
                "/api/v1/agent/heartbeat",
                json!({"status": "working", "tokens_in": 120, "tokens_out": 40, "cost_usd": 0.01}),
            )
            .await;
        accepted += u64::from(status.is_success());
    }
    accepted
}

/// `perf record` of the main and web processes, when `SPARTEX_BENCH_PERF` names a folder.
struct Profiles(Vec<Child>);

impl Profiles {
    fn start(app: &Child) -> Profiles {
        let Some(folder) = std::env::var_os("SPARTEX_BENCH_PERF").map(std::path::PathBuf::from)
        else {
            return Profiles(Vec::new());
        };
        std::fs::create_dir_all(&folder).expect("the profiles' folder");
        let web = procs::descendants(app.id()).into_iter().find(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|name| name.trim() == "WebKitWebProces")
        });
        let targets = [("main.data", Some(app.id())), ("web.data", web)];
        let recorders = targets
            .into_iter()
            .filter_map(|(file, pid)| Some((file, pid?)))
            .map(|(file, pid)| {
                std::process::Command::new("perf")
                    .args([
                        "record",
                        "--quiet",
                        "-F",
                        "250",
                        "--call-graph",
                        "dwarf,16384",
                    ])
                    .arg("-o")
                    .arg(folder.join(file))
                    .args(["-p", &pid.to_string()])
                    .spawn()
                    .expect("perf runs (Debian's linux-perf)")
            })
            .collect();
        Profiles(recorders)
    }

    fn stop(self) {
        for mut recorder in self.0 {
            // perf writes its file out on SIGINT.
            let _ = std::process::Command::new("kill")
                .args(["-INT", &recorder.id().to_string()])
                .status();
            let _ = recorder.wait();
        }
    }
}

/// CPU time of the app's processes while `during` runs, by program name.
struct Cpu {
    by_process: Vec<(String, Duration)>,
    over: Duration,
}

impl Cpu {
    fn percent(&self, name: &str) -> f64 {
        let used = self
            .by_process
            .iter()
            .find(|(n, _)| n == name)
            .map_or(Duration::ZERO, |(_, d)| *d);
        100.0 * used.as_secs_f64() / self.over.as_secs_f64()
    }
}

fn cpu_over(child: &Child, during: impl FnOnce()) -> Cpu {
    let before = cpu_by_process(child.id());
    let started = Instant::now();
    during();
    let over = started.elapsed();
    let after = cpu_by_process(child.id());
    let by_process = after
        .into_iter()
        .map(|(name, used)| {
            let earlier = before
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(Duration::ZERO, |(_, d)| *d);
            (name, used.saturating_sub(earlier))
        })
        .collect();
    Cpu { by_process, over }
}

/// User and system time of `root` and its descendants so far, by program name.
fn cpu_by_process(root: u32) -> Vec<(String, Duration)> {
    let tick = clock_tick();
    let mut totals: Vec<(String, Duration)> = Vec::new();
    for pid in std::iter::once(root).chain(procs::descendants(root)) {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: utime and stime are the 12th and 13th fields after comm.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let comm = head.split_once('(').map_or("", |(_, c)| c);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
            .sum();
        let name = if pid == root { "main process" } else { comm };
        let used = tick * u32::try_from(ticks).unwrap_or(u32::MAX);
        match totals.iter_mut().find(|(n, _)| n == name) {
            Some((_, total)) => *total += used,
            None => totals.push((name.to_owned(), used)),
        }
    }
    totals
}

/// The kernel's clock tick (`getconf CLK_TCK`, 100 on Linux almost everywhere).
fn clock_tick() -> Duration {
    let hz = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|s| s.trim().parse::<u32>().ok())
        .unwrap_or(100);
    Duration::from_secs(1) / hz
}
