//! The outbox worker: delivers whenever woken, retries on a backoff, and notices what other
//! processes sharing the cache queued or synced.

use std::collections::HashSet;
use std::time::Duration;

use super::lanes::holds_a_stop;
use super::Delivery;
use crate::error::CoreError;
use crate::Change;

/// How often an idle outbox worker looks for actions another process sharing the cache (the CLI
/// beside the app) queued: its own queue, the link coming back and its timer wake it, not
/// another process's write. Reading the outbox's keys is one small query.
const OTHER_PROCESSES_LOOKED_AT: Duration = Duration::from_secs(3);

impl Delivery {
    /// Delivers the outbox whenever something is queued or the link returns, retrying on a
    /// backoff: one second while a stop waits (stops are retried hardest), else up to 30 s, or
    /// as long as the server asked (`Retry-After`: the hold-off the loop starts with).
    pub(crate) async fn run(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        // Where the cache stands as this worker starts: what another process applies from here
        // on is news to this one.
        if let Ok(cached) = self.store.last_seq().await {
            *self.noted_elsewhere() = Some(cached);
        }
        let mut failures: u32 = 0;
        loop {
            // Woken (something queued, the link back) while the server asked to be left alone:
            // what waits goes when that wait is over, but a stop, which goes every second.
            while let Some(left) = self.held_off_for() {
                if self.a_stop_waits().await {
                    break;
                }
                if self.idle(left, &mut stop).await.is_none() {
                    return;
                }
            }
            let waiting = match self.flush().await {
                Ok(report) => report.waiting,
                Err(CoreError::SignedOut { .. }) => return,
                Err(error) => {
                    tracing::warn!(%error, "outbox delivery failed");
                    1
                }
            };
            let wait = if waiting == 0 {
                failures = 0;
                Duration::from_secs(3600)
            } else {
                failures = failures.saturating_add(1);
                if self.a_stop_waits().await {
                    Duration::from_secs(1)
                } else {
                    crate::sync::backoff(failures).max(Duration::from_secs(1))
                }
            };
            if self.idle(wait, &mut stop).await.is_none() {
                return;
            }
        }
    }

    /// Waits `wait` at most: less when this process wakes the worker (something queued, the
    /// link back) or another process queued an action in the same cache, which is looked for
    /// every few seconds. `None`: told to stop.
    async fn idle(
        &self,
        wait: Duration,
        stop: &mut tokio::sync::watch::Receiver<bool>,
    ) -> Option<()> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let look = until.min(tokio::time::Instant::now() + OTHER_PROCESSES_LOOKED_AT);
            tokio::select! {
                _ = tokio::time::sleep_until(look) => {}
                _ = self.wakeup.notified() => return Some(()),
                _ = stop.changed() => return None,
            }
            self.another_process_synced().await;
            if look >= until || self.another_process_queued().await {
                return Some(());
            }
        }
    }

    /// Whether another process queued an action this worker has not seen. What another process
    /// changed in the outbox (queued, delivered, refused) is published, for the faces to show.
    async fn another_process_queued(&self) -> bool {
        let keys = match self.store.outbox_keys().await {
            Ok(keys) => keys,
            Err(error) => {
                tracing::debug!(%error, "could not look at the outbox for other processes' actions");
                return false;
            }
        };
        let mut seen = self.seen();
        if *seen == keys {
            return false;
        }
        let queued_elsewhere = !keys.is_subset(&seen);
        *seen = keys;
        drop(seen);
        self.publisher.publish(Change::Outbox);
        queued_elsewhere
    }

    /// Events another process sharing the cache applied (the CLI's `watch` beside the app)
    /// published nothing here, so this app neither showed nor raised what they brought: once
    /// seen, everything is read again, as after a resync, and requests among them are raised.
    /// A first look with nothing noted (the cache unreadable as the worker started) only
    /// notes where it stands.
    async fn another_process_synced(&self) {
        let Ok(cached) = self.store.last_seq().await else {
            return;
        };
        let mut noted = self.noted_elsewhere();
        let known = noted.unwrap_or(cached).max(self.publisher.applied_here());
        *noted = Some(cached.max(known));
        if cached > known {
            drop(noted);
            self.publisher.publish(Change::Resynced);
        }
    }

    fn noted_elsewhere(&self) -> std::sync::MutexGuard<'_, Option<i64>> {
        self.synced_elsewhere_to
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn seen(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn a_stop_waits(&self) -> bool {
        self.store
            .outbox()
            .await
            .is_ok_and(|entries| holds_a_stop(&self.waiting(entries)))
    }
}
