//! [`Store`](super::Store) on PostgreSQL: reads from the pool, the sweeper's pruning, and where
//! a write begins (the transaction itself is in `postgres_tx.rs`).

use std::time::Instant;

use async_trait::async_trait;
use axum::body::Bytes;
use chrono::DateTime;
use serde_json::Value;
use spartex_api::{Device, Event, MetricsBucket, Tenant, User};

use super::{event_from_row, get_doc, list_doc_rows, list_docs, users, PostgresStore};
use crate::store::postgres_tx::{begin_uncancelled, PostgresTx};
use crate::store::push::PushStore;
use crate::store::{
    documents, live_session_of, postgres_bus, postgres_push, Checkpoint, DocFilter, DocKind,
    LiveSession, LogBounds, PrunedBatch, SessionRow, Store, StoreError, StoreResult,
    UserCredentials, WriteScope, WriteTx,
};

#[async_trait]
impl Store for PostgresStore {
    async fn begin(&self, scope: WriteScope<'_>) -> StoreResult<Box<dyn WriteTx>> {
        let asked = Instant::now();
        let (tenant_id, turn) = match scope {
            WriteScope::Tenant(tenant_id) => {
                (Some(tenant_id.to_owned()), self.turns.take(tenant_id).await)
            }
            WriteScope::Server => (None, self.server_turn.clone().lock_owned().await),
        };
        // A write before this one waited out the pool (10 s) and found the database away:
        // this one would wait as long for the same answer, and each queued behind it as long
        // again. It is answered now; the client retries as asked.
        if turn.found_the_database_away_since(asked) {
            return Err(StoreError::AwayForTheWriteBefore);
        }
        Ok(Box::new(
            PostgresTx::begin(&self.pool, tenant_id, turn).await?,
        ))
    }

    async fn get_doc(
        &self,
        tenant_id: &str,
        kind: DocKind,
        id: &str,
    ) -> StoreResult<Option<Value>> {
        get_doc(&mut *self.pool.acquire().await?, tenant_id, kind, id).await
    }

    async fn list_docs(&self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<Vec<Value>> {
        list_docs(&mut *self.pool.acquire().await?, tenant_id, filter).await
    }

    async fn list_docs_json(&self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<Bytes> {
        let rows = list_doc_rows(&mut *self.pool.acquire().await?, tenant_id, filter).await?;
        Ok(documents::wire_array(tenant_id, filter.kind, &rows))
    }

    async fn due_docs(
        &self,
        kind: DocKind,
        status: &str,
        due_by_ms: i64,
    ) -> StoreResult<Vec<(String, Value)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, data FROM resources WHERE kind = $1 AND status = $2 AND due_at_ms <= $3 \
             ORDER BY due_at_ms LIMIT 500",
        )
        .bind(kind.as_str())
        .bind(status)
        .bind(due_by_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(tenant, data)| Ok((tenant, serde_json::from_str(&data)?)))
            .collect()
    }

    async fn events_after(
        &self,
        tenant_id: &str,
        since: i64,
        limit: i64,
    ) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query(
            "SELECT seq, kind, at, project_id, data FROM events \
             WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(tenant_id)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn log_bounds(&self, tenant_id: &str) -> StoreResult<Option<LogBounds>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT log_floor, head_seq FROM tenants WHERE id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(floor, head)| LogBounds { floor, head }))
    }

