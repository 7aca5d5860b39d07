//! One write: a transaction that holds every change, its events and its Idempotency-Key
//! answer, committed together and then published to the sockets.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use spartex_api::{AgentControl, ErrorCode, Event, EventPayload};
use tokio::sync::MutexGuard;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{DocFilter, Resource, StoredResponse, WriteTx};

/// Identifies a mutation for idempotent replay.
#[derive(Debug, Clone)]
pub struct IdempotencyScope {
    pub principal_id: String,
    pub key: Option<String>,
    pub method: String,
    pub path: String,
    /// SHA-256 of the request's body.
    pub request_hash: Option<String>,
}

pub struct Write<'a> {
    state: &'a AppState,
    _serialized: MutexGuard<'a, ()>,
    tx: Box<dyn WriteTx>,
    tenant_events: Vec<(String, Event)>,
    agent_pushes: Vec<(String, AgentControl)>,
    ended_sessions: Vec<String>,
    now: chrono::DateTime<chrono::Utc>,
}

/// What `begin_idempotent` found.
pub enum Begun<'a> {
    Fresh(Write<'a>),
    Replay(Response),
}

impl<'a> Write<'a> {
    pub async fn begin(state: &'a AppState) -> ApiResult<Write<'a>> {
        let serialized = state.write_lock.lock().await;
        let tx = state.store.begin().await?;
        Ok(Write {
            state,
            _serialized: serialized,
            tx,
            tenant_events: Vec::new(),
            agent_pushes: Vec::new(),
            ended_sessions: Vec::new(),
            now: state.now(),
        })
    }

    /// Begins a write, or answers with the stored response when the key was seen before.
    pub async fn begin_idempotent(
        state: &'a AppState,
        scope: &IdempotencyScope,
    ) -> ApiResult<Begun<'a>> {
        let mut write = Self::begin(state).await?;
        let Some(key) = &scope.key else {
            return Ok(Begun::Fresh(write));
        };
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::bad_request(
                "Idempotency-Key must be 1 to 200 characters (a UUID is ideal).",
            ));
        }
        match write.tx.stored_response(&scope.principal_id, key).await? {
            None => Ok(Begun::Fresh(write)),
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
            Some(stored) => Ok(Begun::Replay(replayed(stored))),
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.now
    }

    pub fn state(&self) -> &AppState {
        self.state
    }

    pub fn tx(&mut self) -> &mut dyn WriteTx {
        self.tx.as_mut()
    }

    pub async fn get<R: Resource>(&mut self, tenant_id: &str, id: &str) -> ApiResult<Option<R>> {
        match self.tx.get_doc(tenant_id, R::KIND, id).await? {
            Some(value) => Ok(Some(
                crate::store::decode_one(tenant_id, value)
                    .map_err(crate::store::StoreError::from)?,
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

    /// Stores the resource and appends its event.
    pub async fn upsert<R: Resource + Clone>(
        &mut self,
        tenant_id: &str,
        resource: &R,
    ) -> ApiResult<()>
    where
        EventPayload: From<R>,
    {
        self.tx.put_doc(tenant_id, &resource.document()).await?;
        self.emit(tenant_id, EventPayload::from(resource.clone()))
            .await
    }

    pub async fn emit(&mut self, tenant_id: &str, payload: EventPayload) -> ApiResult<()> {
        let event = self
            .tx
            .append_event(
                tenant_id,
                payload.kind(),
                payload.project_id(),
                self.now,
                &payload.to_value(),
            )
            .await?;
        self.tenant_events.push((tenant_id.to_owned(), event));
        Ok(())
    }

    /// Queues a frame for an agent's control socket, sent only if the write commits.
    pub fn push_to_agent(&mut self, agent_id: &str, frame: AgentControl) {
        self.agent_pushes.push((agent_id.to_owned(), frame));
    }

    /// Revokes a session; once committed, the event sockets it opened are closed.
    pub async fn end_session(&mut self, session_id: &str) -> ApiResult<()> {
        let now_ms = self.now.timestamp_millis();
        self.tx.revoke_session(session_id, now_ms).await?;
        self.ended_sessions.push(session_id.to_owned());
        Ok(())
    }

    /// Commits, then publishes the events and agent frames while still holding the write lock.
    pub async fn commit(self) -> ApiResult<Vec<Event>> {
        let Write {
            state,
            _serialized,
            tx,
            tenant_events,
            agent_pushes,
            ended_sessions,
            ..
        } = self;
        tx.commit().await?;
        for session_id in &ended_sessions {
            state.session_ends.announce(session_id);
        }
        let mut by_tenant: Vec<(String, Vec<Event>)> = Vec::new();
        for (tenant, event) in tenant_events.iter().cloned() {
            match by_tenant.iter_mut().find(|(t, _)| *t == tenant) {
                Some((_, events)) => events.push(event),
                None => by_tenant.push((tenant, vec![event])),
            }
        }
        for (tenant, events) in by_tenant {
            state.events.publish(&tenant, events);
        }
        for (agent_id, frame) in agent_pushes {
            state.agents.push(&agent_id, frame);
        }
        Ok(tenant_events.into_iter().map(|(_, e)| e).collect())
    }

    /// Ends an idempotent mutation: commits a success, keeps a final answer under its key,
    /// rolls back a failure.
    pub async fn finish<T: Serialize>(
        self,
        scope: &IdempotencyScope,
        ok_status: StatusCode,
        result: ApiResult<T>,
    ) -> Response {
        let state = self.state;
        match result {
            Ok(value) => {
                let body = match serde_json::to_string(&value) {
                    Ok(body) => body,
                    Err(e) => return ApiError::Internal(e.into()).into_response(),
                };
                let mut write = self;
                if let Some(key) = &scope.key {
                    let stored = stored(scope, ok_status, body.clone());
                    let now_ms = write.now.timestamp_millis();
                    if let Err(e) = write
                        .tx
                        .store_response(&scope.principal_id, key, &stored, now_ms)
                        .await
                    {
                        return ApiError::from(e).into_response();
                    }
                }
                match write.commit().await {
                    Ok(_) => json_response(ok_status, body),
                    Err(e) => e.into_response(),
                }
            }
            Err(error) => {
                let Write {
                    _serialized,
                    tx,
                    now,
                    ..
                } = self;
                drop(tx); // rolls back
                if let (Some(key), true) = (&scope.key, error.is_final()) {
                    let body = serde_json::to_string(&error.body()).unwrap_or_default();
                    let stored = stored(scope, error.status(), body);
                    let kept = async {
                        let mut tx = state.store.begin().await?;
                        tx.store_response(
                            &scope.principal_id,
                            key,
                            &stored,
                            now.timestamp_millis(),
                        )
                        .await?;
                        tx.commit().await
                    };
                    if let Err(e) = kept.await {
                        tracing::warn!(error = %e, "could not keep an error answer under its idempotency key");
                    }
                }
                drop(_serialized);
                error.into_response()
            }
        }
    }
}

fn stored(scope: &IdempotencyScope, status: StatusCode, body: String) -> StoredResponse {
    StoredResponse {
        method: scope.method.clone(),
        path: scope.path.clone(),
        request_hash: scope.request_hash.clone(),
        status: status.as_u16(),
        body,
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn replayed(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = json_response(status, stored.body);
    response.headers_mut().insert(
        "idempotent-replayed",
        axum::http::HeaderValue::from_static("true"),
    );
    response
}
