//! Several instances on one database as one server: each announces what its writes did (in
//! the same transaction, so only what committed), and each hands what the others announced to
//! its own sockets. Events are only pointed to (tenant and `seq`): the log is the truth, read
//! by [`crate::hub::EventHub::catch_up`], so an instance that missed announcements while its
//! database connection was down reads what it missed.
//!
//! What needs no read (a frame for an agent, a session or an agent's tokens ended) is acted on
//! as it is heard; what does waits in a [`backlog::Backlog`] of its own, so a stop is never
//! held up by catching sockets up on the log.

mod backlog;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use spartex_api::{AgentControl, Approval, Event};
use tokio::sync::watch;

use crate::error::ApiError;
use crate::log_every::{LogEvery, ONCE_A_MINUTE};
use crate::state::AppState;
use crate::store::{Heard, Listening, StoreResult, WriteTx};

/// How often a server that cannot listen yet tries again.
const LISTEN_RETRY: Duration = Duration::from_secs(1);
/// How far the instances' clocks may disagree: a sign-out is timed by the instance that said it.
const CLOCKS_DISAGREE_BY: Duration = Duration::from_secs(60);
/// Sign-outs missed that are read back and ended one by one; past this, every socket checks
/// its own session instead.
const MISSED_ENDS_READ_AT_MOST: usize = 500;

/// What one committed write tells the other instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "said", rename_all = "snake_case")]
enum Said {
    /// The tenant's log grew from `first` to `last`.
    Events {
        tenant: String,
        first: i64,
        last: i64,
    },
    /// A frame for an agent's control socket, wherever it is connected.
    Agent { agent: String, frame: AgentControl },
    /// A message for an agent, too long to say: the receiver reads it from the database.
    AgentMessage {
        tenant: String,
        agent: String,
        message: String,
    },
    /// An ask-again for an agent, whose comment (4,000 characters, up to six bytes each once
    /// escaped) is too long to say: the receiver reads it from the asked request.
    AgentAskAgain {
        tenant: String,
        agent: String,
        approval: String,
    },
    /// A session ended: its sockets close.
    SessionEnded { session: String },
    /// An agent's tokens were revoked: its control sockets opened with one of them close.
    AgentTokensRevoked { agent: String },
}

#[derive(Debug, Serialize, Deserialize)]
struct Announcement {
    /// The instance that said it, which has acted on it already.
    from: String,
    #[serde(flatten)]
    said: Said,
}

/// What a write did, announced with it: called just before it commits.
pub async fn announce_commit(
    tx: &mut dyn WriteTx,
    instance: &str,
    tenant_id: Option<&str>,
    events: &[Event],
    agent_pushes: &[(String, AgentControl)],
    ended_sessions: &[String],
    revoked_agent_tokens: &[String],
) -> StoreResult<()> {
    if !tx.announces() {
        return Ok(()); // nobody else shares this database: nothing to serialize
    }
    let mut said = Vec::new();
    if let (Some(tenant), Some(first), Some(last)) = (tenant_id, events.first(), events.last()) {
        said.push(Said::Events {
            tenant: tenant.to_owned(),
            first: first.seq,
            last: last.seq,
        });
    }
    for (agent, frame) in agent_pushes {
        said.push(match (frame, tenant_id) {
            (AgentControl::Message { message }, Some(tenant)) => Said::AgentMessage {
                tenant: tenant.to_owned(),
                agent: agent.clone(),
                message: message.id.clone(),
            },
            (AgentControl::AskAgain { approval_id, .. }, Some(tenant)) => Said::AgentAskAgain {
                tenant: tenant.to_owned(),
                agent: agent.clone(),
                approval: approval_id.clone(),
            },
            _ => Said::Agent {
                agent: agent.clone(),
                frame: frame.clone(),
            },
        });
    }
    for session in ended_sessions {
        said.push(Said::SessionEnded {
            session: session.clone(),
        });
    }
    for agent in revoked_agent_tokens {
        said.push(Said::AgentTokensRevoked {
            agent: agent.clone(),
        });
    }
    for said in said {
        let announcement = Announcement {
            from: instance.to_owned(),
            said,
        };
        let text = serde_json::to_string(&announcement)?;
        tx.announce(&text).await?;
    }
    Ok(())
}

/// Hands what the other instances announce to this one's sockets, until the server stops, and
/// lets sessions be kept in memory only while every end is heard ([`crate::live_sessions`]).
/// Where the database has room for one instance only, there is nothing to hear: every
/// session's end is this instance's own.
pub async fn run(state: AppState) {
    let Some(Listening { heard, connection }) = listen(&state).await else {
        return;
    };
    tokio::spawn(follow_connection(state.clone(), connection));
    let backlog = backlog::Backlog::default();
    tokio::join!(
        hear(&state, heard, &backlog),
        work_through(&state, &backlog)
    );
}

