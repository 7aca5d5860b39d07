//! Who each instance holds event sockets of, in PostgreSQL, so the escalation ladder on any
//! instance counts a person connected to another (see [`crate::presence`]).

use async_trait::async_trait;

use super::postgres::PostgresStore;
use super::postgres_tx::begin_uncancelled;
use super::{SharedPresence, StoreResult};
use crate::presence::Key;

/// An instance not heard from for this long is forgotten, with its sockets: it died without
/// withdrawing them. Long after its sockets stopped counting ([`crate::presence::SHARED_FOR`]).
const FORGET_AFTER_MS: i64 = 3_600_000;

/// The database's clock in ms: every instance's heartbeat is written and read by the same
/// clock, however far the hosts' own clocks drift apart.
const DATABASE_MS: &str = "(extract(epoch FROM statement_timestamp()) * 1000)::bigint";

/// The people of the tenant with an event socket open on an instance heard from within
/// `fresh_for`.
pub(super) async fn online_users(
    conn: &mut sqlx::PgConnection,
    tenant_id: &str,
    fresh_for: std::time::Duration,
) -> StoreResult<Vec<String>> {
    let fresh_for_ms = i64::try_from(fresh_for.as_millis()).unwrap_or(i64::MAX / 2);
    let users = sqlx::query_scalar(&format!(
        "SELECT DISTINCT p.user_id FROM presence p \
         JOIN presence_instances i ON i.instance_id = p.instance_id \
         WHERE p.tenant_id = $1 AND i.seen_at_ms >= {DATABASE_MS} - $2"
    ))
    .bind(tenant_id)
    .bind(fresh_for_ms)
    .fetch_all(conn)
    .await?;
    Ok(users)
}

fn columns(keys: &[Key]) -> (Vec<&str>, Vec<&str>) {
    keys.iter()
        .map(|(tenant, user)| (tenant.as_str(), user.as_str()))
        .unzip()
}

#[async_trait]
impl SharedPresence for PostgresStore {
    async fn publish(
        &self,
        instance_id: &str,
        added: &[Key],
        removed: &[Key],
        replace: bool,
    ) -> StoreResult<()> {
        let mut tx = begin_uncancelled(self.pool()).await?;
        sqlx::query(&format!(
            "INSERT INTO presence_instances (instance_id, seen_at_ms) VALUES ($1, {DATABASE_MS}) \
             ON CONFLICT (instance_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms"
        ))
        .bind(instance_id)
        .execute(&mut *tx)
        .await?;
        if replace {
            sqlx::query("DELETE FROM presence WHERE instance_id = $1")
                .bind(instance_id)
                .execute(&mut *tx)
                .await?;
        }
        if !removed.is_empty() {
            let (tenants, users) = columns(removed);
            sqlx::query(
                "DELETE FROM presence WHERE instance_id = $1 AND (tenant_id, user_id) IN \
                 (SELECT * FROM unnest($2::text[], $3::text[]))",
            )
            .bind(instance_id)
            .bind(tenants)
            .bind(users)
            .execute(&mut *tx)
            .await?;
        }
        if !added.is_empty() {
            let (tenants, users) = columns(added);
            sqlx::query(
                "INSERT INTO presence (instance_id, tenant_id, user_id) \
                 SELECT $1, tenant_id, user_id FROM unnest($2::text[], $3::text[]) AS k(tenant_id, user_id) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(instance_id)
            .bind(tenants)
            .bind(users)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(&format!(
            "DELETE FROM presence_instances WHERE seen_at_ms < {DATABASE_MS} - $1"
        ))
        .bind(FORGET_AFTER_MS)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn online_users(
        &self,
        tenant_id: &str,
        fresh_for: std::time::Duration,
    ) -> StoreResult<Vec<String>> {
        online_users(&mut *self.pool().acquire().await?, tenant_id, fresh_for).await
    }

    async fn withdraw(&self, instance_id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM presence_instances WHERE instance_id = $1")
            .bind(instance_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
