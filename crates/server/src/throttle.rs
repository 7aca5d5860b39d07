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
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};
use crate::listener::per_ip::client_key;
use crate::store::{FailureCount, SharedCounters};

/// Failures of one email from one address before delays start.
const FREE_PER_ACCOUNT_AND_ADDRESS: u32 = 5;
/// Failures from one address, over all emails, before delays start (credential stuffing).
const FREE_PER_ADDRESS: u32 = 30;
/// Delays double with each failure past the free ones, up to this.
const LONGEST_DELAY: Duration = Duration::from_secs(15 * 60);
/// A key whose last failure is this old starts afresh.
pub const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Above this many keys, old ones are forgotten; memory stays bounded under any flood.
const MAX_KEYS: usize = 100_000;

/// How long after its last failure a key's next attempt must wait, in ms.
fn delay_ms(failures: &FailureCount, free: u32) -> i64 {
    match failures.count.checked_sub(free) {
        None => 0,
        Some(past_free) => {
            let doubled = Duration::from_secs(1).saturating_mul(1 << past_free.min(20));
            i64::try_from(doubled.min(LONGEST_DELAY).as_millis()).unwrap_or(i64::MAX)
        }
    }
}

/// What one attempt does to the counters of its keys: new values (`None` forgets a key), or
/// a refusal with the seconds to wait.
pub type Verdict = Result<Vec<Option<FailureCount>>, u64>;

/// Says what an attempt does, given the current counters of its keys.
pub type Decide = dyn for<'a> Fn(&'a [Option<FailureCount>]) -> Verdict + Send + Sync;

/// The counters, kept in this process or, with several instances, in the database they share
/// (so that guesses spread over the instances behind one address are counted together).
#[derive(Default)]
pub struct SignInThrottle {
    in_process: Mutex<HashMap<String, FailureCount>>,
}

impl SignInThrottle {
    /// Counts an attempt before its password is checked, or refuses it with how long to wait.
    pub async fn reserve(
        &self,
        shared: Option<&dyn SharedCounters>,
        address: IpAddr,
        email: &str,
    ) -> ApiResult<()> {
        let now_ms = wall_clock_ms();
        let keys = keys(address, email);
        let frees = [FREE_PER_ACCOUNT_AND_ADDRESS, FREE_PER_ADDRESS];
        let outcome = self
            .update(shared, &keys, &move |current: &[Option<FailureCount>]| {
                let wait_ms = current
                    .iter()
                    .zip(frees)
                    .filter_map(|(entry, free)| {
                        let entry = entry.as_ref()?;
                        Some(delay_ms(entry, free) - (now_ms - entry.last_ms))
                    })
                    .max()
                    .unwrap_or(0);
                if wait_ms > 0 {
                    return Err(u64::try_from((wait_ms + 999) / 1000).unwrap_or(1).max(1));
                }
                Ok(current
                    .iter()
                    .map(|entry| {
                        let count = match entry {
                            Some(entry) if now_ms - entry.last_ms < forget_after_ms() => {
                                entry.count.saturating_add(1)
                            }
                            _ => 1,
                        };
                        Some(FailureCount {
                            count,
                            last_ms: now_ms,
                        })
                    })
                    .collect())
            })
            .await?;
        outcome.map_err(|retry_after_s| ApiError::RateLimited { retry_after_s })
    }

    /// The attempt was right: the pair starts afresh and the address gets its attempt back.
    pub async fn succeeded(
        &self,
        shared: Option<&dyn SharedCounters>,
        address: IpAddr,
        email: &str,
    ) -> ApiResult<()> {
        let keys = keys(address, email);
        self.update(shared, &keys, &|current: &[Option<FailureCount>]| {
            let address = current.get(1).copied().flatten().map(|entry| FailureCount {
                count: entry.count.saturating_sub(1),
                ..entry
            });
            Ok(vec![None, address])
        })
        .await?
        .map_err(|retry_after_s| ApiError::RateLimited { retry_after_s })
    }

    async fn update(
        &self,
        shared: Option<&dyn SharedCounters>,
        keys: &[String],
        decide: &Decide,
    ) -> ApiResult<Result<(), u64>> {
        if let Some(shared) = shared {
            return Ok(shared.update_counters(keys, decide).await?);
        }
        let mut counters = self
            .in_process
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let current: Vec<Option<FailureCount>> =
            keys.iter().map(|key| counters.get(key).copied()).collect();
        let updated = match decide(&current) {
            Ok(updated) => updated,
            Err(wait) => return Ok(Err(wait)),
        };
        forget_old(&mut counters, wall_clock_ms());
        for (key, value) in keys.iter().zip(updated) {
            match value {
                Some(value) => counters.insert(key.clone(), value),
                None => counters.remove(key),
            };
        }
        Ok(Ok(()))
    }
}

fn wall_clock_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn forget_after_ms() -> i64 {
    i64::try_from(FORGET_AFTER.as_millis()).unwrap_or(i64::MAX)
}

/// The pair (address, email) and the address alone, hashed: a table of failed sign-ins
/// holds no email addresses. An IPv6 address counts as its /64, as the connection limit counts
/// it: a client is handed the whole /64 and could otherwise guess from a new address each time.
fn keys(address: IpAddr, email: &str) -> Vec<String> {
    let address = client_key(address);
    let pair = format!("{address}|{}", email.trim().to_lowercase());
    [pair, address.to_string()]
        .iter()
        .map(|key| format!("{:x}", Sha256::digest(key.as_bytes())))
        .collect()
}

