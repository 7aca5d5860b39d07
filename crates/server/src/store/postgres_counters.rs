//! Sign-in failure counters in PostgreSQL, shared by every instance (see [`crate::throttle`]).

use async_trait::async_trait;
use sqlx::Row;

use super::postgres::PostgresStore;
use super::postgres_tx::begin_uncancelled;
use super::{FailureCount, SharedCounters, StoreResult};
use crate::throttle::Decide;

#[async_trait]
impl SharedCounters for PostgresStore {
    async fn update_counters(
        &self,
        keys: &[String],
        decide: &Decide,
    ) -> StoreResult<Result<(), u64>> {
        let mut tx = begin_uncancelled(self.pool()).await?;
        // Every key gets a row to lock (a zero count reads as never counted); in sorted order,
        // so two instances counting the same keys lock them in the same order.
        let mut sorted = keys.to_vec();
        sorted.sort_unstable();
        sqlx::query(
            "INSERT INTO sign_in_failures (key, count, last_ms) \
             SELECT key, 0, 0 FROM unnest($1::text[]) AS key ON CONFLICT (key) DO NOTHING",
        )
        .bind(&sorted)
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(
            "SELECT key, count, last_ms FROM sign_in_failures WHERE key = ANY($1) \
             ORDER BY key FOR UPDATE",
        )
        .bind(&sorted)
        .fetch_all(&mut *tx)
        .await?;
        let current: Vec<Option<FailureCount>> = keys
            .iter()
            .map(|key| {
                let row = rows
                    .iter()
                    .find(|row| row.get::<String, _>("key") == *key)?;
                let count = u32::try_from(row.get::<i64, _>("count")).unwrap_or(u32::MAX);
                (count > 0).then(|| FailureCount {
                    count,
                    last_ms: row.get("last_ms"),
                })
            })
            .collect();
        let updated = match decide(&current) {
            Ok(updated) => updated,
            Err(wait) => return Ok(Err(wait)),
        };
        for (key, value) in keys.iter().zip(updated) {
            let (count, last_ms) = value.map_or((0, 0), |v| (i64::from(v.count), v.last_ms));
            sqlx::query("UPDATE sign_in_failures SET count = $2, last_ms = $3 WHERE key = $1")
                .bind(key)
                .bind(count)
                .bind(last_ms)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn prune_counters(&self, older_than_ms: i64) -> StoreResult<u64> {
        let pruned = sqlx::query("DELETE FROM sign_in_failures WHERE last_ms < $1")
            .bind(older_than_ms)
            .execute(self.pool())
            .await?;
        Ok(pruned.rows_affected())
    }
}
