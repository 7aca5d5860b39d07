//! The tables of `server_load`: spartex-server beside the FastAPI peer measured in the same run
//! by the same driver, with their ratios, then the goals.

use crate::fanout::FanoutResult;
use crate::reads::{ReadResult, READ_CONNECTIONS};
use crate::{fmt_int, ms};

const OURS: &str = "spartex-server";
const PEER: &str = "FastAPI + uvicorn (peer)";
const RATIO: &str = "ratio";

/// Goals (printed MET / NOT MET; missing one does not fail the run).
const GOAL_HANDSHAKES_PER_S: f64 = 5_000.0;
const GOAL_SOCKETS: usize = 10_000;
const GOAL_CONNECT_S: f64 = 2.0;
const GOAL_READ_RATIO: f64 = 20.0;
const GOAL_FANOUT_RATIO: f64 = 5.0;
const GOAL_FANOUT_SOCKETS: [usize; 2] = [5_000, 10_000];

/// One part measured on spartex-server and then on the peer.
pub struct Compared<T> {
    pub ours: T,
    /// `None` when the peer is off; `Err` when measuring it failed.
    pub peer: Option<Result<T, PeerFailed>>,
}

/// Why a part has no peer figure, as `{code, message}` like the contract's error body.
#[derive(Debug, serde::Serialize)]
pub struct PeerFailed {
    code: &'static str,
    message: String,
}

impl PeerFailed {
    /// Measuring `part` on the peer failed with `error` (its whole chain of causes).
    pub fn new(part: &str, error: &anyhow::Error) -> Self {
        PeerFailed {
            code: "peer_failed",
            message: format!("{part}: {error:#}"),
        }
    }
}

impl std::fmt::Display for PeerFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl<T> Compared<T> {
    fn peer_done(&self) -> Option<&T> {
        self.peer.as_ref().and_then(|p| p.as_ref().ok())
    }

    /// Why there is no peer figure to compare with.
    fn peer_missing(&self) -> Option<String> {
        match &self.peer {
            None => Some("the peer is off: SPARTEX_BENCH_PEER=off".into()),
            Some(Err(e)) => Some(format!("the peer failed: {e}")),
            Some(Ok(_)) => None,
        }
    }
}

/// `a / b` as "12.3x", or "-" when there is nothing to divide by.
fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b > 0.0 {
        format!("{:.1}x", a / b)
    } else {
        "-".into()
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "MET"
    } else {
        "NOT MET"
    }
}

pub fn print_reads(reads: &Compared<ReadResult>) {
    println!(
        "REST reads: GET /api/v1/projects (Bearer), {READ_CONNECTIONS} connections, {:.1} s each; \
         ratio: spartex/peer for requests/s, peer/spartex for latency",
        reads.ours.elapsed.as_secs_f64()
    );
    println!(
        "{:<28} {:>12} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "requests/s", "mean ms", "p50 ms", "p99 ms", "max ms", "errors"
    );
    let row = |name: &str, r: &ReadResult| {
        println!(
            "{:<28} {:>12} {:>10.2} {:>10.2} {:>10.2} {:>10.2} {:>10}",
            name,
            fmt_int(r.rps().round() as u64),
            r.latency.mean() / 1000.0,
            ms(r.latency.value_at_quantile(0.5)),
            ms(r.latency.value_at_quantile(0.99)),
            ms(r.latency.max()),
            r.errors
        );
    };
    row(OURS, &reads.ours);
    match &reads.peer {
        None => println!("{PEER:<28} off"),
        Some(Err(e)) => println!("{PEER:<28} failed: {e}"),
        Some(Ok(peer)) => {
            row(PEER, peer);
            let (o, p) = (&reads.ours.latency, &peer.latency);
            let q = |h: &hdrhistogram::Histogram<u64>, at: f64| h.value_at_quantile(at) as f64;
            println!(
                "{:<28} {:>12} {:>10} {:>10} {:>10} {:>10}",
                RATIO,
                ratio(reads.ours.rps(), peer.rps()),
                ratio(p.mean(), o.mean()),
                ratio(q(p, 0.5), q(o, 0.5)),
                ratio(q(p, 0.99), q(o, 0.99)),
                ratio(p.max() as f64, o.max() as f64),
            );
        }
    }
    println!();
}

