//! [`Store`](super::Store) on SQLite: reads from the reader pool, the sweeper's pruning and
//! checkpoints, and where a write begins (the transaction itself is in `sqlite_tx.rs`).

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use axum::body::Bytes;
use chrono::DateTime;
use serde_json::Value;
use spartex_api::{Device, Event, MetricsBucket, Tenant, User};

use super::tx::SqliteTx;
use super::{
    event_from_row, get_doc, list_doc_rows, list_docs, users, ListingKey, SqliteStore, BEGIN_WRITE,
    CHANGES_SAVEPOINT,
};
use crate::store::documents::wire_array;
use crate::store::push::PushStore;
use crate::store::{
    live_session_of, sqlite_push, Checkpoint, DocFilter, DocKind, LiveSession, LogBounds,
    PrunedBatch, SessionRow, Store, StoreResult, UserCredentials, WriteScope, WriteTx,
};

#[async_trait]
impl Store for SqliteStore {
    async fn begin(&self, scope: WriteScope<'_>) -> StoreResult<Box<dyn WriteTx>> {
        let turn = self.turn.clone().lock_owned().await;
        let mark = self.writes.begin();
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        sqlx::query(CHANGES_SAVEPOINT).execute(&mut *tx).await?;
        Ok(Box::new(SqliteTx {
            tx,
            tenant_id: match scope {
                WriteScope::Tenant(tenant_id) => Some(tenant_id.to_owned()),
                WriteScope::Server => None,
            },
            commits: self.commits.clone(),
            mark,
            turn,
        }))
    }

    async fn get_doc(
        &self,
        tenant_id: &str,
        kind: DocKind,
        id: &str,
    ) -> StoreResult<Option<Value>> {
        get_doc(&mut *self.reader.acquire().await?, tenant_id, kind, id).await
    }

    async fn list_docs(&self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<Vec<Value>> {
        list_docs(&mut *self.reader.acquire().await?, tenant_id, filter).await
    }

    async fn list_docs_json(&self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<Bytes> {
        let read = async {
            let rows = list_doc_rows(&mut *self.reader.acquire().await?, tenant_id, filter).await?;
            Ok(wire_array(tenant_id, filter.kind, &rows))
        };
        match ListingKey::of(tenant_id, filter) {
            Some(key) => self.listings.get_or_read(&key, read).await,
            None => read.await,
        }
    }

    async fn due_docs(
        &self,
        kind: DocKind,
        status: &str,
        due_by_ms: i64,
    ) -> StoreResult<Vec<(String, Value)>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT tenant_id, data FROM resources WHERE kind = ? AND status = ? AND due_at_ms <= ? \
             ORDER BY due_at_ms LIMIT 500",
        )
        .bind(kind.as_str())
        .bind(status)
        .bind(due_by_ms)
        .fetch_all(&self.reader)
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
            "SELECT seq, kind, at, project_id, data FROM events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(tenant_id)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn log_bounds(&self, tenant_id: &str) -> StoreResult<Option<LogBounds>> {
        let read = async {
            let row: Option<(i64, i64)> =
                sqlx::query_as("SELECT log_floor, head_seq FROM tenants WHERE id = ?")
                    .bind(tenant_id)
                    .fetch_optional(&self.reader)
                    .await?;
            Ok(row.map(|(floor, head)| LogBounds { floor, head }))
        };
        self.bounds.get_or_read(tenant_id, read).await
    }

    async fn tenant(&self, tenant_id: &str) -> StoreResult<Option<Tenant>> {
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT id, name, slug FROM tenants WHERE id = ?")
                .bind(tenant_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(row.map(|(id, name, slug)| Tenant { id, name, slug }))
    }

    async fn user(&self, tenant_id: &str, user_id: &str) -> StoreResult<Option<User>> {
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT id, email, name, role FROM users WHERE tenant_id = ? AND id = ?",
        )
        .bind(tenant_id)
        .bind(user_id)
        .fetch_optional(&self.reader)
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
        users(&mut *self.reader.acquire().await?, tenant_id).await
    }

