//! How fast one agent may write: a bucket of `burst` writes, refilled at `per_second`. An agent
//! stuck in a loop (posting the same note, touching the same task, beating its heart as fast as
//! it can) would otherwise fill every manager's timeline and the event log as fast as it sends;
//! it is answered 429 with how long to wait. Acknowledging a stop is never held back, and reads
//! are not counted. Counted per instance: behind a balancer an agent's writes spread over the
//! instances get each instance's allowance.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Agents whose buckets are kept at most; past this, the full ones are forgotten (a full
/// bucket is what a forgotten agent starts with).
const KEPT_AT_MOST: usize = 100_000;

pub struct AgentQuota {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    writes_left: f64,
    at: Instant,
}

impl AgentQuota {
    pub fn new(per_second: u32, burst: u32) -> AgentQuota {
        AgentQuota {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::default(),
        }
    }

    /// Counts one write of `agent_id` at `now`, or says how long it must wait first.
    pub fn take(&self, agent_id: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= KEPT_AT_MOST && !buckets.contains_key(agent_id) {
            buckets.retain(|_, bucket| self.refilled(bucket, now) < self.burst);
        }
        let bucket = buckets.entry(agent_id.to_owned()).or_insert(Bucket {
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
        let quota = AgentQuota::new(2, 3);
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
}
