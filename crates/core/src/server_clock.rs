//! The server's time, as its answers tell it.
//!
//! Expiries are the server's instants: a request that expires at 10:42 expires at 10:42 on the
//! server's clock. A laptop whose clock runs three minutes fast would otherwise grey Approve out
//! three minutes early, and one running slow would offer it after the server has settled the
//! request. Every answer's `Date` header says the server's time to the second; the difference
//! from this machine's clock, once above the header's grain and the network's delay, is added
//! to the local clock wherever the core judges an expiry, and handed to the faces.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

/// How far apart two clocks may be and still be taken as agreeing: a `Date` header is
/// truncated to the second, and an answer is a few hundred milliseconds on its way.
const AGREEING_WITHIN_MS: i64 = 2_000;

/// Shared by every clone of one server's HTTP client.
#[derive(Clone, Default, Debug)]
pub struct ServerClock {
    /// The server's clock minus this machine's, in milliseconds; 0 while they agree.
    ahead_ms: Arc<AtomicI64>,
    /// The last reading, taken as the difference once the next one agrees with it: one odd
    /// `Date` (a proxy's, a captive portal's) moves nothing.
    last_reading_ms: Arc<AtomicI64>,
}

impl ServerClock {
    /// Notes the `Date` of an answer of the server's received at `received_at` on this
    /// machine's clock. An answer without one, or from a cache (an `Age` header: its `Date` is
    /// when the origin wrote it), changes nothing; a reading is taken once the next agrees.
    pub fn observe(&self, headers: &reqwest::header::HeaderMap, received_at: DateTime<Utc>) {
        if headers.contains_key(reqwest::header::AGE) {
            return;
        }
        let Some(date) = headers
            .get(reqwest::header::DATE)
            .and_then(|value| value.to_str().ok())
            .and_then(|text| DateTime::parse_from_rfc2822(text).ok())
        else {
            return;
        };
        // The header is the second the server wrote it in: the middle of it, on average.
        let server_time = date.with_timezone(&Utc) + TimeDelta::milliseconds(500);
        let reading = (server_time - received_at).num_milliseconds();
        let reading = if reading.abs() < AGREEING_WITHIN_MS {
            0
        } else {
            reading
        };
        let last = self.last_reading_ms.swap(reading, Ordering::Relaxed);
        if (reading - last).abs() >= AGREEING_WITHIN_MS {
            return;
        }
        let before = self.ahead_ms.swap(reading, Ordering::Relaxed);
        if (before - reading).abs() >= AGREEING_WITHIN_MS {
            tracing::info!(
                ahead_ms = reading,
                "the server's clock is this far from this machine's; expiries follow the server's"
            );
        }
    }

    /// The server's clock minus this machine's (0 while they agree to within two seconds).
    pub fn ahead(&self) -> TimeDelta {
        TimeDelta::milliseconds(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Now, on the server's clock as last told.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.ahead()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta, Utc};
    use reqwest::header::{HeaderMap, HeaderValue, DATE};

    use super::ServerClock;

    fn answered(date: DateTime<Utc>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let text = date.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        headers.insert(DATE, HeaderValue::from_str(&text).expect("a header"));
        headers
    }

    #[test]
    fn a_server_minutes_ahead_or_behind_is_followed_once_two_answers_agree() {
        let clock = ServerClock::default();
        let here: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().expect("an instant");
        clock.observe(&answered(here + TimeDelta::minutes(3)), here);
        assert_eq!(
            clock.ahead(),
            TimeDelta::zero(),
            "one answer alone moves nothing"
        );
        clock.observe(&answered(here + TimeDelta::minutes(3)), here);
        assert_eq!(clock.ahead(), TimeDelta::milliseconds(180_500));
        clock.observe(&answered(here - TimeDelta::minutes(3)), here);
        assert_eq!(
            clock.ahead(),
            TimeDelta::milliseconds(180_500),
            "an odd one out"
        );
        clock.observe(&answered(here - TimeDelta::minutes(3)), here);
        assert_eq!(clock.ahead(), TimeDelta::milliseconds(-179_500));
    }

    #[test]
    fn a_cached_answer_says_nothing_of_the_servers_clock() {
        let clock = ServerClock::default();
        let here: DateTime<Utc> = "2026-12-07T10:00:00Z".parse().expect("an instant");
        for _ in 0..2 {
            let mut cached = answered(here - TimeDelta::hours(1));
            cached.insert(reqwest::header::AGE, HeaderValue::from_static("3600"));
            clock.observe(&cached, here);
        }
        assert_eq!(clock.ahead(), TimeDelta::zero());
    }

    #[test]
    fn clocks_within_the_headers_grain_agree_and_no_date_changes_nothing() {
        let clock = ServerClock::default();
        let here: DateTime<Utc> = "2026-12-07T10:00:00.900Z".parse().expect("an instant");
        clock.observe(&answered(here - TimeDelta::milliseconds(900)), here);
        assert_eq!(
            clock.ahead(),
            TimeDelta::zero(),
            "the same second: agreeing"
        );
        clock.observe(&answered(here + TimeDelta::minutes(5)), here);
        clock.observe(&answered(here + TimeDelta::minutes(5)), here);
        clock.observe(&HeaderMap::new(), here);
        let mut garbled = HeaderMap::new();
        garbled.insert(DATE, HeaderValue::from_static("yesterday-ish"));
        clock.observe(&garbled, here);
        assert!(
            clock.ahead() > TimeDelta::minutes(4),
            "kept: {:?}",
            clock.ahead()
        );
    }
}
