//! Who holds an event socket open now, by user: one of the ways the escalation ladder knows a
//! person can be reached.
//!
//! Each instance knows its own sockets. With several instances on one database, a person whose
//! socket is on another instance counts as unreachable by socket here; the ladder then moves
//! on sooner rather than later, which is the safe way to be wrong.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Key = (String, String);

/// Open event sockets per (tenant, user).
#[derive(Default, Clone)]
pub struct Presence {
    open: Arc<Mutex<HashMap<Key, usize>>>,
}

impl Presence {
    /// Counts a socket as open until the returned guard is dropped.
    pub fn enter(&self, tenant_id: &str, user_id: &str) -> Present {
        let key = (tenant_id.to_owned(), user_id.to_owned());
        *self.lock().entry(key.clone()).or_default() += 1;
        Present {
            presence: self.clone(),
            key,
        }
    }

    pub fn is_online(&self, tenant_id: &str, user_id: &str) -> bool {
        self.lock()
            .contains_key(&(tenant_id.to_owned(), user_id.to_owned()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, usize>> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One open socket; dropping it counts the socket closed.
pub struct Present {
    presence: Presence,
    key: Key,
}

impl Drop for Present {
    fn drop(&mut self) {
        let mut open = self.presence.lock();
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_is_online_while_any_of_their_sockets_is_open() {
        let presence = Presence::default();
        let first = presence.enter("t1", "dana");
        let second = presence.enter("t1", "dana");
        assert!(presence.is_online("t1", "dana"));
        assert!(!presence.is_online("t2", "dana"), "per tenant");
        drop(first);
        assert!(presence.is_online("t1", "dana"));
        drop(second);
        assert!(!presence.is_online("t1", "dana"));
        assert!(
            presence.open.lock().map(|m| m.is_empty()).unwrap_or(false),
            "nothing left behind"
        );
    }
}
