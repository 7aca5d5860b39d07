//! Part 1 of `server_load`: `GET /api/v1/projects` with a Bearer access token over
//! `READ_CONNECTIONS` concurrent connections, back to back, for a time or a request budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use hdrhistogram::Histogram;
use tokio::sync::{watch, Barrier};

use crate::{micros, new_histogram};

/// Concurrent connections of the REST read test.
pub const READ_CONNECTIONS: usize = 64;

pub struct ReadResult {
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    pub latency: Histogram<u64>,
}

impl ReadResult {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

struct ReadWorker {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

/// `READ_CONNECTIONS` workers, each with its own client (so its own connection), issuing
/// `GET /api/v1/projects` back to back until the time or the request budget is spent.
pub async fn read_load(
    base: &str,
    token: &str,
    duration: Duration,
    max_requests: u64,
) -> anyhow::Result<ReadResult> {
    let url = Arc::new(format!("{base}/api/v1/projects"));
    let token = Arc::new(token.to_owned());
    let issued = Arc::new(AtomicUsize::new(0));
    let max_requests = usize::try_from(max_requests).unwrap_or(usize::MAX);
    let barrier = Arc::new(Barrier::new(READ_CONNECTIONS + 1));
    let (start_tx, start_rx) = watch::channel(None::<Instant>);
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