/// Acts on each announcement as it is heard, or queues the read it needs, until the server
/// stops.
async fn hear(
    state: &AppState,
    mut heard: tokio::sync::mpsc::Receiver<Heard>,
    backlog: &backlog::Backlog,
) {
    let stopping = state.stopping();
    tokio::pin!(stopping);
    loop {
        let next = tokio::select! {
            next = heard.recv() => next,
            () = &mut stopping => break,
        };
        match next {
            Some(Heard::Announcement(text)) => act_on(state, backlog, &text),
            Some(Heard::Reconnected { unheard_for }) => {
                // A stop said meanwhile was lost with the connection; the log keeps it.
                state.agents.resync_all();
                backlog.missed(unheard_for);
            }
            None => break,
        }
    }
    backlog.close();
}

/// Does the reads announcements asked for, one at a time, until the server stops.
async fn work_through(state: &AppState, backlog: &backlog::Backlog) {
    let stopping = state.stopping();
    tokio::pin!(stopping);
    loop {
        let work = tokio::select! {
            work = backlog.next() => work,
            () = &mut stopping => return,
        };
        let Some(work) = work else { return };
        let done = async {
            match work {
                backlog::Work::CatchUp {
                    tenant,
                    first,
                    last,
                } => {
                    state
                        .events
                        .catch_up(state.store.as_ref(), &tenant, first, last)
                        .await;
                    state.pushes.planning.notify_one();
                }
                backlog::Work::Read(said) => push_read(state, said).await,
                backlog::Work::Missed(unheard_for) => {
                    read_missed_from_the_database(state, unheard_for).await;
                }
            }
        };
        tokio::select! {
            () = done => {}
            () = &mut stopping => return,
        }
    }
}

/// Starts listening, trying again every second while the database will not have it, then
/// reads what was said before (sockets may have opened first).
async fn listen(state: &AppState) -> Option<Listening> {
    // Sockets open from the start; what was said before this instance listens is unheard.
    let started = Instant::now();
    let mut failed = false;
    loop {
        let attempt = tokio::select! {
            attempt = state.store.listen() => attempt,
            () = state.stopping() => return None,
        };
        match attempt {
            Ok(Some(listening)) => {
                if failed {
                    tracing::info!("hearing other instances' writes now");
                }
                read_what_was_missed(state, started.elapsed()).await;
                return Some(listening);
            }
            Ok(None) => {
                state.sessions.hearing();
                return None;
            }
            Err(error) => {
                if !failed {
                    tracing::error!(%error, "cannot hear other instances' writes yet (sockets here see them when they reconnect); trying again every second");
                    failed = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(LISTEN_RETRY) => {}
                    () = state.stopping() => return None,
                }
            }
        }
    }
}

/// Announcements of the last `unheard_for` were missed (the connection they arrive on was
/// lost, or not there yet): what they would have said is read from the database.
async fn read_what_was_missed(state: &AppState, unheard_for: Duration) {
    // A stop said meanwhile was lost with the connection; the log keeps it.
    state.agents.resync_all();
    read_missed_from_the_database(state, unheard_for).await;
}

/// The events and sign-outs said while announcements were lost, read from the database.
async fn read_missed_from_the_database(state: &AppState, unheard_for: Duration) {
    state.events.catch_up_all(state.store.as_ref()).await;
    state.pushes.planning.notify_one();
    // A sign-out too (after the events, which matter more).
    end_sessions_revoked_unheard(state, unheard_for).await;
}

/// Ends here the sessions revoked while this instance could not hear, which closes their
/// sockets: one query, where every socket reading its own session would queue thousands on
/// the pool at once. Too many, or the query failing, and every socket checks its own.
async fn end_sessions_revoked_unheard(state: &AppState, unheard_for: Duration) {
    let unheard_ms =
        i64::try_from((unheard_for + CLOCKS_DISAGREE_BY).as_millis()).unwrap_or(i64::MAX);
    let since_ms = state.now().timestamp_millis().saturating_sub(unheard_ms);
    let at_most = i64::try_from(MISSED_ENDS_READ_AT_MOST).unwrap_or(i64::MAX);
    match state.store.sessions_revoked_since(since_ms, at_most).await {
        Ok(revoked) if revoked.len() < MISSED_ENDS_READ_AT_MOST => {
            for session in revoked {
                state.sessions.ended(&session);
            }
        }
        Ok(_) => state.sessions.check_every_session(),
        Err(error) => {
            tracing::warn!(%error, "could not read the sign-outs said while this instance could not hear the others; every socket here checks its own session");
            state.sessions.check_every_session();
        }
    }
}

