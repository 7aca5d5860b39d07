//! One write: a transaction that holds every change, its events and its Idempotency-Key
//! answer, committed together and then published to the sockets.
//!
//! [`mutate`] is how a request changes anything: it replays the answer kept under a repeated
//! Idempotency-Key, or runs the change, keeps its answer and commits. The HTTP layer only
//! renders the [`Answer`].

use axum::http::StatusCode;
use serde::Serialize;
use spartex_api::{AgentControl, ErrorCode, Event, EventPayload};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{
    DocFilter, Resource, StoreError, StoredResponse, Versioned, WriteScope, WriteTx,
};

/// Identifies a mutation for idempotent replay.
#[derive(Debug, Clone)]
pub struct IdempotencyScope {
    /// The caller's tenant: the write takes this tenant's turn.
    pub tenant_id: String,
    pub principal_id: String,
    pub key: Option<String>,
    pub method: String,
    pub path: String,
    /// SHA-256 of the request's body.
    pub request_hash: Option<String>,
}

/// A mutation's answer: what the HTTP layer sends, and what an Idempotency-Key keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: StatusCode,
    /// The JSON body.
    pub body: String,
    /// Kept from the first request with the same Idempotency-Key, not produced now.
    pub replayed: bool,
}

/// What a change returns on success: the resource and the status it is answered with.
#[derive(Debug, Clone)]
pub struct Reply<T> {
    pub status: StatusCode,
    pub body: T,
}

impl<T> Reply<T> {
    pub fn ok(body: T) -> Self {
        Reply {
            status: StatusCode::OK,
            body,
        }
    }

    pub fn created(body: T) -> Self {
        Reply {
            status: StatusCode::CREATED,
            body,
        }
    }

    pub fn accepted(body: T) -> Self {
        Reply {
            status: StatusCode::ACCEPTED,
            body,
        }
    }
}

/// Runs one request's change in one write of the caller's tenant. A repeated Idempotency-Key
/// gets the answer kept for it (or 422 when it came with another method, path or body);
/// otherwise `change` runs, and its answer is kept under the key and committed with it. A
/// failure rolls the change back; a final one (4xx) is kept under the key as well, so a
/// retry hears the same refusal.
///
/// A write PostgreSQL ends to break a deadlock is run once more from its start, on a copy of
/// `change` taken before the first run (a change reads and writes only through its [`Write`],
/// so a rolled-back run leaves nothing behind); a second deadlock answers 503.
pub async fn mutate<T: Serialize>(
    state: &AppState,
    scope: IdempotencyScope,
    change: impl AsyncFnOnce(&mut Write) -> ApiResult<Reply<T>> + Clone,
) -> ApiResult<Answer> {
    let again = change.clone();
    match mutate_once(state, &scope, change).await {
        Err(error) if error.is_deadlock() => {
            tracing::info!(error = %error, "a write deadlocked with another; running it again");
            mutate_once(state, &scope, again).await
        }
        answered => answered,
    }
}

async fn mutate_once<T: Serialize>(
    state: &AppState,
    scope: &IdempotencyScope,
    change: impl AsyncFnOnce(&mut Write) -> ApiResult<Reply<T>>,
) -> ApiResult<Answer> {
    let mut write = Write::begin(state, WriteScope::Tenant(&scope.tenant_id)).await?;
    if let Some(kept) = write.kept_answer(scope).await? {
        return Ok(kept);
    }
    match change(&mut write).await {
        Ok(reply) => write.answer(scope, reply).await,
        Err(error) => {
            write.keep_refusal(scope, &error).await;
            Err(error)
        }
    }
}

pub struct Write {
    state: AppState,
    /// The tenant whose turn this write holds; `None` for server-wide rows.
    tenant_id: Option<String>,
    tx: Box<dyn WriteTx>,
    events: Vec<Event>,
    agent_pushes: Vec<(String, AgentControl)>,
    ended_sessions: Vec<String>,
    /// Agents whose tokens this write revoked: their control sockets check theirs once it commits.
    revoked_agent_tokens: Vec<String>,
    now: chrono::DateTime<chrono::Utc>,
}

