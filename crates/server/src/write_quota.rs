//! How fast one writer may write: a bucket of `burst` writes, refilled at `per_second`. The server
//! keeps two (see [`crate::state::Inner`]): one for agents, by agent id, and one for people, by
//! user id (and so per organisation).
//!
//! An agent stuck in a loop (posting the same note, touching the same task, beating its heart
//! as fast as it can), or a person's stolen or buggy client, would otherwise fill every
//! manager's timeline, socket and the event log as fast as it sends; past the bucket it is
//! answered 429 with how long to wait. What must never wait is not counted: an agent's stop
//! acknowledgement, a person's emergency stop and their signing in, refreshing and signing out
//! (see [`crate::auth`]), and reads. Counted per instance: behind a balancer a writer's writes
//! spread over the instances get each instance's allowance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{ApiError, ApiResult};

/// Writers whose buckets are kept at most; past this, the full ones are forgotten (a full
/// bucket is what a forgotten writer starts with), and while more than this are all writing at
/// once, the one nearest full (forgetting it gives its writer least).
const KEPT_AT_MOST: usize = 100_000;

pub struct WriteQuota {
    per_second: f64,
    burst: f64,
    kept_at_most: usize,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    writes_left: f64,
    at: Instant,
}

impl WriteQuota {
    pub fn new(per_second: u32, burst: u32) -> WriteQuota {
        WriteQuota {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            kept_at_most: KEPT_AT_MOST,
            buckets: Mutex::default(),
        }
    }

    /// Counts one write of `writer` now, or refuses it with 429 and the whole seconds to wait.
    pub fn admit(&self, writer: &str) -> ApiResult<()> {
        self.take(writer, Instant::now())
            .map_err(|wait| ApiError::RateLimited {
                retry_after_s: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            })
    }

    /// Counts one write of `writer` at `now`, or says how long it must wait first.
    pub fn take(&self, writer: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= self.kept_at_most && !buckets.contains_key(writer) {
            buckets.retain(|_, bucket| self.refilled(bucket, now) < self.burst);
            if buckets.len() >= self.kept_at_most {
                let nearest_full = buckets
                    .iter()
                    .max_by(|a, b| self.refilled(a.1, now).total_cmp(&self.refilled(b.1, now)))
                    .map(|(writer, _)| writer.clone());
                if let Some(nearest_full) = nearest_full {
                    buckets.remove(&nearest_full);
                }
            }
        }
        let bucket = buckets.entry(writer.to_owned()).or_insert(Bucket {
            writes_left: self.burst,
            at: now,
        });
        bucket.writes_left = self.refilled(bucket, now);
        bucket.at = now;
        if bucket.writes_left >= 1.0 {
            bucket.writes_left -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64(
            (1.0 - bucket.writes_left) / self.per_second,
        ))
    }

    fn refilled(&self, bucket: &Bucket, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        (bucket.writes_left + elapsed * self.per_second).min(self.burst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_writes_its_burst_then_at_the_rate_and_others_are_not_held_back() {
        let quota = WriteQuota::new(2, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(quota.take("agt_loop", start).is_ok());
        }
        let wait = quota.take("agt_loop", start).expect_err("past its burst");
        assert_eq!(
            wait,
            Duration::from_millis(500),
            "one write every half second"
        );
        assert!(
            quota.take("agt_other", start).is_ok(),
            "another agent's own bucket"
        );
        assert!(quota
            .take("agt_loop", start + Duration::from_millis(500))
            .is_ok());
        assert!(quota
            .take("agt_loop", start + Duration::from_millis(500))
            .is_err());
        // Idle long enough, the whole burst is back, never more.
        for _ in 0..3 {
            assert!(quota
                .take("agt_loop", start + Duration::from_secs(60))
                .is_ok());
        }
        assert!(quota
            .take("agt_loop", start + Duration::from_secs(60))
            .is_err());
    }

    #[test]
    fn a_refusal_asks_for_whole_seconds_never_zero() {
        let quota = WriteQuota::new(10, 1);
        assert!(quota.admit("usr_loop").is_ok());
        let Err(ApiError::RateLimited { retry_after_s }) = quota.admit("usr_loop") else {
            panic!("past its burst");
        };
        assert_eq!(retry_after_s, 1, "a tenth of a second, rounded up");
    }

    #[test]
    fn the_buckets_kept_stay_bounded_and_a_held_back_writer_stays_held_back() {
        let mut quota = WriteQuota::new(1, 2);
        quota.kept_at_most = 3;
        let start = Instant::now();
        for _ in 0..2 {
            assert!(quota.take("usr_loop", start).is_ok());
        }
        assert!(quota.take("usr_loop", start).is_err());
        // Writers come and go: the map never holds more than three, and the one emptied is
        // never the one forgotten while others are nearer full.
        for n in 0..50 {
            let _ = quota.take(&format!("usr_{n}"), start);
            assert!(quota.buckets.lock().expect("lock").len() <= 3);
            assert!(
                quota.take("usr_loop", start).is_err(),
                "still held back after writer {n}"
            );
        }
    }
}
