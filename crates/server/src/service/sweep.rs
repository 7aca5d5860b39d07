//! Deadlines: approvals that expire or climb their escalation ladder, stops that time out,
//! old events and idempotency keys.

use std::time::Duration;

use crate::error::ApiResult;
use crate::log_every::{LogEvery, ONCE_A_MINUTE};
use crate::state::AppState;
use crate::store::{DocKind, WriteScope};
use crate::write::Write;

/// Runs every deadline that has passed by the state's clock. Returns how many it settled.
/// One deadline that fails (a damaged row) is reported and skipped, never holding up the rest.
pub async fn run_due(state: &AppState) -> ApiResult<usize> {
    let now = state.now();
    let mut settled = 0;
    let due = state
        .store
        .due_docs(DocKind::Approval, "pending", now.timestamp_millis())
        .await?;
    for (tenant_id, approval) in due {
        let Some(id) = approval.get("id").and_then(|v| v.as_str()) else {
            continue;
        };
        let outcome = async {
            let mut w = Write::begin(state, WriteScope::Tenant(&tenant_id)).await?;
            // Due means expired, or the escalation ladder's next level is (see `Approval`'s
            // document): each does nothing when it is the other.
            super::approvals::expire(&mut w, &tenant_id, id).await?;
            super::escalation::advance(&mut w, &tenant_id, id).await?;
            w.commit().await
        };
        settled += settled_or_reported(outcome.await, "approval expiry", id);
    }
    let timeout = chrono::Duration::from_std(state.settings.stop_timeout)
        .unwrap_or(chrono::Duration::seconds(10));
    let overdue = state
        .store
        .due_docs(DocKind::Stop, "pending", (now - timeout).timestamp_millis())
        .await?;
    for (tenant_id, stop) in overdue {
        let Some(id) = stop.get("id").and_then(|v| v.as_str()) else {
            continue;
        };
        let outcome = async {
            let mut w = Write::begin(state, WriteScope::Tenant(&tenant_id)).await?;
            super::stops::force_overdue(&mut w, &tenant_id, id, timeout).await?;
            w.commit().await
        };
        settled += settled_or_reported(outcome.await, "stop deadline", id);
    }
    Ok(settled)
}

fn settled_or_reported<T>(outcome: ApiResult<T>, what: &str, id: &str) -> usize {
    match outcome {
        Ok(_) => 1,
        Err(error) => {
            tracing::debug!(%error, id, "{what} failed; retrying on the next tick");
            0
        }
    }
}

/// Events of one tenant one write prunes at most: a backlog (a retention shortened, a server
/// long stopped, a busy tenant's minute) goes batch after batch, never in one delete every
/// write waits behind.
const EVENTS_PRUNED_PER_WRITE: i64 = 10_000;

/// Drops events past retention (so old `since` values get `resync_required`) and old keys.
pub async fn prune(state: &AppState) -> ApiResult<u64> {
    let now = state.now();
    let retention = chrono::Duration::from_std(state.settings.event_retention)
        .unwrap_or(chrono::Duration::days(30));
    let keys = chrono::Duration::from_std(state.settings.idempotency_retention)
        .unwrap_or(chrono::Duration::days(1));
    let events = crate::store::prune_log(
        state.store.as_ref(),
        (now - retention).timestamp_millis(),
        EVENTS_PRUNED_PER_WRITE,
    )
    .await?;
    state
        .store
        .prune_idempotency_keys((now - keys).timestamp_millis())
        .await?;
    state.store.prune_sessions(now.timestamp_millis()).await?;
    if let Some(counters) = state.store.shared_counters() {
        let forget = chrono::Duration::from_std(crate::throttle::FORGET_AFTER)
            .unwrap_or(chrono::Duration::hours(1));
        // By the wall clock, as the throttle counts.
        counters
            .prune_counters((chrono::Utc::now() - forget).timestamp_millis())
            .await?;
    }
    Ok(events)
}

/// The background loop; it ends when `shutdown` fires.
pub async fn run(state: AppState) {
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let mut tick = tokio::time::interval(state.settings.sweep_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune = tokio::time::Instant::now();
    let mut last_checkpoint = tokio::time::Instant::now();
    // A database that is down or full fails every tick (four a second).
    let failing = LogEvery::new(ONCE_A_MINUTE);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = &mut stopping => return,
        }
        if last_checkpoint.elapsed() >= Duration::from_secs(2) {
            last_checkpoint = tokio::time::Instant::now();
            // The store logs a failing checkpoint once, not on every tick.
            let _ = state.store.checkpoint().await;
        }
        match run_due(&state).await {
            Ok(_) if failing.passed() => tracing::info!("the deadline sweep works again"),
            Ok(_) => {}
            Err(e) => {
                if let Some(failed_since_last_said) = failing.now() {
                    tracing::error!(error = %e, failed_since_last_said, "deadline sweep failed; retrying on the next tick (said once a minute)");
                }
            }
        }
        if last_prune.elapsed() >= Duration::from_secs(60) {
            last_prune = tokio::time::Instant::now();
            match prune(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "pruned events past retention"),
                Err(e) => tracing::error!(error = %e, "pruning failed"),
            }
        }
    }
}
