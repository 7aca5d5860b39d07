//! Dialing the event socket as REST is reached: TLS by the core's one configuration
//! ([`crate::tls`]), and through the HTTP proxy the environment names for the server
//! (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, less `NO_PROXY`, read as reqwest reads them for
//! REST), by an HTTP `CONNECT` tunnel. A socket that went straight out where REST went through
//! a company's proxy would never come up, and the app would sit offline while its actions were
//! delivered.

use std::io;
use std::sync::OnceLock;

use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::client::{Request, Response};
use tokio_tungstenite::tungstenite::http::Uri;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

pub(crate) type EventSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The longest answer head a proxy may give to `CONNECT`.
const MAX_PROXY_ANSWER: usize = 8 * 1024;

/// Opens the socket `request` names, through the environment's proxy for it if there is one.
pub(crate) async fn dial(
    request: Request,
    config: WebSocketConfig,
) -> Result<(EventSocket, Response), WsError> {
    let tls = Some(Connector::Rustls(crate::tls::client_config()));
    let Some(proxy) = proxy_for(request.uri()) else {
        return tokio_tungstenite::connect_async_tls_with_config(request, Some(config), false, tls)
            .await;
    };
    let tunnel = tunnel(&proxy, request.uri()).await.map_err(WsError::Io)?;
    tokio_tungstenite::client_async_tls_with_config(request, tunnel, Some(config), tls).await
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

/// A TCP stream to `target`'s host and port, through `proxy`'s `CONNECT`.
async fn tunnel(proxy: &Intercept, target: &Uri) -> io::Result<TcpStream> {
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
    let default_port = if target.scheme_str() == Some("wss") {
        443
    } else {
        80
    };
    let authority = format!(
        "{}:{}",
        target.host().unwrap_or_default(),
        target.port_u16().unwrap_or(default_port)
    );
    let mut stream = TcpStream::connect((proxy_host, proxy_port)).await?;
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
