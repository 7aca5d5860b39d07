//! How many connections each client address holds, and the cap on them.
//!
//! One client opening connections it never finishes must not use up the process's file
//! descriptors for everyone; a connection beyond the cap is closed as soon as it is accepted.
//! An IPv6 client is counted by its /64, the block one host is usually given.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// A refused address is logged at most this often, however many connections it opens.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// The open connections of every client address.
pub struct PerIp {
    cap: usize,
    inner: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    open: HashMap<IpAddr, usize>,
    /// When each address over its cap was last logged.
    logged: HashMap<IpAddr, Instant>,
}

/// What [`PerIp::admit`] decided.
pub enum Admission {
    /// Counted; the connection is uncounted when the permit drops.
    Admitted(IpPermit),
    /// Over the cap: close the connection. `log` is true at most once a minute per address.
    Refused { log: bool },
}

impl PerIp {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(PerIp {
            cap,
            inner: Mutex::new(Counts::default()),
        })
    }

    /// The connections one address may hold.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Counts one more connection from `ip`, unless it already holds `cap`.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, now: Instant) -> Admission {
        let key = client_key(ip);
        let mut counts = self.lock();
        let open = counts.open.get(&key).copied().unwrap_or(0);
        if open < self.cap {
            counts.open.insert(key, open + 1);
            return Admission::Admitted(IpPermit {
                per_ip: Arc::clone(self),
                key,
            });
        }
        if counts.logged.len() > 1024 {
            counts
                .logged
                .retain(|_, at| now.saturating_duration_since(*at) < LOG_EVERY);
        }
        let log = match counts.logged.get(&key) {
            Some(at) if now.saturating_duration_since(*at) < LOG_EVERY => false,
            _ => {
                counts.logged.insert(key, now);
                true
            }
        };
        Admission::Refused { log }
    }

    /// Open connections counted for `ip`.
    pub fn open(&self, ip: IpAddr) -> usize {
        self.lock().open.get(&client_key(ip)).copied().unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One counted connection; dropping it (when the connection's socket closes, after an
/// upgrade too) uncounts it.
pub struct IpPermit {
    per_ip: Arc<PerIp>,
    key: IpAddr,
}

impl Drop for IpPermit {
    fn drop(&mut self) {
        let mut counts = self.per_ip.lock();
        if let Some(open) = counts.open.get_mut(&self.key) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                counts.open.remove(&self.key);
            }
        }
    }
}

/// The address a client is counted under: IPv4 as is (also when mapped into IPv6), IPv6 by
/// its /64.
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    fn admitted(admission: Admission) -> IpPermit {
        match admission {
            Admission::Admitted(permit) => permit,
            Admission::Refused { .. } => panic!("refused under the cap"),
        }
    }

    fn refused_and_logged(admission: Admission) -> bool {
        match admission {
            Admission::Admitted(_) => panic!("admitted over the cap"),
            Admission::Refused { log } => log,
        }
    }

    #[test]
    fn an_address_is_capped_and_others_are_not() {
        let per_ip = PerIp::new(2);
        let now = Instant::now();
        let _a = admitted(per_ip.admit(ip("10.0.0.1"), now));
        let _b = admitted(per_ip.admit(ip("10.0.0.1"), now));
        assert!(refused_and_logged(per_ip.admit(ip("10.0.0.1"), now)));
        let _other = admitted(per_ip.admit(ip("10.0.0.2"), now));
        assert_eq!(per_ip.open(ip("10.0.0.1")), 2);
    }

    #[test]
    fn a_closed_connection_frees_its_place() {
        let per_ip = PerIp::new(1);
        let now = Instant::now();
        let first = admitted(per_ip.admit(ip("10.0.0.1"), now));
        assert!(matches!(
            per_ip.admit(ip("10.0.0.1"), now),
            Admission::Refused { .. }
        ));
        drop(first);
        assert_eq!(per_ip.open(ip("10.0.0.1")), 0);
        let _again = admitted(per_ip.admit(ip("10.0.0.1"), now));
    }

    #[test]
    fn a_refused_address_is_logged_once_a_minute() {
        let per_ip = PerIp::new(0);
        let start = Instant::now();
        assert!(refused_and_logged(per_ip.admit(ip("10.0.0.1"), start)));
        for second in 1..60 {
            let now = start + Duration::from_secs(second);
            assert!(!refused_and_logged(per_ip.admit(ip("10.0.0.1"), now)));
        }
        assert!(refused_and_logged(per_ip.admit(ip("10.0.0.2"), start)));
        let later = start + Duration::from_secs(60);
        assert!(refused_and_logged(per_ip.admit(ip("10.0.0.1"), later)));
    }

    #[test]
    fn ipv6_is_counted_by_its_slash_64_and_mapped_ipv4_as_ipv4() {
        let per_ip = PerIp::new(1);
        let now = Instant::now();
        let _one = admitted(per_ip.admit(ip("2001:db8:1:2::1"), now));
        assert!(matches!(
            per_ip.admit(ip("2001:db8:1:2:ffff::9"), now),
            Admission::Refused { .. }
        ));
        let _next_block = admitted(per_ip.admit(ip("2001:db8:1:3::1"), now));
        let _v4 = admitted(per_ip.admit(ip("10.0.0.1"), now));
        assert!(matches!(
            per_ip.admit(ip("::ffff:10.0.0.1"), now),
            Admission::Refused { .. }
        ));
    }
}
