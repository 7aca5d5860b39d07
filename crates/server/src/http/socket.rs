//! What the two WebSockets (the client's event stream, the agent's control socket) share: one
//! way to send a JSON frame, and why a socket ended.

use axum::extract::ws::{Message as WsMessage, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::SinkExt;
use serde::Serialize;

use crate::error::ApiError;
use crate::store::StoreError;

pub type Sink = SplitSink<WebSocket, WsMessage>;

/// Why a socket ended before its peer or the server closed it. After the upgrade there is no
/// response to put it in, so it is logged, as `{code, message}` like the contract's error body.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The peer went away mid-write; nothing to do about it.
    #[error("the socket could not be written: {0}")]
    Send(#[from] axum::Error),
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Api(#[from] ApiError),
    #[error("a frame could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the tenant no longer exists")]
    TenantGone,
}

impl SocketError {
    pub fn code(&self) -> &'static str {
        match self {
            SocketError::Send(_) => "peer_gone",
            SocketError::Store(_) | SocketError::Encode(_) => "internal",
            SocketError::Api(_) => "refused",
            SocketError::TenantGone => "not_found",
        }
    }

    /// Logs the end: at debug for a peer that left, as a warning for the server's own failure.
    pub fn log(&self, socket: &'static str) {
        let body = serde_json::to_string(self).unwrap_or_default();
        match self {
            SocketError::Send(_) => tracing::debug!(error = %body, socket, "socket closed"),
            _ => tracing::warn!(error = %body, socket, "socket ended by a server failure"),
        }
    }
}

impl Serialize for SocketError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::error::code_and_message(serializer, self.code(), self.to_string())
    }
}

pub type SocketResult<T> = Result<T, SocketError>;

/// Sends `frame` as one JSON text message.
pub async fn send_json(sink: &mut Sink, frame: &impl Serialize) -> SocketResult<()> {
    let json = serde_json::to_string(frame)?;
    sink.send(WsMessage::Text(json.into())).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ending_serializes_as_code_and_message() {
        let body = serde_json::to_value(SocketError::TenantGone).expect("serializes");
        assert_eq!(
            body,
            serde_json::json!({"code": "not_found", "message": "the tenant no longer exists"})
        );
    }
}
