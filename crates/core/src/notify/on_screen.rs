//! Which notification server id shows each notification key, so that a newer notification
//! with the same key replaces the one on screen and a key can be taken back.
//!
//! Each showing gets a generation: a replaced notification keeps its server id (the server
//! reuses it), so the thread still waiting on the older one hears the newer one's clicks too
//! and must tell that they are not its own.

use std::collections::HashMap;

/// At most this many keys are remembered; past it the oldest is forgotten (its notification
/// then stays until it closes, and a newer one with its key shows beside it). Enough for every
/// notification a person could have on screen, and bounded for an app that runs for weeks.
const REMEMBERED: usize = 256;

/// One showing of a notification: the server's id and when, in showings, it was shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Showing {
    pub id: u32,
    pub generation: u64,
}

#[derive(Debug, Default)]
pub struct OnScreen {
    by_key: HashMap<String, Showing>,
    shown: u64,
}

impl OnScreen {
    /// The id of the notification now shown under `key`, to replace it.
    pub fn id_of(&self, key: &str) -> Option<u32> {
        self.by_key.get(key).map(|showing| showing.id)
    }

    /// Notes that `key` is now shown as `id` and returns that showing.
    pub fn shown(&mut self, key: &str, id: u32) -> Showing {
        self.shown += 1;
        let showing = Showing {
            id,
            generation: self.shown,
        };
        if self.by_key.len() >= REMEMBERED && !self.by_key.contains_key(key) {
            let oldest = self
                .by_key
                .iter()
                .min_by_key(|(_, showing)| showing.generation)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                self.by_key.remove(&oldest);
            }
        }
        self.by_key.insert(key.to_owned(), showing);
        showing
    }

    /// Whether `showing` is still what `key` shows (not replaced, closed or taken back).
    pub fn is_current(&self, key: &str, showing: Showing) -> bool {
        self.by_key.get(key) == Some(&showing)
    }

    /// `showing` closed or was acted on: forgets it unless a newer one replaced it.
    pub fn closed(&mut self, key: &str, showing: Showing) {
        if self.is_current(key, showing) {
            self.by_key.remove(key);
        }
    }

    /// Forgets `key` and returns the id to close, if it is shown.
    pub fn take(&mut self, key: &str) -> Option<u32> {
        self.by_key.remove(key).map(|showing| showing.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_showing_of_a_key_makes_the_older_one_stale() {
        let mut on_screen = OnScreen::default();
        assert_eq!(on_screen.id_of("approval:a1"), None);
        let first = on_screen.shown("approval:a1", 7);
        assert_eq!(on_screen.id_of("approval:a1"), Some(7));
        // The server reuses the id it was asked to replace.
        let second = on_screen.shown("approval:a1", 7);
        assert!(!on_screen.is_current("approval:a1", first));
        assert!(on_screen.is_current("approval:a1", second));
        // The stale one closing forgets nothing; the current one closing forgets the key.
        on_screen.closed("approval:a1", first);
        assert_eq!(on_screen.id_of("approval:a1"), Some(7));
        on_screen.closed("approval:a1", second);
        assert_eq!(on_screen.id_of("approval:a1"), None);
    }

    #[test]
    fn a_key_taken_back_gives_its_id_once() {
        let mut on_screen = OnScreen::default();
        let showing = on_screen.shown("cache:disk-full", 3);
        on_screen.shown("approval:a1", 4);
        assert_eq!(on_screen.take("cache:disk-full"), Some(3));
        assert_eq!(on_screen.take("cache:disk-full"), None);
        assert!(!on_screen.is_current("cache:disk-full", showing));
        assert_eq!(on_screen.id_of("approval:a1"), Some(4), "other keys stay");
    }

    #[test]
    fn past_its_bound_the_oldest_key_is_forgotten() {
        let mut on_screen = OnScreen::default();
        for n in 0..REMEMBERED as u32 {
            on_screen.shown(&format!("approval:{n}"), n);
        }
        // Showing a remembered key again makes room for nothing.
        on_screen.shown("approval:0", 0);
        assert_eq!(on_screen.by_key.len(), REMEMBERED);
        on_screen.shown("approval:new", 9_999);
        assert_eq!(on_screen.by_key.len(), REMEMBERED);
        assert_eq!(
            on_screen.id_of("approval:1"),
            None,
            "the oldest is forgotten"
        );
        assert_eq!(
            on_screen.id_of("approval:0"),
            Some(0),
            "shown again, so newer"
        );
        assert_eq!(on_screen.id_of("approval:new"), Some(9_999));
    }
}
