//! Sign-in protection: growing delays per client address and account (the bound on password
//! checks running at once is [`crate::passwords`]).
//!
//! Delays are keyed by the pair (address, email) and by the address alone, never by the email
//! alone: whoever guesses at an on-call's password from elsewhere cannot lock them out. An
//! attempt is counted *before* its password is checked, so a burst of concurrent guesses gets
//! no more checks than the same guesses sent one by one.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{ApiError, ApiResult};

/// Failures of one email from one address before delays start.
const FREE_PER_ACCOUNT_AND_ADDRESS: u32 = 5;
/// Failures from one address, over all emails, before delays start (credential stuffing).
const FREE_PER_ADDRESS: u32 = 30;
/// Delays double with each failure past the free ones, up to this.
const LONGEST_DELAY: Duration = Duration::from_secs(15 * 60);
/// A key whose last failure is this old starts afresh.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Above this many keys, old ones are forgotten; memory stays bounded under any flood.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    AccountAtAddress(IpAddr, String),
    Address(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

impl Failures {
    /// How long after the last failure the next attempt must wait.
    fn delay(&self, free: u32) -> Duration {
        match self.count.checked_sub(free) {
            None => Duration::ZERO,
            Some(past_free) => {
                let doubled = Duration::from_secs(1).saturating_mul(1 << past_free.min(20));
                doubled.min(LONGEST_DELAY)
            }
        }
    }
}

#[derive(Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<Key, Failures>>,
}

impl SignInThrottle {
    /// Counts an attempt before its password is checked, or refuses it with how long to wait.
    pub fn reserve(&self, address: IpAddr, email: &str) -> ApiResult<()> {
        let now = Instant::now();
        let keys = keys(address, email);
        let mut failures = self.lock();
        let wait = keys
            .iter()
            .filter_map(|(key, free)| {
                let entry = failures.get(key)?;
                entry
                    .delay(*free)
                    .checked_sub(now.duration_since(entry.last))
            })
            .max();
        if let Some(wait) = wait.filter(|w| !w.is_zero()) {
            return Err(ApiError::RateLimited {
                retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
            });
        }
        forget_old(&mut failures, now);
        for (key, _) in keys {
            let entry = failures.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now.duration_since(entry.last) >= FORGET_AFTER {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
        Ok(())
    }

    /// The attempt was right: the pair starts afresh and the address gets its attempt back.
    pub fn succeeded(&self, address: IpAddr, email: &str) {
        let [(pair, _), (address, _)] = keys(address, email);
        let mut failures = self.lock();
        failures.remove(&pair);
        if let Some(entry) = failures.get_mut(&address) {
            entry.count = entry.count.saturating_sub(1);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Failures>> {
        self.failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn keys(address: IpAddr, email: &str) -> [(Key, u32); 2] {
    [
        (
            Key::AccountAtAddress(address, email.trim().to_lowercase()),
            FREE_PER_ACCOUNT_AND_ADDRESS,
        ),
        (Key::Address(address), FREE_PER_ADDRESS),
    ]
}

fn forget_old(failures: &mut HashMap<Key, Failures>, now: Instant) {
    if failures.len() < MAX_KEYS {
        return;
    }
    failures.retain(|_, entry| now.duration_since(entry.last) < FORGET_AFTER);
    if failures.len() >= MAX_KEYS {
        tracing::warn!(
            keys = failures.len(),
            "sign-in throttle is full of recent failures; forgetting them to stay bounded"
        );
        failures.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn failures_past_the_free_ones_wait_longer_each_time() {
        let throttle = SignInThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT_AND_ADDRESS {
            assert!(throttle.reserve(ip(1), "oncall@acme.test").is_ok());
        }
        let Err(ApiError::RateLimited { retry_after_s }) =
            throttle.reserve(ip(1), "ONCALL@acme.test")
        else {
            panic!("the sixth attempt at once must wait");
        };
        assert_eq!(retry_after_s, 1);
        let mut entry = Failures {
            count: FREE_PER_ACCOUNT_AND_ADDRESS + 3,
            last: Instant::now(),
        };
        assert_eq!(
            entry.delay(FREE_PER_ACCOUNT_AND_ADDRESS),
            Duration::from_secs(8)
        );
        entry.count = u32::MAX;
        assert_eq!(entry.delay(FREE_PER_ACCOUNT_AND_ADDRESS), LONGEST_DELAY);
    }

    #[test]
    fn guesses_from_one_address_never_lock_the_account_out_elsewhere() {
        let throttle = SignInThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT_AND_ADDRESS {
            throttle.reserve(ip(66), "oncall@acme.test").expect("free");
        }
        assert!(throttle.reserve(ip(66), "oncall@acme.test").is_err());
        assert!(throttle.reserve(ip(1), "oncall@acme.test").is_ok());
        throttle.succeeded(ip(1), "oncall@acme.test");
    }

    #[test]
    fn one_address_spraying_many_accounts_is_slowed_too() {
        let throttle = SignInThrottle::default();
        for n in 0..FREE_PER_ADDRESS {
            throttle
                .reserve(ip(9), &format!("user{n}@acme.test"))
                .expect("free");
        }
        assert!(throttle.reserve(ip(9), "someone-else@acme.test").is_err());
        assert!(throttle.reserve(ip(10), "someone-else@acme.test").is_ok());
    }

    #[test]
    fn a_right_password_clears_the_pair() {
        let throttle = SignInThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT_AND_ADDRESS {
            throttle.reserve(ip(1), "a@b.c").expect("free");
        }
        throttle.succeeded(ip(1), "a@b.c");
        assert!(throttle.reserve(ip(1), "a@b.c").is_ok());
    }
}
