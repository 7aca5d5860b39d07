//! `GET /api/v1/events`: hello, the replay from `since`, then live events, with nothing lost or
//! repeated at the seam between them.

use std::sync::Arc;

use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use spartex_api::{ControlFrame, LOG_REWOUND_CLOSE_CODE, SESSION_ENDED_CLOSE_CODE};
use tokio::sync::broadcast::error::RecvError;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{BadInput, SignedIn};
use super::extract::ApiQuery;
use super::socket::{
    in_time, send_close, send_json, Followed, ForgetWhenDone, Pings, Sink, SocketError,
    SocketResult,
};
use crate::auth::UserPrincipal;
use crate::error::ApiError;
use crate::hub::Published;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

const REPLAY_PAGE: i64 = 1000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    /// The last `seq` the client applied; omit to receive only live events.
    #[param(minimum = 0)]
    since: Option<i64>,
    /// The `at` of the event the client applied at `since`: when the log's event there is
    /// another (the log was restored from a backup and gave its seqs to new events), the
    /// answer is `resync_required`, where the client would take the new events for replays.
    since_at: Option<DateTime<Utc>>,
    /// Whether this connection's app raises a notification when a request names its person
    /// (the default). An app that cannot (no notification service, notifications turned off)
    /// sends `false`: this socket is then not counted as a way to reach them on the escalation
    /// ladder (a phone that takes pushes, or another socket that can alert, still is).
    alerts: Option<bool>,
}

/// The tenant's event stream (WebSocket). First frame `{"type":"hello","head":N}`, then every
/// event after `since` in order, then live ones; `{"type":"resync_required"}` when `since` is
/// older than the log keeps. A ping every 20 s.
#[utoipa::path(get, path = "/api/v1/events", tag = "sync", params(EventsQuery),
    security(("bearer" = []), ("access_token_query" = [])),
    responses((status = 101, description = "Switching to the WebSocket event stream"), SignedIn,
        BadInput))]
async fn events(
    State(state): State<AppState>,
    user: UserPrincipal,
    ApiQuery(query): ApiQuery<EventsQuery>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if query.since.is_some_and(|since| since < 0) {
        return ApiError::bad_request("`since` is a `seq` the client applied: 0 or more.")
            .into_response();
    }
    // Clients send nothing but pongs and the server's frames are small: small buffers keep
    // 10,000 idle sockets in tens of megabytes instead of gigabytes.
    upgrade
        .max_message_size(64 * 1024)
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .on_upgrade(move |socket| async move {
            if let Err(ended) = serve(state, user, query, socket).await {
                ended.log("events");
            }
        })
}

async fn serve(
    state: AppState,
    user: UserPrincipal,
    query: EventsQuery,
    socket: WebSocket,
) -> SocketResult<()> {
    let EventsQuery {
        since,
        since_at,
        alerts,
    } = query;
    let tenant_id = user.tenant_id.clone();
    let _present =
        (alerts.unwrap_or(true)).then(|| state.presence.enter(&tenant_id, &user.user_id));
    let stopping = state.stopping();
    tokio::pin!(stopping);
    let mut session_ends = state.sessions.subscribe_to_ends();
    let (mut sink, mut incoming) = socket.split();
    // Subscribe before reading the head, so nothing committed in between is missed.
    let _forget = ForgetWhenDone::new(&state, Followed::Tenant(tenant_id.clone()));
    let mut live = state.events.subscribe(&tenant_id);
    let bounds = state
        .store
        .log_bounds(&tenant_id)
        .await?
        .ok_or(SocketError::TenantGone)?;
    state.events.read_up_to(&tenant_id, bounds.head);
    send_json(&mut sink, &ControlFrame::Hello { head: bounds.head }).await?;
    let mut last = match since {
        None => bounds.head,
        Some(since)
            if since < bounds.floor
                || since > bounds.head
                || !holds_what_was_applied(&state, &tenant_id, since, since_at).await? =>
        {
            send_json(
                &mut sink,
                &ControlFrame::ResyncRequired { head: bounds.head },
            )
            .await?;
            bounds.head
        }
        Some(since) => since,
    };
    if last < bounds.head {
        last = replay(&state, &tenant_id, last, &mut sink).await?;
    }

    let mut pings = Pings::every(state.settings.ping_interval).await;
    // Catches what no announcement reaches: expiry, and revocations missed by a lagging receiver.
    let mut session_check = tokio::time::interval(state.settings.session_check_interval);
    session_check.tick().await;
    loop {
        tokio::select! {
            () = &mut stopping => {
                let _ = send_close(&mut sink, None).await;
                return Ok(());
            }
            ended = session_ends.recv() => match ended {
                Ok(session) if *session == *user.session_id => return close_session_ended(&mut sink).await,
                Ok(session) if !session.is_empty() => {}
                // Asked to check: ends may have gone unheard. Every socket asks at once, so a
                // check that fails (the pool busy) leaves the socket to its own next check.
                Ok(_) => match session_alive(&state, &user).await {
                    Ok(false) => return close_session_ended(&mut sink).await,
                    Ok(true) => {}
                    Err(error) => tracing::debug!(%error, "could not check a socket's session; its next check will"),
                },
                // Some ends were missed here.
                Err(RecvError::Lagged(_)) => {
                    if !session_alive(&state, &user).await? {
                        return close_session_ended(&mut sink).await;
                    }
                }
                Err(RecvError::Closed) => return Ok(()),
            },
            _ = session_check.tick() => {
                if !session_alive(&state, &user).await? {
                    return close_session_ended(&mut sink).await;
                }
            }
            received = live.recv() => match received {
                Ok(published) => last = forward(&state, &tenant_id, last, published, &mut sink).await?,
                Err(RecvError::Lagged(_)) => last = replay(&state, &tenant_id, last, &mut sink).await?,
                // The feed was let go: the log was rewound under this socket.
                Err(RecvError::Closed) => return close_log_rewound(&mut sink).await,
            },
            () = pings.due() => {
                if !pings.send(&mut incoming, &mut sink).await? {
                    return Ok(());
                }
            }
            frame = incoming.next() => match frame {
                None | Some(Err(_)) | Some(Ok(WsMessage::Close(_))) => return Ok(()),
                Some(Ok(_)) => pings.heard(), // pongs and client chatter carry nothing else
            },
        }
    }
}

