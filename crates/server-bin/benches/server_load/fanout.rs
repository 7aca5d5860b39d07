//! Part 2 of `server_load`: connect N authenticated `since=head` event sockets, then time one
//! chat message's `message.created` frame from just before its POST to every socket.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::process::rss_mib_of;
use crate::{fmt_int, login, micros, ms, new_histogram, Target};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// WebSocket handshakes in flight at once while connecting. Kept under the server's accept
/// backlog of 128 (tokio's `TcpListener::bind`): with 200 in flight the queue overflowed
/// whenever accepting lagged, and each dropped handshake waited 1 s for a SYN-ACK resend.
const CONNECT_CONCURRENCY: usize = 100;
/// Attempts per socket before it counts as failed to connect.
const CONNECT_ATTEMPTS: u32 = 3;
/// Generous for the peer, which took 15–20 s to connect 10,000 sockets.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_ALL_TIMEOUT: Duration = Duration::from_secs(1800);
/// How long after its POST an event may still arrive at a socket.
const ARRIVAL_TIMEOUT: Duration = Duration::from_secs(60);

pub struct FanoutResult {
    pub requested: usize,
    pub head: i64,
    pub connected: usize,
    pub connect_failures: usize,
    pub connect_retries: u32,
    pub connect_time: Duration,
    pub handshake: Histogram<u64>,
    pub server_rss_mib: Option<f64>,
    pub client_rss_mib: Option<f64>,
    pub latency: Histogram<u64>,
    /// Per round: (p50, max) in microseconds and the POST's own latency.
    pub rounds: Vec<(u64, u64, Duration)>,
    pub complete: usize,
    pub missing: usize,
    pub duplicates: usize,
    pub socket_errors: usize,
    pub first_failure: Option<String>,
    /// `None` when the target has no agents to answer chat (the peer).
    pub replies_seen: Option<usize>,
    pub other_frames: usize,
    /// Growth of the kernel's ListenOverflows counter while connecting (all of this host).
    pub listen_overflows: Option<u64>,
}

