//! The resources of the contract, as the server sends them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        crate::resources::wire_enum!(@common $name { $($variant => $text),+ });
    };
    // An enum a newer server may add values to: resources read it through
    // `crate::open::lenient`, so a value this build does not know is `Unknown`, shown as such,
    // rather than a resource (an approval) that cannot be read at all. Requests read it
    // strictly: `unknown` is not a value anyone may send.
    ($(#[$meta:meta])* open $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant,)+
            /// A value from a newer server that this build does not know.
            /// Written, never read: utoipa leaves it out of the API's schema.
            #[serde(skip_deserializing)]
            Unknown,
        }

        crate::resources::wire_enum!(@common $name { $($variant => $text),+ } Unknown => "unknown");

        impl crate::open::Open for $name {
            const UNKNOWN: Self = $name::Unknown;
        }
    };
    (@common $name:ident { $($variant:ident => $text:literal),+ } $($extra:ident => $extra_text:literal)?) => {
        impl $name {
            /// Every value this build knows, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as it is spelled on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ $($name::$extra => $extra_text,)? }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = crate::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(crate::UnknownValue {
                        kind: stringify!($name),
                        value: s.to_owned(),
                        expected: &[$($text),+],
                    }),
                }
            }
        }
    };
}
pub(crate) use wire_enum;

/// A string that is not one of an enum's wire values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    /// The values there are.
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` is not a known {}: use {}",
            self.value,
            self.kind,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownValue {}

wire_enum!(
    /// What a user may do, from least to most.
    open Role { Viewer => "viewer", Oncall => "oncall", Manager => "manager", Owner => "owner" }
);

impl Role {
    fn rank(self) -> u8 {
        match self {
            // A role from a newer server may do, as far as this build knows, what a viewer may.
            Role::Viewer | Role::Unknown => 0,
            Role::Oncall => 1,
            Role::Manager => 2,
            Role::Owner => 3,
        }
    }

    /// True when this role includes everything `needed` may do.
    pub fn at_least(self, needed: Role) -> bool {
        self.rank() >= needed.rank()
    }
}

wire_enum!(open ProjectStatus { Active => "active", Paused => "paused", Stopped => "stopped", Completed => "completed", Failed => "failed" });
wire_enum!(open AgentStatus { Idle => "idle", Working => "working", WaitingApproval => "waiting_approval", Stopping => "stopping", Stopped => "stopped", Error => "error" });
wire_enum!(open TaskStatus { Queued => "queued", Running => "running", Blocked => "blocked", Done => "done", Failed => "failed", Cancelled => "cancelled" });
wire_enum!(open Risk { Low => "low", Medium => "medium", High => "high", Critical => "critical" });
wire_enum!(open ApprovalStatus { Pending => "pending", Approved => "approved", Rejected => "rejected", Expired => "expired", Cancelled => "cancelled" });
wire_enum!(
    /// What the server does with an approval nobody decided in time.
    open OnExpiry { Reject => "reject", Approve => "approve" }
);
wire_enum!(open AuthorKind { User => "user", Agent => "agent", System => "system" });
wire_enum!(open StopScope { Project => "project", Tenant => "tenant" });
wire_enum!(open StopStatus { Pending => "pending", Completed => "completed", Partial => "partial" });
wire_enum!(open BudgetState { Ok => "ok", Warning => "warning", Exceeded => "exceeded" });
wire_enum!(Decision { Approve => "approve", Reject => "reject" });

impl Risk {
    /// The risk to act on: one from a newer server is taken as critical, since a request
    /// raised too loudly costs less than one raised too quietly.
    pub fn assumed(self) -> Risk {
        match self {
            Risk::Unknown => Risk::Critical,
            known => known,
        }
    }
}

impl TaskStatus {
    /// A task that will not change any more.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskStatus::Done | TaskStatus::Failed | TaskStatus::Cancelled
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub slug: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub role: Role,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Project {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub status: ProjectStatus,
    pub budget_usd: f64,
    pub spent_usd: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl Project {
    /// Where spend stands against the budget: warning from 80 %, exceeded from 100 %.
    pub fn budget_state(&self) -> BudgetState {
        budget_state(self.spent_usd, self.budget_usd)
    }
}

/// Where `spent` stands against `budget`: warning from 80 %, exceeded from 100 %.
pub fn budget_state(spent: f64, budget: f64) -> BudgetState {
    if budget <= 0.0 {
        return BudgetState::Ok;
    }
    let share = spent / budget;
    if share >= 1.0 {
        BudgetState::Exceeded
    } else if share >= 0.8 {
        BudgetState::Warning
    } else {
        BudgetState::Ok
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Agent {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub role: String,
    pub model: String,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub status: AgentStatus,
    pub current_task_id: Option<String>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub tokens_used: i64,
    pub cost_usd: f64,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Task {
    pub id: String,
    pub project_id: String,
    pub agent_id: Option<String>,
    pub title: String,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub status: TaskStatus,
    pub progress: i64,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Approval {
    pub id: String,
    pub project_id: String,
    pub agent_id: Option<String>,
    pub task_id: Option<String>,
    pub kind: String,
    pub title: String,
    /// Markdown.
    pub summary: String,
    /// The exact arguments the agent will act with.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
    /// What will change, as the approver should see it.
    pub preview: Option<Preview>,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub risk: Risk,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub status: ApprovalStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub on_expiry: OnExpiry,
    pub decided_by: Option<DecidedBy>,
    pub decided_at: Option<DateTime<Utc>>,
    pub comment: Option<String>,
    /// The escalation ladder's trail, for an approval whose risk the tenant's policy covers
    /// (or that someone acknowledged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub escalation: Option<crate::Escalation>,
    /// When someone asked the agent to propose again, after the approval expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub ask_again_requested_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub ask_again_requested_by: Option<DecidedBy>,
    /// What they asked the agent to change, if they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub ask_again_comment: Option<String>,
    /// The request the agent proposed in answer, once it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub ask_again_answered_by: Option<String>,
    /// The asked request this one answers, when the agent named it (`answers_ask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub answers_ask: Option<String>,
    pub version: i64,
}

