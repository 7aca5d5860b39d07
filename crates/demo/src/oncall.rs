//! The demo's on-call: Dana and Priya take weekly turns by day and the other covers the night,
//! and high and critical requests climb a ladder from whoever is on call to the manager, then
//! the owner. Seeded once, so the feature shows the moment the demo starts.

use chrono::{DateTime, Utc};
use spartex_api::{
    ActiveHours, EscalationLevel, EscalationPolicy, OnCallConfig, Risk, Rotation, ScheduleLayer,
};
use spartex_server::error::ApiResult;
use spartex_server::state::AppState;
use spartex_server::store::{Resource, WriteScope, ONCALL_ID};
use spartex_server::write::Write;

const ORG_OWNER: &str = "owner@acme.test";
const ROTATION: [&str; 2] = ["oncall@acme.test", "priya@acme.test"];
const TIME_ZONE: &str = "Europe/London";
/// A Monday, so the weekly handoff is Monday 09:00 London time.
const ROTATION_START: &str = "2026-11-30T09:00:00Z";

/// The demo schedule and escalation policy, unless the organisation already has a schedule.
pub async fn ensure_seeded(state: &AppState) -> ApiResult<()> {
    let Some(owner) = state.store.user_credentials(ORG_OWNER).await? else {
        return Ok(());
    };
    let tenant_id = owner.tenant_id;
    let mut ids = Vec::new();
    for email in ROTATION {
        match state.store.user_credentials(email).await? {
            Some(user) => ids.push(user.user.id),
            None => return Ok(()),
        }
    }
    let mut w = Write::begin(state, WriteScope::Tenant(&tenant_id)).await?;
    if w.get::<OnCallConfig>(&tenant_id, ONCALL_ID)
        .await?
        .is_some()
    {
        return Ok(());
    }
    let starts_at: DateTime<Utc> = ROTATION_START.parse().unwrap_or_else(|_| w.now());
    let day = ScheduleLayer {
        name: "Weekly rotation".into(),
        user_ids: ids.clone(),
        rotation: Rotation::Weekly,
        handoff_at: "09:00".into(),
        timezone: TIME_ZONE.into(),
        starts_at,
        active_hours: None,
    };
    let night = ScheduleLayer {
        name: "Nights".into(),
        user_ids: ids.into_iter().rev().collect(),
        active_hours: Some(ActiveHours {
            from: "20:00".into(),
            to: "08:00".into(),
        }),
        ..day.clone()
    };
    let mut schedule = OnCallConfig {
        layers: vec![day, night],
        overrides: Vec::new(),
        updated_at: w.now(),
        version: 0,
    };
    w.update(&tenant_id, &mut schedule).await?;
    let policy = demo_policy();
    w.tx().put_doc(&tenant_id, &policy.document()).await?;
    w.commit().await?;
    tracing::info!("seeded the demo on-call schedule and escalation policy");
    Ok(())
}

/// The contract's example: the on-call at once, the manager after 5 minutes, the owner after
/// 15, then once more.
pub fn demo_policy() -> EscalationPolicy {
    let level = |after_s, target: &str| EscalationLevel {
        after_s,
        targets: vec![target.to_owned()],
    };
    EscalationPolicy {
        applies_to: vec![Risk::High, Risk::Critical],
        levels: vec![
            level(0, "oncall_now"),
            level(300, "role:manager"),
            level(900, "role:owner"),
        ],
        repeat: 1,
        version: None,
    }
}
