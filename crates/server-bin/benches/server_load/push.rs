//! Part 3 of `server_load`: push latency. The server is told to push to
//! `SPARTEX_BENCH_PUSH_DEVICES` Web Push subscriptions (default 1,000) held by a push service
//! in this process on loopback, which only notes when each request arrives (decrypting is the
//! phone's work, and would load this machine's two cores). For each of
//! `SPARTEX_BENCH_PUSH_ROUNDS` approvals (default 10) an agent asks, and every device's push
//! is timed from just before the agent's request to its arrival at the push service: the
//! server's share of "agent asks → phone rings". The anchor: APNs and FCM themselves take
//! about 1–2 s to reach a phone, so the server's p99 should stay under 50 ms.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use spartex_testkit::webpush_service::WebPushService;

pub struct PushResult {
    pub devices: usize,
    pub rounds: usize,
    pub latency: Histogram<u64>,
    /// Per round: when the last device's push arrived.
    pub last: Histogram<u64>,
    pub missing: usize,
}

type Arrivals = Arc<Mutex<HashMap<String, Vec<Instant>>>>;

async fn arrive(State(arrivals): State<Arrivals>, Path(id): Path<String>) -> StatusCode {
    let now = Instant::now();
    arrivals
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(id)
        .or_default()
        .push(now);
    StatusCode::CREATED
}

/// Runs the push part against the server at `base`, with `manager` and `oncall` tokens.
pub async fn measure(
    http: &reqwest::Client,
    base: &str,
    manager: &str,
    oncall: &str,
    project_id: &str,
    devices: usize,
    rounds: usize,
) -> anyhow::Result<PushResult> {
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route("/push/{id}", post(arrive))
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // One subscriber key pair (valid P-256) for every endpoint: only arrivals are timed.
    let keys = WebPushService::start().await.subscribe();
    for i in 0..devices {
        let body = json!({
            "platform": "webpush", "endpoint": format!("{receiver}/push/{i}"),
            "p256dh": keys["p256dh"], "auth": keys["auth"],
        });
        http.post(format!("{base}/api/v1/devices"))
            .bearer_auth(oncall)
            .json(&body)
            .send()
            .await?
            .error_for_status()
            .context("registering a device was refused")?;
    }
    let created: Value = http
        .post(format!("{base}/api/v1/projects/{project_id}/agents"))
        .bearer_auth(manager)
        .json(&json!({"name": "Bench Pusher", "role": "Copywriter", "model": "bench"}))
        .send()
        .await?
        .error_for_status()
        .context("creating the bench's agent was refused")?
        .json()
        .await?;
    let agent_token = created["agent_token"]
        .as_str()
        .context("no agent token")?
        .to_owned();

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut last = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut missing = 0;
    for round in 0..rounds {
        arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        let asked = Instant::now();
        http.post(format!("{base}/api/v1/agent/approvals"))
            .bearer_auth(&agent_token)
            .json(&json!({
                "kind": "publish_ad", "title": format!("Bench push {round}"),
                "summary": "Timing the push path.", "payload": {}, "preview": null,
                "risk": "high", "expires_in_s": 600,
            }))
            .send()
            .await?
            .error_for_status()
            .context("the bench agent's approval was refused")?;
        let deadline = asked + Duration::from_secs(30);
        loop {
            let arrived = arrivals
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len();
            if arrived >= devices || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let arrived = arrivals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        missing += devices.saturating_sub(arrived.len());
        let mut slowest = 0;
        for times in arrived.values() {
            let first = times.iter().min().copied().unwrap_or(asked);
            let us = u64::try_from(first.duration_since(asked).as_micros()).unwrap_or(u64::MAX);
            latency.record(us.max(1))?;
            slowest = slowest.max(us);
        }
        last.record(slowest.max(1))?;
    }
    server.abort();
    ensure!(!latency.is_empty(), "no push arrived");
    Ok(PushResult {
        devices,
        rounds,
        latency,
        last,
        missing,
    })
}

pub fn print(result: &PushResult) {
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "\nPush: agent asks → Web Push request at the push service, {} devices, {} approvals",
        result.devices, result.rounds
    );
    println!(
        "{:<28} {:>10} {:>10} {:>10} {:>14} {:>10}",
        "", "p50 ms", "p99 ms", "max ms", "last p50 ms", "missing"
    );
    println!(
        "{:<28} {:>10.1} {:>10.1} {:>10.1} {:>14.1} {:>10}",
        "spartex-server (this run)",
        ms(result.latency.value_at_quantile(0.5)),
        ms(result.latency.value_at_quantile(0.99)),
        ms(result.latency.max()),
        ms(result.last.value_at_quantile(0.5)),
        result.missing
    );
    println!(
        "{:<28} {:>10} {:>10}   (APNs/FCM to the phone take 1–2 s; target p99 < 50 ms)",
        "anchor", "", "50"
    );
}
