//! Fan-out within one instance: committed events to client sockets, control frames to agent
//! sockets. What other instances commit reaches these through [`crate::relay`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::ws::Utf8Bytes;
use spartex_api::{AgentControl, Event};
use tokio::sync::{broadcast, watch};

use crate::store::Store;

/// An event as committed, serialized once for every socket that sends it.
#[derive(Debug)]
pub struct Published {
    pub event: Event,
    pub json: Utf8Bytes,
}

/// Per-tenant broadcast of committed events, in `seq` order and without gaps: events written
/// here are published as they commit, and those another instance wrote (heard through
/// [`crate::relay`]) are read from the log, whichever comes first.
pub struct EventHub {
    capacity: usize,
    tenants: RwLock<HashMap<String, Arc<Feed>>>,
}

struct Feed {
    sender: broadcast::Sender<Arc<Published>>,
    /// The last `seq` published; `None` while unknown (nobody listened since it was last set).
    published: tokio::sync::Mutex<Option<i64>>,
}

/// Events one read of the log fills a gap with.
const FILL_PAGE: i64 = 1000;

impl EventHub {
    pub fn new(capacity: usize) -> Self {
        EventHub {
            capacity,
            tenants: RwLock::new(HashMap::new()),
        }
    }

    pub fn subscribe(&self, tenant_id: &str) -> broadcast::Receiver<Arc<Published>> {
        if let Some(feed) = self.read().get(tenant_id) {
            return feed.sender.subscribe();
        }
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tenants
            .entry(tenant_id.to_owned())
            .or_insert_with(|| {
                Arc::new(Feed {
                    sender: broadcast::channel(self.capacity).0,
                    published: tokio::sync::Mutex::new(None),
                })
            })
            .sender
            .subscribe()
    }

    /// A subscriber read the log up to `head`: later events will reach it from here, so a
    /// feed that has published nothing yet starts its gap check there.
    pub fn read_up_to(&self, tenant_id: &str, head: i64) {
        if let Some(feed) = self.feed(tenant_id) {
            if let Ok(mut published) = feed.published.try_lock() {
                published.get_or_insert(head);
            }
        }
    }

    /// Publishes events this instance committed (called while the tenant's turn is held, so
    /// in `seq` order), first filling from the log any gap another instance's writes left.
    pub async fn publish(&self, store: &dyn Store, tenant_id: &str, events: Vec<Event>) {
        let (Some(feed), Some(first)) = (self.feed(tenant_id), events.first()) else {
            return;
        };
        let mut published = feed.published.lock().await;
        if feed.sender.receiver_count() == 0 {
            *published = None;
            return;
        }
        match *published {
            Some(sent) if first.seq > sent + 1 => {
                feed.fill(store, tenant_id, &mut published, first.seq - 1)
                    .await;
            }
            // Sent already, read from the log by a catch-up that went ahead; or the log was
            // rewound and these numbers are given again.
            Some(sent)
                if first.seq <= sent && self.rewound(store, tenant_id, &feed, sent, None).await =>
            {
                return;
            }
            _ => {}
        }
        for event in events {
            feed.send(&mut published, event);
        }
    }

    /// Another instance committed this tenant's events up to `last_seq`, from `first_seq`:
    /// publishes what has not been, read from the log.
    pub async fn catch_up(
        &self,
        store: &dyn Store,
        tenant_id: &str,
        first_seq: i64,
        last_seq: i64,
    ) {
        self.catch_up_to(store, tenant_id, first_seq, last_seq, None)
            .await;
    }

    /// [`EventHub::catch_up`], with the log's head when it was just read.
    async fn catch_up_to(
        &self,
        store: &dyn Store,
        tenant_id: &str,
        first_seq: i64,
        last_seq: i64,
        head: Option<i64>,
    ) {
        let Some(feed) = self.feed(tenant_id) else {
            return;
        };
        let mut published = feed.published.lock().await;
        if feed.sender.receiver_count() == 0 {
            *published = None;
            return;
        }
        match *published {
            // Nothing this instance has not sent, unless the log was rewound.
            Some(sent) if last_seq <= sent => {
                self.rewound(store, tenant_id, &feed, sent, head).await;
            }
            _ => {
                published.get_or_insert(first_seq - 1);
                feed.fill(store, tenant_id, &mut published, last_seq).await;
            }
        }
    }

