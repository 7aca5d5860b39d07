//! Sends queued pushes to their push services: many at once, each with a deadline, with at
//! most a few in flight per tenant, so one slow or hung push service (or one tenant with many
//! devices) never holds up another tenant's pushes. Failures are retried with backoff while
//! the push is still of use; a device its push service calls gone is removed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use spartex_api::{Approval, Platform, PushKind, RegisterDeviceRequest};
use tokio::task::JoinSet;

use super::plan::QueuedMessage;
use super::sender::{PushMessage, PushSender, Sent};
use crate::error::ApiResult;
use crate::http::read_optional;
use crate::log_every::{LogEvery, ONCE_A_MINUTE};
use crate::service::escalation;
use crate::state::AppState;
use crate::store::push::{PushOutcome, QueuedPush};
use crate::store::WriteScope;
use crate::write::Write;

/// Attempts in flight at once, all tenants together.
const MAX_IN_FLIGHT: usize = 256;
/// Attempts in flight for one tenant: the rest of its queue waits its turn.
const MAX_IN_FLIGHT_PER_TENANT: usize = 64;
/// Batches of bounced pages waiting for their ladders; past this, a bounce is logged and left
/// (the trail keeps saying "sent", and the next level fires at its time).
const BOUNCES_WAITING: usize = 64;
/// Failed tries after which a page still being retried counts as bounced for its ladder (it
/// goes on being retried): about 3 s of backoff, not the next level's whole wait.
const PAGE_TRIES_BEFORE_BOUNCE: i64 = 3;
/// How long a push for a platform this server has no sender for waits before it is looked at
/// again (a restart with the platform configured sends it).
const UNCONFIGURED_RETRY: Duration = Duration::from_secs(3600);
/// How long a stopping server waits for bounced pages to reach their ladders.
const LADDERS_AT_SHUTDOWN: Duration = Duration::from_secs(5);
/// How many due pushes one look at the queue takes.
const BATCH: i64 = 512;
/// The longest the loop sleeps without looking at the queue (a wake-up can be missed when
/// a push is queued by another instance, or the clock is moved in a test).
const IDLE_LOOK: Duration = Duration::from_millis(500);

/// The sender of each platform.
pub struct Senders {
    pub webpush: Arc<dyn PushSender>,
    pub apns: Arc<dyn PushSender>,
    pub fcm: Arc<dyn PushSender>,
}

impl Senders {
    fn of(&self, platform: Platform) -> Arc<dyn PushSender> {
        match platform {
            Platform::Webpush => self.webpush.clone(),
            Platform::Apns => self.apns.clone(),
            Platform::Fcm => self.fcm.clone(),
        }
    }
}

/// The wait before attempt `attempts + 1`: 1 s, 2 s, 4 s … at most 5 minutes.
pub fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 9)).unwrap_or(9);
    Duration::from_secs(2u64.pow(exponent)).min(Duration::from_secs(300))
}

