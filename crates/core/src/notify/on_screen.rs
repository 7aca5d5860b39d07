//! Which notification server id shows each notification key: a newer notification with the
//! same key replaces the one on screen, a key can be taken back, and a click on an id is
//! reported with what that notification was about.
//!
//! Each showing notes where in the connection's stream of messages the server's answer came
//! (`P`, zbus's `Sequence`): a server may hand a replacement the id of a notification that
//! closed a moment before, and that closing must not forget the newer one.

use std::collections::HashMap;

/// At most this many keys are remembered; past it the oldest is forgotten (its notification
/// then stays until it closes, its buttons doing nothing). Enough for every notification a
/// person could have on screen, and bounded for an app that runs for weeks.
const REMEMBERED: usize = 256;

/// What a notification on screen is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub key: String,
    pub approval_id: Option<String>,
    /// It has Approve or Reject buttons.
    pub asks: bool,
}

#[derive(Debug)]
pub struct OnScreen<P> {
    by_id: HashMap<u32, Showing<P>>,
}

impl<P> Default for OnScreen<P> {
    fn default() -> Self {
        OnScreen {
            by_id: HashMap::new(),
        }
    }
}

#[derive(Debug)]
struct Showing<P> {
    shown: Shown,
    /// Where the server's answer came in the connection's messages: the oldest is forgotten
    /// first.
    at: P,
}

impl<P: Ord + Copy> OnScreen<P> {
    /// The id of the notification now shown under `key`, to replace it.
    pub fn id_of(&self, key: &str) -> Option<u32> {
        self.by_id
            .iter()
            .find(|(_, showing)| showing.shown.key == key)
            .map(|(id, _)| *id)
    }

    /// Notes that `shown` is on screen as `id`, in place of whatever its key showed before; the
    /// server's answer came `at`.
    pub fn shown(&mut self, id: u32, shown: Shown, at: P) {
        self.by_id
            .retain(|_, showing| showing.shown.key != shown.key);
        if self.by_id.len() >= REMEMBERED && !self.by_id.contains_key(&id) {
            let oldest = self
                .by_id
                .iter()
                .min_by_key(|(_, showing)| showing.at)
                .map(|(id, _)| *id);
            if let Some(oldest) = oldest {
                self.by_id.remove(&oldest);
            }
        }
        self.by_id.insert(id, Showing { shown, at });
    }

    /// What the notification `id` is about, if it is one of these.
    pub fn what(&self, id: u32) -> Option<&Shown> {
        self.by_id.get(&id).map(|showing| &showing.shown)
    }

    /// The server said `at` that notification `id` closed: forgotten, unless what shows as
    /// `id` now was shown after that.
    pub fn closed(&mut self, id: u32, at: P) {
        if self.by_id.get(&id).is_some_and(|showing| showing.at < at) {
            self.by_id.remove(&id);
        }
    }

    /// Forgets notification `id`: it was taken back.
    pub fn forget(&mut self, id: u32) {
        self.by_id.remove(&id);
    }

    /// The keys of the notifications on screen that ask for a decision.
    pub fn asking(&self) -> Vec<String> {
        self.by_id
            .values()
            .filter(|showing| showing.shown.asks)
            .map(|showing| showing.shown.key.clone())
            .collect()
    }

    /// Forgets everything and returns the ids to close.
    pub fn take_all(&mut self) -> Vec<u32> {
        self.by_id.drain().map(|(id, _)| id).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about(key: &str) -> Shown {
        Shown {
            key: key.to_owned(),
            approval_id: key.strip_prefix("approval:").map(str::to_owned),
            asks: key.starts_with("approval:"),
        }
    }

    #[test]
    fn a_key_shows_one_notification_and_its_clicks_name_it() {
        let mut on_screen = OnScreen::default();
        assert_eq!(on_screen.id_of("approval:a1"), None);
        on_screen.shown(7, about("approval:a1"), 1);
        assert_eq!(on_screen.id_of("approval:a1"), Some(7));
        assert_eq!(on_screen.what(7), Some(&about("approval:a1")));
        // Replaced in place, the server keeps the id.
        on_screen.shown(7, about("approval:a1"), 2);
        assert_eq!(on_screen.take_all(), vec![7]);
        // A server that gives a new id instead: the key is the newer one's.
        on_screen.shown(7, about("approval:a1"), 3);
        on_screen.shown(8, about("approval:a1"), 4);
        assert_eq!(on_screen.what(7), None);
        assert_eq!(on_screen.id_of("approval:a1"), Some(8));
        on_screen.closed(8, 5);
        assert_eq!(on_screen.id_of("approval:a1"), None);
    }

    #[test]
    fn a_closing_heard_before_a_replacement_under_its_id_forgets_nothing() {
        let mut on_screen = OnScreen::default();
        on_screen.shown(5, about("approval:a1"), 10);
        // The person dismissed it (signal at 11) as an escalation replaced it: the server gave
        // the escalation id 5 again (answer at 12), and the listener hears the closing last.
        on_screen.shown(5, about("approval:a1"), 12);
        on_screen.closed(5, 11);
        assert_eq!(
            on_screen.id_of("approval:a1"),
            Some(5),
            "the escalation stays"
        );
        on_screen.closed(5, 13);
        assert_eq!(on_screen.id_of("approval:a1"), None);
    }

    #[test]
    fn a_closed_notification_is_forgotten_and_the_others_stay() {
        let mut on_screen = OnScreen::default();
        on_screen.shown(3, about("cache:disk-full"), 1);
        on_screen.shown(4, about("approval:a1"), 2);
        on_screen.closed(3, 3);
        assert_eq!(on_screen.id_of("cache:disk-full"), None);
        assert_eq!(on_screen.what(3), None);
        assert_eq!(on_screen.id_of("approval:a1"), Some(4), "other keys stay");
        assert_eq!(on_screen.asking(), vec!["approval:a1".to_owned()]);
        assert_eq!(on_screen.take_all(), vec![4]);
        assert_eq!(on_screen.id_of("approval:a1"), None);
    }

    #[test]
    fn past_its_bound_the_oldest_key_is_forgotten() {
        let mut on_screen = OnScreen::default();
        for n in 0..REMEMBERED as u32 {
            on_screen.shown(n, about(&format!("approval:{n}")), n);
        }
        // Showing a remembered key again makes room for nothing.
        on_screen.shown(0, about("approval:0"), 1_000);
        assert_eq!(on_screen.by_id.len(), REMEMBERED);
        on_screen.shown(9_999, about("approval:new"), 1_001);
        assert_eq!(on_screen.by_id.len(), REMEMBERED);
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