    /// Whether the tenant's log now ends below `sent`, the last `seq` this instance sent its
    /// sockets: the database lost commits (a failover to a replica they had not reached) and
    /// numbers new events with `seq`s already sent, which every socket would drop as seen. The
    /// feed is then let go: its sockets hear their channel closed, which nothing else does while
    /// they follow it, and close to be reconnected (`http::event_stream`); each client reconnects
    /// from its own `seq`, above the head, and is told `resync_required`. Writes that pass the
    /// old head before this is noticed are not told apart: an instance notices when its
    /// connection announcements arrive on comes back, or at the next write it publishes or hears.
    async fn rewound(
        &self,
        store: &dyn Store,
        tenant_id: &str,
        feed: &Arc<Feed>,
        sent: i64,
        head: Option<i64>,
    ) -> bool {
        let head = match head {
            Some(head) => head,
            None => match store.log_bounds(tenant_id).await {
                Ok(Some(bounds)) => bounds.head,
                Ok(None) => return false,
                Err(error) => {
                    tracing::warn!(%error, "could not read a tenant's log head to check it was not rewound");
                    return false;
                }
            },
        };
        if head >= sent {
            return false;
        }
        tracing::warn!(
            tenant = %tenant_id,
            head,
            sent,
            "a tenant's log ends below what this instance sent its sockets (the database lost commits, a failover?): they are closed to resync"
        );
        self.forget_feed_if(tenant_id, |current| Arc::ptr_eq(current, feed));
        true
    }

    /// Announcements may have been missed: every followed tenant is read up to its log's head.
    pub async fn catch_up_all(&self, store: &dyn Store) {
        let tenants: Vec<String> = self.read().keys().cloned().collect();
        for tenant_id in tenants {
            match store.log_bounds(&tenant_id).await {
                Ok(Some(bounds)) => {
                    let head = bounds.head;
                    self.catch_up_to(store, &tenant_id, head + 1, head, Some(head))
                        .await;
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "could not read a tenant's log to catch up; its sockets fill the gap with the next event");
                }
            }
        }
    }

    /// Drops the tenant's feed once nobody follows it (its sockets and long polls ended): each
    /// feed holds a ring of `capacity` events, and an instance running for weeks would
    /// otherwise keep one for every tenant that ever connected to it. A feed made again starts
    /// as a new one does, its last published `seq` unknown.
    pub fn forget_if_unfollowed(&self, tenant_id: &str) {
        self.forget_feed_if(tenant_id, |feed| feed.sender.receiver_count() == 0);
    }

    /// Drops the tenant's feed if it is there and `drop` says so, under the write lock.
    fn forget_feed_if(&self, tenant_id: &str, drop: impl FnOnce(&Arc<Feed>) -> bool) {
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if tenants.get(tenant_id).is_some_and(drop) {
            tenants.remove(tenant_id);
        }
    }

    /// How many tenants' feeds this instance holds.
    pub fn feeds(&self) -> usize {
        self.read().len()
    }

    fn feed(&self, tenant_id: &str) -> Option<Arc<Feed>> {
        self.read().get(tenant_id).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<Feed>>> {
        self.tenants
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Feed {
    fn send(&self, published: &mut Option<i64>, event: Event) {
        if published.is_some_and(|last| event.seq <= last) {
            return;
        }
        *published = Some(event.seq);
        // Event is a plain struct of strings, numbers and JSON: serializing cannot fail.
        let json = serde_json::to_string(&event).unwrap_or_default();
        // No receiver is fine: nobody is listening right now.
        let _ = self.sender.send(Arc::new(Published {
            event,
            json: json.into(),
        }));
    }

    /// Publishes the log's events after the last published, up to `up_to`. A failed read is
    /// left for the sockets, which fill any gap they see from the log themselves.
    async fn fill(
        &self,
        store: &dyn Store,
        tenant_id: &str,
        published: &mut Option<i64>,
        up_to: i64,
    ) {
        while let Some(last) = *published {
            if last >= up_to {
                return;
            }
            let page = match store.events_after(tenant_id, last, FILL_PAGE).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, "could not read the log to publish another instance's events");
                    return;
                }
            };
            let Some(end) = page.last().map(|event| event.seq) else {
                return;
            };
            for event in page {
                self.send(published, event);
            }
            if end <= last {
                return;
            }
        }
    }
}