/// Sessions are kept in memory only while the connection announcements arrive on listens:
/// every loss ends what was kept, even one followed so fast by a new connection that only the
/// new one is seen here.
async fn follow_connection(state: AppState, mut connection: watch::Receiver<Option<u64>>) {
    let mut hearing_on = None;
    loop {
        let now = *connection.borrow_and_update();
        if now != hearing_on {
            state.sessions.deaf();
            if now.is_some() {
                state.sessions.hearing();
            }
            hearing_on = now;
        }
        if connection.changed().await.is_err() {
            return state.sessions.deaf(); // nobody listens any more
        }
    }
}

/// Said when frames read by id are not sent because too many wait for their read.
static TOO_MANY_READS_LOG: LogEvery = LogEvery::new(ONCE_A_MINUTE);

/// Acts on an announcement at once when that needs no read; queues the read otherwise.
fn act_on(state: &AppState, backlog: &backlog::Backlog, text: &str) {
    let announcement: Announcement = match serde_json::from_str(text) {
        Ok(announcement) => announcement,
        Err(error) => {
            // Another version of the server, or something else on this channel.
            tracing::debug!(%error, "ignored an announcement this server does not understand");
            return;
        }
    };
    let ours = announcement.from == state.instance_id;
    match announcement.said {
        // Acted on here as well (ours too) when the commit went through but its answer was lost.
        Said::SessionEnded { session } => state.sessions.ended(&session),
        Said::AgentTokensRevoked { agent } => {
            state.agents.tokens_revoked(&agent);
        }
        _ if ours => {}
        Said::Events {
            tenant,
            first,
            last,
        } => backlog.catch_up(tenant, first, last),
        Said::Agent { agent, frame } => {
            state.agents.push(&agent, frame);
        }
        // Sent only to an agent connected here.
        Said::AgentMessage { agent, .. } | Said::AgentAskAgain { agent, .. }
            if !state.agents.is_connected(&agent) => {}
        said @ (Said::AgentMessage { .. } | Said::AgentAskAgain { .. }) => {
            if backlog.read(said) {
                return;
            }
            if let Some(not_sent_since_last_said) = TOO_MANY_READS_LOG.now() {
                tracing::warn!(
                    not_sent_since_last_said,
                    "another instance's message or ask for an agent connected here was not sent: {} wait for their read already (said once a minute)",
                    backlog::READS_QUEUED_AT_MOST
                );
            }
        }
    }
}

/// Sends an agent connected here the message or ask another instance announced by id.
async fn push_read(state: &AppState, said: Said) {
    match said {
        Said::AgentMessage {
            tenant,
            agent,
            message,
        } => {
            push_as_read(state, &tenant, &agent, &message, "message", |message| {
                AgentControl::Message { message }
            })
            .await;
        }
        Said::AgentAskAgain {
            tenant,
            agent,
            approval,
        } => {
            push_as_read(
                state,
                &tenant,
                &agent,
                &approval,
                "approval",
                |asked: Approval| AgentControl::AskAgain {
                    approval_id: asked.id,
                    comment: asked.ask_again_comment,
                },
            )
            .await;
        }
        _ => {}
    }
}

/// Sends an agent connected here the frame another instance announced by the id of what it
/// carries (too long to say), read from the database; gone meanwhile, there is nothing to send.
async fn push_as_read<R: crate::store::Resource>(
    state: &AppState,
    tenant: &str,
    agent: &str,
    id: &str,
    what: &'static str,
    frame: impl FnOnce(R) -> AgentControl,
) {
    if !state.agents.is_connected(agent) {
        return;
    }
    match crate::http::read::<R>(state, tenant, id, what).await {
        Ok(resource) => {
            state.agents.push(agent, frame(resource));
        }
        Err(ApiError::NotFound { .. }) => {}
        Err(error) => {
            tracing::warn!(%error, what, "could not read what another instance sent an agent connected here");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_announcement_reads_back_as_it_was_said() {
        let said = Said::Agent {
            agent: "agt_1".into(),
            frame: AgentControl::Stop {
                stop_id: "stp_1".into(),
            },
        };
        let text = serde_json::to_string(&Announcement {
            from: "instance-a".into(),
            said: said.clone(),
        })
        .expect("serializes");
        let back: Announcement = serde_json::from_str(&text).expect("parses");
        assert_eq!(back.from, "instance-a");
        assert_eq!(back.said, said);
    }
}
