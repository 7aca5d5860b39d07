//! Recording how an action the server answered ended: in the cache, or, while its disk is
//! full, in memory until there is room, so that it is neither sent again nor shown as waiting.

use std::collections::HashMap;

use spartex_api::EventPayload;

use super::Delivery;
use crate::error::{CoreError, CoreResult};
use crate::store::{OutboxEntry, StoreError, StoreResult};
use crate::{Change, Outcome};

/// How an action the server answered ended, kept in memory while the cache cannot record it
/// (its disk is full): written once there is room.
#[derive(Clone)]
pub(super) enum Unrecorded {
    Delivered {
        answer: EventPayload,
        outcome: Option<Outcome>,
    },
    TakenUnread {
        outcome: Outcome,
    },
    Refused {
        outcome: Outcome,
        current: Option<EventPayload>,
    },
}

impl Delivery {
    /// Records how an action the server answered ended. On a full disk the end is kept in memory
    /// instead, so that the action is neither sent again every second nor shown as waiting; the
    /// next flush records it once there is room.
    pub(super) async fn record(&self, entry: &OutboxEntry, end: Unrecorded) -> CoreResult<()> {
        match self.write_end(entry, end.clone()).await {
            Ok(()) => Ok(()),
            Err(StoreError::DiskFull) => {
                tracing::warn!(action = %entry.label, "the server took the action, but the cache's disk is full: its end is recorded once there is room");
                self.unrecorded_ends()
                    .insert(entry.idempotency_key.clone(), end);
                self.publisher.publish(Change::Outbox);
                Ok(())
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn write_end(&self, entry: &OutboxEntry, end: Unrecorded) -> StoreResult<()> {
        match end {
            Unrecorded::Delivered { answer, outcome } => {
                let changes = (self.store)
                    .outbox_delivered(entry, answer, outcome.as_ref())
                    .await?;
                self.publisher.publish_all(changes);
            }
            Unrecorded::TakenUnread { outcome } => {
                self.store.outbox_taken_unread(entry, &outcome).await?;
            }
            Unrecorded::Refused { outcome, current } => {
                self.store.outbox_refused(entry, &outcome, current).await?;
            }
        }
        Ok(())
    }

    /// Tries again to record the end of an action the server answered before the disk had
    /// room; on a full disk it stays in memory.
    pub(super) async fn record_again(&self, entry: &OutboxEntry) -> CoreResult<()> {
        let Some(end) = self.unrecorded_end(entry) else {
            return Ok(());
        };
        match self.write_end(entry, end).await {
            Ok(()) => {
                self.unrecorded_ends().remove(&entry.idempotency_key);
                self.publisher.publish(Change::Outbox);
                Ok(())
            }
            Err(StoreError::DiskFull) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// A failed attempt is noted on the entry; on a full disk it is not, and the entry waits
    /// as it was.
    pub(super) async fn attempt_failed(
        &self,
        entry: &OutboxEntry,
        error: &CoreError,
    ) -> CoreResult<()> {
        match (self.store)
            .outbox_attempt_failed(entry.id, &error.to_string())
            .await
        {
            Err(StoreError::DiskFull) => Ok(()),
            noted => Ok(noted?),
        }
    }

    pub(super) fn unrecorded_end(&self, entry: &OutboxEntry) -> Option<Unrecorded> {
        self.unrecorded_ends().get(&entry.idempotency_key).cloned()
    }

    pub(super) fn unrecorded_ends(&self) -> std::sync::MutexGuard<'_, HashMap<String, Unrecorded>> {
        self.unrecorded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What still waits of `entries`: those the server answered whose end the cache could not
    /// record yet are left out.
    pub(crate) fn waiting(&self, entries: Vec<OutboxEntry>) -> Vec<OutboxEntry> {
        let unrecorded = self.unrecorded_ends();
        if unrecorded.is_empty() {
            return entries;
        }
        (entries.into_iter())
            .filter(|entry| !unrecorded.contains_key(&entry.idempotency_key))
            .collect()
    }
}
