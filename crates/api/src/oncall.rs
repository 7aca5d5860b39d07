//! On-call and escalation (protocol v1.2): who is on call, the ladder an approval climbs when
//! nobody answers, and the trail it leaves on the approval.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::resources::wire_enum;
use crate::{DecidedBy, Risk, Role, User};

wire_enum!(
    /// How often a layer hands over to the next person.
    open Rotation { Daily => "daily", Weekly => "weekly" }
);
wire_enum!(
    /// How a person was told.
    open NotifyChannel { Push => "push", Socket => "socket" }
);
wire_enum!(
    /// What came of telling them.
    open NotifyResult { Sent => "sent", Failed => "failed", SkippedUnreachable => "skipped_unreachable" }
);

/// The local hours a layer covers, e.g. 18:00 to 09:00 (a night layer wraps past midnight).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ActiveHours {
    /// Local `HH:MM`.
    pub from: String,
    /// Local `HH:MM`; before `from` when the hours wrap past midnight.
    pub to: String,
}

/// One rotation: `user_ids` take turns, handing over at `handoff_at` local time in `timezone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ScheduleLayer {
    #[cfg_attr(feature = "openapi", schema(max_length = 80))]
    #[serde(default)]
    pub name: String,
    /// In turn order; the first is on call from `starts_at` to the first handoff.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 50))]
    pub user_ids: Vec<String>,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub rotation: Rotation,
    /// Local `HH:MM` of each handoff; a weekly rotation hands over on the weekday of `starts_at`.
    pub handoff_at: String,
    /// An IANA time zone name, e.g. `Europe/Berlin`.
    pub timezone: String,
    pub starts_at: DateTime<Utc>,
    /// Only these local hours; a later layer wins wherever it applies.
    #[serde(default)]
    pub active_hours: Option<ActiveHours>,
}

/// Someone on call for a while in place of the schedule ("cover for …").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OnCallOverride {
    pub id: String,
    pub user_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The user who made it.
    pub created_by: String,
}

/// The tenant's schedule and overrides, as stored and as `oncall.updated` carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OnCallConfig {
    pub layers: Vec<ScheduleLayer>,
    /// Those not yet over, soonest first.
    pub overrides: Vec<OnCallOverride>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// `PUT /oncall/schedule`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Schedule {
    /// Later layers win where they apply; none means everyone with role `oncall` is on call.
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub layers: Vec<ScheduleLayer>,
    /// In a change: the `version` of `GET /oncall` it was made from. A change made from a
    /// version someone changed since (the layers or an override) is refused (409
    /// `schedule_changed`, who is on call as it is now in `details`), so two managers editing
    /// at once lose no edit; one that sends none replaces the layers whatever is there.
    /// Never in an answer: the version is `OnCall::version`.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// `POST /oncall/overrides`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct NewOverride {
    /// Who covers; an `oncall` user may only name themselves.
    pub user_id: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// A stretch of time with the same people on call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OnCallShift {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub user_ids: Vec<String>,
}

/// `GET /oncall`: who is on call now, when that changes, the schedule, and the week ahead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OnCall {
    pub now: Vec<User>,
    /// When the people on call next change; `None` when they never do (no schedule).
    pub next_handoff_at: Option<DateTime<Utc>>,
    pub schedule: Schedule,
    pub overrides: Vec<OnCallOverride>,
    /// The next seven days as shifts, from now.
    pub week: Vec<OnCallShift>,
    /// Everyone who may be on call (role `oncall` and above), to name the ids above.
    pub people: Vec<User>,
    pub version: i64,
}

/// One rung of the ladder: who is told, counted from the approval's creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EscalationLevel {
    /// Seconds after the approval was created; the first level's is 0.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 604800))]
    pub after_s: i64,
    /// `oncall_now`, `role:<role>` or `user:<id>`.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 20))]
    pub targets: Vec<String>,
}

/// `GET`/`PUT /escalation-policy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EscalationPolicy {
    /// The risks that climb the ladder; others notify everyone who may act, as before.
    #[serde(deserialize_with = "crate::open::lenient_vec")]
    pub applies_to: Vec<Risk>,
    #[cfg_attr(feature = "openapi", schema(max_items = 10))]
    pub levels: Vec<EscalationLevel>,
    /// How many times the whole ladder runs again after its last level.
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 5))]
    #[serde(default)]
    pub repeat: i64,
    /// Set by the server: one more at each change (0 before the first). A change that sends
    /// the version it was made from is refused (409 `policy_changed`, the policy as it is now
    /// in `details`) when someone changed the policy since, so two managers editing at once
    /// lose no edit; one that sends none replaces whatever is there.
    #[cfg_attr(feature = "openapi", schema(minimum = 0))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

