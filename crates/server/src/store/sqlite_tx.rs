//! One write transaction on SQLite, holding the writers' turn (see [`super`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use spartex_api::{Device, Event, EventKind, Tenant, User};
use sqlx::{Sqlite, Transaction};

use super::{count_docs, get_doc, list_docs, users};
use crate::store::read_cache::WriteMark;
use crate::store::{
    sqlite_push, DocFilter, DocKind, Document, NewCost, NewDevice, RefreshTokenRow, StoreError,
    StoreResult, StoredResponse, WriteTurn, WriteTx,
};

pub struct SqliteTx {
    // Dropped first (rolling back), then the turn is released.
    pub(super) tx: Transaction<'static, Sqlite>,
    /// The tenant whose log this write appends to; `None` for `WriteScope::Server`.
    pub(super) tenant_id: Option<String>,
    pub(super) commits: std::sync::Arc<AtomicU64>,
    /// Ends the reads kept in memory; released once the write committed or was undone.
    pub(super) mark: WriteMark,
    pub(super) turn: tokio::sync::OwnedMutexGuard<()>,
}

#[async_trait]
impl WriteTx for SqliteTx {
    async fn get_doc(
        &mut self,
        tenant_id: &str,
        kind: DocKind,
        id: &str,
    ) -> StoreResult<Option<Value>> {
        get_doc(&mut self.tx, tenant_id, kind, id).await
    }

    async fn list_docs(
        &mut self,
        tenant_id: &str,
        filter: DocFilter<'_>,
    ) -> StoreResult<Vec<Value>> {
        list_docs(&mut self.tx, tenant_id, filter).await
    }

    async fn count_docs(&mut self, tenant_id: &str, filter: DocFilter<'_>) -> StoreResult<i64> {
        count_docs(&mut self.tx, tenant_id, filter).await
    }

    async fn users(&mut self, tenant_id: &str) -> StoreResult<Vec<User>> {
        users(&mut self.tx, tenant_id).await
    }

    async fn push_targets(
        &mut self,
        tenant_id: &str,
    ) -> StoreResult<Vec<crate::store::push::PushTarget>> {
        sqlite_push::targets(&mut self.tx, tenant_id).await
    }

    /// Nobody: no other instance shares a SQLite file.
    async fn online_users(
        &mut self,
        _tenant_id: &str,
        _fresh_for: Duration,
    ) -> StoreResult<Vec<String>> {
        Ok(Vec::new())
    }

