//! What the two WebSockets (the client's event stream, the agent's control socket) share: one
//! way to send a JSON frame, whether the peer still answers, and why a socket ended.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message as WsMessage, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde::Serialize;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::StoreError;

pub type Sink = SplitSink<WebSocket, WsMessage>;
pub type Incoming = SplitStream<WebSocket>;

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
    /// Nothing came, not even a pong, for this long: the peer is gone without a word.
    #[error("the peer sent nothing, not even a pong, for {0:?}")]
    Silent(Duration),
    /// The peer took less than a frame in this long: it reads too slowly to follow live
    /// events (it reconnects and catches up from the log instead).
    #[error("the peer did not take a frame within {0:?}")]
    SlowReader(Duration),
}

impl SocketError {
    pub fn code(&self) -> &'static str {
        match self {
            SocketError::Send(_) => "peer_gone",
            SocketError::Store(_) | SocketError::Encode(_) => "internal",
            SocketError::Api(_) => "refused",
            SocketError::TenantGone => "not_found",
            SocketError::Silent(_) => "peer_silent",
            SocketError::SlowReader(_) => "peer_slow",
        }
    }

    /// Logs the end: at debug for a peer that left, as a warning for the server's own failure.
    pub fn log(&self, socket: &'static str) {
        let body = serde_json::to_string(self).unwrap_or_default();
        match self {
            SocketError::Send(_) | SocketError::Silent(_) => {
                tracing::debug!(error = %body, socket, "socket closed");
            }
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

/// What a socket or a long poll follows in this instance's hubs.
pub enum Followed {
    Tenant(String),
    Agent(String),
}

/// Forgets, as a socket or a long poll ends, what it followed, once nobody else here follows
/// it. Made before subscribing, so it is dropped after the subscription.
pub struct ForgetWhenDone {
    state: AppState,
    followed: Followed,
}

impl ForgetWhenDone {
    pub fn new(state: &AppState, followed: Followed) -> ForgetWhenDone {
        ForgetWhenDone {
            state: state.clone(),
            followed,
        }
    }
}

impl Drop for ForgetWhenDone {
    fn drop(&mut self) {
        match &self.followed {
            Followed::Tenant(tenant_id) => self.state.events.forget_if_unfollowed(tenant_id),
            Followed::Agent(agent_id) => self.state.agents.forget_if_unconnected(agent_id),
        }
    }
}

/// Pings a peer may leave unanswered before it is taken for gone.
const PINGS_UNANSWERED: u32 = 3;

/// The server's pings, and whether the peer still answers: anything it sends counts, its
/// pongs included. A peer gone without a word (a laptop asleep, a phone out of coverage) would
/// otherwise hold its socket, and pass for reachable to the escalation ladder, until the
/// kernel gives up on it: about a quarter of an hour.
pub struct Pings {
    every: tokio::time::Interval,
    heard_at: Instant,
    patience: Duration,
}

impl Pings {
    /// Pings every `interval`, the first one `interval` from now; the peer heard from just now.
    pub async fn every(interval: Duration) -> Pings {
        let mut every = tokio::time::interval(interval);
        // After a long replay, one ping, not a burst of the missed ones.
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        every.tick().await;
        Pings {
            every,
            heard_at: Instant::now(),
            patience: interval.saturating_mul(PINGS_UNANSWERED),
        }
    }

    /// Resolves when the next ping is due.
    pub async fn due(&mut self) {
        self.every.tick().await;
    }

    /// The peer sent a frame.
    pub fn heard(&mut self) {
        self.heard_at = Instant::now();
    }

    /// Sends the ping that is due: `Ok(false)` when the peer closed or broke the socket
    /// meanwhile, an error when it has been silent too long. What already arrived unread (the
    /// loop was busy sending, a long replay) counts first, so that a waiting pong is not taken
    /// for silence.
    pub async fn send(&mut self, incoming: &mut Incoming, sink: &mut Sink) -> SocketResult<bool> {
        while let Some(next) = incoming.next().now_or_never() {
            match next {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Ok(false),
                Some(Ok(_)) => self.heard(),
            }
        }
        if self.heard_at.elapsed() > self.patience {
            return Err(SocketError::Silent(self.patience));
        }
        // A peer that takes no bytes (a zero window the kernel keeps probing) is as gone.
        in_time(
            self.patience,
            sink.send(WsMessage::Ping(Default::default())),
        )
        .await?;
        Ok(true)
    }
}

/// Sending within `patience`: a peer that takes frames slower than that is let go, where it
/// held every event the tenant published since in memory (a live feed keeps an event until
/// its slowest follower took it).
pub async fn in_time<T, E>(
    patience: Duration,
    sending: impl std::future::Future<Output = Result<T, E>>,
) -> SocketResult<T>
where
    SocketError: From<E>,
{
    match tokio::time::timeout(patience, sending).await {
        Ok(sent) => Ok(sent?),
        Err(_) => Err(SocketError::SlowReader(patience)),
    }
}

/// How long a peer is given to take one control frame (hello, a close, an agent's command).
pub const FRAME_PATIENCE: Duration = Duration::from_secs(30);

/// Sends `frame` as one JSON text message, within [`FRAME_PATIENCE`].
pub async fn send_json(sink: &mut Sink, frame: &impl Serialize) -> SocketResult<()> {
    let json = serde_json::to_string(frame)?;
    in_time(FRAME_PATIENCE, sink.send(WsMessage::Text(json.into()))).await
}

/// Sends a close frame, within [`FRAME_PATIENCE`]: a peer that takes nothing must not hold a
/// closing socket (or a server shutting down) open.
pub async fn send_close(
    sink: &mut Sink,
    frame: Option<axum::extract::ws::CloseFrame>,
) -> SocketResult<()> {
    in_time(FRAME_PATIENCE, sink.send(WsMessage::Close(frame))).await
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