/// Who settled an approval: a person, or the server when it expired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DecidedBy {
    /// The user's id, or `system` for an expiry.
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    #[serde(default, deserialize_with = "crate::open::lenient_option")]
    pub role: Option<Role>,
}

/// What an approval will change, in the form that shows it best.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Preview {
    /// A unified diff of a text or config change.
    Diff { path: String, unified_diff: String },
    /// Copy that will go out: an ad, an email, a public reply.
    Copy {
        channel: String,
        headline: Option<String>,
        body: String,
        image_description: Option<String>,
        audience: Option<String>,
    },
    /// Money that will be spent or committed.
    Amount {
        currency: String,
        old_amount: Option<f64>,
        new_amount: f64,
        period: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Message {
    pub id: String,
    pub project_id: String,
    /// `None` for the project-wide thread.
    pub agent_id: Option<String>,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub author_kind: AuthorKind,
    pub author_id: Option<String>,
    pub author_name: String,
    /// Markdown.
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub client_msg_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CostRecord {
    pub project_id: String,
    pub agent_id: String,
    pub at: DateTime<Utc>,
    pub model: String,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
    /// The project's spend against its budget after this record.
    #[serde(deserialize_with = "crate::open::lenient")]
    pub budget_state: BudgetState,
    pub project_spent_usd: f64,
    pub project_budget_usd: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Stop {
    pub id: String,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub scope: StopScope,
    pub project_id: Option<String>,
    pub requested_by: String,
    pub reason: String,
    #[serde(deserialize_with = "crate::open::lenient")]
    pub status: StopStatus,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub agents_total: i64,
    pub agents_stopped: i64,
    /// Each agent in scope and whether it acknowledged.
    pub agents: Vec<StopAgent>,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct StopAgent {
    pub agent_id: String,
    pub agent_name: String,
    pub project_id: String,
    pub acked_at: Option<DateTime<Utc>>,
    /// True when the agent never answered and the server stopped it by force.
    pub forced: bool,
    /// Set when a resume of its project lifted the stop before the agent answered; a late
    /// acknowledgement then changes nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub resumed_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_from_viewer_to_owner() {
        assert!(Role::Owner.at_least(Role::Manager));
        assert!(Role::Manager.at_least(Role::Oncall));
        assert!(!Role::Oncall.at_least(Role::Manager));
        assert!(!Role::Viewer.at_least(Role::Oncall));
    }

    #[test]
    fn enums_round_trip_through_their_wire_spelling() {
        for status in AgentStatus::ALL {
            let json = serde_json::to_string(status).expect("serializes");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
            assert_eq!(status.as_str().parse::<AgentStatus>(), Ok(*status));
        }
        assert!("sleeping".parse::<AgentStatus>().is_err());
    }

    #[test]
    fn budget_state_warns_at_eighty_percent_and_trips_at_a_hundred() {
        assert_eq!(budget_state(79.9, 100.0), BudgetState::Ok);
        assert_eq!(budget_state(80.0, 100.0), BudgetState::Warning);
        assert_eq!(budget_state(100.0, 100.0), BudgetState::Exceeded);
        assert_eq!(budget_state(5.0, 0.0), BudgetState::Ok);
    }
}
