//! Dialing the event socket as REST is reached: TLS by the core's one configuration
//! ([`crate::tls`]), and through the HTTP proxy the environment names for the server
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, less `NO_PROXY`, read as reqwest reads them for
//! REST), by an HTTP `CONNECT` tunnel. A socket that went straight out where REST went through
//! a company's proxy would never come up, and the app would sit offline while its actions were
//! delivered.
//!
//! Its TCP connection, to the server or to the proxy, is raced over the host's addresses as
//! RFC 8305 ("Happy Eyeballs") says, as reqwest's is for REST: on a network whose IPv6 is
//! broken (a hotel's, a VPN's), trying each address until the system gives up on it would hold
//! the socket at "connecting" until its handshake's patience ran out, every time.

use std::io;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::error::UrlError;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub(crate) type EventSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest answer head a proxy may give to `CONNECT`.
const MAX_PROXY_ANSWER: usize = 8 * 1024;
/// How long a connection attempt to one address has before the next address is tried beside
/// it (RFC 8305's "Connection Attempt Delay", 250 ms recommended).
const NEXT_ADDRESS_AFTER: Duration = Duration::from_millis(250);

/// Opens the socket `request` names, through the environment's proxy for it if there is one.
pub(crate) async fn dial(
    request: Request,
    config: WebSocketConfig,
) -> Result<(EventSocket, Response), WsError> {
    let tls = Some(Connector::Rustls(crate::tls::client_config()));
    let uri = request.uri();
    let host = uri.host().ok_or(WsError::Url(UrlError::NoHostName))?;
    let port = match (uri.port_u16(), uri.scheme_str()) {
        (Some(port), _) => port,
        (None, Some("wss")) => 443,
        (None, Some("ws")) => 80,
        _ => return Err(WsError::Url(UrlError::UnsupportedUrlScheme)),
    };
    let stream = match proxy_for(uri) {
        Some(proxy) => tunnel(&proxy, host, port).await,
        None => connect(host, port).await,
    }
    .map_err(WsError::Io)?;
    tokio_tungstenite::client_async_tls_with_config(request, stream, Some(config), tls).await
}

/// A TCP stream to `host` (a name, or an address, an IPv6 one in brackets or not) at `port`:
/// the first of its addresses to connect, raced as [`connect_first`] does.
async fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("{bare} could not be resolved: {e}")))?
        .collect();
    connect_first(&interleaved(addresses), NEXT_ADDRESS_AFTER)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("{bare}:{port}: {e}")))
}

/// `addresses` in the resolver's order of preference, families alternating from the first's
/// (IPv6, IPv4, IPv6, …, where the system prefers IPv6), so that one family's addresses, all
/// unreachable on a network where it is broken, never hold back the other's (RFC 8305 § 4).
pub(crate) fn interleaved(addresses: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let Some(first) = addresses.first() else {
        return addresses;
    };
    let first_is_v6 = first.is_ipv6();
    let (firsts, others): (Vec<_>, Vec<_>) = addresses
        .into_iter()
        .partition(|address| address.is_ipv6() == first_is_v6);
    let (mut firsts, mut others) = (firsts.into_iter(), others.into_iter());
    let mut order = Vec::new();
    loop {
        match (firsts.next(), others.next()) {
            (None, None) => return order,
            (one, other) => order.extend(one.into_iter().chain(other)),
        }
    }
}

/// The first of `addresses` to connect, tried in their order with staggered starts: the first
/// at once, each next one `stagger` after the one before it started, or as soon as every
/// attempt under way has failed. The first to connect wins and the others are dropped; when
/// all fail, the error names each address and why.
pub(crate) async fn connect_first(
    addresses: &[SocketAddr],
    stagger: Duration,
) -> io::Result<TcpStream> {
    let attempt = |address: SocketAddr| async move { (address, TcpStream::connect(address).await) };
    let mut waiting = addresses.iter().copied().peekable();
    let mut under_way = FuturesUnordered::new();
    let mut failures: Vec<(SocketAddr, io::Error)> = Vec::new();
    loop {
        if under_way.is_empty() {
            match waiting.next() {
                Some(address) => under_way.push(attempt(address)),
                None => break,
            }
        }
        let more = waiting.peek().is_some();
        tokio::select! {
            Some((address, connected)) = under_way.next() => match connected {
                Ok(stream) => return Ok(stream),
                Err(error) => {
                    tracing::debug!(%address, %error, "the event socket's address did not connect");
                    failures.push((address, error));
                    // A failed attempt is no reason to wait: the next starts at once.
                    if let Some(next) = waiting.next() {
                        under_way.push(attempt(next));
                    }
                }
            },
            () = tokio::time::sleep(stagger), if more => {
                if let Some(next) = waiting.next() {
                    under_way.push(attempt(next));
                }
            }
        }
    }
    let Some((_, first)) = failures.first() else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the name resolved to no address",
        ));
    };
    let kind = first.kind();
    let each: Vec<String> = failures
        .iter()
        .map(|(address, error)| format!("{address} ({error})"))
        .collect();
    Err(io::Error::new(
        kind,
        format!("no address connected: {}", each.join(", ")),
    ))
}

