//! The reference Spartex server: the v1 wire contract (`shared/design/protocol.md`) on axum
//! and sqlx. The binary (`crates/server-bin`) and the demo world (`crates/demo`) are beside it.
//!
//! [`start`] runs a server on a listener and returns a handle; the binary and the tests both
//! use it, so tests exercise the real server over real sockets.

pub mod auth;
pub mod clock;
pub mod config;
pub mod error;
pub mod http;
pub mod hub;
pub mod leadership;
pub mod listener;
pub mod live_sessions;
pub mod log_every;
pub mod passwords;
pub mod presence;
pub mod push;
pub mod relay;
pub mod service;
pub mod state;
pub mod store;
pub mod throttle;
pub mod trusted_proxies;
pub mod uncancelled;
pub mod write;
pub mod write_quota;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::auth::TokenKeys;
use crate::clock::Clock;
use crate::config::{Secret, Settings};
use crate::state::AppState;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("could not open the database: {0}")]
    Store(#[from] StoreError),
    #[error("push is misconfigured: {0}")]
    Push(#[from] push::errors::PushSetupError),
    #[error("could not listen on {addr}: {source}. Is another server running there? Pick another with --listen.")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("--jwt-secret (SPARTEX_JWT_SECRET) is {bytes} bytes long; it must be at least {MIN_JWT_SECRET_BYTES}, since a short one can be guessed offline from any access token and every token forged with it. Make one with `openssl rand -base64 48` and give every instance the same, or leave it out: the server then makes one and keeps it in its database.")]
    ShortJwtSecret { bytes: usize },
    #[error("--access-token-ttl-s is {seconds}; it must be from {MIN_ACCESS_TOKEN_TTL_S} to {MAX_ACCESS_TOKEN_TTL_S} (one hour): an access token cannot be taken back before it expires other than by ending its whole sign-in. Clients refresh theirs as they go.")]
    AccessTokenTtl { seconds: u64 },
}

/// The shortest `--jwt-secret` the server starts with: HS256's key should be no shorter than
/// its 32-byte hash (RFC 7518 §3.2).
pub const MIN_JWT_SECRET_BYTES: usize = 32;
/// The shortest an access token may last, in seconds.
pub const MIN_ACCESS_TOKEN_TTL_S: u64 = 30;
/// The longest an access token may last, in seconds.
pub const MAX_ACCESS_TOKEN_TTL_S: u64 = 3600;

/// Refuses settings the server must not run with, before anything is opened.
fn check(settings: &Settings) -> Result<(), StartError> {
    if let Some(secret) = &settings.jwt_secret {
        let bytes = secret.expose().len();
        if bytes < MIN_JWT_SECRET_BYTES {
            return Err(StartError::ShortJwtSecret { bytes });
        }
    }
    let seconds = settings.access_token_ttl.as_secs();
    if !(MIN_ACCESS_TOKEN_TTL_S..=MAX_ACCESS_TOKEN_TTL_S).contains(&seconds) {
        return Err(StartError::AccessTokenTtl { seconds });
    }
    Ok(())
}

/// A running server. Dropping it does not stop it; call [`RunningServer::shutdown`].
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    serve: JoinHandle<std::io::Result<()>>,
    sweeper: JoinHandle<()>,
    relay: JoinHandle<()>,
    presence: JoinHandle<()>,
    pushes: push::PushTasks,
    /// Whether this instance runs the deployment's once-only jobs now (see [`leadership`]).
    pub leading: tokio::sync::watch::Receiver<bool>,
}

impl RunningServer {
    /// `http://ADDR`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes sockets and long polls, waits for requests in flight (at most
    /// 10 s), then closes the database (at most 5 s more; on SQLite this folds the WAL in).
    pub async fn shutdown(self) {
        self.state.shutdown.send_replace(true);
        let _ = self.sweeper.await;
        let _ = self.relay.await;
        let _ = self.presence.await;
        self.pushes.join().await;
        let mut serve = self.serve;
        if tokio::time::timeout(Duration::from_secs(10), &mut serve)
            .await
            .is_err()
        {
            tracing::warn!("requests still running after 10 s; stopping them");
            serve.abort();
        }
        // Nobody follows the campaign for leadership now: its connection, and the lock, go.
        drop(self.leading);
        if tokio::time::timeout(Duration::from_secs(5), self.state.store.close())
            .await
            .is_err()
        {
            tracing::warn!(
                "the database did not close within 5 s; leaving it to the process's end"
            );
        }
    }

