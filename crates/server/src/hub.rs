//! In-process fan-out: committed events to client sockets, control frames to agent sockets.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::extract::ws::Utf8Bytes;
use spartex_api::{AgentControl, Event};
use tokio::sync::broadcast;

/// An event as committed, serialized once for every socket that sends it.
#[derive(Debug)]
pub struct Published {
    pub event: Event,
    pub json: Utf8Bytes,
}

/// Per-tenant broadcast of committed events, in `seq` order.
pub struct EventHub {
    capacity: usize,
    tenants: RwLock<HashMap<String, broadcast::Sender<Arc<Published>>>>,
}

impl EventHub {
    pub fn new(capacity: usize) -> Self {
        EventHub {
            capacity,
            tenants: RwLock::new(HashMap::new()),
        }
    }

    pub fn subscribe(&self, tenant_id: &str) -> broadcast::Receiver<Arc<Published>> {
        if let Some(sender) = self.read().get(tenant_id) {
            return sender.subscribe();
        }
        let mut tenants = self
            .tenants
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tenants
            .entry(tenant_id.to_owned())
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    pub fn publish(&self, tenant_id: &str, events: Vec<Event>) {
        let tenants = self.read();
        let Some(sender) = tenants.get(tenant_id) else {
            return;
        };
        for event in events {
            // Event is a plain struct of strings, numbers and JSON: serializing cannot fail.
            let json = serde_json::to_string(&event).unwrap_or_default();
            // No receiver is fine: nobody is listening right now.
            let _ = sender.send(Arc::new(Published {
                event,
                json: json.into(),
            }));
        }
    }

    fn read(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<String, broadcast::Sender<Arc<Published>>>> {
        self.tenants
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Live control sockets of agent workers, by agent id.
#[derive(Default)]
pub struct AgentControlHub {
    agents: RwLock<HashMap<String, broadcast::Sender<AgentControl>>>,
}

impl AgentControlHub {
    pub fn subscribe(&self, agent_id: &str) -> broadcast::Receiver<AgentControl> {
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
        let agents = self
            .agents
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        agents
            .get(agent_id)
            .is_some_and(|sender| sender.send(frame).is_ok())
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

/// Sessions that just ended (sign-out, revocation), for the sockets they opened to close.
pub struct SessionEnds {
    ended: broadcast::Sender<Arc<str>>,
}

impl Default for SessionEnds {
    fn default() -> Self {
        SessionEnds {
            ended: broadcast::channel(1024).0,
        }
    }
}

impl SessionEnds {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.ended.subscribe()
    }

    pub fn announce(&self, session_id: &str) {
        // No receiver is fine: no socket is open.
        let _ = self.ended.send(Arc::from(session_id));
    }
}