    async fn put_doc(&mut self, tenant_id: &str, doc: &Document) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO resources (tenant_id, kind, id, project_id, status, sort_key, due_at_ms, lookup_key, data) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (tenant_id, kind, id) DO UPDATE SET project_id = excluded.project_id, \
               status = excluded.status, sort_key = excluded.sort_key, due_at_ms = excluded.due_at_ms, \
               lookup_key = excluded.lookup_key, data = excluded.data",
        )
        .bind(tenant_id)
        .bind(doc.kind.as_str())
        .bind(&doc.id)
        .bind(&doc.project_id)
        .bind(&doc.status)
        .bind(&doc.sort_key)
        .bind(doc.due_at_ms)
        .bind(&doc.lookup_key)
        .bind(doc.data.to_string())
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn append_event(
        &mut self,
        kind: EventKind,
        project_id: Option<&str>,
        at: DateTime<Utc>,
        data: &Value,
    ) -> StoreResult<Event> {
        let tenant_id = self.tenant_id.as_deref().ok_or(StoreError::WrongTenant)?;
        let (seq,): (i64,) = sqlx::query_as(
            "UPDATE tenants SET head_seq = head_seq + 1 WHERE id = ? RETURNING head_seq",
        )
        .bind(tenant_id)
        .fetch_one(&mut *self.tx)
        .await?;
        sqlx::query("INSERT INTO events (tenant_id, seq, kind, at, at_ms, project_id, data) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(tenant_id)
            .bind(seq)
            .bind(kind.as_str())
            .bind(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
            .bind(at.timestamp_millis())
            .bind(project_id)
            .bind(data.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(Event {
            seq,
            kind: kind.as_str().to_owned(),
            at,
            project_id: project_id.map(str::to_owned),
            data: data.clone(),
        })
    }

    async fn stored_response(
        &mut self,
        principal_id: &str,
        key: &str,
    ) -> StoreResult<Option<StoredResponse>> {
        let row: Option<(String, String, Option<String>, i64, String)> = sqlx::query_as(
            "SELECT method, path, request_hash, status, body FROM idempotency_keys \
             WHERE principal_id = ? AND key = ?",
        )
        .bind(principal_id)
        .bind(key)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(
            |(method, path, request_hash, status, body)| StoredResponse {
                method,
                path,
                request_hash,
                status: u16::try_from(status).unwrap_or(500),
                body,
            },
        ))
    }

    async fn store_response(
        &mut self,
        principal_id: &str,
        key: &str,
        response: &StoredResponse,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO idempotency_keys (principal_id, key, method, path, request_hash, status, body, created_at_ms) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(principal_id)
        .bind(key)
        .bind(&response.method)
        .bind(&response.path)
        .bind(&response.request_hash)
        .bind(i64::from(response.status))
        .bind(&response.body)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_tenant(&mut self, tenant: &Tenant) -> StoreResult<()> {
        sqlx::query("INSERT INTO tenants (id, name, slug) VALUES (?, ?, ?)")
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(&tenant.slug)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_user(
        &mut self,
        tenant_id: &str,
        user: &User,
        password_hash: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO users (id, tenant_id, email, name, role, password_hash) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(&user.id)
            .bind(tenant_id)
            .bind(&user.email)
            .bind(&user.name)
            .bind(user.role.as_str())
            .bind(password_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_session(
        &mut self,
        session_id: &str,
        tenant_id: &str,
        user_id: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, tenant_id, user_id, created_at_ms) VALUES (?, ?, ?, ?)",
        )
        .bind(session_id)
        .bind(tenant_id)
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn live_sessions_beyond(&mut self, user_id: &str, keep: i64) -> StoreResult<Vec<String>> {
        let mut beyond: Vec<String> = sqlx::query_scalar(
            "SELECT s.id FROM sessions s WHERE s.user_id = ? AND s.revoked_at_ms IS NULL \
             ORDER BY (SELECT MAX(r.expires_at_ms) FROM refresh_tokens r WHERE r.session_id = s.id) DESC, \
               s.created_at_ms DESC, s.id DESC \
             LIMIT -1 OFFSET ?",
        )
        .bind(user_id)
        .bind(keep)
        .fetch_all(&mut *self.tx)
        .await?;
        beyond.reverse();
        Ok(beyond)
    }

    async fn forget_refresh_tokens(&mut self, session_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM refresh_tokens WHERE session_id = ?")
            .bind(session_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn revoke_session(&mut self, session_id: &str, now_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE sessions SET revoked_at_ms = COALESCE(revoked_at_ms, ?) WHERE id = ?")
            .bind(now_ms)
            .bind(session_id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("DELETE FROM devices WHERE session_id = ?")
            .bind(session_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_refresh_token(
        &mut self,
        token_hash: &str,
        session_id: &str,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, session_id, expires_at_ms) VALUES (?, ?, ?)",
        )
        .bind(token_hash)
        .bind(session_id)
        .bind(expires_at_ms)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn refresh_token(&mut self, token_hash: &str) -> StoreResult<Option<RefreshTokenRow>> {
        let row: Option<(String, String, String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT r.session_id, s.tenant_id, s.user_id, r.expires_at_ms, r.used_at_ms, s.revoked_at_ms \
             FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id WHERE r.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(row.map(
            |(session_id, tenant_id, user_id, expires_at_ms, used_at, revoked_at)| {
                RefreshTokenRow {
                    session_id,
                    tenant_id,
                    user_id,
                    expires_at_ms,
                    used_at_ms: used_at,
                    session_revoked: revoked_at.is_some(),
                }
            },
        ))
    }

    async fn mark_refresh_token_used(&mut self, token_hash: &str, now_ms: i64) -> StoreResult<()> {
        sqlx::query("UPDATE refresh_tokens SET used_at_ms = ? WHERE token_hash = ?")
            .bind(now_ms)
            .bind(token_hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn insert_agent_token(
        &mut self,
        token_hash: &str,
        tenant_id: &str,
        agent_id: &str,
    ) -> StoreResult<()> {
        sqlx::query("INSERT INTO agent_tokens (token_hash, tenant_id, agent_id) VALUES (?, ?, ?)")
            .bind(token_hash)
            .bind(tenant_id)
            .bind(agent_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn delete_agent_tokens(&mut self, tenant_id: &str, agent_id: &str) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM agent_tokens WHERE tenant_id = ? AND agent_id = ?")
            .bind(tenant_id)
            .bind(agent_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert_cost(&mut self, tenant_id: &str, cost: &NewCost<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO cost_records (tenant_id, project_id, agent_id, at_s, model, tokens_in, tokens_out, cost_usd) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(tenant_id)
        .bind(cost.project_id)
        .bind(cost.agent_id)
        .bind(cost.at_s)
        .bind(cost.model)
        .bind(cost.tokens_in)
        .bind(cost.tokens_out)
        .bind(cost.cost_usd)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_device(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        device: &NewDevice<'_>,
    ) -> StoreResult<Option<(Device, bool)>> {
        sqlite_push::insert_device(&mut self.tx, tenant_id, user_id, device).await
    }

    async fn delete_device(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        device_id: &str,
    ) -> StoreResult<bool> {
        sqlite_push::delete_device(&mut self.tx, tenant_id, user_id, device_id).await
    }

    async fn put_notification_settings(
        &mut self,
        tenant_id: &str,
        user_id: &str,
        data: &str,
    ) -> StoreResult<()> {
        sqlite_push::put_notification_settings(&mut self.tx, tenant_id, user_id, data).await
    }

    async fn put_tenant_settings(&mut self, tenant_id: &str, data: &str) -> StoreResult<()> {
        sqlx::query("UPDATE tenants SET settings = ? WHERE id = ?")
            .bind(data)
            .bind(tenant_id)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn setting(&mut self, key: &str) -> StoreResult<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM server_settings WHERE key = ?")
                .bind(key)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    async fn put_setting(&mut self, key: &str, value: &str) -> StoreResult<()> {
        sqlx::query("INSERT INTO server_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn discard(&mut self) -> StoreResult<()> {
        sqlx::query("ROLLBACK TO changes")
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn commit(self: Box<Self>) -> StoreResult<WriteTurn> {
        let SqliteTx {
            tx,
            commits,
            mark,
            turn,
            ..
        } = *self;
        tx.commit().await?;
        drop(mark);
        commits.fetch_add(1, Ordering::Relaxed);
        Ok(WriteTurn::new(turn))
    }
}