fn forget_old(counters: &mut HashMap<String, FailureCount>, now_ms: i64) {
    if counters.len() < MAX_KEYS {
        return;
    }
    counters.retain(|_, entry| now_ms - entry.last_ms < forget_after_ms());
    if counters.len() >= MAX_KEYS {
        // Full of recent failures (a flood from many addresses): the keys with the fewest go,
        // so whoever has failed most, the guesser a flood would hide, still waits.
        let mut counts: Vec<u32> = counters.values().map(|entry| entry.count).collect();
        let (_, &mut median, _) = counts.select_nth_unstable(MAX_KEYS / 2);
        counters.retain(|_, entry| entry.count > median);
        tracing::warn!(
            kept = counters.len(),
            "sign-in throttle is full of recent failures; forgot those with {median} or fewer to stay bounded"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[tokio::test]
    async fn failures_past_the_free_ones_wait_longer_each_time() {
        let throttle = SignInThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT_AND_ADDRESS {
            assert!(throttle
                .reserve(None, ip(1), "oncall@acme.test")
                .await
                .is_ok());
        }
        let Err(ApiError::RateLimited { retry_after_s }) =
            throttle.reserve(None, ip(1), "ONCALL@acme.test").await
        else {
            panic!("the sixth attempt at once must wait");
        };
        assert_eq!(retry_after_s, 1);
        let mut entry = FailureCount {
            count: FREE_PER_ACCOUNT_AND_ADDRESS + 3,
            last_ms: 0,
        };
        assert_eq!(delay_ms(&entry, FREE_PER_ACCOUNT_AND_ADDRESS), 8_000);
        entry.count = u32::MAX;
        assert_eq!(
            delay_ms(&entry, FREE_PER_ACCOUNT_AND_ADDRESS),
            i64::try_from(LONGEST_DELAY.as_millis()).expect("fits")
        );
    }

    #[tokio::test]
    async fn guesses_from_one_address_never_lock_the_account_out_elsewhere() {
        let throttle = SignInThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT_AND_ADDRESS {
            throttle
                .reserve(None, ip(66), "oncall@acme.test")
                .await
                .expect("free");
        }
        assert!(throttle
            .reserve(None, ip(66), "oncall@acme.test")
            .await
            .is_err());
        assert!(throttle
            .reserve(None, ip(1), "oncall@acme.test")
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn one_address_spraying_many_accounts_is_slowed_too() {
        let throttle = SignInThrottle::default();
        for n in 0..FREE_PER_ADDRESS {
            throttle
                .reserve(None, ip(9), &format!("user{n}@acme.test"))
                .await
                .expect("free");
        }
        assert!(throttle
            .reserve(None, ip(9), "someone-else@acme.test")
            .await
            .is_err());
        assert!(throttle
            .reserve(None, ip(10), "someone-else@acme.test")
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_right_password_clears_the_pair() {
        let throttle = SignInThrottle::default();
        for _ in 0..FREE_PER_ACCOUNT_AND_ADDRESS {
            throttle.reserve(None, ip(1), "a@b.c").await.expect("free");
        }
        throttle
            .succeeded(None, ip(1), "a@b.c")
            .await
            .expect("counted");
        assert!(throttle.reserve(None, ip(1), "a@b.c").await.is_ok());
    }

    #[tokio::test]
    async fn addresses_of_one_ipv6_slash_64_are_one_client() {
        let throttle = SignInThrottle::default();
        let address = |n: u16| IpAddr::from([0x2001, 0xdb8, 0, 7, 0, 0, 0, n]);
        for n in 0..u16::try_from(FREE_PER_ACCOUNT_AND_ADDRESS).expect("small") {
            throttle
                .reserve(None, address(n), "oncall@acme.test")
                .await
                .expect("free");
        }
        assert!(
            throttle
                .reserve(None, address(999), "oncall@acme.test")
                .await
                .is_err(),
            "another address of the same /64 waits too"
        );
        let elsewhere = IpAddr::from([0x2001, 0xdb8, 0, 8, 0, 0, 0, 1]);
        assert!(throttle
            .reserve(None, elsewhere, "oncall@acme.test")
            .await
            .is_ok());
    }

    #[test]
    fn a_full_throttle_forgets_the_fewest_failures_not_the_guesser() {
        let now_ms = 1_000_000;
        let mut counters: HashMap<String, FailureCount> = (0..MAX_KEYS)
            .map(|n| {
                (
                    format!("flood-{n}"),
                    FailureCount {
                        count: 1,
                        last_ms: now_ms,
                    },
                )
            })
            .collect();
        let guesser = FailureCount {
            count: 40,
            last_ms: now_ms,
        };
        counters.insert("guesser".into(), guesser);
        forget_old(&mut counters, now_ms);
        assert!(counters.len() < MAX_KEYS);
        assert_eq!(counters.get("guesser").map(|e| e.count), Some(40));
    }

    #[test]
    fn the_keys_hold_no_email_address() {
        let keys = keys(ip(1), "Oncall@Acme.test ");
        assert_eq!(keys, super::keys(ip(1), "oncall@acme.test"));
        assert!(keys.iter().all(|key| !key.contains("acme")));
    }
}