fn proxies() -> &'static Matcher {
    static PROXIES: OnceLock<Matcher> = OnceLock::new();
    PROXIES.get_or_init(Matcher::from_system)
}

/// The proxy for the socket at `uri`: the one named for `https://` for `wss://`, for `http://`
/// for `ws://`.
fn proxy_for(uri: &Uri) -> Option<Intercept> {
    let scheme = if uri.scheme_str() == Some("wss") {
        "https"
    } else {
        "http"
    };
    let as_http = Uri::builder()
        .scheme(scheme)
        .authority(uri.authority()?.clone())
        .path_and_query("/")
        .build()
        .ok()?;
    proxies().intercept(&as_http)
}

/// A TCP stream to `host` at `port`, through `proxy`'s `CONNECT`.
async fn tunnel(proxy: &Intercept, host: &str, port: u16) -> io::Result<TcpStream> {
    let fail = |what: String| io::Error::other(what);
    let at = proxy.uri();
    if at.scheme_str() != Some("http") {
        return Err(fail(format!(
            "the proxy {} is not an http:// one, the only kind the event socket can go through",
            at.scheme_str().unwrap_or("without a scheme")
        )));
    }
    let proxy_host = at.host().unwrap_or_default();
    let proxy_port = at.port_u16().unwrap_or(80);
    let authority = format!("{host}:{port}");
    let mut stream = connect(proxy_host, proxy_port).await?;
    let mut ask = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(credentials) = proxy.basic_auth().and_then(|v| v.to_str().ok()) {
        ask.push_str(&format!("Proxy-Authorization: {credentials}\r\n"));
    }
    ask.push_str("\r\n");
    stream.write_all(ask.as_bytes()).await?;
    let head = answer_head(&mut stream).await?;
    let status_line = head.lines().next().unwrap_or_default();
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    let proxy_at = format!("{proxy_host}:{proxy_port}");
    match status {
        "200" => Ok(stream),
        "407" => Err(fail(format!(
            "the proxy at {proxy_at} asks for credentials (407): put them in its address, \
             http://user:password@{proxy_at}"
        ))),
        _ => Err(fail(format!(
            "the proxy at {proxy_at} did not open a tunnel to {authority}: {}",
            spartex_policy::plain_text(status_line, false)
        ))),
    }
}

