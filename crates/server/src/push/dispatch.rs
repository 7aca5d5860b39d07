//! Follows every tenant's event log from the position stored for it, and queues the pushes
//! each run of events calls for. The position, the remembered states and the queued pushes
//! commit together, so a restart resumes where the last batch ended: nothing is lost, and
//! nothing is queued twice.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use spartex_api::{EventPayload, Project};

use super::burst::{self, Bursts};
use super::plan::{state_of, Planner, Recipient};
use crate::log_every::{LogEvery, ONCE_A_MINUTE};
use crate::service::escalation::LevelNames;
use crate::service::tenant;
use crate::state::AppState;
use crate::store::push::{Advance, Backlog, ResourceStates};
use crate::store::{DocKind, StoreResult};

/// Events one batch reads of one tenant's log.
const BATCH: i64 = 500;
/// The longest the dispatcher sleeps without looking (a wake-up can be missed).
const IDLE_LOOK: Duration = Duration::from_secs(1);

pub async fn run(state: AppState) {
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let failing = LogEvery::new(ONCE_A_MINUTE);
    loop {
        let dispatched = dispatch_all(&state).await;
        if dispatched.is_ok() && failing.passed() {
            tracing::info!("push dispatch works again");
        }
        match dispatched {
            Ok(true) => state.pushes.delivery.notify_one(),
            Ok(false) => {}
            Err(error) => {
                if let Some(failed_since_last_said) = failing.now() {
                    tracing::warn!(%error, failed_since_last_said, "push dispatch failed; retrying (said once a minute)");
                }
            }
        }
        tokio::select! {
            () = state.pushes.planning.notified() => {}
            () = tokio::time::sleep(IDLE_LOOK) => {}
            () = &mut stopping => break,
        }
    }
}

/// Reads every tenant's log up to its head. True when pushes were queued.
pub async fn dispatch_all(state: &AppState) -> StoreResult<bool> {
    let mut queued = false;
    for backlog in state.store.push().backlog().await? {
        let mut cursor = backlog.cursor;
        while cursor < backlog.head {
            let batch = dispatch_batch(state, &backlog, cursor).await?;
            queued |= batch.queued;
            match batch.next {
                Some(next) if next > cursor => cursor = next,
                // Another dispatcher moved the cursor, or nothing more is readable.
                _ => break,
            }
        }
    }
    Ok(queued)
}

struct BatchResult {
    queued: bool,
    next: Option<i64>,
}

async fn dispatch_batch(
    state: &AppState,
    backlog: &Backlog,
    cursor: i64,
) -> StoreResult<BatchResult> {
    let tenant_id = backlog.tenant_id.as_str();
    let store = &state.store;
    let events = store.events_after(tenant_id, cursor, BATCH).await?;
    let Some(last) = events.last().map(|e| e.seq) else {
        // Pruned before it was read (the server was down longer than the log keeps): move
        // on to what is left, since what was pruned is too old to push.
        let floor = store
            .log_bounds(tenant_id)
            .await?
            .map_or(cursor, |b| b.floor);
        let moved = floor > cursor
            && store
                .push()
                .advance(
                    tenant_id,
                    &Advance {
                        from: cursor,
                        to: floor,
                        ..Advance::default()
                    },
                    state.now().timestamp_millis(),
                )
                .await?;
        return Ok(BatchResult {
            queued: false,
            next: moved.then_some(floor),
        });
    };
    let payloads: Vec<_> = events.iter().map(|e| e.payload().ok()).collect();
    let recipients: Vec<Recipient> = store
        .push()
        .targets(tenant_id)
        .await?
        .iter()
        .map(Recipient::from_target)
        .collect();
    let bursts: Vec<String> = (recipients.iter())
        .map(|r| burst::state_key(&r.device_id))
        .collect();
    let ids: Vec<&str> = (payloads.iter().flatten())
        .filter_map(|p| state_of(p).map(|(id, _)| id))
        .chain(bursts.iter().map(String::as_str))
        .collect();
    let remembered = store.push().states(tenant_id, &ids).await?;
    let project_names = if recipients.is_empty() {
        HashMap::new()
    } else {
        project_names(state, tenant_id, &payloads).await?
    };
    let on_a_ladder = payloads.iter().flatten().any(|payload| {
        matches!(payload, EventPayload::Approval(a) if a.escalation.as_ref().is_some_and(|e| e.level > 0))
    });
    let ladder_names = if on_a_ladder && !recipients.is_empty() {
        Some(LevelNames::read(store.as_ref(), tenant_id).await?)
    } else {
        None
    };
    let mut planner = Planner {
        tenant_id,
        now: state.now(),
        recipients: &recipients,
        project_names: &project_names,
        ladder_names: ladder_names.as_ref(),
        detail: tenant::settings(store.as_ref(), tenant_id)
            .await?
            .push_detail,
        states: remembered.clone(),
        settled: HashSet::new(),
        bursts: Bursts::default(),
        pushes: Vec::new(),
    };
    for event in &events {
        planner.plan(event);
    }
    planner.finish(last);
    let Planner {
        states,
        settled,
        pushes,
        ..
    } = planner;
    let forget = (settled.iter())
        .filter(|id| remembered.contains_key(*id))
        .cloned()
        .collect();
    let states = (states.into_iter())
        .filter(|(id, state)| !settled.contains(id) && remembered.get(id) != Some(state))
        .collect();
    let advance = Advance {
        from: cursor,
        to: last,
        states,
        forget,
        pushes,
    };
    let committed = store
        .push()
        .advance(tenant_id, &advance, state.now().timestamp_millis())
        .await?;
    Ok(BatchResult {
        queued: committed && !advance.pushes.is_empty(),
        next: committed.then_some(last),
    })
}

/// The names of the projects these events are about, for the lock-screen line.
async fn project_names(
    state: &AppState,
    tenant_id: &str,
    payloads: &[Option<EventPayload>],
) -> StoreResult<ResourceStates> {
    let mut names = HashMap::new();
    for payload in payloads.iter().flatten() {
        let project_id = match payload {
            EventPayload::Project(p) => {
                names.insert(p.id.clone(), p.name.clone());
                continue;
            }
            EventPayload::Approval(a) => a.project_id.clone(),
            EventPayload::Agent(a) => a.project_id.clone(),
            EventPayload::Stop(s) => match &s.project_id {
                Some(id) => id.clone(),
                None => continue,
            },
            _ => continue,
        };
        if names.contains_key(&project_id) {
            continue;
        }
        if let Some(doc) = state
            .store
            .get_doc(tenant_id, DocKind::Project, &project_id)
            .await?
        {
            if let Ok(project) = serde_json::from_value::<Project>(doc) {
                names.insert(project_id, project.name);
            }
        }
    }
    Ok(names)
}