/// Runs until the server stops.
pub async fn run(state: AppState, senders: Arc<Senders>) {
    let mut flight = Flight::default();
    let mut attempts: JoinSet<(QueuedPush, Sent)> = JoinSet::new();
    // Bounced pages go to one task that puts them on their ladders' trails, off this loop, so
    // a tenant's write turn never holds up another tenant's pushes.
    let (bounces, heard) = tokio::sync::mpsc::channel(BOUNCES_WAITING);
    let ladders = tokio::spawn(tell_the_ladders(state.clone(), heard));
    // Due pushes read but not started yet (their tenant was at its cap): started before the
    // queue is read again, so a large batch is read once, not once per completion.
    let mut waiting: VecDeque<QueuedPush> = VecDeque::new();
    let mut look = true;
    // A database that is down fails every look at the queue.
    let unreadable = LogEvery::new(ONCE_A_MINUTE);
    let stopping = state.stopping();
    tokio::pin!(stopping);
    loop {
        let now_ms = state.now().timestamp_millis();
        if look {
            let busy = flight.busy_tenants();
            match state.store.push().due(now_ms, BATCH, &busy).await {
                Ok(due) => {
                    if unreadable.passed() {
                        tracing::info!("the push queue can be read again");
                    }
                    waiting = due.into_iter().filter(|p| !flight.holds(p)).collect();
                }
                Err(error) => {
                    if let Some(failed_since_last_said) = unreadable.now() {
                        tracing::warn!(%error, failed_since_last_said, "could not read the push queue; retrying (said once a minute)");
                    }
                }
            }
        }
        let mut expired = Vec::new();
        let mut held_back = VecDeque::new();
        while let Some(push) = waiting.pop_front() {
            if attempts.len() >= MAX_IN_FLIGHT {
                held_back.push_back(push);
                continue;
            }
            if flight.holds(&push) {
                continue;
            }
            if push.expires_at_ms <= now_ms {
                expired.push((push, PushOutcome::Expired));
                continue;
            }
            if !flight.take(&push) {
                held_back.push_back(push);
                continue;
            }
            let sender = senders.of(push.platform);
            let timeout = state.settings.push.send_timeout;
            attempts.spawn(async move {
                let sent = attempt(sender.as_ref(), &push, now_ms, timeout).await;
                (push, sent)
            });
        }
        waiting = held_back;
        settle(&state, expired).await;
        tokio::select! {
            Some(done) = attempts.join_next(), if !attempts.is_empty() => {
                // Settle every attempt that has finished by now in one transaction.
                let mut finished = vec![done];
                while let Some(more) = attempts.try_join_next() {
                    finished.push(more);
                }
                let mut settled = Vec::with_capacity(finished.len());
                let mut bounced: Vec<BouncedPage> = Vec::new();
                for (push, sent) in finished.into_iter().flatten() {
                    flight.release(&push);
                    if will_not_arrive(&push, &sent) {
                        bounced.extend(bounced_page(&push));
                    }
                    let outcome = outcome(&state, &push, sent);
                    settled.push((push, outcome));
                }
                settle(&state, settled).await;
                if !bounced.is_empty() && bounces.try_send(bounced).is_err() {
                    tracing::warn!("too many bounced pages waiting for their ladders; some trails keep saying sent");
                }
                look = waiting.is_empty();
            }
            () = state.pushes.delivery.notified() => look = true,
            () = tokio::time::sleep(IDLE_LOOK) => look = true,
            () = &mut stopping => break,
        }
    }
    attempts.shutdown().await;
    drop(bounces);
    if tokio::time::timeout(LADDERS_AT_SHUTDOWN, ladders)
        .await
        .is_err()
    {
        tracing::warn!("bounced pages still being put on their ladders at shutdown; left");
    }
}

/// The pushes in flight, and how many of each tenant's.
#[derive(Default)]
struct Flight {
    ids: HashSet<i64>,
    per_tenant: HashMap<String, usize>,
}

impl Flight {
    /// Tenants at their cap: the next read of the queue leaves them out, so one tenant's
    /// backlog cannot fill the batch.
    fn busy_tenants(&self) -> Vec<&str> {
        self.per_tenant
            .iter()
            .filter(|(_, load)| **load >= MAX_IN_FLIGHT_PER_TENANT)
            .map(|(tenant, _)| tenant.as_str())
            .collect()
    }

    fn holds(&self, push: &QueuedPush) -> bool {
        self.ids.contains(&push.id)
    }

    /// Counts the push in flight, unless its tenant is at its cap.
    fn take(&mut self, push: &QueuedPush) -> bool {
        let load = self.per_tenant.entry(push.tenant_id.clone()).or_default();
        if *load >= MAX_IN_FLIGHT_PER_TENANT {
            return false;
        }
        *load += 1;
        self.ids.insert(push.id);
        true
    }

    fn release(&mut self, push: &QueuedPush) {
        self.ids.remove(&push.id);
        if let Some(load) = self.per_tenant.get_mut(&push.tenant_id) {
            *load = load.saturating_sub(1);
        }
    }
}

