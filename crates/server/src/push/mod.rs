//! Push to phones (protocol v1.1): a dispatcher follows each tenant's event log from a stored
//! position and queues what the notification policy says each device's user should hear; a
//! delivery loop sends the queue through Web Push, APNs or FCM. Both run beside the server,
//! never inside a write: a slow push service delays no request.

pub mod apns;
pub mod burst;
pub mod deliver;
pub mod dispatch;
pub mod endpoint;
pub mod errors;
pub mod fcm;
pub mod plan;
pub mod sender;
pub mod vapid;
pub mod webpush;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Notify;

use crate::store::push::PushOutcome;

/// What the request side shares with the push tasks.
#[derive(Default)]
pub struct PushRuntime {
    /// Rung after a commit that appended events: the dispatcher reads the logs.
    pub planning: Notify,
    /// Rung after pushes were queued: the delivery loop looks at the queue.
    pub delivery: Notify,
    /// The VAPID public key subscriptions are made with, once the key is loaded.
    pub vapid_public_key: OnceLock<String>,
    pub counts: PushCounts,
}

/// Every attempt's outcome, counted since start.
#[derive(Debug, Default)]
pub struct PushCounts {
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    pub dropped: AtomicU64,
    pub gone: AtomicU64,
    pub expired: AtomicU64,
    /// Sum of commit-to-accepted times of the sent pushes, in ms.
    pub sent_latency_ms: AtomicU64,
}

impl PushCounts {
    pub fn count(&self, outcome: &PushOutcome) {
        let counter = match outcome {
            PushOutcome::Sent => &self.sent,
            PushOutcome::Retry { .. } => &self.retried,
            PushOutcome::Dropped { .. } => &self.dropped,
            PushOutcome::Gone { .. } => &self.gone,
            PushOutcome::Expired => &self.expired,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn delivered(&self, latency_ms: i64) {
        self.sent_latency_ms
            .fetch_add(u64::try_from(latency_ms).unwrap_or(0), Ordering::Relaxed);
    }
}

/// The push tasks of a running server.
pub struct PushTasks {
    dispatch: tokio::task::JoinHandle<()>,
    deliver: tokio::task::JoinHandle<()>,
}

impl PushTasks {
    /// Waits for both to finish (they stop with the server).
    pub async fn join(self) {
        let _ = self.dispatch.await;
        let _ = self.deliver.await;
    }
}

/// Starts the dispatcher and the delivery loop with these senders, to run while this
/// instance leads the deployment.
pub fn spawn(
    state: crate::state::AppState,
    senders: deliver::Senders,
    leading: tokio::sync::watch::Receiver<bool>,
) -> PushTasks {
    let senders = Arc::new(senders);
    PushTasks {
        dispatch: tokio::spawn(crate::leadership::while_leading(
            state.clone(),
            leading.clone(),
            dispatch::run,
        )),
        deliver: tokio::spawn(crate::leadership::while_leading(
            state,
            leading,
            move |state| deliver::run(state, senders.clone()),
        )),
    }
}

/// The senders the settings call for. A platform left unconfigured is said once, here, and
/// its devices are kept: pushes to them wait, with the reason on the device.
pub fn senders(
    settings: &crate::config::PushSettings,
    vapid: web_push_native::jwt_simple::algorithms::ES256KeyPair,
) -> Result<deliver::Senders, errors::PushSetupError> {
    if settings.insecure_endpoints {
        tracing::warn!(
            "--insecure-push-endpoints is set: Web Push may be sent to plain http:// and private \
             addresses. For local tests only; never run production like this."
        );
    }
    let webpush = webpush::WebPushSender::new(
        vapid,
        settings.contact.clone(),
        settings.insecure_endpoints,
        settings.send_timeout,
    )?;
    let apns: Arc<dyn sender::PushSender> = match &settings.apns {
        Some(apns) => Arc::new(apns::ApnsSender::new(apns, settings.send_timeout)?),
        None => {
            tracing::info!(
                "APNs is not configured (--apns-key-file …): iPhones are kept but not pushed to"
            );
            Arc::new(sender::Unconfigured("APNs"))
        }
    };
    let fcm: Arc<dyn sender::PushSender> = match &settings.fcm {
        Some(fcm) => Arc::new(fcm::FcmSender::new(fcm, settings.send_timeout)?),
        None => {
            tracing::info!("FCM is not configured (--fcm-service-account …): Android phones with Google services are kept but not pushed to");
            Arc::new(sender::Unconfigured("FCM"))
        }
    };
    Ok(deliver::Senders {
        webpush: Arc::new(webpush),
        apns,
        fcm,
    })
}