impl EscalationPolicy {
    /// Until a manager sets one: no approval climbs a ladder.
    pub fn none() -> Self {
        EscalationPolicy {
            applies_to: Vec::new(),
            levels: Vec::new(),
            repeat: 0,
            version: Some(0),
        }
    }

    pub fn covers(&self, risk: Risk) -> bool {
        !self.levels.is_empty() && self.applies_to.contains(&risk)
    }
}

/// A ladder target, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EscalationTarget {
    OncallNow,
    Role(Role),
    User(String),
}

/// A ladder target that is none of the three forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTarget(pub String);

impl std::fmt::Display for BadTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = &self.0;
        match target.strip_prefix("role:") {
            Some(_) => write!(
                f,
                "`{target}` names no role: use role:oncall, role:manager or role:owner."
            ),
            None => write!(
                f,
                "`{target}` is not a target: use oncall_now, role:<role> or user:<id>."
            ),
        }
    }
}

impl std::error::Error for BadTarget {}

impl std::str::FromStr for EscalationTarget {
    type Err = BadTarget;

    fn from_str(target: &str) -> Result<Self, Self::Err> {
        let bad = || BadTarget(target.to_owned());
        if target == "oncall_now" {
            return Ok(EscalationTarget::OncallNow);
        }
        if let Some(role) = target.strip_prefix("role:") {
            return role.parse().map(EscalationTarget::Role).map_err(|_| bad());
        }
        match target.strip_prefix("user:") {
            Some(id) if !id.is_empty() => Ok(EscalationTarget::User(id.to_owned())),
            _ => Err(bad()),
        }
    }
}

/// One person told (or skipped) at one level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Notified {
    pub user_id: String,
    pub user_name: String,
    pub at: DateTime<Utc>,
    pub level: i64,
    /// `None` when they were skipped as unreachable.
    #[serde(default, deserialize_with = "crate::open::lenient_option")]
    pub channel: Option<NotifyChannel>,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub result: NotifyResult,
}

/// The ladder's trail on an approval.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Escalation {
    /// Levels fired so far, counting repeats (level 4 of a three-level ladder is its first,
    /// run again); 0 when the approval is not on a ladder.
    pub level: i64,
    /// When the next level fires; `None` once acknowledged, decided or past the last.
    pub next_at: Option<DateTime<Utc>>,
    pub acked_by: Option<DecidedBy>,
    pub acked_at: Option<DateTime<Utc>>,
    pub notified: Vec<Notified>,
}

/// `POST /approvals/{id}/ask-again`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(deny_unknown_fields)]
pub struct AskAgainRequest {
    /// What the agent should change in its new proposal.
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    #[serde(default)]
    pub comment: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_or_say_what_to_write() {
        assert_eq!("oncall_now".parse(), Ok(EscalationTarget::OncallNow));
        assert_eq!(
            "role:manager".parse(),
            Ok(EscalationTarget::Role(Role::Manager))
        );
        assert_eq!(
            "user:usr_1".parse(),
            Ok(EscalationTarget::User("usr_1".into()))
        );
        let wrong = "role:boss"
            .parse::<EscalationTarget>()
            .expect_err("no such role");
        assert!(wrong.to_string().contains("role:manager"), "{wrong}");
        assert!("user:".parse::<EscalationTarget>().is_err());
        assert!("everyone".parse::<EscalationTarget>().is_err());
    }

    #[test]
    fn a_policy_covers_only_its_risks_and_only_with_levels() {
        let policy = EscalationPolicy {
            applies_to: vec![Risk::High, Risk::Critical],
            levels: vec![EscalationLevel {
                after_s: 0,
                targets: vec!["oncall_now".into()],
            }],
            repeat: 1,
            version: None,
        };
        assert!(policy.covers(Risk::Critical));
        assert!(!policy.covers(Risk::Low));
        assert!(!EscalationPolicy::none().covers(Risk::Critical));
    }
}
