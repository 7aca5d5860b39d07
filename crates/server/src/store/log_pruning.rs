//! Dropping events past retention from each tenant's log, as the sweep does every minute:
//! read forward from the tenant's floor in batches, one short write each.

use super::{Store, StoreResult};

/// A tenant's new floor, given the `(seq, at_ms)` of the events just above its floor in `seq`
/// order: the last before the first one to keep. `None`: nothing to prune.
fn floor_after_pruning(events_above_floor: &[(i64, i64)], older_than_ms: i64) -> Option<i64> {
    events_above_floor
        .iter()
        .take_while(|(_, at_ms)| *at_ms < older_than_ms)
        .last()
        .map(|(seq, _)| *seq)
}

/// What one batch of pruning did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrunedBatch {
    pub floor: i64,
    pub deleted: u64,
    /// Every event the batch read was old: more may follow.
    pub more: bool,
}

impl PrunedBatch {
    /// The new floor, and whether more may follow, given the events just above the floor.
    pub(super) fn of(
        events_above_floor: &[(i64, i64)],
        older_than_ms: i64,
        at_most: i64,
    ) -> Option<(i64, bool)> {
        let floor = floor_after_pruning(events_above_floor, older_than_ms)?;
        let read_all_old = events_above_floor
            .last()
            .is_some_and(|(seq, _)| *seq == floor);
        let full = i64::try_from(events_above_floor.len()).is_ok_and(|read| read >= at_most);
        Some((floor, read_all_old && full))
    }
}

/// How long one sweep prunes the logs at most (the sweep also expires approvals and ends
/// overdue stops, which must not wait long); what is left goes at the next.
const PRUNING_BUDGET: std::time::Duration = std::time::Duration::from_secs(2);

/// Drops events older than the cut-off from every tenant's log, raising each floor: each log
/// read forward from its floor in batches of `batch` events, one short write each, never
/// scanned whole, so no write waits behind a long delete and a busy tenant's backlog goes
/// batch after batch. A tenant whose pruning fails is left to the next sweep; the others go
/// on. Stops after [`PRUNING_BUDGET`]. Returns how many events went.
pub async fn prune_log(store: &dyn Store, older_than_ms: i64, batch: i64) -> StoreResult<u64> {
    let started = std::time::Instant::now();
    let mut pruned = 0;
    for (tenant_id, mut floor) in store.log_floors().await? {
        loop {
            if started.elapsed() > PRUNING_BUDGET {
                return Ok(pruned);
            }
            match store
                .prune_log_batch(&tenant_id, floor, older_than_ms, batch)
                .await
            {
                Ok(Some(done)) => {
                    pruned += done.deleted;
                    floor = done.floor;
                    if !done.more {
                        break;
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, tenant = %tenant_id, "could not prune a tenant's log; the next sweep tries again");
                    break;
                }
            }
        }
    }
    Ok(pruned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_stops_at_the_first_event_to_keep() {
        let cut_off = 25;
        assert_eq!(
            floor_after_pruning(&[(3, 10), (4, 20), (5, 30)], cut_off),
            Some(4)
        );
        assert_eq!(floor_after_pruning(&[(3, 30)], cut_off), None);
        assert_eq!(floor_after_pruning(&[], cut_off), None);
        // A clock set back: an older time after a kept event does not take the kept one along.
        assert_eq!(
            floor_after_pruning(&[(1, 10), (2, 30), (3, 10)], cut_off),
            Some(1)
        );
        // More may follow only a full batch of old events.
        let of = PrunedBatch::of;
        assert_eq!(of(&[(3, 10), (4, 20)], cut_off, 2), Some((4, true)));
        assert_eq!(of(&[(3, 10), (4, 30)], cut_off, 2), Some((3, false)));
        assert_eq!(of(&[(3, 10)], cut_off, 2), Some((3, false)));
    }
}