/// What an agent's control sockets here are handed.
#[derive(Debug, Clone)]
pub enum ToControl {
    /// A frame for the worker.
    Frame(AgentControl),
    /// Tokens of the agent were revoked: a socket opened with one of them closes.
    CheckToken,
}

/// Live control sockets of agent workers, by agent id.
pub struct AgentControlHub {
    agents: RwLock<HashMap<String, broadcast::Sender<ToControl>>>,
    /// Counts the times every socket here may have missed frames: announcements from other
    /// instances are lost while this one's database listener reconnects.
    resyncs: watch::Sender<u64>,
}

impl Default for AgentControlHub {
    fn default() -> Self {
        AgentControlHub {
            agents: RwLock::default(),
            resyncs: watch::channel(0).0,
        }
    }
}

impl AgentControlHub {
    /// Changes when every socket here should send its agent what it may have missed.
    pub fn resyncs(&self) -> watch::Receiver<u64> {
        self.resyncs.subscribe()
    }

    /// Every socket here sends its agent what it may have missed (a pending stop, a pause).
    pub fn resync_all(&self) {
        self.resyncs.send_modify(|count| *count += 1);
    }

    pub fn subscribe(&self, agent_id: &str) -> broadcast::Receiver<ToControl> {
        let mut agents = self
            .agents
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        agents
            .entry(agent_id.to_owned())
            .or_insert_with(|| broadcast::channel(64).0)
            .subscribe()
    }

    /// Pushes a frame to every connected socket of the agent. Returns whether one was connected.
    pub fn push(&self, agent_id: &str, frame: AgentControl) -> bool {
        self.send(agent_id, ToControl::Frame(frame))
    }

    /// Every socket of the agent here checks the token it was opened with, and closes if that
    /// no longer signs in. Returns whether one was connected.
    pub fn tokens_revoked(&self, agent_id: &str) -> bool {
        self.send(agent_id, ToControl::CheckToken)
    }

    fn send(&self, agent_id: &str, message: ToControl) -> bool {
        let agents = self
            .agents
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        agents
            .get(agent_id)
            .is_some_and(|sender| sender.send(message).is_ok())
    }

    /// Drops the agent's channel once no socket of it is connected here.
    pub fn forget_if_unconnected(&self, agent_id: &str) {
        let mut agents = self
            .agents
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if agents
            .get(agent_id)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            agents.remove(agent_id);
        }
    }

    pub fn is_connected(&self, agent_id: &str) -> bool {
        let agents = self
            .agents
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        agents
            .get(agent_id)
            .is_some_and(|sender| sender.receiver_count() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_feed_is_forgotten_once_nobody_follows_it() {
        let hub = EventHub::new(16);
        let first = hub.subscribe("ten_1");
        let second = hub.subscribe("ten_1");
        drop(first);
        hub.forget_if_unfollowed("ten_1");
        assert_eq!(hub.feeds(), 1, "still followed");
        drop(second);
        hub.forget_if_unfollowed("ten_1");
        assert_eq!(hub.feeds(), 0);
        drop(hub.subscribe("ten_1"));
        assert_eq!(hub.feeds(), 1, "made again when followed again");
    }

    #[test]
    fn an_agents_channel_is_forgotten_once_no_socket_of_it_is_connected() {
        let agents = AgentControlHub::default();
        let socket = agents.subscribe("agt_1");
        agents.forget_if_unconnected("agt_1");
        assert!(
            agents.push("agt_1", AgentControl::Resume),
            "still connected"
        );
        drop(socket);
        agents.forget_if_unconnected("agt_1");
        assert!(!agents.push("agt_1", AgentControl::Resume));
        let kept = agents
            .agents
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len();
        assert_eq!(kept, 0);
    }
}