/// Whether the log still holds, at `since`, the event a client applied there at `since_at`
/// (to the second: stored times may be rounded finer than that). A log restored from a backup
/// gives its seqs to new events; a client following on from `since` would drop those up to its
/// seq as replays, new approvals among them, and keep what the log no longer says. Without
/// `since_at`, or with the event at `since` pruned, nothing tells: the answer is yes.
pub(super) async fn holds_what_was_applied(
    state: &AppState,
    tenant_id: &str,
    since: i64,
    since_at: Option<DateTime<Utc>>,
) -> crate::store::StoreResult<bool> {
    let Some(since_at) = since_at.filter(|_| since > 0) else {
        return Ok(true);
    };
    let at_since = state.store.events_after(tenant_id, since - 1, 1).await?;
    Ok(match at_since.first() {
        Some(event) if event.seq == since => event.at.timestamp() == since_at.timestamp(),
        _ => true,
    })
}

/// The same check as every request's: the session is live and still its person's, in this
/// organisation (a person moved to another, or removed, stops reading this one's events).
async fn session_alive(state: &AppState, user: &UserPrincipal) -> SocketResult<bool> {
    let session = crate::auth::session_of(state, &user.session_id, &user.user_id, &user.tenant_id);
    Ok(session.await?.is_some())
}

/// Closes with the code that tells the client to sign in again rather than reconnect.
async fn close_session_ended(sink: &mut Sink) -> SocketResult<()> {
    let frame = CloseFrame {
        code: SESSION_ENDED_CLOSE_CODE,
        reason: "session_ended: this sign-in was signed out, revoked or expired; sign in again"
            .into(),
    };
    send_close(sink, Some(frame)).await?;
    Ok(())
}

/// Closes with the code that has the client reconnect, and so resync: its feed was let go
/// because the log was rewound ([`crate::hub::EventHub`]).
async fn close_log_rewound(sink: &mut Sink) -> SocketResult<()> {
    let frame = CloseFrame {
        code: LOG_REWOUND_CLOSE_CODE,
        reason: "log_rewound: the server's database lost recent changes; reconnect to resync"
            .into(),
    };
    send_close(sink, Some(frame)).await?;
    Ok(())
}

/// Sends a live event, first filling any gap from the log. Returns the new last sent `seq`.
async fn forward(
    state: &AppState,
    tenant_id: &str,
    last: i64,
    published: Arc<Published>,
    sink: &mut Sink,
) -> SocketResult<i64> {
    let mut last = last;
    if published.event.seq > last + 1 {
        last = replay(state, tenant_id, last, sink).await?;
    }
    if published.event.seq <= last {
        return Ok(last);
    }
    let patience = state.settings.slow_reader_patience;
    in_time(patience, sink.send(WsMessage::Text(published.json.clone()))).await?;
    Ok(published.event.seq)
}

/// Sends every stored event after `last`. Returns the last `seq` sent.
async fn replay(
    state: &AppState,
    tenant_id: &str,
    mut last: i64,
    sink: &mut Sink,
) -> SocketResult<i64> {
    loop {
        let page = state
            .store
            .events_after(tenant_id, last, REPLAY_PAGE)
            .await?;
        let full = i64::try_from(page.len()).unwrap_or(0) == REPLAY_PAGE;
        // Each frame within the patience (feeding waits only while the peer takes nothing): a
        // slow link catching up on a large page makes progress, a peer that takes nothing goes.
        let patience = state.settings.slow_reader_patience;
        for event in page {
            let json = serde_json::to_string(&event)?;
            in_time(patience, sink.feed(WsMessage::Text(json.into()))).await?;
            last = event.seq;
        }
        in_time(patience, sink.flush()).await?;
        if !full {
            return Ok(last);
        }
    }
}
