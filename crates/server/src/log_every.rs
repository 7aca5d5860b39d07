//! A log line that would otherwise repeat for every request while a condition lasts (a full
//! disk refuses every write): said at most once a period, with how many were held back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a failure that repeats on every round of a background loop is said.
pub const ONCE_A_MINUTE: Duration = Duration::from_secs(60);

pub struct LogEvery {
    period: Duration,
    state: Mutex<Said>,
}

struct Said {
    last: Option<Instant>,
    held_back: u64,
}

impl LogEvery {
    pub const fn new(period: Duration) -> Self {
        LogEvery {
            period,
            state: Mutex::new(Said {
                last: None,
                held_back: 0,
            }),
        }
    }

    /// `Some(held back since the last line)` when the line is to be logged at `now`, else
    /// `None` (and it is counted).
    pub fn at(&self, now: Instant) -> Option<u64> {
        let mut said = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match said.last {
            Some(last) if now.saturating_duration_since(last) < self.period => {
                said.held_back += 1;
                None
            }
            _ => {
                said.last = Some(now);
                Some(std::mem::take(&mut said.held_back))
            }
        }
    }

    /// The condition is over: the next time it is met is said at once, with no count from this
    /// time. True when it had been said since it last passed, so that its end is said too.
    pub fn passed(&self) -> bool {
        let mut said = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        said.held_back = 0;
        said.last.take().is_some()
    }

    /// [`LogEvery::at`] now.
    pub fn now(&self) -> Option<u64> {
        self.at(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_said_once_a_period_with_the_count_held_back() {
        let every_minute = LogEvery::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(every_minute.at(start), Some(0), "the first is said");
        for second in 1..=59 {
            assert_eq!(every_minute.at(start + Duration::from_secs(second)), None);
        }
        assert_eq!(
            every_minute.at(start + Duration::from_secs(60)),
            Some(59),
            "a minute on, with the 59 held back"
        );
        assert_eq!(every_minute.at(start + Duration::from_secs(61)), None);
        assert_eq!(every_minute.at(start + Duration::from_secs(3_600)), Some(1));
    }

    #[test]
    fn once_passed_the_next_spell_is_said_at_once_and_counted_afresh() {
        let every_minute = LogEvery::new(Duration::from_secs(60));
        let start = Instant::now();
        assert!(!every_minute.passed(), "nothing was said");
        assert_eq!(every_minute.at(start), Some(0));
        assert_eq!(every_minute.at(start + Duration::from_secs(1)), None);
        assert!(every_minute.passed(), "its end is worth a line");
        assert!(!every_minute.passed(), "once");
        assert_eq!(
            every_minute.at(start + Duration::from_secs(2)),
            Some(0),
            "a new spell within the minute is said, without the old count"
        );
    }
}
