//! Who is on call: the tenant's schedule of rotating layers, the overrides people add to cover
//! for one another, and the escalation policy the ladder follows.

use chrono::{DateTime, Duration, Utc};
use spartex_api::{
    ErrorCode, EscalationPolicy, EscalationTarget, NewOverride, OnCall, OnCallConfig,
    OnCallOverride, Role, Schedule, ScheduleLayer, User,
};
use spartex_policy::oncall::{parse_local_time, Rota};

use super::{new_id, text_field};
use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{ONCALL_ID, POLICY_ID};
use crate::write::Write;

const MAX_LAYERS: usize = 10;
const MAX_LAYER_USERS: usize = 50;
const MAX_OVERRIDES: usize = 100;
const MAX_OVERRIDE: Duration = Duration::days(90);
const MAX_OVERRIDE_LEAD: Duration = Duration::days(365);
const MAX_LEVELS: usize = 10;
const MAX_TARGETS: usize = 20;
const MAX_REPEAT: i64 = 5;
const MAX_WAIT_S: i64 = 7 * 24 * 3600;
/// How far ahead `GET /oncall` lists shifts.
const WEEK: Duration = Duration::days(7);

/// The schedule as stored, or an empty one.
pub fn config_or_empty(stored: Option<OnCallConfig>, now: DateTime<Utc>) -> OnCallConfig {
    stored.unwrap_or(OnCallConfig {
        layers: Vec::new(),
        overrides: Vec::new(),
        updated_at: now,
        version: 0,
    })
}

/// Who is on call at `now`, as the users they are. Without a schedule, everyone with role
/// `oncall`.
pub fn on_call_now<'u>(
    config: &OnCallConfig,
    users: &'u [User],
    now: DateTime<Utc>,
) -> Vec<&'u User> {
    let fallback = fallback_ids(users);
    let ids = Rota::new(config, &fallback).on_call_at(now);
    ids.iter()
        .filter_map(|id| users.iter().find(|u| &u.id == id))
        .collect()
}

fn fallback_ids(users: &[User]) -> Vec<String> {
    users
        .iter()
        .filter(|u| u.role == Role::Oncall)
        .map(|u| u.id.clone())
        .collect()
}

/// `GET /oncall`.
pub async fn overview(state: &AppState, tenant_id: &str) -> ApiResult<OnCall> {
    let now = state.now();
    let stored = crate::http::read_optional::<OnCallConfig>(state, tenant_id, ONCALL_ID).await?;
    let users = state.store.users(tenant_id).await?;
    Ok(answer(config_or_empty(stored, now), &users, now))
}

fn answer(config: OnCallConfig, users: &[User], now: DateTime<Utc>) -> OnCall {
    let fallback = fallback_ids(users);
    let rota = Rota::new(&config, &fallback);
    let now_ids = rota.on_call_at(now);
    let next_handoff_at = rota.next_change_after(now);
    let week = rota.shifts(now, now + WEEK);
    OnCall {
        now: now_ids
            .iter()
            .filter_map(|id| users.iter().find(|u| &u.id == id).cloned())
            .collect(),
        next_handoff_at,
        week,
        people: users
            .iter()
            .filter(|u| u.role.at_least(Role::Oncall))
            .cloned()
            .collect(),
        version: config.version,
        overrides: config
            .overrides
            .into_iter()
            .filter(|o| o.ends_at > now)
            .collect(),
        schedule: Schedule {
            layers: config.layers,
            version: None,
        },
    }
}

/// `PUT /oncall/schedule` (manager, owner).
pub async fn put_schedule(
    w: &mut Write,
    user: &UserPrincipal,
    schedule: Schedule,
) -> ApiResult<OnCall> {
    user.require(Role::Manager, "change the on-call schedule")?;
    if schedule.version.is_some_and(|seen| seen < 0) {
        return Err(ApiError::invalid(
            "`version` is the one `GET /oncall` answered (0 or more), or left out.",
        ));
    }
    let users = w.tx().users(&user.tenant_id).await?;
    let mut config = stored_config(w, &user.tenant_id).await?;
    if schedule.version.is_some_and(|seen| seen != config.version) {
        return Err(ApiError::Conflict {
            code: ErrorCode::ScheduleChanged,
            message: "Someone changed the on-call schedule or its overrides while you were \
                      editing it. Review it as it is now, then make your change again."
                .into(),
            details: serde_json::json!({ "oncall": answer(config, &users, w.now()) }),
        });
    }
    if schedule.layers.len() > MAX_LAYERS {
        return Err(ApiError::invalid(format!(
            "A schedule has at most {MAX_LAYERS} layers."
        )));
    }
    let layers = schedule
        .layers
        .into_iter()
        .enumerate()
        .map(|(index, layer)| checked_layer(index, layer, &users))
        .collect::<ApiResult<Vec<_>>>()?;
    config.layers = layers;
    save(w, &user.tenant_id, &users, config).await
}

