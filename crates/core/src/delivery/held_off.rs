//! Holding off: a server that asked to be left alone (`Retry-After`) is not asked again before
//! the wait it asked for is over.

use std::time::{Duration, Instant};

use spartex_api::EventPayload;

use super::Delivery;
use crate::error::{CoreError, CoreResult};

/// When the server asked to be left alone, and until when.
#[derive(Clone, Copy)]
pub(super) struct HeldOff {
    asked_at: Instant,
    until: Instant,
}

impl Delivery {
    /// A server that asked to wait is left alone that long; one that answered is not.
    pub(super) fn note_how_the_server_answered(&self, sent: &CoreResult<EventPayload>) {
        let held_off = match sent {
            Err(error) if error.is_transient() => match error.retry_after() {
                Some(asked) => {
                    let asked_at = Instant::now();
                    // Spread as the loop's own waits are: the clients turned away together do
                    // not all come back at the same moment.
                    let wait = crate::sync::at_least_as_asked(Duration::ZERO, Some(asked));
                    Some(HeldOff {
                        asked_at,
                        until: asked_at + wait,
                    })
                }
                None => return,
            },
            Err(CoreError::SignedOut { .. }) => return,
            _ => None,
        };
        *self.held_off() = held_off;
    }

    /// How much longer the server asked to be left alone, if it did.
    pub(super) fn held_off_for(&self) -> Option<Duration> {
        let held_off = (*self.held_off())?;
        held_off
            .until
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
    }

    /// Whether the server asked, since `when`, to be left alone, and still does.
    pub(super) fn asked_to_wait_since(&self, when: Instant) -> bool {
        self.held_off()
            .is_some_and(|held| held.asked_at >= when && held.until > Instant::now())
    }

    fn held_off(&self) -> std::sync::MutexGuard<'_, Option<HeldOff>> {
        self.held_off
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
