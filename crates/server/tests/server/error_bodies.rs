//! Every error answer is the contract's body, `{"error": {"code", "message", "details"}}`:
//! with `details` even when empty, with the size limit the server really has, and even for a
//! request too broken for the router to see.

use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{TestServer, PATIENCE};

#[tokio::test]
async fn error_bodies_always_carry_details() {
    let server = TestServer::start().await;
    let anonymous = server.anonymous();
    let answers = [
        anonymous.get("/api/v1/no-such-route").await,
        anonymous.get("/api/v1/me").await,
        anonymous.delete("/api/v1/auth/login").await,
        anonymous
            .post("/api/v1/auth/login", json!({"email": 3}))
            .await,
    ];
    for (status, body) in answers {
        assert!(status.is_client_error(), "{status}: {body}");
        assert_eq!(body["error"]["details"], json!({}), "{status}: {body}");
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_told_the_limit_the_server_was_given() {
    let server = TestServer::start_with(|s| s.max_body_bytes = 1024).await;
    let long = "x".repeat(2000);
    // Read by a JSON extractor.
    let (status, body) = server
        .anonymous()
        .post(
            "/api/v1/auth/login",
            json!({"email": long, "password": "p"}),
        )
        .await;
    assert_too_large(status, &body);
    // Read as raw bytes, whose rejection is given its body by the router's last layer.
    let oncall = server.login("oncall@acme.test").await;
    let (status, body) = oncall
        .post("/api/v1/auth/logout", json!({"refresh_token": long}))
        .await;
    assert_too_large(status, &body);
}

fn assert_too_large(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(message.contains("under 1 KiB"), "{message}");
}

/// Sends `request` on a socket of its own; returns the status line and the body.
async fn raw(server: &TestServer, request: &[u8]) -> (String, String) {
    let addr = server.addr();
    let mut stream = TcpStream::connect(addr).await.expect("connected");
    stream.write_all(request).await.expect("sent");
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut answer))
        .await
        .expect("answered and closed within the patience window")
        .expect("read");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    let status = head.lines().next().unwrap_or_default().to_owned();
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {}", body.len())),
        "{answer}"
    );
    (status, body.to_owned())
}

#[tokio::test]
async fn a_request_that_is_not_http_gets_the_error_body() {
    let server = TestServer::start().await;
    for broken in [
        &b"GET /healthz\x01 HTTP/1.1\r\nhost: x\r\n\r\n"[..],
        b"HELLO THERE\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nbad header line\r\n\r\n",
    ] {
        let (status, body) = raw(&server, broken).await;
        assert!(status.starts_with("HTTP/1.1 400 "), "{status}");
        let body: Value = serde_json::from_str(&body).expect("a JSON body");
        assert_eq!(body["error"]["code"], "bad_request", "{body}");
        assert_eq!(body["error"]["details"], json!({}), "{body}");
    }
    // The server is none the worse for them.
    let (status, _) = server.anonymous().get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
}