fn checked_layer(
    index: usize,
    mut layer: ScheduleLayer,
    users: &[User],
) -> ApiResult<ScheduleLayer> {
    let at = |field: &str| format!("`layers[{index}].{field}`");
    if !layer.name.is_empty() {
        layer.name = text_field(&at("name"), &layer.name, 80)?;
    }
    if layer.user_ids.is_empty() || layer.user_ids.len() > MAX_LAYER_USERS {
        return Err(ApiError::invalid(format!(
            "{} must name 1 to {MAX_LAYER_USERS} people, in turn order.",
            at("user_ids")
        )));
    }
    for id in &layer.user_ids {
        may_be_on_call(users, id, &at("user_ids"))?;
    }
    if layer.timezone.parse::<chrono_tz::Tz>().is_err() {
        return Err(ApiError::invalid(format!(
            "{} must be an IANA time zone name, e.g. Europe/Berlin or America/New_York.",
            at("timezone")
        )));
    }
    if parse_local_time(&layer.handoff_at).is_none() {
        return Err(ApiError::invalid(format!(
            "{} must be a local time as HH:MM, e.g. 09:00.",
            at("handoff_at")
        )));
    }
    if let Some(hours) = &layer.active_hours {
        let (Some(from), Some(to)) = (parse_local_time(&hours.from), parse_local_time(&hours.to))
        else {
            return Err(ApiError::invalid(format!(
                "{} must be local times as HH:MM, e.g. {{\"from\": \"18:00\", \"to\": \"09:00\"}}.",
                at("active_hours")
            )));
        };
        if from == to {
            return Err(ApiError::invalid(format!(
                "{} must cover part of the day; leave it out to cover all of it.",
                at("active_hours")
            )));
        }
    }
    let earliest = DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or_default();
    let latest = DateTime::<Utc>::from_timestamp(4_102_444_800, 0).unwrap_or_default();
    if !(earliest..latest).contains(&layer.starts_at) {
        return Err(ApiError::invalid(format!(
            "{} must be between the years 2000 and 2100.",
            at("starts_at")
        )));
    }
    Ok(layer)
}

/// `POST /oncall/overrides`: an oncall user covers by naming themselves; managers name anyone.
pub async fn add_override(
    w: &mut Write,
    user: &UserPrincipal,
    cover: NewOverride,
) -> ApiResult<OnCall> {
    user.require(Role::Oncall, "cover an on-call shift")?;
    if cover.user_id != user.user_id && !user.role.at_least(Role::Manager) {
        return Err(ApiError::forbidden(
            "You can cover a shift yourself; naming someone else takes a manager.",
        ));
    }
    let users = w.tx().users(&user.tenant_id).await?;
    may_be_on_call(&users, &cover.user_id, "`user_id`")?;
    let now = w.now();
    if cover.ends_at <= cover.starts_at {
        return Err(ApiError::invalid("`ends_at` must come after `starts_at`."));
    }
    if cover.ends_at <= now {
        return Err(ApiError::invalid(
            "`ends_at` is in the past: an override covers time still to come.",
        ));
    }
    if cover.ends_at - cover.starts_at > MAX_OVERRIDE || cover.starts_at > now + MAX_OVERRIDE_LEAD {
        return Err(ApiError::invalid(
            "An override lasts at most 90 days and starts within a year; change the schedule for longer.",
        ));
    }
    let added = OnCallOverride {
        id: new_id("ovr"),
        user_id: cover.user_id,
        starts_at: cover.starts_at,
        ends_at: cover.ends_at,
        created_by: user.user_id.clone(),
    };
    let mut config = stored_config(w, &user.tenant_id).await?;
    config.overrides.push(added);
    save(w, &user.tenant_id, &users, config).await
}

/// `DELETE /oncall/overrides/{id}`: its own person or its author, or a manager.
pub async fn delete_override(w: &mut Write, user: &UserPrincipal, id: &str) -> ApiResult<OnCall> {
    user.require(Role::Oncall, "change on-call overrides")?;
    let mut config = stored_config(w, &user.tenant_id).await?;
    let Some(found) = config.overrides.iter().find(|o| o.id == id) else {
        return Err(ApiError::NotFound { what: "override" });
    };
    let own = found.user_id == user.user_id || found.created_by == user.user_id;
    if !own && !user.role.at_least(Role::Manager) {
        return Err(ApiError::forbidden(
            "You can remove your own overrides; removing someone else's takes a manager.",
        ));
    }
    let users = w.tx().users(&user.tenant_id).await?;
    config.overrides.retain(|o| o.id != id);
    save(w, &user.tenant_id, &users, config).await
}

/// The schedule as stored in this write, or an empty one.
async fn stored_config(w: &mut Write, tenant_id: &str) -> ApiResult<OnCallConfig> {
    let stored = w.get::<OnCallConfig>(tenant_id, ONCALL_ID).await?;
    Ok(config_or_empty(stored, w.now()))
}

