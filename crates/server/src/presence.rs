//! Who holds an event socket open now that can alert them (not opened with `alerts=false`),
//! by user: one of the ways the escalation ladder knows a person can be reached.
//!
//! Each instance counts its own sockets. With several instances on one database it also
//! publishes which people it has sockets of ([`share`]), as they come and go and with a
//! heartbeat, so the ladder on any instance counts a person whose app is connected to another
//! (`SharedPresence`). What an instance that died had published stops counting
//! [`SHARED_FOR`] after its last heartbeat.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::state::AppState;

/// How often an instance says it is alive, even when none of its sockets came or went.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long after an instance's last heartbeat its sockets still count. Heartbeats are timed
/// by the database's clock, not the hosts' nor the server's injectable one: liveness is about
/// time as it passes.
pub const SHARED_FOR: Duration = Duration::from_secs(30);
/// Sockets that come and go together are published together.
const SETTLE: Duration = Duration::from_millis(50);

/// (tenant, user).
pub type Key = (String, String);

/// Open event sockets that can alert, per (tenant, user).
#[derive(Default, Clone)]
pub struct Presence {
    open: Arc<Mutex<HashMap<Key, usize>>>,
    /// Told when a person's first socket opens or their last one closes.
    changed: Arc<Notify>,
}

impl Presence {
    /// Counts a socket as open until the returned guard is dropped.
    pub fn enter(&self, tenant_id: &str, user_id: &str) -> Present {
        let key = (tenant_id.to_owned(), user_id.to_owned());
        let count = {
            let mut open = self.lock();
            let count = open.entry(key.clone()).or_default();
            *count += 1;
            *count
        };
        if count == 1 {
            self.changed.notify_one();
        }
        Present {
            presence: self.clone(),
            key,
        }
    }

    pub fn is_online(&self, tenant_id: &str, user_id: &str) -> bool {
        self.lock()
            .contains_key(&(tenant_id.to_owned(), user_id.to_owned()))
    }

    /// Everyone with a socket open here now.
    pub fn snapshot(&self) -> HashSet<Key> {
        self.lock().keys().cloned().collect()
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
                drop(open);
                self.presence.changed.notify_one();
            }
        }
    }
}

/// Publishes this instance's open sockets to the deployment, as people come and go and every
/// [`HEARTBEAT`], until the server stops; then withdraws them. Returns at once where the store
/// has no other instances to tell (SQLite).
pub async fn share(state: AppState) {
    let Some(shared) = state.store.shared_presence() else {
        return;
    };
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let mut heartbeat = tokio::time::interval(HEARTBEAT);
    // `None` until published, and after a failure: then everything is published again.
    let mut published: Option<HashSet<Key>> = None;
    loop {
        tokio::select! {
            _ = heartbeat.tick() => {}
            () = state.presence.changed.notified() => tokio::time::sleep(SETTLE).await,
            () = &mut stopping => break,
        }
        let now = state.presence.snapshot();
        let (added, removed): (Vec<Key>, Vec<Key>) = match &published {
            Some(before) => (
                now.difference(before).cloned().collect(),
                before.difference(&now).cloned().collect(),
            ),
            None => (now.iter().cloned().collect(), Vec::new()),
        };
        let replace = published.is_none();
        match shared
            .publish(&state.instance_id, &added, &removed, replace)
            .await
        {
            Ok(()) => published = Some(now),
            Err(error) => {
                tracing::warn!(%error, "could not tell the other instances who is connected here; retrying");
                published = None;
            }
        }
    }
    if let Err(error) = shared.withdraw(&state.instance_id).await {
        tracing::debug!(%error, "could not withdraw this instance's connections; they lapse on their own");
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
        assert_eq!(
            presence.snapshot(),
            HashSet::from([("t1".to_owned(), "dana".to_owned())])
        );
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
