//! Slow and hostile connections: requests whose headers or body never finish, clients that stop
//! reading, and one address opening more connections than it may. None of them holds a
//! connection past its timeout or keeps other clients out. Raw sockets, since a real HTTP
//! client would never misbehave so.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::support::{TestServer, PATIENCE};

fn addr(server: &TestServer) -> SocketAddr {
    server.addr()
}

/// Connects from `from` (any address of 127.0.0.0/8 is this machine on Linux).
async fn connect_from(from: &str, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind(format!("{from}:0").parse().expect("an address"))
        .expect("bound to a loopback address");
    socket.connect(to).await.expect("connected")
}

async fn send(to: SocketAddr, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(to).await.expect("connected");
    stream.write_all(bytes).await.expect("sent");
    stream
}

/// Everything the server sends until it closes the connection (a reset counts as closed).
async fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("the server closes the connection within the patience window");
        match read {
            Ok(0) | Err(_) => return String::from_utf8_lossy(&answer).into_owned(),
            Ok(n) => answer.extend_from_slice(&chunk[..n]),
        }
    }
}

/// A well-behaved client on a fresh connection: a pooled one may be the kept-alive connection
/// the server is closing right now for idling past the (test-shortened) header timeout.
async fn healthy(server: &TestServer) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let response = client
        .get(format!("{}/healthz", server.base()))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn requests_that_never_finish_are_cut_off_and_others_are_served_meanwhile() {
    let _ = spartex_server::listener::raise_open_files_limit();
    let server = TestServer::start_with(|s| {
        s.header_read_timeout = Duration::from_secs(1);
        s.body_read_timeout = Duration::from_secs(1);
        s.max_connections_per_ip = 10_000;
    })
    .await;
    let to = addr(&server);
    let mut silent = Vec::new();
    let mut unfinished_heads = Vec::new();
    let mut missing_bodies = Vec::new();
    for _ in 0..100 {
        silent.push(TcpStream::connect(to).await.expect("connected"));
        unfinished_heads.push(send(to, b"GET /healthz HTTP/1.1\r\nhost: x\r\n").await);
        missing_bodies.push(
            send(
                to,
                b"POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\"",
            )
            .await,
        );
    }

    // 300 stalled connections, and a well-behaved client is still answered.
    healthy(&server).await;

    for stream in silent.iter_mut().chain(unfinished_heads.iter_mut()) {
        let answer = read_until_closed(stream).await;
        assert!(!answer.contains("200 OK"), "{answer}");
    }
    for stream in &mut missing_bodies {
        let answer = read_until_closed(stream).await;
        assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
        let body = answer.split_once("\r\n\r\n").expect("a head").1;
        let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(body["error"]["code"], "request_timeout", "{body}");
    }
    healthy(&server).await;
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off_at_the_deadline() {
    let server = TestServer::start_with(|s| s.body_read_timeout = Duration::from_secs(1)).await;
    let mut stream = send(
        addr(&server),
        b"POST /api/v1/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n",
    )
    .await;
    // A byte every 200 ms would keep a per-read timeout of 1 s happy forever.
    let (mut reader, mut writer) = stream.split();
    let mut answer = [0u8; 12];
    let reading = reader.read_exact(&mut answer);
    let trickling = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    };
    let cut_off = async {
        tokio::select! {
            read = reading => read,
            () = trickling => unreachable!("trickling never ends"),
        }
    };
    tokio::time::timeout(PATIENCE, cut_off)
        .await
        .expect("the request is cut off within the patience window")
        .expect("an answer");
    assert_eq!(&answer, b"HTTP/1.1 408");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let server = TestServer::start_with(|s| s.header_read_timeout = Duration::from_secs(1)).await;
    let mut stream = send(addr(&server), b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").await;
    let mut first = [0u8; 12];
    stream.read_exact(&mut first).await.expect("an answer");
    assert_eq!(&first, b"HTTP/1.1 200");
    // Kept alive, then nothing more: closed once the next head is overdue.
    read_until_closed(&mut stream).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    let server = TestServer::start_with(|s| s.idle_timeout = Duration::from_secs(1)).await;
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("a small receive buffer");
    let mut stream = socket.connect(addr(&server)).await.expect("connected");
    // Far more answer than the socket buffers hold, asked for at once and never read.
    let request = b"GET /api/v1/openapi.json HTTP/1.1\r\nhost: x\r\n\r\n";
    let asked = 300;
    stream
        .write_all(&request.repeat(asked))
        .await
        .expect("sent");
    // Stop reading for longer than the idle timeout (this is the misbehaviour, not a timing
    // assertion).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let answer = read_until_closed(&mut stream).await;
    let answered = answer.matches("HTTP/1.1 200 OK").count();
    assert!(
        answered < asked,
        "the connection stayed open for all {asked} answers"
    );
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let server = TestServer::start_with(|s| {
        s.max_connections_per_ip = 5;
        s.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let to = addr(&server);
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(connect_from("127.0.0.1", to).await);
    }
    // Prove all five were admitted (a request gets an answer), then leave them open.
    for stream in &mut held {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("sent");
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.expect("an answer");
        assert_eq!(&head, b"HTTP/1.1 200");
    }

    // A sixth from the same address is closed at once, without an answer.
    let mut sixth = connect_from("127.0.0.1", to).await;
    let _ = sixth
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await;
    assert_eq!(read_until_closed(&mut sixth).await, "");

    // Another address is not affected.
    let mut other = connect_from("127.0.0.2", to).await;
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .expect("sent");
    let answer = read_until_closed(&mut other).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Once one of the five closes, its place is free again.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let mut again = connect_from("127.0.0.1", to).await;
        let _ = again
            .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await;
        if read_until_closed(&mut again)
            .await
            .starts_with("HTTP/1.1 200")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the closed connection's place was never given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sockets_whose_peer_answers_no_ping_are_closed() {
    let ping_interval = Duration::from_millis(200);
    let server = TestServer::start_with(move |s| s.ping_interval = ping_interval).await;
    let oncall = server.login("oncall@acme.test").await;
    let mut events = server.events(oncall.token(), None).await;
    assert_eq!(events.next().await["type"], "hello");
    let mut control = server.control("Quill").await;
    // A peer gone without a word (a laptop asleep) reads nothing, so answers no ping: this
    // test's sockets read nothing for longer than three pings (the misbehaviour, not a timing
    // assertion).
    tokio::time::sleep(ping_interval * 8).await;
    assert_eq!(
        events.close_code().await,
        None,
        "the event socket is dropped"
    );
    assert_eq!(
        control.close_code().await,
        None,
        "the agent's control socket too"
    );
}

#[tokio::test]
async fn an_instance_keeps_no_feed_for_a_tenant_nobody_follows_any_more() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let mut events = server.events(oncall.token(), None).await;
    assert_eq!(events.next().await["type"], "hello");
    let state = server.state();
    assert_eq!(state.events.feeds(), 1);
    drop(events);
    spartex_testkit::eventually("the feed is forgotten", PATIENCE, async || {
        (state.events.feeds() == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_event_socket_that_stops_reading_is_let_go() {
    let server = TestServer::start_with(|s| {
        s.slow_reader_patience = Duration::from_secs(1);
        crate::support::lift_people_quota(s);
    })
    .await;
    let manager = server.login("manager@acme.test").await;
    let spring = crate::support::project_id(&manager, crate::support::SPRING).await;
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("a small receive buffer");
    let mut stream = socket.connect(addr(&server)).await.expect("connected");
    let upgrade = format!(
        "GET /api/v1/events HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         authorization: Bearer {}\r\n\r\n",
        manager.token()
    );
    stream.write_all(upgrade.as_bytes()).await.expect("sent");
    // Far more events than the socket buffers hold, never read (the misbehaviour: a peer
    // reading a byte a minute).
    let body = "Copy for the spring hero ad, take two. ".repeat(400);
    for n in 0..500 {
        let (status, answer) = manager
            .post(
                &format!("/api/v1/projects/{spring}/messages"),
                serde_json::json!({"body": body, "client_msg_id": format!("slow-{n}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let taken = read_until_closed(&mut stream).await;
    assert!(taken.starts_with("HTTP/1.1 101"), "upgraded: {taken:.40}");
    assert!(
        taken.matches("slow-").count() < 500,
        "let go before every event was taken"
    );
}
