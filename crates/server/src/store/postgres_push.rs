//! The push dispatcher's tables on PostgreSQL, and the device rows the client routes write.
//!
//! Unlike SQLite's, these transactions take no tenant's turn: they never append to a log, and
//! PostgreSQL has writers enough. Two dispatchers cannot both advance one cursor: the cursor
//! moves only from where the batch read it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use spartex_api::{Device, Platform, Role};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::postgres::PostgresStore;
use super::postgres_tx::begin_uncancelled;
use super::push::{
    Advance, Backlog, NewDevice, PushOutcome, PushStore, PushTarget, QueuedPush, ResourceStates,
    DEVICES_PER_PERSON,
};
use super::{StoreError, StoreResult};

fn time(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Unsupported(format!(
        "stored {what} `{value}` is not one this server knows"
    ))
}

fn device_from_row(row: &PgRow) -> StoreResult<Device> {
    let platform: String = row.try_get("platform")?;
    Ok(Device {
        id: row.try_get("id")?,
        platform: platform
            .parse()
            .map_err(|_| corrupt("platform", &platform))?,
        created_at: time(Some(row.try_get("created_at")?)).unwrap_or_default(),
        last_push_at: time(row.try_get("last_push_at")?),
        last_error: row.try_get("last_error")?,
    })
}