impl Write {
    /// Begins a write once it is the scope's turn (see [`crate::store::Store::begin`]).
    pub async fn begin(state: &AppState, scope: WriteScope<'_>) -> ApiResult<Write> {
        let tx = state.store.begin(scope).await?;
        Ok(Write {
            state: state.clone(),
            tenant_id: match scope {
                WriteScope::Tenant(tenant_id) => Some(tenant_id.to_owned()),
                WriteScope::Server => None,
            },
            tx,
            events: Vec::new(),
            agent_pushes: Vec::new(),
            ended_sessions: Vec::new(),
            revoked_agent_tokens: Vec::new(),
            now: state.now(),
        })
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn tx(&mut self) -> &mut dyn WriteTx {
        self.tx.as_mut()
    }

    pub async fn get<R: Resource>(&mut self, tenant_id: &str, id: &str) -> ApiResult<Option<R>> {
        match self.tx.get_doc(tenant_id, R::KIND, id).await? {
            Some(value) => Ok(Some(
                crate::store::decode_one(tenant_id, value).map_err(StoreError::from)?,
            )),
            None => Ok(None),
        }
    }

    /// Like `get`, but an unknown id is a 404 naming `what`.
    pub async fn fetch<R: Resource>(
        &mut self,
        tenant_id: &str,
        id: &str,
        what: &'static str,
    ) -> ApiResult<R> {
        self.get(tenant_id, id)
            .await?
            .ok_or(ApiError::NotFound { what })
    }

    pub async fn list<R: Resource>(
        &mut self,
        tenant_id: &str,
        filter: DocFilter<'_>,
    ) -> ApiResult<Vec<R>> {
        let values = self.tx.list_docs(tenant_id, filter).await?;
        Ok(crate::store::decode_all(tenant_id, values))
    }

    /// How many resources `filter` finds, none of them read.
    pub async fn count(&mut self, tenant_id: &str, filter: DocFilter<'_>) -> ApiResult<i64> {
        Ok(self.tx.count_docs(tenant_id, filter).await?)
    }

    /// Stores a new resource, as built (version 1), and appends its event.
    pub async fn create<R: Resource + Clone>(
        &mut self,
        tenant_id: &str,
        resource: &R,
    ) -> ApiResult<()>
    where
        EventPayload: From<R>,
    {
        self.put(tenant_id, resource).await
    }

    /// Stores a changed resource one version up, and appends its event. Every change to a
    /// stored resource goes through here, so each is exactly one version step.
    pub async fn update<R: Versioned + Clone>(
        &mut self,
        tenant_id: &str,
        resource: &mut R,
    ) -> ApiResult<()>
    where
        EventPayload: From<R>,
    {
        *resource.version_mut() += 1;
        self.put(tenant_id, resource).await
    }

    async fn put<R: Resource + Clone>(&mut self, tenant_id: &str, resource: &R) -> ApiResult<()>
    where
        EventPayload: From<R>,
    {
        self.tx.put_doc(tenant_id, &resource.document()).await?;
        self.emit(tenant_id, EventPayload::from(resource.clone()))
            .await
    }

    /// Appends an event to the log of the tenant this write began for.
    pub async fn emit(&mut self, tenant_id: &str, payload: EventPayload) -> ApiResult<()> {
        if self.tenant_id.as_deref() != Some(tenant_id) {
            // A bug, not a request's fault: the event would land in another tenant's log.
            return Err(StoreError::WrongTenant.into());
        }
        let event = self
            .tx
            .append_event(
                payload.kind(),
                payload.project_id(),
                self.now,
                &payload.to_value(),
            )
            .await?;
        self.events.push(event);
        Ok(())
    }

    /// Queues a frame for an agent's control socket, sent only if the write commits.
    pub fn push_to_agent(&mut self, agent_id: &str, frame: AgentControl) {
        self.agent_pushes.push((agent_id.to_owned(), frame));
    }

    /// Revokes a session; once committed, every instance stops taking it and closes the event
    /// sockets it opened ([`crate::live_sessions`]). The only way a session is to end.
    pub async fn end_session(&mut self, session_id: &str) -> ApiResult<()> {
        let now_ms = self.now.timestamp_millis();
        self.tx.revoke_session(session_id, now_ms).await?;
        self.ended_sessions.push(session_id.to_owned());
        Ok(())
    }

    /// Revokes every token of the agent; once committed, none signs in on any instance, and the
    /// agent's control sockets opened with one of them close. The only way an agent's token is
    /// to end.
    pub async fn revoke_agent_tokens(&mut self, tenant_id: &str, agent_id: &str) -> ApiResult<()> {
        self.tx.delete_agent_tokens(tenant_id, agent_id).await?;
        self.revoked_agent_tokens.push(agent_id.to_owned());
        Ok(())
    }

    /// Commits, then publishes the events and agent frames while still holding the turn. Once
    /// begun this runs to its end in a task of its own: a request dropped as it commits (a
    /// client hanging up at that moment) would otherwise leave committed events unpublished,
    /// unseen by every open socket until the tenant's next event.
    pub async fn commit(self) -> ApiResult<Vec<Event>> {
        crate::uncancelled::run_to_end(self.commit_and_publish())
            .await
            // The runtime is shutting down: so is the server, and the log is the truth.
            .unwrap_or_else(|| {
                Err(ApiError::Internal(StoreError::Unsupported(
                    "the server stopped while a write was committing".into(),
                )))
            })
    }

    async fn commit_and_publish(self) -> ApiResult<Vec<Event>> {
        let Write {
            state,
            tenant_id,
            tx,
            events,
            agent_pushes,
            ended_sessions,
            revoked_agent_tokens,
            ..
        } = self;
        let mut tx = tx;
        crate::relay::announce_commit(
            tx.as_mut(),
            &state.instance_id,
            tenant_id.as_deref(),
            &events,
            &agent_pushes,
            &ended_sessions,
            &revoked_agent_tokens,
        )
        .await?;
        let turn = tx.commit().await?;
        for session_id in &ended_sessions {
            state.sessions.ended(session_id);
        }
        for agent_id in &revoked_agent_tokens {
            state.agents.tokens_revoked(agent_id);
        }
        if let (Some(tenant_id), false) = (&tenant_id, events.is_empty()) {
            state
                .events
                .publish(state.store.as_ref(), tenant_id, events.clone())
                .await;
            state.pushes.planning.notify_one();
        }
        for (agent_id, frame) in agent_pushes {
            state.agents.push(&agent_id, frame);
        }
        drop(turn);
        Ok(events)
    }

    /// The answer kept under the scope's key, if this key was seen before.
    async fn kept_answer(&mut self, scope: &IdempotencyScope) -> ApiResult<Option<Answer>> {
        let Some(key) = &scope.key else {
            return Ok(None);
        };
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::bad_request(
                "Idempotency-Key must be 1 to 200 characters (a UUID is ideal).",
            ));
        }
        match self.tx.stored_response(&scope.principal_id, key).await? {
            None => Ok(None),
            Some(stored) if stored.method != scope.method || stored.path != scope.path => Err(ApiError::Invalid {
                code: ErrorCode::IdempotencyKeyReused,
                message: format!(
                    "This Idempotency-Key was already used for {} {}. Use a new key for each distinct change.",
                    stored.method, stored.path
                ),
            }),
            Some(stored) if stored.request_hash.is_some() && stored.request_hash != scope.request_hash => {
                Err(ApiError::Invalid {
                    code: ErrorCode::IdempotencyKeyReused,
                    message: "This Idempotency-Key was already used with a different body, so this \
                              change was not applied. Use a new key for each distinct change, and \
                              the same key only to retry the very same request."
                        .into(),
                })
            }
            Some(stored) => Ok(Some(Answer {
                status: StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
                body: stored.body,
                replayed: true,
            })),
        }
    }

    /// Keeps a success under its key and commits it.
    async fn answer<T: Serialize>(
        mut self,
        scope: &IdempotencyScope,
        reply: Reply<T>,
    ) -> ApiResult<Answer> {
        let body = serde_json::to_string(&reply.body).map_err(StoreError::from)?;
        self.keep(scope, reply.status, &body).await?;
        self.commit().await?;
        Ok(Answer {
            status: reply.status,
            body,
            replayed: false,
        })
    }

    /// Undoes the change; a final refusal is kept under its key, in the same turn.
    async fn keep_refusal(mut self, scope: &IdempotencyScope, error: &ApiError) {
        if scope.key.is_none() || !error.is_final() {
            return; // dropping the write rolls it back
        }
        self.events.clear();
        self.agent_pushes.clear();
        self.ended_sessions.clear();
        self.revoked_agent_tokens.clear();
        let body = serde_json::to_string(&error.body()).unwrap_or_default();
        let kept = async {
            self.tx.discard().await?;
            self.keep(scope, error.status(), &body).await?;
            self.commit().await
        };
        if let Err(e) = kept.await {
            tracing::warn!(error = %e, "could not keep an error answer under its idempotency key");
        }
    }

    async fn keep(
        &mut self,
        scope: &IdempotencyScope,
        status: StatusCode,
        body: &str,
    ) -> ApiResult<()> {
        let Some(key) = &scope.key else {
            return Ok(());
        };
        let stored = StoredResponse {
            method: scope.method.clone(),
            path: scope.path.clone(),
            request_hash: scope.request_hash.clone(),
            status: status.as_u16(),
            body: body.to_owned(),
        };
        let now_ms = self.now.timestamp_millis();
        self.tx
            .store_response(&scope.principal_id, key, &stored, now_ms)
            .await?;
        Ok(())
    }
}