/// The proxy's answer up to its blank line, read a byte at a time: what follows is the server's
/// TLS, which must stay in the stream.
async fn answer_head(stream: &mut TcpStream) -> io::Result<String> {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_PROXY_ANSWER {
            return Err(io::Error::other(
                "the proxy's answer to CONNECT never ended",
            ));
        }
        head.push(stream.read_u8().await?);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::time::Duration;

    use tokio::net::{TcpListener, TcpSocket, TcpStream};

    use super::{connect_first, interleaved, NEXT_ADDRESS_AFTER};

    /// Far less than the handshake's patience (10 s), and far more than a loopback connection
    /// takes on a machine however busy.
    const WELL_WITHIN: Duration = Duration::from_secs(5);

    /// An address whose SYNs go unanswered, as a broken IPv6 route's do: a listener on
    /// 127.0.0.1 that accepts nothing, its queue of one connection filled, where Linux drops
    /// further SYNs (and the kernel tries them again for minutes). Hold what it returns.
    async fn black_hole() -> (SocketAddr, TcpListener, Vec<TcpStream>) {
        let socket = TcpSocket::new_v4().expect("a socket");
        socket.bind((Ipv4Addr::LOCALHOST, 0).into()).expect("binds");
        let listener = socket.listen(1).expect("listens");
        let at = listener.local_addr().expect("its address");
        let mut queued = Vec::new();
        for _ in 0..64 {
            match tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(at)).await {
                Ok(Ok(stream)) => queued.push(stream),
                Ok(Err(error)) => panic!("the listener refused a connection: {error}"),
                // Unanswered: the queue is full, and so are SYNs from now on.
                Err(_) => return (at, listener, queued),
            }
        }
        panic!("the listener's queue never filled");
    }

    async fn server() -> (SocketAddr, TcpListener) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("binds");
        (listener.local_addr().expect("its address"), listener)
    }

    /// An address nothing listens on: its connections are refused at once.
    async fn refusing() -> SocketAddr {
        server().await.0
    }

    /// The first address (IPv6 on a dual-stack network) never answers, as where IPv6 is broken:
    /// the second connects within a fraction of the handshake's patience, where trying them in
    /// turn waited on the first until the system gave up, minutes later.
    #[tokio::test]
    async fn an_address_that_never_answers_holds_back_the_next_one_a_moment_only() {
        let (hole, _listener, _queued) = black_hole().await;
        let (real, _server) = server().await;
        let addresses = [hole, real];

        let in_turn = tokio::time::timeout(Duration::from_secs(2), async {
            TcpStream::connect(&addresses[..]).await
        })
        .await;
        assert!(
            in_turn.is_err(),
            "trying the addresses in turn waits on the first: {in_turn:?}"
        );

        let stream =
            tokio::time::timeout(WELL_WITHIN, connect_first(&addresses, NEXT_ADDRESS_AFTER))
                .await
                .expect("the second address connects while the first still says nothing")
                .expect("connects");
        assert_eq!(stream.peer_addr().expect("a peer"), real);
    }

    /// An address that refuses lets the next one start at once, not after the stagger.
    #[tokio::test]
    async fn an_address_that_refuses_starts_the_next_at_once() {
        let (real, _server) = server().await;
        let addresses = [refusing().await, real];
        let stream = tokio::time::timeout(
            WELL_WITHIN,
            connect_first(&addresses, Duration::from_secs(600)),
        )
        .await
        .expect("not held for the stagger")
        .expect("connects");
        assert_eq!(stream.peer_addr().expect("a peer"), real);
    }

    /// The first address that answers wins even when a later one would too.
    #[tokio::test]
    async fn the_first_address_is_taken_when_it_answers() {
        let (first, _first_server) = server().await;
        let (second, _second_server) = server().await;
        let stream = connect_first(&[first, second], NEXT_ADDRESS_AFTER)
            .await
            .expect("connects");
        assert_eq!(stream.peer_addr().expect("a peer"), first);
    }

    #[tokio::test]
    async fn when_no_address_connects_the_error_names_each_and_why() {
        let (one, two) = (refusing().await, refusing().await);
        let error = connect_first(&[one, two], NEXT_ADDRESS_AFTER)
            .await
            .expect_err("nothing listens");
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
        let text = error.to_string();
        assert!(
            text.contains(&format!("{one} (")) && text.contains(&format!("{two} (")),
            "{text}"
        );
        assert!(text.to_lowercase().contains("refused"), "{text}");

        let none = connect_first(&[], NEXT_ADDRESS_AFTER)
            .await
            .expect_err("no address");
        assert!(none.to_string().contains("no address"), "{none}");
    }

    #[test]
    fn the_families_alternate_from_the_one_the_resolver_put_first() {
        let v6 = |n: u16| SocketAddr::from((Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n), 443));
        let v4 = |n: u8| SocketAddr::from((Ipv4Addr::new(192, 0, 2, n), 443));
        assert_eq!(
            interleaved(vec![v6(1), v6(2), v6(3), v4(1), v4(2)]),
            vec![v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(
            interleaved(vec![v4(1), v4(2), v6(1)]),
            vec![v4(1), v6(1), v4(2)]
        );
        assert_eq!(interleaved(vec![v6(1), v6(2)]), vec![v6(1), v6(2)]);
        assert_eq!(interleaved(Vec::new()), Vec::<SocketAddr>::new());
    }
}
