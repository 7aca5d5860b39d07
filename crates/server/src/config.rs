//! Server settings: from flags and `SPARTEX_*` variables in the binary, built directly in tests.

use std::net::SocketAddr;
use std::time::Duration;

pub use spartex_api::Secret;

#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    /// A PostgreSQL URL may hold a password: kept out of `Debug` like the other secrets.
    pub database_url: Secret,
    /// Signs access tokens. When absent, one is generated and kept in the database.
    pub jwt_secret: Option<Secret>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// How long an agent has to acknowledge a stop before it is stopped by force.
    pub stop_timeout: Duration,
    /// How long the event log keeps events; older `since` values get `resync_required`.
    pub event_retention: Duration,
    pub idempotency_retention: Duration,
    /// How often expiry and stop deadlines are checked.
    pub sweep_interval: Duration,
    pub ping_interval: Duration,
    /// An event socket that does not take a frame (or a page of catch-up) within this long is
    /// closed: a peer reading a byte a minute would otherwise hold its tenant's live events in
    /// memory, however many.
    pub slow_reader_patience: Duration,
    /// How often an open event socket re-checks that its session is still live (expiry, and
    /// revocations made where no announcement reaches).
    pub session_check_interval: Duration,
    /// How long a session read as active is believed without reading it again (see
    /// [`crate::live_sessions`]): the longest an end announced by another instance can wait
    /// behind the announcements before it.
    pub session_recheck_after: Duration,
    pub max_body_bytes: usize,
    /// Largest `wait_s` an agent's long poll may ask for: 50 s, under the 60 s nginx and an AWS
    /// ALB wait for an answer by default, so a long poll ends with its answer, not their 504.
    pub max_long_poll: Duration,
    /// How long a client has to send a request's headers: on a new connection, and between
    /// requests on a kept-alive one (so it is also how long an idle connection stays open).
    pub header_read_timeout: Duration,
    /// How long a client has to send a whole request body, counted from its headers (408).
    pub body_read_timeout: Duration,
    /// A connection on which no byte moves either way for this long, while the server waits
    /// on the client, is closed. Must exceed `max_long_poll`.
    pub idle_timeout: Duration,
    /// Connections one client address (an IPv6 /64) may hold open; more are closed at once.
    pub max_connections_per_ip: usize,
    /// Load balancers and reverse proxies (addresses or ranges) whose `X-Forwarded-For` names
    /// the client: sign-in throttling counts by that address instead of the proxy's; their
    /// connections are capped as 16 clients' (each carries many people's) and may stay idle
    /// between requests for `idle_timeout`, longer than a balancer keeps them (60 s for nginx
    /// and an AWS ALB), so the server never closes one the balancer is reusing.
    pub trusted_proxies: crate::trusted_proxies::TrustedProxies,
    /// Approvals one agent may have waiting at once; more are refused with 429, so a looping
    /// agent cannot bury the on-call.
    pub max_pending_approvals_per_agent: usize,
    /// Tasks a project may have open (queued, running or blocked) at once; more are refused
    /// with 422: a project's page and a client's resync read every open task.
    pub max_open_tasks_per_project: i64,
    /// Decided approvals `GET /approvals` lists, the most recent first (every pending one is
    /// listed): the answer, and a client's resync that reads it, stay bounded as the history
    /// grows.
    pub max_decided_approvals_listed: i64,
    /// Sign-ins one person keeps at once; a new one past them ends the oldest.
    pub max_sessions_per_user: i64,
    /// Writes one agent may make a second, over a while, and at once (see
    /// [`crate::write_quota`]); past them, 429.
    pub agent_writes_per_second: u32,
    pub agent_write_burst: u32,
    /// Writes one person may make a second, over a while, and at once, all their clients
    /// together (see [`crate::write_quota`]); past them, 429. The emergency stop, signing in
    /// and out, and reads are never counted. Far above what a person does by hand (a manager
    /// deciding forty requests in a row is within the burst), so only a runaway or stolen
    /// client meets it.
    pub user_writes_per_second: u32,
    pub user_write_burst: u32,
    /// How long one statement may run on PostgreSQL before the database stops it and the
    /// request is answered 503 (a read over a project's whole history, say): one that ran on
    /// would hold a pooled connection meanwhile. SQLite has no such limit.
    pub statement_timeout: Duration,
    /// Push to phones: which services the server may send through, and how.
    pub push: PushSettings,
}

/// Push services (protocol v1.1). A platform left unconfigured keeps its devices and says so
/// once at start.
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// Lets Web Push endpoints be plain `http://` and on loopback or private addresses: for
    /// local tests only, never in production (it opens the server to SSRF).
    pub insecure_endpoints: bool,
    /// Who the push services may contact about this server (VAPID `sub`), e.g. `mailto:ops@example.com`.
    pub contact: String,
    pub apns: Option<ApnsSettings>,
    pub fcm: Option<FcmSettings>,
    /// How long one attempt may take before it counts as failed and is retried.
    pub send_timeout: Duration,
}

impl Default for PushSettings {
    fn default() -> Self {
        PushSettings {
            insecure_endpoints: false,
            contact: "mailto:push@spartex.invalid".into(),
            apns: None,
            fcm: None,
            send_timeout: Duration::from_secs(10),
        }
    }
}

/// APNs with token-based auth: the `.p8` key Apple's developer account gives.
#[derive(Debug, Clone)]
pub struct ApnsSettings {
    pub key_file: std::path::PathBuf,
    pub key_id: String,
    pub team_id: String,
    /// The app's bundle id (`apns-topic`).
    pub topic: String,
    /// Replaces `https://api.push.apple.com` (and the sandbox host): for tests against a fake.
    pub endpoint: Option<String>,
}

/// FCM HTTP v1 with a Google service account.
#[derive(Debug, Clone)]
pub struct FcmSettings {
    /// The service account's JSON key file (its `project_id`, `client_email`, `private_key`,
    /// `token_uri`).
    pub service_account_file: std::path::PathBuf,
    /// Replaces `https://fcm.googleapis.com`: for tests against a fake.
    pub endpoint: Option<String>,
}

impl Settings {
    pub fn new(listen: SocketAddr, database_url: impl Into<String>) -> Self {
        Settings {
            listen,
            database_url: Secret::new(database_url.into()),
            jwt_secret: None,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            stop_timeout: Duration::from_secs(10),
            event_retention: Duration::from_secs(30 * 24 * 3600),
            idempotency_retention: Duration::from_secs(24 * 3600),
            sweep_interval: Duration::from_millis(250),
            ping_interval: Duration::from_secs(20),
            slow_reader_patience: Duration::from_secs(30),
            session_check_interval: Duration::from_secs(30),
            session_recheck_after: Duration::from_secs(10),
            max_body_bytes: 256 * 1024,
            max_long_poll: Duration::from_secs(50),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(75),
            max_connections_per_ip: 512,
            trusted_proxies: Default::default(),
            max_pending_approvals_per_agent: 20,
            max_open_tasks_per_project: 1_000,
            max_decided_approvals_listed: 5_000,
            max_sessions_per_user: 50,
            agent_writes_per_second: 50,
            agent_write_burst: 200,
            user_writes_per_second: 10,
            user_write_burst: 60,
            statement_timeout: crate::store::DEFAULT_STATEMENT_TIMEOUT,
            push: PushSettings::default(),
        }
    }
}
