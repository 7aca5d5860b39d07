//! The accept loop: HTTP/1 (with upgrades, for the WebSockets) on hyper, with the limits that
//! keep slow or hostile clients from holding connections forever.
//!
//! - a request's headers must arrive within `header_read_timeout`; hyper starts that clock
//!   whenever it waits for a head, so it also ends a kept-alive connection left idle between
//!   requests;
//! - its body within `body_read_timeout` (`http::deadline`, answered 408);
//! - a socket on which nothing moves for `idle_timeout` is closed ([`idle`]);
//! - one client address holds at most `max_connections_per_ip` connections ([`per_ip`]),
//!   a trusted proxy's as many as 16 clients' (each carries many people's requests), and a
//!   trusted proxy's may wait between requests for `idle_timeout` (longer than the 60 s a
//!   balancer keeps them);
//! - a request hyper cannot parse still gets the contract's error body ([`parse_errors`]).
//!
//! hyper's own `http1` builder rather than hyper-util's `auto` one: `auto` first reads up to
//! 24 bytes to tell HTTP/2 from HTTP/1 with no timeout at all, so a client that connects and
//! sends nothing would never meet the header timeout (and the server speaks HTTP/1 only).

mod idle;
mod parse_errors;
pub mod per_ip;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use self::idle::IdleTimeout;
use self::parse_errors::ParseErrorBodies;
use self::per_ip::{Admission, PerIp};
use crate::config::Settings;
use crate::trusted_proxies::TrustedProxies;

/// A trusted proxy's connections are capped as this many clients' (8,192 by default): each
/// carries many people's requests, but a range named too widely must not hold connections
/// without end.
const CLIENTS_PER_PROXY: usize = 16;

/// The connection limits of [`Settings`].
#[derive(Debug, Clone)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections_per_ip: usize,
    pub trusted_proxies: TrustedProxies,
}