async fn attempt(
    sender: &dyn PushSender,
    push: &QueuedPush,
    now_ms: i64,
    timeout: Duration,
) -> Sent {
    let device: RegisterDeviceRequest = match serde_json::from_str(&push.registration) {
        Ok(device) => device,
        Err(error) => return Sent::Refused(format!("the stored registration is damaged: {error}")),
    };
    // Plain again here for a push queued by a server that did not make it so (they live
    // up to a day).
    let queued = match serde_json::from_str::<QueuedMessage>(&push.payload) {
        Ok(queued) => queued.shown_plainly(),
        Err(error) => return Sent::Refused(format!("the queued push is damaged: {error}")),
    };
    let ttl_ms = u64::try_from(push.expires_at_ms - now_ms).unwrap_or(0);
    let message = PushMessage {
        payload: serde_json::to_string(&queued.payload).unwrap_or_default(),
        kind: queued.payload.kind,
        collapse_key: push.collapse_key.clone(),
        urgent: push.urgent,
        ttl: Duration::from_millis(ttl_ms).max(Duration::from_secs(1)),
        title: queued.payload.title.clone(),
        body: queued.body,
        risk: queued.payload.risk,
    };
    // The senders set their own deadlines; this one also catches a sender that forgets.
    match tokio::time::timeout(
        timeout + Duration::from_secs(1),
        sender.send(&device, &message),
    )
    .await
    {
        Ok(sent) => sent,
        Err(_) => Sent::Retry {
            error: format!(
                "the push service did not answer within {} s",
                timeout.as_secs()
            ),
            after: None,
        },
    }
}

fn outcome(state: &AppState, push: &QueuedPush, sent: Sent) -> PushOutcome {
    let now_ms = state.now().timestamp_millis();
    match sent {
        Sent::Accepted => {
            state.pushes.counts.delivered(now_ms - push.committed_at_ms);
            PushOutcome::Sent
        }
        Sent::Gone(error) => {
            tracing::info!(device = %push.device_id, %error, "push service says the device is gone; removing it");
            PushOutcome::Gone { error }
        }
        Sent::Retry { error, after } => {
            let wait = after
                .unwrap_or_else(|| backoff(push.attempts))
                .max(backoff(push.attempts));
            let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
            tracing::debug!(device = %push.device_id, %error, attempts = push.attempts + 1, "push failed; retrying");
            PushOutcome::Retry {
                error,
                next_attempt_at_ms: now_ms.saturating_add(wait_ms),
            }
        }
        Sent::Refused(error) => {
            tracing::warn!(device = %push.device_id, %error, "push refused; dropping it");
            PushOutcome::Dropped { error }
        }
        Sent::NotConfigured(error) => {
            let wait_ms = i64::try_from(UNCONFIGURED_RETRY.as_millis()).unwrap_or(i64::MAX / 2);
            PushOutcome::Retry {
                error,
                next_attempt_at_ms: now_ms.saturating_add(wait_ms),
            }
        }
    }
}

/// Whether, as far as an escalation ladder is concerned, the push will not arrive: its device
/// is gone, its push service refused it, this server cannot send to its platform, or it has
/// failed [`PAGE_TRIES_BEFORE_BOUNCE`] tries in a row (it is still retried). The ladder then
/// tells its next level instead of waiting out the level's time on a page that may never come.
fn will_not_arrive(push: &QueuedPush, sent: &Sent) -> bool {
    match sent {
        Sent::Accepted => false,
        Sent::Gone(_) | Sent::Refused(_) | Sent::NotConfigured(_) => true,
        Sent::Retry { .. } => push.attempts + 1 >= PAGE_TRIES_BEFORE_BOUNCE,
    }
}

/// A page for a request that will not arrive: (tenant, approval, user).
type BouncedPage = (String, String, String);

/// The page `push` was, if it announced a request (one that [`will_not_arrive`]): the
/// request's escalation ladder needs to know.
fn bounced_page(push: &QueuedPush) -> Option<BouncedPage> {
    let queued: QueuedMessage = serde_json::from_str(&push.payload).ok()?;
    if queued.payload.kind != PushKind::ApprovalRequested {
        return None;
    }
    Some((
        push.tenant_id.clone(),
        queued.payload.approval_id?,
        push.user_id.clone(),
    ))
}

/// Tells each request's ladder of its bounced pages, batch by batch as the sender settles them
/// (after their attempts were recorded, so the ladder sees the devices gone or failing), until
/// the sender stops.
async fn tell_the_ladders(
    state: AppState,
    mut heard: tokio::sync::mpsc::Receiver<Vec<BouncedPage>>,
) {
    while let Some(bounced) = heard.recv().await {
        tell_the_ladders_of(&state, bounced).await;
    }
}