pub fn print_fanouts(fanouts: &[Compared<FanoutResult>], rounds: usize) {
    println!(
        "Fan-out: one message.created event to N `since=head` sockets of GET /api/v1/events, \
         {rounds} events; POST sent -> frame read; ratio: spartex/peer for handshakes/s, \
         peer/spartex for times"
    );
    println!(
        "{:<28} {:>8} {:>10} {:>13} {:>9} {:>9} {:>9} {:>17}",
        "", "sockets", "connect s", "handshakes/s", "p50 ms", "p99 ms", "max ms", "got every event"
    );
    let row = |name: &str, f: &FanoutResult| {
        println!(
            "{:<28} {:>8} {:>10.2} {:>13} {:>9.1} {:>9.1} {:>9.1} {:>17}",
            name,
            fmt_int(f.requested as u64),
            f.connect_time.as_secs_f64(),
            fmt_int(f.handshakes_per_s().round() as u64),
            ms(f.latency.value_at_quantile(0.5)),
            ms(f.latency.value_at_quantile(0.99)),
            ms(f.latency.max()),
            format!(
                "{} / {}",
                fmt_int(f.complete as u64),
                fmt_int(f.requested as u64)
            )
        );
    };
    for pair in fanouts {
        let ours = &pair.ours;
        row(OURS, ours);
        match &pair.peer {
            None => println!("{PEER:<28} off"),
            Some(Err(e)) => println!(
                "{PEER:<28} {:>8} failed: {e}",
                fmt_int(ours.requested as u64)
            ),
            Some(Ok(peer)) => {
                row(PEER, peer);
                let q = |f: &FanoutResult, at: f64| f.latency.value_at_quantile(at) as f64;
                println!(
                    "{:<28} {:>8} {:>10} {:>13} {:>9} {:>9} {:>9}",
                    RATIO,
                    "",
                    ratio(
                        peer.connect_time.as_secs_f64(),
                        ours.connect_time.as_secs_f64()
                    ),
                    ratio(ours.handshakes_per_s(), peer.handshakes_per_s()),
                    ratio(q(peer, 0.5), q(ours, 0.5)),
                    ratio(q(peer, 0.99), q(ours, 0.99)),
                    ratio(peer.latency.max() as f64, ours.latency.max() as f64),
                );
            }
        }
    }
    println!();
    for pair in fanouts {
        print_details(OURS, &pair.ours);
        if let Some(peer) = pair.peer_done() {
            print_details(PEER, peer);
        }
    }
}

fn print_details(name: &str, f: &FanoutResult) {
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
    let n = fmt_int(f.requested as u64);
    println!(
        "  {name}, {n} sockets: per event p50/max ms (POST answered ms): {}",
        per_round.join(", ")
    );
    println!(
        "  {name}, {n} sockets: since={}, connected {}, connect failures {}, retries {}, \
         handshake p50 {:.1} ms / p99 {:.1} ms, missing arrivals {}, duplicates {}, socket errors {}, \
         agent-reply frames {}, other frames {}, listen-queue overflows while connecting {}; \
         RSS server {} client {}",
        f.head,
        fmt_int(f.connected as u64),
        f.connect_failures,
        f.connect_retries,
        ms(f.handshake.value_at_quantile(0.5)),
        ms(f.handshake.value_at_quantile(0.99)),
        f.missing,
        f.duplicates,
        f.socket_errors,
        f.replies_seen
            .map(|r| fmt_int(r as u64))
            .unwrap_or_else(|| "- (no agents)".into()),
        fmt_int(f.other_frames as u64),
        f.listen_overflows
            .map(|o| o.to_string())
            .unwrap_or_else(|| "?".into()),
        f.server_rss_mib
            .map(|m| format!("{m:.0} MiB"))
            .unwrap_or_else(|| "?".into()),
        f.client_rss_mib
            .map(|m| format!("{m:.0} MiB"))
            .unwrap_or_else(|| "?".into()),
    );
    if let Some(failure) = &f.first_failure {
        println!("  {name}, {n} sockets: first failure: {failure}");
    }
}