    async fn user_credentials(&self, email: &str) -> StoreResult<Option<UserCredentials>> {
        let row: Option<(String, String, String, String, String, String)> = sqlx::query_as(
            "SELECT id, email, name, role, tenant_id, password_hash FROM users WHERE email = ? COLLATE NOCASE",
        )
        .bind(email)
        .fetch_optional(&self.reader)
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
            sqlx::query_scalar("SELECT 1 FROM refresh_tokens WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?;
        Ok(known.is_some())
    }

    async fn live_session(&self, session_id: &str) -> StoreResult<Option<LiveSession>> {
        let row: Option<SessionRow> = sqlx::query_as(
            "SELECT s.user_id, s.tenant_id, u.tenant_id, u.role, u.email, u.name, \
               (SELECT MAX(expires_at_ms) FROM refresh_tokens r WHERE r.session_id = s.id) \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = ? AND s.revoked_at_ms IS NULL",
        )
        .bind(session_id)
        .fetch_optional(&self.reader)
        .await?;
        Ok(row.and_then(live_session_of))
    }

    async fn sessions_revoked_since(
        &self,
        since_ms: i64,
        at_most: i64,
    ) -> StoreResult<Vec<String>> {
        let ids: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM sessions WHERE revoked_at_ms >= ? ORDER BY revoked_at_ms LIMIT ?",
        )
        .bind(since_ms)
        .bind(at_most)
        .fetch_all(&self.reader)
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn agent_for_token(&self, token_hash: &str) -> StoreResult<Option<(String, String)>> {
        Ok(
            sqlx::query_as("SELECT tenant_id, agent_id FROM agent_tokens WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    async fn cost_buckets(
        &self,
        tenant_id: &str,
        project_id: &str,
        bucket_s: i64,
    ) -> StoreResult<Vec<MetricsBucket>> {
        let rows: Vec<(i64, String, i64, i64, f64)> = sqlx::query_as(
            "SELECT (at_s / ?1) * ?1 AS bucket, agent_id, SUM(tokens_in), SUM(tokens_out), SUM(cost_usd) \
             FROM cost_records WHERE tenant_id = ?2 AND project_id = ?3 \
             GROUP BY bucket, agent_id ORDER BY bucket, agent_id",
        )
        .bind(bucket_s)
        .bind(tenant_id)
        .bind(project_id)
        .fetch_all(&self.reader)
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
            .fetch_all(&self.reader)
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
            "SELECT seq, at_ms FROM events WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(tenant_id)
        .bind(floor)
        .bind(at_most)
        .fetch_all(&self.reader)
        .await?;
        let Some((new_floor, more)) = PrunedBatch::of(&above, older_than_ms, at_most) else {
            return Ok(None);
        };
        let _mark = self.writes.begin();
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        sqlx::query("UPDATE tenants SET log_floor = MAX(log_floor, ?) WHERE id = ?")
            .bind(new_floor)
            .bind(tenant_id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM events WHERE tenant_id = ? AND seq <= ?")
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
        let _mark = self.writes.begin();
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE created_at_ms < ?")
                .bind(older_than_ms)
                .execute(&self.writer)
                .await?
                .rows_affected(),
        )
    }

    async fn prune_sessions(&self, now_ms: i64) -> StoreResult<u64> {
        let _mark = self.writes.begin();
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        let tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at_ms <= ?")
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

    async fn devices(&self, tenant_id: &str, user_id: &str) -> StoreResult<Vec<Device>> {
        let mut conn = self.reader.acquire().await?;
        sqlite_push::devices(&mut conn, tenant_id, user_id).await
    }

    async fn notification_settings(
        &self,
        tenant_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<String>> {
        let mut conn = self.reader.acquire().await?;
        sqlite_push::notification_settings(&mut conn, tenant_id, user_id).await
    }

    async fn tenant_settings(&self, tenant_id: &str) -> StoreResult<Option<String>> {
        let settings: Option<Option<String>> =
            sqlx::query_scalar("SELECT settings FROM tenants WHERE id = ?")
                .bind(tenant_id)
                .fetch_optional(&self.reader)
                .await?;
        Ok(settings.flatten())
    }

    fn push(&self) -> &dyn PushStore {
        self
    }

    async fn close(&self) {
        // Read-only connections cannot fold the WAL: the writer closes last.
        for pool in [&self.reader, &self.checkpointer, &self.writer] {
            crate::store::close_every_connection(pool).await;
        }
    }

    async fn checkpoint(&self) -> StoreResult<Checkpoint> {
        let result = self.checkpoint_now().await;
        match &result {
            Ok(_) if self.checkpoint_failing.swap(false, Ordering::Relaxed) => {
                tracing::info!("checkpoints work again; the WAL is being folded into the database");
            }
            Err(e) if !self.checkpoint_failing.swap(true, Ordering::Relaxed) => {
                tracing::warn!(error = %e, "checkpoint failed; the WAL grows until one succeeds (retrying quietly)");
            }
            _ => {}
        }
        result
    }
}
