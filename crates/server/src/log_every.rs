//! A log line that would otherwise repeat for every request while a condition lasts (a full
//! disk refuses every write): said at most once a period, with how many were held back. A
//! condition that comes and goes (a database that flaps) is held to the same: its end is said
//! once per line said, so a period has at most two lines, however often it flaps.

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
    /// A line was said and its end was not.
    unended: bool,
}

impl LogEvery {
    pub const fn new(period: Duration) -> Self {
        LogEvery {
            period,
            state: Mutex::new(Said {
                last: None,
                held_back: 0,
                unended: false,
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
                said.unended = true;
                Some(std::mem::take(&mut said.held_back))
            }
        }
    }

    /// The condition is over. True when a line was said since it last passed, so that its end
    /// is said too. The period is not restarted: a condition back within it is counted, and
    /// said with the count once the period is over.
    pub fn passed(&self) -> bool {
        let mut said = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        std::mem::take(&mut said.unended)
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
    fn its_end_is_said_once_per_line_said() {
        let every_minute = LogEvery::new(Duration::from_secs(60));
        let start = Instant::now();
        assert!(!every_minute.passed(), "nothing was said");
        assert_eq!(every_minute.at(start), Some(0));
        assert_eq!(every_minute.at(start + Duration::from_secs(1)), None);
        assert!(every_minute.passed(), "its end is worth a line");
        assert!(!every_minute.passed(), "once");
    }

    /// A database that fails one round in two, every second, for an hour: 60 failures said
    /// and 60 ends, not 1,800 of each.
    #[test]
    fn a_flapping_condition_is_said_at_most_twice_a_period() {
        let every_minute = LogEvery::new(Duration::from_secs(60));
        let start = Instant::now();
        let (mut failures_said, mut ends_said, mut counted) = (0, 0, 0);
        for second in 0..3_600 {
            if second % 2 == 0 {
                if let Some(held_back) = every_minute.at(start + Duration::from_secs(second)) {
                    failures_said += 1;
                    counted += held_back;
                }
            } else if every_minute.passed() {
                ends_said += 1;
            }
        }
        assert_eq!((failures_said, ends_said), (60, 60));
        // One more failure, a period after the last line, says what was held back since.
        counted += every_minute
            .at(start + Duration::from_secs(3_660))
            .expect("said a period on");
        assert_eq!(
            counted + failures_said,
            1_800,
            "every failure said or counted"
        );
    }
}
