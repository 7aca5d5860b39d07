//! A simulated worker's ask-agains: expired requests a person asked to see again, each proposed
//! again once. The server repeats an ask at every reconnect until the new request is in, so the
//! same ask can be heard twice.

use std::collections::VecDeque;

/// At most this many asks wait; more are dropped (the person can ask again).
const WAITING: usize = 16;
/// The latest asks already taken, remembered so a repeat is not proposed twice.
const REMEMBERED: usize = 64;

#[derive(Default)]
pub(crate) struct Asks {
    waiting: VecDeque<(String, Option<String>)>,
    taken: VecDeque<String>,
}

impl Asks {
    /// An ask heard on the control socket, with the person's comment.
    pub(crate) fn hear(&mut self, approval_id: String, comment: Option<String>) {
        let known = self.taken.contains(&approval_id)
            || self.waiting.iter().any(|(id, _)| *id == approval_id);
        if !known && self.waiting.len() < WAITING {
            self.waiting.push_back((approval_id, comment));
        }
    }

    /// The oldest ask not taken yet, to propose again now.
    pub(crate) fn take(&mut self) -> Option<(String, Option<String>)> {
        let (id, comment) = self.waiting.pop_front()?;
        if self.taken.len() >= REMEMBERED {
            self.taken.pop_front();
        }
        self.taken.push_back(id.clone());
        Some((id, comment))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ask_heard_twice_is_proposed_again_once() {
        let mut asks = Asks::default();
        asks.hear("apr_1".into(), Some("Use the 20% headline".into()));
        asks.hear("apr_1".into(), Some("Use the 20% headline".into()));
        asks.hear("apr_2".into(), None);
        assert_eq!(
            asks.take(),
            Some(("apr_1".into(), Some("Use the 20% headline".into())))
        );
        asks.hear("apr_1".into(), Some("Use the 20% headline".into()));
        assert_eq!(asks.take(), Some(("apr_2".into(), None)));
        assert_eq!(asks.take(), None, "apr_1 was taken already");
    }

    #[test]
    fn waiting_asks_are_bounded() {
        let mut asks = Asks::default();
        for n in 0..100 {
            asks.hear(format!("apr_{n}"), None);
        }
        assert_eq!(std::iter::from_fn(|| asks.take()).count(), WAITING);
    }
}
