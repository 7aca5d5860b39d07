//! The contract's error body on hyper's own answers to requests it cannot parse.
//!
//! When hyper 1.x cannot parse a request head it writes a bodiless `400`, `414` or `431` by
//! itself (`proto/h1/conn.rs` `on_parse_error` → `role.rs` `Server::on_error`) and closes the
//! connection; the request never reaches a service, and hyper offers no hook to shape that
//! answer. So the one place left is the socket: this wrapper recognises that head on its way
//! out and writes it again with a JSON error body. The router never writes a 4xx without a
//! body (`http::contract_errors_only` gives each one, and HEAD answers keep their length), so
//! a 4xx head with `content-length: 0` can only be hyper's own.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use spartex_api::{ErrorBody, ErrorCode, ErrorDetail};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct ParseErrorBodies<T> {
    io: T,
    /// A rewritten answer still being written, and how many of hyper's bytes it stands for.
    rewriting: Option<Rewrite>,
}

struct Rewrite {
    bytes: Vec<u8>,
    written: usize,
    replaces: usize,
}

impl<T> ParseErrorBodies<T> {
    pub fn new(io: T) -> Self {
        ParseErrorBodies {
            io,
            rewriting: None,
        }
    }
}

impl<T: AsyncWrite + Unpin> ParseErrorBodies<T> {
    /// Writes the rest of the rewritten answer; then tells hyper its own bytes went out.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(rewrite) = self.rewriting.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        while rewrite.written < rewrite.bytes.len() {
            let n =
                ready!(Pin::new(&mut self.io).poll_write(cx, &rewrite.bytes[rewrite.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            rewrite.written += n;
        }
        let replaces = rewrite.replaces;
        self.rewriting = None;
        Poll::Ready(Ok(replaces))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ParseErrorBodies<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ParseErrorBodies<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.rewriting.is_none() {
            match with_error_body(buf) {
                Some(bytes) => {
                    this.rewriting = Some(Rewrite {
                        bytes,
                        written: 0,
                        replaces: buf.len(),
                    })
                }
                None => return Pin::new(&mut this.io).poll_write(cx, buf),
            }
        }
        this.poll_rewrite(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.rewriting.is_none() {
            let mut filled = bufs.iter().filter(|b| !b.is_empty());
            let rewritten = match (filled.next(), filled.next()) {
                (Some(only), None) => with_error_body(only).map(|bytes| (bytes, only.len())),
                _ => None,
            };
            match rewritten {
                Some((bytes, replaces)) => {
                    this.rewriting = Some(Rewrite {
                        bytes,
                        written: 0,
                        replaces,
                    })
                }
                None => return Pin::new(&mut this.io).poll_write_vectored(cx, bufs),
            }
        }
        this.poll_rewrite(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_rewrite(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_rewrite(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

/// `head` again with the contract's error body, when it is hyper's bodiless answer to a
/// request it could not parse.
fn with_error_body(head: &[u8]) -> Option<Vec<u8>> {
    if !head.starts_with(b"HTTP/1.1 4") || !head.ends_with(b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head[..head.len() - 4].split("\r\n");
    let status_line = lines.next()?;
    let message = match status_line.get(9..12)? {
        "400" => "The request is not valid HTTP/1.1; check its request line and headers.",
        "414" => "The URL is too long.",
        "431" => "The request's headers are too large.",
        _ => return None,
    };
    let mut kept = Vec::new();
    let mut bodiless = false;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("content-length") {
            if value.trim() != "0" {
                return None;
            }
            bodiless = true;
        } else if !name.eq_ignore_ascii_case("connection") {
            kept.push(line);
        }
    }
    if !bodiless {
        return None;
    }
    let body = serde_json::to_vec(&ErrorBody {
        error: ErrorDetail {
            code: ErrorCode::BadRequest.to_owned(),
            message: message.to_owned(),
            details: serde_json::Value::Null,
        },
    })
    .ok()?;
    let mut answer = format!("{status_line}\r\n");
    for line in kept {
        answer.push_str(line);
        answer.push_str("\r\n");
    }
    answer.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = answer.into_bytes();
    bytes.extend_from_slice(&body);
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn only_a_bodiless_4xx_head_is_rewritten() {
        let hyper_400 = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Sat, 28 Nov 2026 10:00:00 GMT\r\n\r\n";
        let rewritten =
            String::from_utf8(with_error_body(hyper_400).expect("rewritten")).expect("text");
        let (head, body) = rewritten.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(
            head.contains("date: Sat, 28 Nov 2026 10:00:00 GMT"),
            "{head}"
        );
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let body: serde_json::Value = serde_json::from_str(body).expect("JSON");
        assert_eq!(body["error"]["code"], "bad_request");

        for untouched in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"{\"error\": \"HTTP/1.1 400\"}",
        ] {
            assert!(with_error_body(untouched).is_none());
        }
    }

    /// Against hyper itself, so that a hyper release that words its answer otherwise fails here.
    #[tokio::test]
    async fn hypers_answer_to_a_malformed_request_carries_the_error_body() {
        let (mut client, server) = tokio::io::duplex(4096);
        let service = hyper::service::service_fn(|_request| async {
            Ok::<_, std::convert::Infallible>(hyper::Response::new(String::new()))
        });
        let serving = tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(
            hyper_util::rt::TokioIo::new(ParseErrorBodies::new(server)),
            service,
        ));
        client
            .write_all(b"GET /\x01 HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .expect("written");
        let mut answer = String::new();
        client
            .read_to_string(&mut answer)
            .await
            .expect("read to the end");
        let _ = serving.await;
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
        assert!(head.starts_with("HTTP/1.1 400 "), "{answer}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{answer}"
        );
        let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
        assert_eq!(body["error"]["code"], "bad_request");
        assert_eq!(body["error"]["details"], serde_json::json!({}));
    }
}