impl FanoutResult {
    pub fn handshakes_per_s(&self) -> f64 {
        self.connected as f64 / self.connect_time.as_secs_f64().max(1e-9)
    }
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

type Reader = (JoinHandle<SocketLog>, oneshot::Sender<()>);

pub async fn fanout(
    http: &reqwest::Client,
    target: &Target<'_>,
    n: usize,
    rounds: usize,
) -> anyhow::Result<FanoutResult> {
    let server = target.server;
    let token = login(http, &server.base).await?;
    let events_url = format!("ws://127.0.0.1:{}/api/v1/events", server.port);
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .context("the token is not a header value")?;
    // The head, from one socket's hello; every socket of the run then asks for what follows.
    let (probe, head) = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&events_url, &bearer))
        .await
        .context("no hello within the handshake timeout")?
        .context("the socket that reads the head did not connect")?;
    close_socket(probe).await;
    let ws_url = format!("{events_url}?since={head}");

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

    // Connect, CONNECT_CONCURRENCY handshakes at a time, each waiting for its hello. Each
    // socket's reader starts as soon as it is connected, so pings are answered while the rest
    // connect (uvicorn closes a socket that leaves its ping unanswered for 20 s). A stop signal
    // per socket: a shared watch would make every reader take its lock twice per frame.
    let overflows_before = listen_overflows();
    let started = Instant::now();
    let attempts: Vec<anyhow::Result<(Reader, Duration, u32)>> = tokio::time::timeout(
        CONNECT_ALL_TIMEOUT,
        futures_util::stream::iter(0..n)
            .map(|_| async {
                let (ws, took, tries) = connect_one(&ws_url, &bearer).await?;
                let (stop_tx, stop_rx) = oneshot::channel();
                let reader = tokio::spawn(read_socket(
                    ws,
                    nonce.clone(),
                    markers.clone(),
                    tally.clone(),
                    stop_rx,
                ));
                anyhow::Ok(((reader, stop_tx), took, tries))
            })
            .buffer_unordered(CONNECT_CONCURRENCY)
            .collect(),
    )
    .await
    .with_context(|| {
        format!(
            "connecting the sockets took over {} minutes",
            CONNECT_ALL_TIMEOUT.as_secs() / 60
        )
    })?;
    let connect_time = started.elapsed();
    let listen_overflows = listen_overflows()
        .zip(overflows_before)
        .map(|(after, before)| after.saturating_sub(before));
    let mut readers = Vec::with_capacity(n);
    let mut stops = Vec::with_capacity(n);
    let mut handshake = new_histogram()?;
    let mut connect_failures = 0;
    let mut connect_retries = 0;
    let mut first_failure = None;
    for attempt in attempts {
        match attempt {
            Ok(((reader, stop), took, tries)) => {
                handshake.record(micros(took))?;
                connect_retries += tries - 1;
                readers.push(reader);
                stops.push(stop);
            }
            Err(e) => {
                connect_failures += 1;
                first_failure.get_or_insert_with(|| format!("connect: {e:#}"));
            }
        }
    }
    let connected = readers.len();
    let server_rss_mib = server.rss_mib();
    let client_rss_mib = rss_mib_of("/proc/self/status");
    println!(
        "  {}: connected {} of {} (since={head}) in {:.2} s, {} handshakes/s (handshake p50 {:.1} ms, p99 {:.1} ms, {} retries); RSS {}",
        server.name,
        fmt_int(connected as u64),
        fmt_int(n as u64),
        connect_time.as_secs_f64(),
        fmt_int((connected as f64 / connect_time.as_secs_f64().max(1e-9)).round() as u64),
        ms(handshake.value_at_quantile(0.5)),
        ms(handshake.value_at_quantile(0.99)),
        connect_retries,
        server_rss_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_else(|| "?".into()),
    );

    let post_url = format!(
        "{}/api/v1/projects/{}/messages",
        server.base, target.project_id
    );
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
        // Every live socket should get it; give up on stragglers after ARRIVAL_TIMEOUT.
        let deadline = sent + ARRIVAL_TIMEOUT;
        while tally.received[round].load(Ordering::Acquire) + tally.failed.load(Ordering::Acquire)
            < connected
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        // A connected lead agent answers the thread, quoting the message, at most 3 s later;
        // let that fan-out pass so it does not overlap the next measurement. The demo workers
        // connect within about 2 s of the start, so the project's lead usually answers; when
        // the first round shows no reply, later rounds wait only if replies appeared. The peer
        // has no agents: nothing to wait for.
        if target.agents_reply && (round == 0 || replies_expected) {
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
    let drain = tokio::time::timeout(Duration::from_secs(120), async {
        for reader in readers {
            logs.push(reader.await);
        }
    })
    .await;
    ensure!(
        drain.is_ok(),
        "the socket readers did not stop within 120 s"
    );

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
    let replies_seen = target.agents_reply.then(|| {
        tally
            .replies
            .iter()
            .map(|r| r.load(Ordering::Acquire))
            .sum()
    });
    let rounds_summary = per_round
        .iter()
        .zip(post_latency)
        .map(|(h, post)| (h.value_at_quantile(0.5), h.max(), post))
        .collect();
    Ok(FanoutResult {
        requested: n,
        head,
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
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(url, bearer)).await {
            Ok(Ok((ws, _))) => return Ok((ws, started.elapsed(), attempt)),
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => {
                last_error = Some(anyhow::anyhow!(
                    "no hello within {} s",
                    HANDSHAKE_TIMEOUT.as_secs()
                ))
            }
        }
        tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
    }
    Err(last_error.unwrap_or_else(|| anyhow::anyhow!("never attempted")))
}

/// Connects and reads the hello frame: the socket and the head it announced.
async fn handshake(url: &str, bearer: &HeaderValue) -> anyhow::Result<(Ws, i64)> {
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
            match (frame.kind.as_str(), frame.head) {
                ("hello", Some(head)) => Ok((ws, head)),
                _ => bail!("the first frame is not a hello: {text}"),
            }
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
        close_socket(ws).await;
    }
    log
}

/// Sends a close frame and reads until the server's close arrives (each step bounded).
async fn close_socket(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
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