async fn tell_the_ladders_of(state: &AppState, bounced: Vec<BouncedPage>) {
    let mut by_request: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (tenant_id, approval_id, user_id) in bounced {
        by_request
            .entry((tenant_id, approval_id))
            .or_default()
            .insert(user_id);
    }
    for ((tenant_id, approval_id), user_ids) in by_request {
        let user_ids: Vec<String> = user_ids.into_iter().collect();
        if let Err(error) = tell_the_ladder(state, &tenant_id, &approval_id, &user_ids).await {
            tracing::warn!(%error, approval = %approval_id, "could not put a bounced page on the ladder's trail");
        }
    }
}

/// Puts pages to `user_ids` that bounced on `approval_id`'s trail; a request off any ladder,
/// most of them, is passed over on a read, without taking its tenant's write turn.
async fn tell_the_ladder(
    state: &AppState,
    tenant_id: &str,
    approval_id: &str,
    user_ids: &[String],
) -> ApiResult<()> {
    let on_a_ladder = read_optional::<Approval>(state, tenant_id, approval_id)
        .await?
        .is_some_and(|a| escalation::bounce_matters(&a, user_ids, state.now()));
    if !on_a_ladder {
        return Ok(());
    }
    let mut w = Write::begin(state, WriteScope::Tenant(tenant_id)).await?;
    escalation::pages_bounced(&mut w, tenant_id, approval_id, user_ids).await?;
    w.commit().await.map(drop)
}

async fn settle(state: &AppState, settled: Vec<(QueuedPush, PushOutcome)>) {
    if settled.is_empty() {
        return;
    }
    for (_, outcome) in &settled {
        state.pushes.counts.count(outcome);
    }
    let now_ms = state.now().timestamp_millis();
    if let Err(error) = state.store.push().settle_all(&settled, now_ms).await {
        tracing::warn!(%error, "could not record push attempts; they will be tried again");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps the message it is given.
    #[derive(Default)]
    struct Recording(std::sync::Mutex<Option<PushMessage>>);

    #[async_trait::async_trait]
    impl PushSender for Recording {
        async fn send(&self, _device: &RegisterDeviceRequest, message: &PushMessage) -> Sent {
            *self.0.lock().expect("not poisoned") = Some(message.clone());
            Sent::Accepted
        }
    }

    #[tokio::test]
    async fn a_push_queued_with_hidden_characters_is_sent_as_plain_text() {
        // As a server before plain text queued it.
        let queued = serde_json::json!({
            "payload": {
                "v": 1, "type": "approval.requested", "tenant_id": "ten_1",
                "approval_id": "apr_1", "project_id": "prj_1",
                "project_name": "Spring\u{2066} Sale\u{2069}",
                "title": "Pay $\u{202E}005\u{200B}", "risk": "high", "seq": 7
            },
            "body": "Approved by Da\u{202E}na\nProject: Spring Sale"
        });
        let device = RegisterDeviceRequest::Fcm {
            push_token: "token".into(),
        };
        let push = QueuedPush {
            id: 1,
            version: 1,
            tenant_id: "ten_1".into(),
            device_id: "dev_1".into(),
            user_id: "usr_1".into(),
            platform: Platform::Fcm,
            registration: serde_json::to_string(&device).expect("json"),
            collapse_key: "approval:apr_1".into(),
            payload: queued.to_string(),
            urgent: true,
            expires_at_ms: 60_000,
            attempts: 0,
            committed_at_ms: 0,
        };
        let sender = Recording::default();
        let sent = attempt(&sender, &push, 0, Duration::from_secs(5)).await;
        assert_eq!(sent, Sent::Accepted);
        let message = sender.0.lock().expect("not poisoned").take().expect("sent");
        assert_eq!(message.title, "Pay $005");
        assert_eq!(message.body, "Approved by Dana\nProject: Spring Sale");
        let payload: spartex_api::PushPayload =
            serde_json::from_str(&message.payload).expect("a payload");
        assert_eq!(payload.title, "Pay $005");
        assert_eq!(payload.project_name.as_deref(), Some("Spring Sale"));
    }

    #[test]
    fn backoff_doubles_up_to_five_minutes() {
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(300));
        assert_eq!(backoff(-1), Duration::from_secs(1));
    }
}
