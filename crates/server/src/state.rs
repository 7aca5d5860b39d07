//! The server's shared state: services behind `Arc`s, built once at start.

use std::sync::Arc;

use crate::auth::TokenKeys;
use crate::clock::Clock;
use crate::config::Settings;
use crate::hub::{AgentControlHub, EventHub};
use crate::live_sessions::LiveSessions;
use crate::passwords::Passwords;
use crate::store::Store;
use crate::throttle::SignInThrottle;
use crate::write_quota::WriteQuota;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Arc<dyn Store>,
    pub events: EventHub,
    pub agents: AgentControlHub,
    /// Which sign-ins may still be used, and the ends their sockets close on.
    pub sessions: LiveSessions,
    /// Who holds an event socket open on this instance.
    pub presence: crate::presence::Presence,
    pub clock: Arc<dyn Clock>,
    pub settings: Settings,
    pub tokens: TokenKeys,
    pub sign_in_throttle: SignInThrottle,
    /// How fast each agent may write, by agent id.
    pub agent_quota: WriteQuota,
    /// How fast each person may write, by user id.
    pub user_quota: WriteQuota,
    pub passwords: Passwords,
    /// Wake-ups and counts shared with the push dispatcher and delivery loop.
    pub pushes: crate::push::PushRuntime,
    /// Names this instance among those sharing a database (see [`crate::relay`]).
    pub instance_id: String,
    /// Flips to `true` when the server shuts down; sockets and long polls end on it.
    pub shutdown: tokio::sync::watch::Sender<bool>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        settings: Settings,
        tokens: TokenKeys,
    ) -> Self {
        AppState(Arc::new(Inner {
            store,
            events: EventHub::new(8192),
            agents: AgentControlHub::default(),
            sessions: LiveSessions::new(settings.session_recheck_after),
            presence: crate::presence::Presence::default(),
            clock,
            agent_quota: WriteQuota::new(
                settings.agent_writes_per_second,
                settings.agent_write_burst,
            ),
            user_quota: WriteQuota::new(settings.user_writes_per_second, settings.user_write_burst),
            settings,
            tokens,
            sign_in_throttle: SignInThrottle::default(),
            passwords: Passwords::per_core(),
            pushes: crate::push::PushRuntime::default(),
            instance_id: uuid::Uuid::new_v4().to_string(),
            shutdown: tokio::sync::watch::channel(false).0,
        }))
    }

    /// Resolves once the server is shutting down, including when it already is.
    pub fn stopping(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut shutdown = self.0.shutdown.subscribe();
        async move {
            let _ = shutdown.wait_for(|stopping| *stopping).await;
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0.clock.now()
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