pub fn print_goals(reads: Option<&Compared<ReadResult>>, fanouts: &[Compared<FanoutResult>]) {
    println!("\nGoals (a missed goal is reported, it does not fail the run):");
    for pair in fanouts {
        let f = &pair.ours;
        let rate = f.handshakes_per_s();
        println!(
            "  connect {} sockets at >= {} handshakes/s: {} ({} handshakes/s, {} of {} connected)",
            fmt_int(f.requested as u64),
            fmt_int(GOAL_HANDSHAKES_PER_S as u64),
            verdict(rate >= GOAL_HANDSHAKES_PER_S && f.connected == f.requested),
            fmt_int(rate.round() as u64),
            fmt_int(f.connected as u64),
            fmt_int(f.requested as u64),
        );
    }
    let goal = format!(
        "  {} sockets connected in <= {GOAL_CONNECT_S:.0} s",
        fmt_int(GOAL_SOCKETS as u64)
    );
    match fanouts.iter().find(|p| p.ours.requested == GOAL_SOCKETS) {
        Some(pair) => {
            let f = &pair.ours;
            let secs = f.connect_time.as_secs_f64();
            println!(
                "{goal}: {} ({secs:.2} s, {} connected)",
                verdict(secs <= GOAL_CONNECT_S && f.connected == f.requested),
                fmt_int(f.connected as u64)
            );
        }
        None => println!("{goal}: not measured (SPARTEX_BENCH_SOCKETS has no {GOAL_SOCKETS})"),
    }

    let goal = format!("  REST reads >= {GOAL_READ_RATIO:.0}x the peer's requests/s");
    match reads {
        None => println!("{goal}: not measured (SPARTEX_BENCH_READ_SECS=0)"),
        Some(r) => match r.peer_done() {
            None => println!(
                "{goal}: not measured, {}",
                r.peer_missing().unwrap_or_default()
            ),
            Some(peer) => {
                let x = r.ours.rps() / peer.rps();
                println!(
                    "{goal}: {} ({x:.1}x: {} vs {} requests/s)",
                    verdict(x >= GOAL_READ_RATIO && r.ours.errors == 0),
                    fmt_int(r.ours.rps().round() as u64),
                    fmt_int(peer.rps().round() as u64)
                );
            }
        },
    }

    for n in GOAL_FANOUT_SOCKETS {
        let goal = format!(
            "  fan-out p99 at {} sockets >= {GOAL_FANOUT_RATIO:.0}x better than the peer's",
            fmt_int(n as u64)
        );
        let Some(pair) = fanouts.iter().find(|p| p.ours.requested == n) else {
            println!("{goal}: not measured (SPARTEX_BENCH_SOCKETS has no {n})");
            continue;
        };
        let Some(peer) = pair.peer_done() else {
            println!(
                "{goal}: not measured, {}",
                pair.peer_missing().unwrap_or_default()
            );
            continue;
        };
        let ours = &pair.ours;
        let (o, p) = (
            ms(ours.latency.value_at_quantile(0.99)),
            ms(peer.latency.value_at_quantile(0.99)),
        );
        let x = p / o;
        println!(
            "{goal}: {} ({x:.1}x: {o:.1} vs {p:.1} ms; every event at {} / {} sockets here, {} / {} at the peer)",
            verdict(x >= GOAL_FANOUT_RATIO && ours.complete == ours.requested),
            fmt_int(ours.complete as u64),
            fmt_int(ours.requested as u64),
            fmt_int(peer.complete as u64),
            fmt_int(peer.requested as u64),
        );
    }
}