/// Registers a device for a user, as SQLite's store does: the same address (one install)
/// registered again in this organisation is the same device, with its keys, when it was last
/// seen and its sign-in refreshed; registered by another person of the organisation, it
/// becomes theirs; another organisation's registration of it is another device.
pub(super) async fn insert_device(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    device: &NewDevice<'_>,
) -> StoreResult<Option<(Device, bool)>> {
    if let Some(session_id) = device.session_id {
        // Held until this commits, so the sign-in cannot end in between: an end committed
        // before is seen here, one after finds this device to delete with it.
        let live: Option<i64> = sqlx::query_scalar(
            "SELECT 1::bigint FROM sessions WHERE id = $1 AND revoked_at_ms IS NULL FOR SHARE",
        )
        .bind(session_id)
        .fetch_optional(&mut *conn)
        .await?;
        if live.is_none() {
            return Ok(None);
        }
    }
    // Another person's registration of the install goes first. Two registrations of one address
    // meet in the insert, which takes the row the other committed instead of failing; one by
    // someone else that committed between these two statements is removed on the next round.
    for _ in 0..3 {
        sqlx::query(
            "DELETE FROM devices \
             WHERE tenant_id = $1 AND platform = $2 AND address = $3 AND user_id <> $4",
        )
        .bind(tenant_id)
        .bind(device.platform.as_str())
        .bind(device.address)
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
        let row = sqlx::query(
            "INSERT INTO devices \
             (id, tenant_id, user_id, platform, address, registration, created_at, session_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (tenant_id, platform, address) DO UPDATE \
               SET registration = EXCLUDED.registration, seen_at = EXCLUDED.created_at, \
                   session_id = EXCLUDED.session_id \
               WHERE devices.user_id = EXCLUDED.user_id \
             RETURNING id, platform, created_at, last_push_at, last_error, (xmax = 0) AS inserted",
        )
        .bind(device.id)
        .bind(tenant_id)
        .bind(user_id)
        .bind(device.platform.as_str())
        .bind(device.address)
        .bind(device.registration)
        .bind(device.created_at.to_rfc3339())
        .bind(device.session_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { continue };
        let inserted: bool = row.try_get("inserted")?;
        if inserted {
            sqlx::query(
                "DELETE FROM devices WHERE tenant_id = $1 AND user_id = $2 AND id NOT IN \
                 (SELECT id FROM devices WHERE tenant_id = $1 AND user_id = $2 \
                  ORDER BY created_at DESC, id DESC LIMIT $3)",
            )
            .bind(tenant_id)
            .bind(user_id)
            .bind(DEVICES_PER_PERSON)
            .execute(&mut *conn)
            .await?;
        }
        return Ok(Some((device_from_row(&row)?, inserted)));
    }
    Err(StoreError::Unsupported(
        "a device's address kept being registered by others at the same time".into(),
    ))
}

pub(super) async fn delete_device(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    device_id: &str,
) -> StoreResult<bool> {
    Ok(
        sqlx::query("DELETE FROM devices WHERE tenant_id = $1 AND user_id = $2 AND id = $3")
            .bind(tenant_id)
            .bind(user_id)
            .bind(device_id)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}

pub(super) async fn devices(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
) -> StoreResult<Vec<Device>> {
    sqlx::query(
        "SELECT * FROM devices WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(device_from_row)
    .collect()
}

pub(super) async fn notification_settings(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
) -> StoreResult<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT data FROM notification_settings WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind(tenant_id)
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

pub(super) async fn put_notification_settings(
    conn: &mut PgConnection,
    tenant_id: &str,
    user_id: &str,
    data: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notification_settings (user_id, tenant_id, data) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
    )
    .bind(user_id)
    .bind(tenant_id)
    .bind(data)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every device of the tenant, with its user's role and settings.
pub(super) async fn targets(
    conn: &mut PgConnection,
    tenant_id: &str,
) -> StoreResult<Vec<PushTarget>> {
    let rows = sqlx::query(
        "SELECT d.id, d.user_id, u.role, s.data, d.created_at, d.seen_at, d.last_push_at, \
         d.last_error \
         FROM devices d \
         JOIN users u ON u.id = d.user_id AND u.tenant_id = d.tenant_id \
         LEFT JOIN notification_settings s ON s.user_id = d.user_id \
         WHERE d.tenant_id = $1 ORDER BY d.id",
    )
    .bind(tenant_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            let role: String = row.try_get("role")?;
            Ok(PushTarget {
                device_id: row.try_get("id")?,
                user_id: row.try_get("user_id")?,
                role: role.parse::<Role>().map_err(|_| corrupt("role", &role))?,
                settings: row.try_get("data")?,
                created_at: time(Some(row.try_get("created_at")?)).unwrap_or_default(),
                seen_at: time(row.try_get("seen_at")?),
                last_push_at: time(row.try_get("last_push_at")?),
                last_error: row.try_get("last_error")?,
            })
        })
        .collect()
}

#[async_trait]
impl PushStore for PostgresStore {
    async fn backlog(&self) -> StoreResult<Vec<Backlog>> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT t.id, COALESCE(c.seq, 0), t.head_seq FROM tenants t \
             LEFT JOIN push_cursors c ON c.tenant_id = t.id \
             WHERE t.head_seq > COALESCE(c.seq, 0)",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(tenant_id, cursor, head)| Backlog {
                tenant_id,
                cursor,
                head,
            })
            .collect())
    }

    async fn targets(&self, tenant_id: &str) -> StoreResult<Vec<PushTarget>> {
        targets(&mut *self.pool().acquire().await?, tenant_id).await
    }

    async fn states(&self, tenant_id: &str, resource_ids: &[&str]) -> StoreResult<ResourceStates> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT resource_id, state FROM push_states \
             WHERE tenant_id = $1 AND resource_id = ANY($2)",
        )
        .bind(tenant_id)
        .bind(resource_ids)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().collect())
    }

    async fn advance(&self, tenant_id: &str, advance: &Advance, now_ms: i64) -> StoreResult<bool> {
        let mut tx = begin_uncancelled(self.pool()).await?;
        // The batch's devices first, in one order, as a device's removal (its row, then its
        // queued pushes by cascade) and settling take them: queueing took a queued push (an
        // update in place) and then its device (a new push's foreign-key check), and
        // deadlocked with a person removing that device.
        let mut devices: Vec<&str> = advance
            .pushes
            .iter()
            .map(|push| push.device_id.as_str())
            .collect();
        devices.sort_unstable();
        devices.dedup();
        if !devices.is_empty() {
            sqlx::query("SELECT 1 FROM devices WHERE id = ANY($1) ORDER BY id FOR KEY SHARE")
                .bind(&devices)
                .execute(&mut *tx)
                .await?;
        }
        let moved = sqlx::query(
            "INSERT INTO push_cursors (tenant_id, seq) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET seq = excluded.seq WHERE push_cursors.seq = $3",
        )
        .bind(tenant_id)
        .bind(advance.to)
        .bind(advance.from)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if moved == 0 {
            return Ok(false);
        }
        for (resource_id, state) in &advance.states {
            sqlx::query(
                "INSERT INTO push_states (tenant_id, resource_id, state) VALUES ($1, $2, $3) \
                 ON CONFLICT (tenant_id, resource_id) DO UPDATE SET state = excluded.state",
            )
            .bind(tenant_id)
            .bind(resource_id)
            .bind(state)
            .execute(&mut *tx)
            .await?;
        }
        if !advance.forget.is_empty() {
            sqlx::query("DELETE FROM push_states WHERE tenant_id = $1 AND resource_id = ANY($2)")
                .bind(tenant_id)
                .bind(&advance.forget)
                .execute(&mut *tx)
                .await?;
        }
        for push in &advance.pushes {
            // A device unregistered since the targets were read takes nothing.
            sqlx::query(
                "INSERT INTO push_queue (tenant_id, device_id, collapse_key, payload, urgent, \
                 expires_at_ms, next_attempt_at_ms, committed_at_ms) \
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM devices WHERE id = $2) \
                 ON CONFLICT (device_id, collapse_key) DO UPDATE SET payload = excluded.payload, \
                 urgent = excluded.urgent, expires_at_ms = excluded.expires_at_ms, attempts = 0, \
                 next_attempt_at_ms = excluded.next_attempt_at_ms, \
                 committed_at_ms = excluded.committed_at_ms, version = push_queue.version + 1",
            )
            .bind(tenant_id)
            .bind(&push.device_id)
            .bind(&push.collapse_key)
            .bind(&push.payload)
            .bind(push.urgent)
            .bind(push.expires_at_ms)
            .bind(push.not_before_ms.map_or(now_ms, |at| at.max(now_ms)))
            .bind(push.committed_at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn due(&self, now_ms: i64, limit: i64, busy: &[&str]) -> StoreResult<Vec<QueuedPush>> {
        let rows = sqlx::query(
            "SELECT q.id, q.version, q.tenant_id, q.device_id, d.user_id, d.platform, d.registration, \
             q.collapse_key, q.payload, q.urgent, q.expires_at_ms, q.attempts, q.committed_at_ms \
             FROM push_queue q JOIN devices d ON d.id = q.device_id \
             WHERE q.next_attempt_at_ms <= $1 AND NOT (q.tenant_id = ANY($2)) \
             ORDER BY q.next_attempt_at_ms, q.id LIMIT $3",
        )
        .bind(now_ms)
        .bind(busy)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let platform: String = row.try_get("platform")?;
                Ok(QueuedPush {
                    id: row.try_get("id")?,
                    version: row.try_get("version")?,
                    tenant_id: row.try_get("tenant_id")?,
                    device_id: row.try_get("device_id")?,
                    user_id: row.try_get("user_id")?,
                    platform: platform
                        .parse::<Platform>()
                        .map_err(|_| corrupt("platform", &platform))?,
                    registration: row.try_get("registration")?,
                    collapse_key: row.try_get("collapse_key")?,
                    payload: row.try_get("payload")?,
                    urgent: row.try_get("urgent")?,
                    expires_at_ms: row.try_get("expires_at_ms")?,
                    attempts: row.try_get("attempts")?,
                    committed_at_ms: row.try_get("committed_at_ms")?,
                })
            })
            .collect()
    }

    async fn next_due_at(&self) -> StoreResult<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT MIN(next_attempt_at_ms) FROM push_queue")
                .fetch_one(self.pool())
                .await?,
        )
    }

    async fn settle_all(
        &self,
        settled: &[(QueuedPush, PushOutcome)],
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = begin_uncancelled(self.pool()).await?;
        // The devices first, in one order: a device's removal takes its row, then its queued
        // pushes (by cascade), and settling the other way round (a queued push, then its
        // device) deadlocked with it.
        let mut devices: Vec<&str> = settled
            .iter()
            .map(|(push, _)| push.device_id.as_str())
            .collect();
        devices.sort_unstable();
        devices.dedup();
        sqlx::query("SELECT 1 FROM devices WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&devices)
            .execute(&mut *tx)
            .await?;
        for (push, outcome) in settled {
            settle_one(&mut tx, push, outcome, now_ms).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

async fn settle_one(
    tx: &mut PgConnection,
    push: &QueuedPush,
    outcome: &PushOutcome,
    now_ms: i64,
) -> StoreResult<()> {
    // The push itself: gone with its device, retried later, or done with.
    match outcome {
        PushOutcome::Gone { .. } => {
            sqlx::query("DELETE FROM devices WHERE id = $1")
                .bind(&push.device_id)
                .execute(&mut *tx)
                .await?;
            return Ok(());
        }
        PushOutcome::Retry {
            next_attempt_at_ms, ..
        } if *next_attempt_at_ms < push.expires_at_ms => {
            sqlx::query(
                "UPDATE push_queue SET attempts = attempts + 1, next_attempt_at_ms = $1 \
                 WHERE id = $2 AND version = $3",
            )
            .bind(next_attempt_at_ms)
            .bind(push.id)
            .bind(push.version)
            .execute(&mut *tx)
            .await?;
        }
        _ => {
            sqlx::query("DELETE FROM push_queue WHERE id = $1 AND version = $2")
                .bind(push.id)
                .bind(push.version)
                .execute(&mut *tx)
                .await?;
        }
    }
    // The device: when a push last reached its service, or why the last attempt failed.
    match outcome {
        PushOutcome::Sent => {
            sqlx::query("UPDATE devices SET last_push_at = $1, last_error = NULL WHERE id = $2")
                .bind(DateTime::from_timestamp_millis(now_ms).map(|t| t.to_rfc3339()))
                .bind(&push.device_id)
                .execute(&mut *tx)
                .await?;
        }
        PushOutcome::Retry { error, .. } | PushOutcome::Dropped { error } => {
            sqlx::query("UPDATE devices SET last_error = $1 WHERE id = $2")
                .bind(error)
                .bind(&push.device_id)
                .execute(&mut *tx)
                .await?;
        }
        PushOutcome::Gone { .. } | PushOutcome::Expired => {}
    }
    Ok(())
}
