//! A WebSocket client of the event stream and the agents' control socket.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub struct Socket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
    patience: Duration,
}

impl Socket {
    /// Connects with `token` as a Bearer header; [`Socket::next`] and friends wait at most
    /// `patience` for a frame.
    pub async fn connect(url: &str, token: &str, patience: Duration) -> Socket {
        let mut request = url.into_client_request().expect("ws url");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("socket connects");
        Socket { ws, patience }
    }

    /// The next JSON frame; fails the test after the patience window.
    pub async fn next(&mut self) -> Value {
        self.try_next(self.patience)
            .await
            .expect("a frame within the patience window")
    }

    /// The next JSON frame within `wait`; `None` when none came, or the socket closed or broke
    /// (its server went away).
    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match frame {
                Ok(WsMessage::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("JSON frame"))
                }
                Ok(WsMessage::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    /// Skips frames until the server closes the socket; returns the close code, if it sent one.
    pub async fn close_code(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + self.patience;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the socket closes within the patience window");
            match frame {
                Some(Ok(WsMessage::Close(close))) => return close.map(|c| u16::from(c.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Skips frames until one matches.
    pub async fn next_where(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + self.patience;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next(left).await {
                Some(frame) if matches(&frame) => return frame,
                Some(_) => {}
                None => panic!("no frame with {what} within {:?}", self.patience),
            }
        }
    }
}