/// Saves the schedule as changed from [`stored_config`], without the overrides that are over,
/// with its `oncall.updated` event.
async fn save(
    w: &mut Write,
    tenant_id: &str,
    users: &[User],
    mut config: OnCallConfig,
) -> ApiResult<OnCall> {
    let now = w.now();
    config.overrides.retain(|o| o.ends_at > now);
    if config.overrides.len() > MAX_OVERRIDES {
        return Err(ApiError::invalid(format!(
            "At most {MAX_OVERRIDES} overrides can be waiting; remove some first."
        )));
    }
    config.overrides.sort_by_key(|o| o.starts_at);
    config.updated_at = now;
    w.update(tenant_id, &mut config).await?;
    Ok(answer(config, users, now))
}

fn may_be_on_call(users: &[User], id: &str, field: &str) -> ApiResult<()> {
    match users.iter().find(|u| u.id == id) {
        Some(user) if user.role.at_least(Role::Oncall) => Ok(()),
        Some(user) => Err(ApiError::invalid(format!(
            "{field}: {} is a viewer, who cannot act on approvals; give them the oncall role first.",
            user.name
        ))),
        None => Err(ApiError::invalid(format!(
            "{field}: `{id}` is not a user of your organisation."
        ))),
    }
}

/// The policy as stored, or none (no approval climbs a ladder).
pub async fn policy(w: &mut Write, tenant_id: &str) -> ApiResult<EscalationPolicy> {
    let stored = w.get::<EscalationPolicy>(tenant_id, POLICY_ID).await?;
    Ok(stored.map_or_else(EscalationPolicy::none, with_version))
}

/// A stored policy with its version, 0 for one kept before policies had versions.
pub fn with_version(mut policy: EscalationPolicy) -> EscalationPolicy {
    policy.version.get_or_insert(0);
    policy
}

/// `PUT /escalation-policy` (manager, owner).
pub async fn put_policy(
    w: &mut Write,
    user: &UserPrincipal,
    mut change: EscalationPolicy,
) -> ApiResult<EscalationPolicy> {
    user.require(Role::Manager, "change the escalation policy")?;
    if change.version.is_some_and(|seen| seen < 0) {
        return Err(ApiError::invalid(
            "`version` is the one the policy was read with (0 or more), or left out.",
        ));
    }
    let now = policy(w, &user.tenant_id).await?;
    let current = now.version.unwrap_or(0);
    if change.version.is_some_and(|seen| seen != current) {
        return Err(ApiError::Conflict {
            code: ErrorCode::PolicyChanged,
            message: "Someone changed the escalation policy while you were editing it. Review it \
                      as it is now, then make your change again."
                .into(),
            details: serde_json::json!({ "policy": now }),
        });
    }
    change.version = Some(current + 1);
    let users = w.tx().users(&user.tenant_id).await?;
    check_policy(&mut change, &users)?;
    let document = crate::store::Resource::document(&change);
    w.tx().put_doc(&user.tenant_id, &document).await?;
    Ok(change)
}

fn check_policy(policy: &mut EscalationPolicy, users: &[User]) -> ApiResult<()> {
    policy
        .applies_to
        .sort_by_key(|risk| spartex_api::Risk::ALL.iter().position(|r| r == risk));
    policy.applies_to.dedup();
    if policy.levels.len() > MAX_LEVELS {
        return Err(ApiError::invalid(format!(
            "A policy has at most {MAX_LEVELS} levels."
        )));
    }
    if policy.levels.is_empty() && !policy.applies_to.is_empty() {
        return Err(ApiError::invalid(
            "`levels` is empty: name who is told first (e.g. {\"after_s\": 0, \"targets\": [\"oncall_now\"]}), or empty `applies_to` to turn escalation off.",
        ));
    }
    if !(0..=MAX_REPEAT).contains(&policy.repeat) {
        return Err(ApiError::invalid(format!(
            "`repeat` must be 0 to {MAX_REPEAT}."
        )));
    }
    let mut previous = 0;
    for (index, level) in policy.levels.iter().enumerate() {
        let at = format!("`levels[{index}]`");
        if index == 0 && level.after_s != 0 {
            return Err(ApiError::invalid(
                "`levels[0].after_s` must be 0: the first level is told as soon as the agent asks.",
            ));
        }
        if !(previous..=MAX_WAIT_S).contains(&level.after_s) {
            return Err(ApiError::invalid(format!(
                "{at}.after_s must be at least the level before's and at most {MAX_WAIT_S} (7 days)."
            )));
        }
        previous = level.after_s;
        if level.targets.is_empty() || level.targets.len() > MAX_TARGETS {
            return Err(ApiError::invalid(format!(
                "{at}.targets must name 1 to {MAX_TARGETS} targets: oncall_now, role:<role> or user:<id>."
            )));
        }
        for target in &level.targets {
            match target.parse::<EscalationTarget>() {
                Err(bad) => return Err(ApiError::invalid(format!("{at}.targets: {bad}"))),
                Ok(EscalationTarget::Role(Role::Viewer)) => {
                    return Err(ApiError::invalid(format!(
                        "{at}.targets: viewers cannot act on approvals; name role:oncall, role:manager or role:owner."
                    )))
                }
                Ok(EscalationTarget::User(id)) => may_be_on_call(users, &id, &format!("{at}.targets"))?,
                Ok(_) => {}
            }
        }
    }
    Ok(())
}