    async fn tenant(&self, tenant_id: &str) -> StoreResult<Option<Tenant>> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT id, name, slug FROM tenants WHERE id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(id, name, slug)| Tenant { id, name, slug }))
    }

    async fn user(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT id, email, name, role FROM users WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(id, email, name, role)| {
            Some(User {
                id,
                email,
                name,
                role: role.parse().ok()?,
            })
        }))
    }

    async fn users(&self, tenant_id: &str) -> StoreResult<Vec<User>> {
        users(&mut *self.pool.acquire().await?, tenant_id).await
    }

    async fn user_credentials(&self, email: &str) -> StoreResult<Option<UserCredentials>> {
        let row: Option<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, email, name, role, tenant_id, password_hash FROM users \
             WHERE lower(email) = lower($1)",
        )
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.and_then(|(id, email, name, role, tenant_id, password_hash)| {
                Some(UserCredentials {
                    user: User {
                        id,
                        email,
                        name,
                        role: role.parse().ok()?,
                    },
                    tenant_id,
                    password_hash,
                })
            }),
        )
    }

    async fn refresh_token_known(&self, token_hash: &str) -> StoreResult<bool> {
        let known: Option<i64> =
            sqlx::query_scalar("SELECT 1::bigint FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        Ok(known.is_some())
    }

    async fn live_session(&self, session_id: &str) -> StoreResult<Option<LiveSession>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.user_id, s.tenant_id, u.tenant_id, u.role, u.email, u.name, \
               (SELECT MAX(expires_at_ms) FROM refresh_tokens r WHERE r.session_id = s.id) \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.revoked_at_ms IS NULL",
        )
        .bind(session_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(live_session_of))
    }

    async fn sessions_revoked_since(
        &self,
        since_ms: i64,
        at_most: i64,
    ) -> StoreResult<Vec<String>> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM sessions WHERE revoked_at_ms >= $1 ORDER BY revoked_at_ms LIMIT $2",
        )
        .bind(since_ms)
        .bind(at_most)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn agent_for_token(&self, token_hash: &str) -> StoreResult<Option<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT tenant_id, agent_id FROM agent_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn cost_buckets(
        &self,
        tenant_id: &str,
        project_id: &str,
        bucket_s: i64,
    ) -> StoreResult<Vec<MetricsBucket>> {
        // SUM of BIGINT is NUMERIC in PostgreSQL: cast back to the integers SQLite answers.
        let rows: Vec<(i64, String, i64, i64, f64)> = sqlx::query_as(
            "SELECT (at_s / $1) * $1 AS bucket, agent_id, SUM(tokens_in)::BIGINT, \
               SUM(tokens_out)::BIGINT, SUM(cost_usd) \
             FROM cost_records WHERE tenant_id = $2 AND project_id = $3 \
             GROUP BY bucket, agent_id ORDER BY bucket, agent_id",
        )
        .bind(bucket_s)
        .bind(tenant_id)
        .bind(project_id)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(bucket, agent_id, tokens_in, tokens_out, cost_usd)| MetricsBucket {
                    at: DateTime::from_timestamp(bucket, 0).unwrap_or_default(),
                    agent_id,
                    tokens_in,
                    tokens_out,
                    cost_usd,
                },
            )
            .collect())
    }

    async fn log_floors(&self) -> StoreResult<Vec<(String, i64)>> {
        Ok(sqlx::query_as("SELECT id, log_floor FROM tenants")
            .fetch_all(&self.pool)
            .await?)
    }

    async fn prune_log_batch(
        &self,
        tenant_id: &str,
        floor: i64,
        older_than_ms: i64,
        at_most: i64,
    ) -> StoreResult<Option<PrunedBatch>> {
        let above: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT seq, at_ms FROM events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(tenant_id)
        .bind(floor)
        .bind(at_most)
        .fetch_all(&self.pool)
        .await?;
        let Some((new_floor, more)) = PrunedBatch::of(&above, older_than_ms, at_most) else {
            return Ok(None);
        };
        // The tenant's row waits for its write in progress, if any.
        let mut tx = begin_uncancelled(&self.pool).await?;
        sqlx::query("UPDATE tenants SET log_floor = GREATEST(log_floor, $1) WHERE id = $2")
            .bind(new_floor)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM events WHERE tenant_id = $1 AND seq <= $2")
            .bind(tenant_id)
            .bind(new_floor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(Some(PrunedBatch {
            floor: new_floor,
            deleted,
            more,
        }))
    }

    async fn prune_idempotency_keys(&self, older_than_ms: i64) -> StoreResult<u64> {
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at_ms < $1")
                .bind(older_than_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// In the server-wide writes' turn, as a sign-in is: it takes a session and then its
    /// refresh tokens (ending the least recently used), and pruning, taking expired tokens and
    /// then their session outside that turn, deadlocked with it.
    async fn prune_sessions(&self, now_ms: i64) -> StoreResult<u64> {
        let turn = self.server_turn.clone().lock_owned().await;
        let (mut tx, _turn) = PostgresTx::begin(&self.pool, None, turn)
            .await?
            .into_parts();
        let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at_ms <= $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "DELETE FROM sessions WHERE NOT EXISTS \
               (SELECT 1 FROM refresh_tokens r WHERE r.session_id = sessions.id)",
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(tokens)
    }

    async fn close(&self) {
        crate::store::close_every_connection(&self.pool).await;
    }

    /// Nothing to do: checkpoints are SQLite's way of folding its write-ahead log into the
    /// database file off the commit path. PostgreSQL checkpoints its WAL itself (the
    /// `checkpoint_timeout` and `max_wal_size` settings), so this answers what the sweeper
    /// reads as "idle and folded": nothing waits in a log of ours.
    async fn checkpoint(&self) -> StoreResult<Checkpoint> {
        Ok(Checkpoint {
            truncated: true,
            wal_frames: 0,
            moved_frames: 0,
        })
    }

    async fn devices(&self, tenant_id: &str, user_id: &str) -> StoreResult<Vec<Device>> {
        let mut conn = self.pool.acquire().await?;
        postgres_push::devices(&mut conn, tenant_id, user_id).await
    }

    async fn notification_settings(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<String>> {
        let mut conn = self.pool.acquire().await?;
        postgres_push::notification_settings(&mut conn, tenant_id, user_id).await
    }

    async fn tenant_settings(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        let settings: Option<Option<String>> =
            sqlx::query_scalar("SELECT settings FROM tenants WHERE id = $1")
                .bind(tenant_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(settings.flatten())
    }

    fn push(&self) -> &dyn PushStore {
        self
    }

    async fn listen(&self) -> StoreResult<Option<crate::store::Listening>> {
        Ok(Some(postgres_bus::listen(&self.pool).await?))
    }

    fn campaign(&self) -> tokio::sync::watch::Receiver<bool> {
        postgres_bus::campaign(&self.pool)
    }

    fn shared_counters(&self) -> Option<&dyn crate::store::SharedCounters> {
        Some(self)
    }

    fn shared_presence(&self) -> Option<&dyn crate::store::SharedPresence> {
        Some(self)
    }
}