    /// Resolves when the server stops on its own (it only does on a fatal I/O error).
    pub async fn wait(&mut self) -> std::io::Result<()> {
        match (&mut self.serve).await {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        }
    }
}

/// Opens the database (migrating it), binds the listener and starts serving.
pub async fn start(settings: Settings, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    check(&settings)?;
    let store = store::open(settings.database_url.expose(), settings.statement_timeout).await?;
    let secret = match &settings.jwt_secret {
        Some(secret) => secret.clone(),
        None => stored_jwt_secret(store.as_ref()).await?,
    };
    let listener = listen(settings.listen).map_err(|source| StartError::Bind {
        addr: settings.listen,
        source,
    })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: settings.listen,
        source,
    })?;
    let vapid = push::vapid::stored_key(store.as_ref()).await?;
    let state = AppState::new(store, clock, settings, TokenKeys::new(&secret));
    let _ = state
        .pushes
        .vapid_public_key
        .set(push::vapid::public_key(&vapid));
    let senders = push::senders(&state.settings.push, vapid)?;
    let (router, _) = http::router(state.clone());

    let leading = state.store.campaign();
    let sweeper = tokio::spawn(leadership::while_leading(
        state.clone(),
        leading.clone(),
        service::sweep::run,
    ));
    let pushes = push::spawn(state.clone(), senders, leading.clone());
    let relay = tokio::spawn(relay::run(state.clone()));
    let presence = tokio::spawn(presence::share(state.clone()));
    let serve = tokio::spawn(listener::serve(
        listener,
        router,
        listener::Limits::of(&state.settings),
        state.shutdown.subscribe(),
    ));
    tracing::info!(%addr, "spartex-server listening");
    Ok(RunningServer {
        addr,
        state,
        serve,
        sweeper,
        relay,
        presence,
        pushes,
        leading,
    })
}

/// A listener with room for a reconnect storm: after a restart every client reconnects at
/// once, and the default backlog of 128 drops handshakes that then wait a second to retry.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

/// The token-signing secret kept in the database, made on first start, so tokens outlive restarts.
async fn stored_jwt_secret(store: &dyn store::Store) -> Result<Secret, StoreError> {
    let mut tx = store.begin(store::WriteScope::Server).await?;
    if let Some(secret) = tx.setting("jwt_secret").await? {
        return Ok(Secret::new(secret));
    }
    let secret = auth::random_secret();
    tx.put_setting("jwt_secret", &secret).await?;
    drop(tx.commit().await?);
    Ok(Secret::new(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(tweak: impl FnOnce(&mut Settings)) -> Settings {
        let mut settings = Settings::new("127.0.0.1:0".parse().expect("an address"), "sqlite://x");
        tweak(&mut settings);
        settings
    }

    #[test]
    fn a_short_signing_secret_or_an_access_token_lifetime_out_of_bounds_is_refused_at_start() {
        let short = settings(|s| s.jwt_secret = Some(Secret::new("x".repeat(31))));
        let refused = check(&short).expect_err("31 bytes are too few");
        assert!(matches!(refused, StartError::ShortJwtSecret { bytes: 31 }));
        assert!(refused.to_string().contains("openssl rand"), "{refused}");
        let enough = settings(|s| s.jwt_secret = Some(Secret::new("x".repeat(32))));
        assert!(check(&enough).is_ok());
        assert!(check(&settings(|_| ())).is_ok(), "no secret: one is made");

        let ttl =
            |seconds| settings(|s| s.access_token_ttl = std::time::Duration::from_secs(seconds));
        assert!(check(&ttl(3600)).is_ok());
        assert!(check(&ttl(30)).is_ok());
        let short = check(&ttl(29)).expect_err("29 s is too short");
        assert!(matches!(short, StartError::AccessTokenTtl { seconds: 29 }));
        assert!(short.to_string().contains("from 30 to 3600"), "{short}");
        assert!(matches!(
            check(&ttl(0)),
            Err(StartError::AccessTokenTtl { seconds: 0 })
        ));
        let day = settings(|s| s.access_token_ttl = std::time::Duration::from_secs(86_400));
        assert!(matches!(
            check(&day),
            Err(StartError::AccessTokenTtl { seconds: 86_400 })
        ));
    }
}
