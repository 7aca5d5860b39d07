//! What the announcements heard ask of the database, kept apart from what they ask of memory
//! alone: a stop for an agent connected here is handed on as it is heard, while catching
//! sockets up on another instance's events reads the log, which can wait 10 s for a pooled
//! connection (a burst of writes, a busy pool), and each announcement once waited behind every
//! read before it. A burst of one tenant's events costs one catch-up: its ranges heard while
//! one waits are made one.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::Said;

/// Frames read by id (long messages, long asks) waiting for their read; past this many, one
/// more is not sent (said in the log), where waiting for room would hold up every stop.
pub(super) const READS_QUEUED_AT_MOST: usize = 4096;

/// One thing to read, in the order heard.
#[derive(Debug, PartialEq)]
pub(super) enum Work {
    /// Publish the tenant's events from `first` to `last`, which another instance committed.
    CatchUp {
        tenant: String,
        first: i64,
        last: i64,
    },
    /// Read what an agent connected here is sent by id, and send it.
    Read(Said),
    /// Announcements were lost for this long: read what they would have said.
    Missed(Duration),
}

/// Where queued, a tenant's catch-up holds only its place: its range is in `ranges`.
enum Queued {
    CatchUp(String),
    Read(Said),
    Missed(Duration),
}

#[derive(Default)]
struct Queue {
    work: VecDeque<Queued>,
    /// Every range heard for a tenant since its queued catch-up was, as one.
    ranges: HashMap<String, (i64, i64)>,
    reads: usize,
    closed: bool,
}

/// The reads announcements asked for and not yet done: filled as they are heard, worked
/// through one at a time.
#[derive(Default)]
pub(super) struct Backlog {
    queue: Mutex<Queue>,
    added: Notify,
}

impl Backlog {
    /// Another instance committed the tenant's events from `first` to `last`.
    pub(super) fn catch_up(&self, tenant: String, first: i64, last: i64) {
        let mut queue = self.queue();
        let Queue { work, ranges, .. } = &mut *queue;
        match ranges.entry(tenant) {
            Entry::Occupied(mut queued) => {
                let range = queued.get_mut();
                *range = (range.0.min(first), range.1.max(last));
            }
            Entry::Vacant(new) => {
                work.push_back(Queued::CatchUp(new.key().clone()));
                new.insert((first, last));
                drop(queue);
                self.added.notify_one();
            }
        }
    }

    /// A frame for an agent connected here, read by id. False when too many wait already.
    pub(super) fn read(&self, said: Said) -> bool {
        let mut queue = self.queue();
        if queue.reads >= READS_QUEUED_AT_MOST {
            return false;
        }
        queue.reads += 1;
        queue.work.push_back(Queued::Read(said));
        drop(queue);
        self.added.notify_one();
        true
    }

    /// Announcements of the last `unheard_for` were lost; a read of them already queued reads
    /// as far back as the longer of the two.
    pub(super) fn missed(&self, unheard_for: Duration) {
        let mut queue = self.queue();
        let queued = queue.work.iter_mut().find_map(|work| match work {
            Queued::Missed(queued) => Some(queued),
            _ => None,
        });
        match queued {
            Some(queued) => *queued = (*queued).max(unheard_for),
            None => {
                queue.work.push_back(Queued::Missed(unheard_for));
                drop(queue);
                self.added.notify_one();
            }
        }
    }

    /// Nothing more is heard: [`Backlog::next`] answers `None` from now on.
    pub(super) fn close(&self) {
        self.queue().closed = true;
        self.added.notify_one();
    }

    /// The next thing to read, waiting for one; `None` once closed.
    pub(super) async fn next(&self) -> Option<Work> {
        loop {
            if let Some(work) = self.take() {
                return work;
            }
            self.added.notified().await;
        }
    }

    /// `Some(None)` once closed, `None` while there is nothing to do.
    fn take(&self) -> Option<Option<Work>> {
        let mut queue = self.queue();
        if queue.closed {
            return Some(None);
        }
        let work = match queue.work.pop_front()? {
            Queued::CatchUp(tenant) => {
                let (first, last) = queue.ranges.remove(&tenant).unwrap_or_default();
                Work::CatchUp {
                    tenant,
                    first,
                    last,
                }
            }
            Queued::Read(said) => {
                queue.reads -= 1;
                Work::Read(said)
            }
            Queued::Missed(unheard_for) => Work::Missed(unheard_for),
        };
        Some(Some(work))
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catch_up(tenant: &str, first: i64, last: i64) -> Option<Work> {
        Some(Work::CatchUp {
            tenant: tenant.into(),
            first,
            last,
        })
    }

    #[tokio::test]
    async fn a_burst_of_one_tenants_events_is_one_catch_up() {
        let backlog = Backlog::default();
        for seq in 1..=500 {
            backlog.catch_up("ten_a".into(), seq, seq);
            if seq == 3 {
                backlog.catch_up("ten_b".into(), 7, 9);
            }
        }
        backlog.catch_up("ten_b".into(), 10, 10);
        assert_eq!(backlog.next().await, catch_up("ten_a", 1, 500));
        // Heard once its catch-up was under way: another after the ones queued before.
        backlog.catch_up("ten_a".into(), 501, 501);
        assert_eq!(backlog.next().await, catch_up("ten_b", 7, 10));
        assert_eq!(backlog.next().await, catch_up("ten_a", 501, 501));
        assert!(backlog.take().is_none(), "nothing more to do");
    }

    #[tokio::test]
    async fn reads_wait_in_the_order_heard_up_to_a_bound() {
        let backlog = Backlog::default();
        let ask = |n: usize| Said::AgentAskAgain {
            tenant: "ten_a".into(),
            agent: "agt_1".into(),
            approval: format!("apr_{n}"),
        };
        for n in 0..READS_QUEUED_AT_MOST {
            assert!(backlog.read(ask(n)));
        }
        assert!(!backlog.read(ask(READS_QUEUED_AT_MOST)), "past the bound");
        backlog.missed(Duration::from_secs(2));
        backlog.missed(Duration::from_secs(9));
        backlog.missed(Duration::from_secs(1));
        assert_eq!(backlog.next().await, Some(Work::Read(ask(0))));
        assert!(backlog.read(ask(READS_QUEUED_AT_MOST)), "room again");
        for n in 1..READS_QUEUED_AT_MOST {
            assert_eq!(backlog.next().await, Some(Work::Read(ask(n))));
        }
        assert_eq!(
            backlog.next().await,
            Some(Work::Missed(Duration::from_secs(9))),
            "one read of what was missed, as far back as the longest"
        );
        assert_eq!(
            backlog.next().await,
            Some(Work::Read(ask(READS_QUEUED_AT_MOST)))
        );
        backlog.close();
        assert_eq!(backlog.next().await, None);
    }
}
