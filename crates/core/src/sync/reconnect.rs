//! When the live link tries again: backoff with full jitter, the server's `Retry-After`
//! honoured, and a machine that slept noticed by its clocks.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rand::Rng;

/// How often the realtime loop compares the wall clock's progress with the runtime's.
pub(super) const WAKE_CHECK_EVERY: Duration = Duration::from_secs(3);
/// How far the two clocks may drift apart between checks before the machine is taken to have
/// slept (the runtime's clock, and every timeout on it, stands still while it does) or its
/// clock to have been set.
pub(super) const CLOCK_JUMP: Duration = Duration::from_secs(15);

/// The wall clock the realtime loop reads; a test's can jump.
pub(crate) type WallClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Notices that the machine slept, or its clock was set: between checks, the wall clock moved
/// [`CLOCK_JUMP`] more or less than the runtime's clock, which stands still while the machine
/// sleeps (and with it every timeout, the dead link's 45 s included). There is no wake event
/// to hear on every desktop; comparing the clocks works on all of them.
pub(super) struct WakeWatch {
    wall_clock: WallClock,
    wall: SystemTime,
    runtime: tokio::time::Instant,
}

impl WakeWatch {
    pub(super) fn new(wall_clock: WallClock) -> WakeWatch {
        WakeWatch {
            wall: wall_clock(),
            runtime: tokio::time::Instant::now(),
            wall_clock,
        }
    }

    /// Returns how far the clocks jumped apart, once they do; checks every
    /// [`WAKE_CHECK_EVERY`]. Dropped at any point, it goes on from its last check.
    pub(super) async fn jumped(&mut self) -> Duration {
        loop {
            tokio::time::sleep(WAKE_CHECK_EVERY).await;
            if let Some(jump) = self.check() {
                return jump;
            }
        }
    }

    /// How far the clocks drifted apart since the last check, if more than [`CLOCK_JUMP`].
    pub(super) fn check(&mut self) -> Option<Duration> {
        let wall = (self.wall_clock)();
        let runtime = tokio::time::Instant::now();
        let on_the_runtime = runtime.duration_since(self.runtime);
        let drift = match wall.duration_since(self.wall) {
            Ok(on_the_wall) => on_the_wall.abs_diff(on_the_runtime),
            // Set back.
            Err(back) => back.duration().saturating_add(on_the_runtime),
        };
        (self.wall, self.runtime) = (wall, runtime);
        (drift > CLOCK_JUMP).then_some(drift)
    }
}
/// Full jitter: a random wait between 0 and min(30 s, 250 ms × 2^failures), at every attempt,
/// the first included, so the clients a server lost at once (a deploy) do not all come back
/// in the same instant.
pub fn backoff(failures: u32) -> Duration {
    let ceiling_ms = 250u64.saturating_mul(1u64 << failures.min(7)).min(30_000);
    Duration::from_millis(rand::thread_rng().gen_range(0..=ceiling_ms))
}

/// `wait`, or longer if the server asked for longer (`Retry-After`), plus up to a fifth of
/// what it asked: the clients it turned away together do not all come back in the same second.
pub fn at_least_as_asked(wait: Duration, asked: Option<Duration>) -> Duration {
    let Some(asked) = asked.filter(|asked| !asked.is_zero()) else {
        return wait;
    };
    let spread = rand::thread_rng().gen_range(0.0..=0.2);
    wait.max(asked.mul_f64(1.0 + spread))
}