impl Limits {
    pub fn of(settings: &Settings) -> Self {
        Limits {
            header_read_timeout: settings.header_read_timeout,
            idle_timeout: settings.idle_timeout,
            max_connections_per_ip: settings.max_connections_per_ip,
            trusted_proxies: settings.trusted_proxies.clone(),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` turns true, then waits for the connections
/// in flight to finish their requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    // A balancer keeps its connections to the server for the next requests (60 s for nginx
    // and an AWS ALB); one closed under it by the short header timeout races the request it
    // sends on it, which its client gets as a 502. Its own clients meet its timeouts.
    let mut http_for_proxies = http.clone();
    http_for_proxies.header_read_timeout(limits.idle_timeout);
    let per_ip = PerIp::new(limits.max_connections_per_ip);
    // A trusted proxy carries many clients on its connections: capped as many, not as one.
    let per_proxy = PerIp::new(
        limits
            .max_connections_per_ip
            .saturating_mul(CLIENTS_PER_PROXY),
    );
    // Every connection task holds a sender; `recv` ends once all of them have finished.
    let (in_flight, mut drained) = tokio::sync::mpsc::channel::<()>(1);
    let mut accept_failures = Throttle::default();
    let stopping = stopped(shutdown.clone());
    tokio::pin!(stopping);
    loop {
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut stopping => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error, &mut accept_failures).await;
                    continue;
                }
            },
        };
        let from_a_proxy = limits.trusted_proxies.contains(peer.ip());
        let (capped_by, http) = if from_a_proxy {
            (&per_proxy, &http_for_proxies)
        } else {
            (&per_ip, &http)
        };
        let permit = match capped_by.admit(peer.ip(), Instant::now()) {
            Admission::Admitted(permit) => permit,
            Admission::Refused { log } => {
                if log {
                    tracing::warn!(
                        client = %peer.ip(),
                        proxy = from_a_proxy,
                        cap = capped_by.cap(),
                        "a client address holds as many connections as it may; closing its new ones (logged once a minute)"
                    );
                }
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let io = ParseErrorBodies::new(IdleTimeout::new(stream, limits.idle_timeout, permit));
        tokio::spawn(connection(
            http.clone(),
            io,
            peer,
            router.clone(),
            stopped(shutdown.clone()),
            in_flight.clone(),
        ));
    }
    drop(listener);
    drop(in_flight);
    let _ = drained.recv().await;
    Ok(())
}

/// One connection, to its end; asked to finish gracefully (its request in flight, no more)
/// once the server stops.
async fn connection(
    http: http1::Builder,
    io: ParseErrorBodies<IdleTimeout<TcpStream>>,
    peer: SocketAddr,
    router: Router,
    stopping: impl std::future::Future<Output = ()>,
    _in_flight: tokio::sync::mpsc::Sender<()>,
) {
    // Handlers see the client's address as axum's `ConnectInfo<SocketAddr>`.
    let service = router.map_request(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let conn = http
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(service))
        .with_upgrades();
    tokio::pin!(conn);
    tokio::pin!(stopping);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        () = &mut stopping => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = ended {
        // Timeouts, resets and malformed requests are the client's business, and one line per
        // connection would let any client flood the log.
        tracing::debug!(client = %peer, %error, "connection ended");
    }
}

async fn stopped(mut shutdown: watch::Receiver<bool>) {
    // An error means the sender is gone: the server is gone too.
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

/// Accepting fails when the process is out of file descriptors (or the kernel of memory):
/// wait a moment, as nothing can be accepted until some close, and say so now and then.
async fn accept_failed(error: &std::io::Error, failures: &mut Throttle) {
    use std::io::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused
    ) {
        return;
    }
    if failures.ready(Instant::now()) {
        tracing::error!(%error, "cannot accept connections (are file descriptors exhausted? see `ulimit -n`); retrying (logged once a minute)");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Lets something through at most once a minute.
#[derive(Default)]
struct Throttle {
    last: Option<Instant>,
}

impl Throttle {
    fn ready(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < Duration::from_secs(60) => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

/// Raises this process's soft limit on open files to its hard limit, so the per-address cap,
/// not the default soft limit (often 1,024), is what turns clients away. Returns the limit.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    rlimit::increase_nofile_limit(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Handlers (sign-in throttling, for one) read the client's address as axum's
    /// `ConnectInfo<SocketAddr>`; this loop must provide it as `axum::serve` did.
    #[tokio::test]
    async fn handlers_see_the_clients_address() {
        let router = Router::new().route(
            "/",
            axum::routing::get(|ConnectInfo(client): ConnectInfo<SocketAddr>| async move {
                client.to_string()
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bound");
        let addr = listener.local_addr().expect("an address");
        let (shutdown, watching) = watch::channel(false);
        let limits = Limits {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            max_connections_per_ip: 4,
            trusted_proxies: TrustedProxies::default(),
        };
        let serving = tokio::spawn(serve(listener, router, limits, watching));

        let mut client = TcpStream::connect(addr).await.expect("connected");
        let me = client.local_addr().expect("the client's address");
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .expect("sent");
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.expect("answered");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&me.to_string()), "{answer}");

        shutdown.send_replace(true);
        serving
            .await
            .expect("the loop ends")
            .expect("without error");
    }

    /// A server on loopback with a 1 s header timeout and a cap of one connection per address,
    /// loopback being a trusted proxy or not.
    async fn serving(loopback_is_a_proxy: bool) -> (SocketAddr, watch::Sender<bool>) {
        let router = Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bound");
        let addr = listener.local_addr().expect("an address");
        let (shutdown, watching) = watch::channel(false);
        let trusted = if loopback_is_a_proxy {
            let loopback = crate::trusted_proxies::parse_one("127.0.0.0/8").expect("a range");
            TrustedProxies::new(vec![loopback])
        } else {
            TrustedProxies::default()
        };
        let limits = Limits {
            header_read_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(75),
            max_connections_per_ip: 1,
            trusted_proxies: trusted,
        };
        tokio::spawn(serve(listener, router, limits, watching));
        (addr, shutdown)
    }

    /// Sends a kept-alive request; true when it is answered 200.
    async fn asks(client: &mut TcpStream) -> bool {
        if client
            .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .is_err()
        {
            return false;
        }
        let mut answer = [0u8; 512];
        let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut answer)).await;
        matches!(read, Ok(Ok(n)) if answer[..n].starts_with(b"HTTP/1.1 200"))
    }

    /// A balancer's connections carry many clients and are kept between their requests: they
    /// are capped as many clients', not one's, and not closed by the header timeout while the
    /// balancer waits for its next request (it would race the request it sends on one: a 502).
    #[tokio::test]
    async fn a_trusted_proxys_connections_are_capped_as_many_clients_and_kept_between_requests() {
        let (addr, shutdown) = serving(true).await;
        let mut open = Vec::new();
        for _ in 0..CLIENTS_PER_PROXY {
            let mut connection = TcpStream::connect(addr).await.expect("connected");
            assert!(asks(&mut connection).await, "served as one of many clients");
            open.push(connection);
        }
        let mut beyond = TcpStream::connect(addr).await.expect("connected");
        assert!(
            !asks(&mut beyond).await,
            "past as many clients' connections"
        );
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(asks(&mut open[0]).await, "kept past the header timeout");
        shutdown.send_replace(true);
    }

    #[tokio::test]
    async fn anyone_elses_are_capped_and_closed_when_idle_past_the_header_timeout() {
        let (addr, shutdown) = serving(false).await;
        let mut first = TcpStream::connect(addr).await.expect("connected");
        assert!(asks(&mut first).await);
        let mut second = TcpStream::connect(addr).await.expect("connected");
        assert!(!asks(&mut second).await, "past the cap");
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(!asks(&mut first).await, "closed while idle");
        shutdown.send_replace(true);
    }
}
