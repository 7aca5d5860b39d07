//! Which changes deserve a notification, and what it says. Pure functions of the transition
//! (a resource before and after a change), the user's preferences and the local time of day,
//! so every rule is tested without a clock, and the server can decide pushes with the same
//! rules the desktop uses.

use chrono::NaiveTime;
use serde::{Deserialize, Serialize};
use spartex_api::{
    Agent, AgentStatus, Approval, ApprovalStatus, BudgetState, Decision, Project, Risk, Role, Stop,
    StopScope, StopStatus,
};
pub use spartex_api::{NotificationPrefs, QuietHours};

use crate::rules::{approval_blocker, DecisionContext};

/// A resource as it was and as it is now: what the policy judges.
#[derive(Debug, Clone, Copy)]
pub enum Transition<'a> {
    Approval {
        before: Option<&'a Approval>,
        after: &'a Approval,
    },
    Agent {
        before: Option<&'a Agent>,
        after: &'a Agent,
    },
    Stop {
        before: Option<&'a Stop>,
        after: &'a Stop,
    },
    Project {
        before: Option<&'a Project>,
        after: &'a Project,
    },
    /// A project whose budget state was `was` when last seen (the server remembers states,
    /// not whole projects).
    Budget {
        was: BudgetState,
        after: &'a Project,
    },
}

/// A notification to raise, in words a person reads in ten seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Notification {
    /// Identifies what the notification is about, e.g. `approval:<id>`: a newer notification
    /// with the same key replaces the older one.
    pub key: String,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub project_id: Option<String>,
    pub approval_id: Option<String>,
    /// Breaks through mutes and quiet hours: critical approvals and stops.
    pub urgent: bool,
    pub actions: Vec<NotificationAction>,
}

impl Notification {
    /// The key of every notification about the approval `approval_id`: the request, its
    /// escalations and "Dana is on it" replace one another.
    pub fn approval_key(approval_id: &str) -> String {
        format!("approval:{approval_id}")
    }

    /// Its title and body without the characters that make what is shown differ from what
    /// is written: direction overrides and isolates (an agent's "Pay $", U+202E, "005"
    /// shows as "Pay $500"), zero-width and other invisible format characters, and control characters
    /// other than the body's line breaks. A notification shows plain text, where the app can
    /// mark such characters (`ui/src/lib/reveal.ts`); here they are taken out.
    pub fn shown_plainly(mut self) -> Notification {
        self.title = plain_text(&self.title, false);
        self.body = plain_text(&self.body, true);
        self
    }

    /// It has Approve or Reject buttons: it asks for a decision.
    pub fn asks_for_a_decision(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a, NotificationAction::Approve | NotificationAction::Reject))
    }

    /// The key of the notification that the agent `agent_id` stopped on an error.
    pub fn agent_error_key(agent_id: &str) -> String {
        format!("agent-error:{agent_id}")
    }

    /// The agent a key made by [`Notification::agent_error_key`] is about.
    pub fn agent_of_key(key: &str) -> Option<&str> {
        key.strip_prefix("agent-error:")
    }

    /// The project a key made by [`Notification::budget_key`] is about.
    pub fn budget_of_key(key: &str) -> Option<&str> {
        key.strip_prefix("budget:")
    }

    /// The key of the notifications that the project `project_id` nears or passes its budget.
    pub fn budget_key(project_id: &str) -> String {
        format!("budget:{project_id}")
    }

    /// The approval a key made by [`Notification::approval_key`] is about.
    pub fn approval_of_key(key: &str) -> Option<&str> {
        key.strip_prefix("approval:")
    }
}

/// `text` without control characters (line breaks kept where `lines`) and without the format
/// characters that reorder or hide what is shown.
pub fn plain_text(text: &str, lines: bool) -> String {
    text.chars()
        .filter(|&c| (lines && c == '\n') || !(c.is_control() || hides_or_reorders(c)))
        .collect()
}

/// Bidirectional embeddings, overrides, isolates and marks; the zero-width space; the word
/// joiner and invisible operators; the byte order mark; the soft hyphen; tag characters. Not
/// the zero-width (non-)joiners, which scripts and emoji need and which reorder nothing.
fn hides_or_reorders(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{E0000}'..='\u{E007F}')
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    ApprovalRequested,
    /// Someone took a request this person was told about ("Dana is on it").
    ApprovalAcked,
    /// A request this person was told about was answered by someone else, expired or was
    /// withdrawn: said in its notification's place.
    ApprovalResolved,
    AgentError,
    StopCompleted,
    StopPartial,
    BudgetWarning,
    BudgetExceeded,
    /// This device's own cache cannot keep what arrives (its disk is full): raised by a client
    /// about itself, never pushed.
    DiskFull,
    /// The desktop app went on running when its window was closed, to keep notifying: said by
    /// the app about itself, once a run, never pushed.
    StillRunning,
    /// The alerts a screen held back from a burst, counted ([`crate::burst::HeldBack`]): raised
    /// by a client about its own screen, never pushed.
    Summary,
}

/// A button on a notification. `Open` is the notification's default action (a click on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NotificationAction {
    Approve,
    Reject,
    Open,
}

impl NotificationAction {
    /// The action's identifier for the notification server; `default` is the click on the
    /// notification itself in the freedesktop protocol.
    pub fn id(self) -> &'static str {
        match self {
            NotificationAction::Approve => "approve",
            NotificationAction::Reject => "reject",
            NotificationAction::Open => "default",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        match id {
            "approve" => Some(NotificationAction::Approve),
            "reject" => Some(NotificationAction::Reject),
            "default" => Some(NotificationAction::Open),
            _ => None,
        }
    }

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            NotificationAction::Approve => "Approve",
            NotificationAction::Reject => "Reject",
            NotificationAction::Open => "Open",
        }
    }
}

/// The notification `change` deserves, for a person of `role` with `prefs`, at local time
/// `now_local`, if any. Projects are named by id; [`select_named`] names them by name.
pub fn select(
    change: &Transition<'_>,
    prefs: &NotificationPrefs,
    role: Role,
    now_local: NaiveTime,
) -> Option<Notification> {
    select_named(change, prefs, role, now_local, |_| None)
}

/// Like [`select`], with `project_name` giving a project's name from its id (from the cache);
/// a project it does not know is named by its id.
pub fn select_named(
    change: &Transition<'_>,
    prefs: &NotificationPrefs,
    role: Role,
    now_local: NaiveTime,
    project_name: impl Fn(&str) -> Option<String>,
) -> Option<Notification> {
    if !prefs.enabled {
        return None;
    }
    let name = |id: &str| project_name(id).unwrap_or_else(|| id.to_owned());
    let notification = match *change {
        Transition::Approval { before, after } => new_approval(before, after, role, &name),
        Transition::Agent { before, after } => agent_error(before, after, &name),
        Transition::Stop { before, after } => stop_settled(before, after, &name),
        Transition::Project { before, after } => {
            budget_crossed(before.map(Project::budget_state)?, after)
        }
        Transition::Budget { was, after } => budget_crossed(was, after),
    }
    .map(Notification::shown_plainly)?;
    if notification.urgent {
        return Some(notification);
    }
    let muted = notification
        .project_id
        .as_ref()
        .is_some_and(|id| prefs.muted_projects.contains(id));
    let quiet = prefs
        .quiet_hours
        .is_some_and(|hours| hours.contains(now_local));
    (!muted && !quiet).then_some(notification)
}

fn new_approval(
    before: Option<&Approval>,
    after: &Approval,
    role: Role,
    name: &dyn Fn(&str) -> String,
) -> Option<Notification> {
    let was_pending = before.is_some_and(|b| b.status == ApprovalStatus::Pending);
    if after.status != ApprovalStatus::Pending || was_pending {
        return None;
    }
    Some(Notification {
        key: Notification::approval_key(&after.id),
        kind: NotificationKind::ApprovalRequested,
        title: format!("Approval needed: {}", after.title),
        body: approval_body(after, name),
        project_id: Some(after.project_id.clone()),
        approval_id: Some(after.id.clone()),
        urgent: after.risk.assumed() == Risk::Critical,
        actions: decision_actions(after, role),
    })
}

/// What replaces the notification of a request that is no longer waiting, for those who were
/// told of it and did not answer it themselves: "Rejected by Olivia Chen: Raise the Meta daily
/// cap", with its project; no buttons, since there is nothing left to decide.
pub fn approval_resolved(after: &Approval, name: &dyn Fn(&str) -> String) -> Notification {
    Notification {
        key: Notification::approval_key(&after.id),
        kind: NotificationKind::ApprovalResolved,
        title: format!("{}: {}", after.resolution_sentence(), after.title),
        body: format!("Project: {}", name(&after.project_id)),
        project_id: Some(after.project_id.clone()),
        approval_id: Some(after.id.clone()),
        urgent: false,
        actions: vec![NotificationAction::Open],
    }
}

/// "critical · expires 10:42 UTC", and the project on the next line.
pub(crate) fn approval_body(approval: &Approval, name: &dyn Fn(&str) -> String) -> String {
    let risk = match approval.risk {
        Risk::Unknown => "unknown risk",
        known => known.as_str(),
    };
    format!(
        "{risk} · expires {} UTC\nProject: {}",
        approval.expires_at.format("%H:%M"),
        name(&approval.project_id)
    )
}

/// The buttons the core would honour ([`approval_blocker`]) for this person and the request
/// as it arrives: a request without a preview can be rejected from the notification, never
/// approved blind, and a viewer may only open it. Whether it expired or its project stopped
/// meanwhile is checked by the core's `Account::decide` when the button is pressed.
pub(crate) fn decision_actions(approval: &Approval, role: Role) -> Vec<NotificationAction> {
    let as_it_arrives = DecisionContext {
        role,
        sending: false,
        project_stopped: false,
        now: approval.created_at,
    };
    let offers = |decision| approval_blocker(approval, decision, &as_it_arrives).is_none();
    [
        (offers(Decision::Approve), NotificationAction::Approve),
        (offers(Decision::Reject), NotificationAction::Reject),
        (true, NotificationAction::Open),
    ]
    .into_iter()
    .filter_map(|(offered, action)| offered.then_some(action))
    .collect()
}

fn agent_error(
    before: Option<&Agent>,
    after: &Agent,
    name: &dyn Fn(&str) -> String,
) -> Option<Notification> {
    let was_error = before.is_some_and(|b| b.status == AgentStatus::Error);
    if after.status != AgentStatus::Error || was_error {
        return None;
    }
    Some(Notification {
        key: Notification::agent_error_key(&after.id),
        kind: NotificationKind::AgentError,
        title: format!("Agent error: {}", after.name),
        body: format!(
            "{} ({}) stopped working on an error and needs a look.\nProject: {}",
            after.name,
            after.role,
            name(&after.project_id)
        ),
        project_id: Some(after.project_id.clone()),
        approval_id: None,
        urgent: false,
        actions: vec![NotificationAction::Open],
    })
}

fn stop_settled(
    before: Option<&Stop>,
    after: &Stop,
    name: &dyn Fn(&str) -> String,
) -> Option<Notification> {
    if before.is_some_and(|b| b.status == after.status) {
        return None;
    }
    let scope = match (after.scope, &after.project_id) {
        (StopScope::Project, Some(id)) => format!("Project: {}", name(id)),
        (StopScope::Project, None) => "One project".to_owned(),
        (StopScope::Tenant, _) => "Every project".to_owned(),
        (StopScope::Unknown, _) => "Projects this version cannot name".to_owned(),
    };
    let (kind, title, summary) = match after.status {
        StopStatus::Pending | StopStatus::Unknown => return None,
        StopStatus::Completed => (
            NotificationKind::StopCompleted,
            "Emergency stop completed".to_owned(),
            format!(
                "All {} agents acknowledged and stopped.",
                after.agents_total
            ),
        ),
        StopStatus::Partial => {
            let forced: Vec<&str> = after
                .agents
                .iter()
                .filter(|agent| agent.forced)
                .map(|agent| agent.agent_name.as_str())
                .collect();
            (
                NotificationKind::StopPartial,
                format!(
                    "Emergency stop partial: {} {} never answered",
                    forced.len(),
                    if forced.len() == 1 { "agent" } else { "agents" }
                ),
                format!(
                    "{} of {} agents acknowledged; stopped by force: {}.",
                    after.agents_stopped,
                    after.agents_total,
                    forced.join(", ")
                ),
            )
        }
    };
    Some(Notification {
        key: format!("stop:{}", after.id),
        kind,
        title,
        body: format!("{summary}\n{scope} · reason: {}", after.reason),
        project_id: after.project_id.clone(),
        approval_id: None,
        urgent: true,
        actions: vec![NotificationAction::Open],
    })
}

/// A project that crossed into warning from ok, or into exceeded from below. A project seen
/// for the first time (no `before`) crossed nothing.
fn budget_crossed(was: BudgetState, after: &Project) -> Option<Notification> {
    let (kind, label) = match (was, after.budget_state()) {
        (BudgetState::Ok, BudgetState::Warning) => (NotificationKind::BudgetWarning, "warning"),
        (BudgetState::Ok | BudgetState::Warning, BudgetState::Exceeded) => {
            (NotificationKind::BudgetExceeded, "exceeded")
        }
        _ => return None,
    };
    Some(Notification {
        key: Notification::budget_key(&after.id),
        kind,
        title: format!("Budget {label}: {}", after.name),
        body: format!(
            "{} of {} ({} %)",
            usd(after.spent_usd),
            usd(after.budget_usd),
            // Floored, so a warning never reads "100 %".
            (after.spent_usd / after.budget_usd * 100.0).floor()
        ),
        project_id: Some(after.id.clone()),
        approval_id: None,
        urgent: false,
        actions: vec![NotificationAction::Open],
    })
}

/// `$412`, `$1,000`, `$4.50`: whole dollars with thousands separators, cents only below $100.
fn usd(amount: f64) -> String {
    if amount < 100.0 && amount.fract() != 0.0 {
        return format!("${amount:.2}");
    }
    let digits = format!("{:.0}", amount.round());
    let mut grouped = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("${grouped}")
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use spartex_api::StopAgent;

    use super::*;

    /// An owned before/after pair, as the tests build them.
    #[derive(Debug)]
    enum Change {
        Approval {
            before: Option<Box<Approval>>,
            after: Box<Approval>,
        },
        Agent {
            before: Option<Box<Agent>>,
            after: Box<Agent>,
        },
        Stop {
            before: Option<Box<Stop>>,
            after: Box<Stop>,
        },
        Project {
            before: Option<Box<Project>>,
            after: Box<Project>,
        },
    }

    impl Change {
        fn transition(&self) -> Transition<'_> {
            match self {
                Change::Approval { before, after } => Transition::Approval {
                    before: before.as_deref(),
                    after,
                },
                Change::Agent { before, after } => Transition::Agent {
                    before: before.as_deref(),
                    after,
                },
                Change::Stop { before, after } => Transition::Stop {
                    before: before.as_deref(),
                    after,
                },
                Change::Project { before, after } => Transition::Project {
                    before: before.as_deref(),
                    after,
                },
            }
        }
    }

    fn select(change: &Change, prefs: &NotificationPrefs, now: NaiveTime) -> Option<Notification> {
        super::select(&change.transition(), prefs, Role::Oncall, now)
    }

    fn select_named(
        change: &Change,
        prefs: &NotificationPrefs,
        now: NaiveTime,
        project_name: impl Fn(&str) -> Option<String>,
    ) -> Option<Notification> {
        super::select_named(&change.transition(), prefs, Role::Oncall, now, project_name)
    }

    fn at(hour: u32, minute: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(hour, minute, 0).expect("a valid time of day")
    }

    fn noon() -> NaiveTime {
        at(12, 0)
    }

    fn approval(status: ApprovalStatus, risk: Risk) -> Approval {
        let created = Utc
            .with_ymd_and_hms(2026, 3, 2, 10, 12, 0)
            .single()
            .expect("a valid instant");
        Approval {
            project_id: "prj_spring".into(),
            agent_id: Some("agt_buyer".into()),
            kind: "publish_ad_set".into(),
            summary: "Publishes the ad set.".into(),
            preview: Some(spartex_api::Preview::Amount {
                currency: "USD".into(),
                old_amount: None,
                new_amount: 250.0,
                period: None,
            }),
            risk,
            status,
            created_at: created,
            expires_at: created + chrono::Duration::minutes(30),
            ..Approval::example()
        }
    }

    fn approval_change(before: Option<ApprovalStatus>, after: Approval) -> Change {
        Change::Approval {
            before: before.map(|status| {
                Box::new(Approval {
                    status,
                    ..after.clone()
                })
            }),
            after: Box::new(after),
        }
    }

    fn agent(status: AgentStatus) -> Agent {
        Agent {
            id: "agt_copy".into(),
            project_id: "prj_spring".into(),
            name: "Copywriter".into(),
            role: "copywriter".into(),
            model: "gpt-x".into(),
            status,
            current_task_id: None,
            last_heartbeat_at: None,
            tokens_used: 0,
            cost_usd: 0.0,
            version: 1,
        }
    }

    fn agent_change(before: Option<AgentStatus>, after: AgentStatus) -> Change {
        Change::Agent {
            before: before.map(|status| Box::new(agent(status))),
            after: Box::new(agent(after)),
        }
    }

    fn stop_agent(name: &str, forced: bool) -> StopAgent {
        StopAgent {
            agent_id: format!("agt_{name}"),
            agent_name: name.into(),
            project_id: "prj_spring".into(),
            acked_at: (!forced).then(Utc::now),
            forced,
            resumed_at: None,
        }
    }

    fn stop(status: StopStatus, scope: StopScope) -> Stop {
        let agents = vec![
            stop_agent("Strategist", false),
            stop_agent("Media Buyer", status == StopStatus::Partial),
            stop_agent("Designer", status == StopStatus::Partial),
        ];
        Stop {
            id: "stp_1".into(),
            scope,
            project_id: (scope == StopScope::Project).then(|| "prj_spring".into()),
            requested_by: "usr_dana".into(),
            reason: "runaway spend".into(),
            status,
            requested_at: Utc::now(),
            completed_at: None,
            agents_total: 3,
            agents_stopped: if status == StopStatus::Completed {
                3
            } else {
                1
            },
            agents,
            version: 2,
        }
    }

    fn stop_change(before: Option<StopStatus>, after: StopStatus, scope: StopScope) -> Change {
        Change::Stop {
            before: before.map(|status| Box::new(stop(status, scope))),
            after: Box::new(stop(after, scope)),
        }
    }

    fn project(spent: f64, budget: f64) -> Project {
        Project {
            id: "prj_spring".into(),
            name: "Spring launch".into(),
            description: String::new(),
            status: spartex_api::ProjectStatus::Active,
            budget_usd: budget,
            spent_usd: spent,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            version: 3,
        }
    }

    fn project_change(before: Option<f64>, after: f64, budget: f64) -> Change {
        Change::Project {
            before: before.map(|spent| Box::new(project(spent, budget))),
            after: Box::new(project(after, budget)),
        }
    }

    fn defaults() -> NotificationPrefs {
        NotificationPrefs::default()
    }

    fn muted() -> NotificationPrefs {
        NotificationPrefs {
            muted_projects: ["prj_spring".to_owned()].into(),
            ..defaults()
        }
    }

    fn quiet(start: NaiveTime, end: NaiveTime) -> NotificationPrefs {
        NotificationPrefs {
            quiet_hours: Some(QuietHours { start, end }),
            ..defaults()
        }
    }

    // Approvals

    #[test]
    fn a_new_pending_approval_asks_for_a_decision() {
        let change = approval_change(None, approval(ApprovalStatus::Pending, Risk::High));
        let n = select(&change, &defaults(), noon()).expect("a new approval notifies");
        assert_eq!(n.key, "approval:apr_1");
        assert_eq!(n.kind, NotificationKind::ApprovalRequested);
        assert_eq!(n.title, "Approval needed: Publish the spring hero ad");
        assert_eq!(n.body, "high · expires 10:42 UTC\nProject: prj_spring");
        assert_eq!(n.project_id.as_deref(), Some("prj_spring"));
        assert_eq!(n.approval_id.as_deref(), Some("apr_1"));
        assert!(!n.urgent, "only critical approvals are urgent");
        assert_eq!(
            n.actions,
            [
                NotificationAction::Approve,
                NotificationAction::Reject,
                NotificationAction::Open
            ]
        );
    }

    #[test]
    fn a_title_shows_on_a_notification_as_it_is_written() {
        // An override that shows "Pay $005" as "Pay $500", and hidden characters.
        let mut sly = approval(ApprovalStatus::Pending, Risk::High);
        sly.title = "Pay $\u{202E}005\u{202C} to Acme\u{200B}\u{2066}!\u{2069}\u{E0041}".into();
        let n = select(&approval_change(None, sly), &defaults(), noon()).expect("notified");
        assert_eq!(n.title, "Approval needed: Pay $005 to Acme!");
        assert_eq!(
            n.body.lines().count(),
            2,
            "the body keeps its line breaks: {}",
            n.body
        );
        assert_eq!(
            plain_text("a\u{200D}b \u{200C}c\u{00AD}d\u{7}", false),
            "a\u{200D}b \u{200C}cd",
            "joiners, which scripts and emoji need, stay"
        );
    }

    #[test]
    fn a_request_without_a_preview_offers_reject_but_never_approve() {
        let mut blind = approval(ApprovalStatus::Pending, Risk::High);
        blind.preview = None;
        let n = select(&approval_change(None, blind), &defaults(), noon())
            .expect("it still asks for attention");
        assert_eq!(
            n.actions,
            [NotificationAction::Reject, NotificationAction::Open]
        );
    }

    #[test]
    fn a_viewer_is_told_but_offered_no_decision() {
        let change = approval_change(None, approval(ApprovalStatus::Pending, Risk::High));
        let n = super::select(&change.transition(), &defaults(), Role::Viewer, noon())
            .expect("a viewer still hears of it");
        assert_eq!(n.actions, [NotificationAction::Open]);
    }

    #[test]
    fn a_risk_from_a_newer_server_is_raised_as_urgently_as_critical() {
        let change = approval_change(None, approval(ApprovalStatus::Pending, Risk::Unknown));
        let n = select_named(&change, &defaults(), noon(), |_| None).expect("it notifies");
        assert!(n.urgent);
        assert!(n.body.starts_with("unknown risk · expires"), "{}", n.body);
        let quiet = approval_change(None, approval(ApprovalStatus::Unknown, Risk::Critical));
        assert!(
            select_named(&quiet, &defaults(), noon(), |_| None).is_none(),
            "a status this build does not know is not taken for a request waiting"
        );
    }

    #[test]
    fn a_critical_approval_is_urgent_and_names_its_project() {
        let change = approval_change(None, approval(ApprovalStatus::Pending, Risk::Critical));
        let n = select_named(&change, &defaults(), noon(), |id| {
            (id == "prj_spring").then(|| "Spring launch".to_owned())
        })
        .expect("a critical approval notifies");
        assert!(n.urgent);
        assert_eq!(
            n.body,
            "critical · expires 10:42 UTC\nProject: Spring launch"
        );
    }

    #[test]
    fn an_approval_that_becomes_pending_again_notifies() {
        let change = approval_change(
            Some(ApprovalStatus::Approved),
            approval(ApprovalStatus::Pending, Risk::Low),
        );
        assert!(select(&change, &defaults(), noon()).is_some());
    }

    #[test]
    fn an_approval_that_stays_pending_or_is_settled_does_not_notify() {
        let still_pending = approval_change(
            Some(ApprovalStatus::Pending),
            approval(ApprovalStatus::Pending, Risk::Critical),
        );
        assert_eq!(select(&still_pending, &defaults(), noon()), None);
        for status in [
            ApprovalStatus::Approved,
            ApprovalStatus::Rejected,
            ApprovalStatus::Expired,
            ApprovalStatus::Cancelled,
        ] {
            let settled = approval_change(
                Some(ApprovalStatus::Pending),
                approval(status, Risk::Critical),
            );
            assert_eq!(select(&settled, &defaults(), noon()), None, "{status}");
            let born_settled = approval_change(None, approval(status, Risk::Critical));
            assert_eq!(select(&born_settled, &defaults(), noon()), None, "{status}");
        }
    }

    // Agents

    #[test]
    fn an_agent_newly_in_error_notifies() {
        for before in [None, Some(AgentStatus::Working), Some(AgentStatus::Idle)] {
            let change = agent_change(before, AgentStatus::Error);
            let n = select(&change, &defaults(), noon()).expect("an agent error notifies");
            assert_eq!(n.kind, NotificationKind::AgentError);
            assert_eq!(n.key, "agent-error:agt_copy");
            assert_eq!(n.title, "Agent error: Copywriter");
            assert!(n.body.contains("Project: prj_spring"), "{}", n.body);
            assert!(!n.urgent);
            assert_eq!(n.actions, [NotificationAction::Open]);
        }
    }

    #[test]
    fn an_agent_still_in_error_or_not_in_error_does_not_notify() {
        let still = agent_change(Some(AgentStatus::Error), AgentStatus::Error);
        assert_eq!(select(&still, &defaults(), noon()), None);
        for status in AgentStatus::ALL
            .iter()
            .copied()
            .filter(|s| *s != AgentStatus::Error)
        {
            let change = agent_change(Some(AgentStatus::Error), status);
            assert_eq!(select(&change, &defaults(), noon()), None, "{status}");
        }
    }

    // Stops

    #[test]
    fn a_completed_stop_is_urgent() {
        let change = stop_change(
            Some(StopStatus::Pending),
            StopStatus::Completed,
            StopScope::Project,
        );
        let n = select_named(&change, &defaults(), noon(), |_| {
            Some("Spring launch".to_owned())
        })
        .expect("a completed stop notifies");
        assert_eq!(n.kind, NotificationKind::StopCompleted);
        assert_eq!(n.key, "stop:stp_1");
        assert_eq!(n.title, "Emergency stop completed");
        assert_eq!(
            n.body,
            "All 3 agents acknowledged and stopped.\nProject: Spring launch · reason: runaway spend"
        );
        assert!(n.urgent);
    }

    #[test]
    fn a_partial_stop_names_the_agents_that_never_answered() {
        let change = stop_change(
            Some(StopStatus::Pending),
            StopStatus::Partial,
            StopScope::Tenant,
        );
        let n = select(&change, &defaults(), noon()).expect("a partial stop notifies");
        assert_eq!(n.kind, NotificationKind::StopPartial);
        assert_eq!(n.title, "Emergency stop partial: 2 agents never answered");
        assert_eq!(
            n.body,
            "1 of 3 agents acknowledged; stopped by force: Media Buyer, Designer.\nEvery project · reason: runaway spend"
        );
        assert_eq!(n.project_id, None);
        assert!(n.urgent);
    }

    #[test]
    fn a_stop_first_seen_settled_notifies() {
        let change = stop_change(None, StopStatus::Completed, StopScope::Tenant);
        assert!(select(&change, &defaults(), noon()).is_some());
    }

    #[test]
    fn a_pending_or_unchanged_stop_does_not_notify() {
        let pending = stop_change(None, StopStatus::Pending, StopScope::Project);
        assert_eq!(select(&pending, &defaults(), noon()), None);
        for status in [StopStatus::Completed, StopStatus::Partial] {
            let unchanged = stop_change(Some(status), status, StopScope::Project);
            assert_eq!(select(&unchanged, &defaults(), noon()), None, "{status}");
        }
    }

    // Budgets

    #[test]
    fn a_budget_crossing_into_warning_notifies_with_the_numbers() {
        let change = project_change(Some(390.0), 412.0, 500.0);
        let n = select(&change, &defaults(), noon()).expect("a budget warning notifies");
        assert_eq!(n.kind, NotificationKind::BudgetWarning);
        assert_eq!(n.key, "budget:prj_spring");
        assert_eq!(n.title, "Budget warning: Spring launch");
        assert_eq!(n.body, "$412 of $500 (82 %)");
        assert!(!n.urgent);
    }

    #[test]
    fn a_budget_crossing_into_exceeded_notifies_from_ok_or_warning() {
        for before in [100.0, 450.0] {
            let change = project_change(Some(before), 1_250.0, 1_000.0);
            let n = select(&change, &defaults(), noon()).expect("an exceeded budget notifies");
            assert_eq!(n.kind, NotificationKind::BudgetExceeded);
            assert_eq!(n.title, "Budget exceeded: Spring launch");
            assert_eq!(n.body, "$1,250 of $1,000 (125 %)");
        }
    }

    #[test]
    fn a_budget_that_stays_falls_or_is_first_seen_does_not_notify() {
        let cases = [
            project_change(Some(100.0), 200.0, 500.0), // ok → ok
            project_change(Some(410.0), 420.0, 500.0), // warning → warning
            project_change(Some(600.0), 700.0, 500.0), // exceeded → exceeded
            project_change(Some(600.0), 450.0, 500.0), // exceeded → warning
            project_change(Some(420.0), 100.0, 500.0), // warning → ok
            project_change(None, 700.0, 500.0),        // first seen
            project_change(Some(100.0), 900.0, 0.0),   // no budget
        ];
        for change in cases {
            assert_eq!(select(&change, &defaults(), noon()), None, "{change:?}");
        }
    }

    #[test]
    fn dollars_read_like_money() {
        assert_eq!(usd(412.4), "$412");
        assert_eq!(usd(1_000.0), "$1,000");
        assert_eq!(usd(1_234_567.0), "$1,234,567");
        assert_eq!(usd(4.5), "$4.50");
        assert_eq!(usd(0.0), "$0");
    }

    // Preferences

    #[test]
    fn disabled_suppresses_everything_even_urgent() {
        let prefs = NotificationPrefs {
            enabled: false,
            ..defaults()
        };
        let critical = approval_change(None, approval(ApprovalStatus::Pending, Risk::Critical));
        let stop = stop_change(None, StopStatus::Partial, StopScope::Tenant);
        assert_eq!(select(&critical, &prefs, noon()), None);
        assert_eq!(select(&stop, &prefs, noon()), None);
    }

    #[test]
    fn a_muted_project_only_raises_urgent_notifications() {
        let high = approval_change(None, approval(ApprovalStatus::Pending, Risk::High));
        let critical = approval_change(None, approval(ApprovalStatus::Pending, Risk::Critical));
        let error = agent_change(None, AgentStatus::Error);
        let budget = project_change(Some(0.0), 600.0, 500.0);
        let stop = stop_change(None, StopStatus::Completed, StopScope::Project);
        assert_eq!(select(&high, &muted(), noon()), None);
        assert_eq!(select(&error, &muted(), noon()), None);
        assert_eq!(select(&budget, &muted(), noon()), None);
        assert!(select(&critical, &muted(), noon()).is_some());
        assert!(select(&stop, &muted(), noon()).is_some());
    }

    #[test]
    fn muting_another_project_changes_nothing() {
        let prefs = NotificationPrefs {
            muted_projects: ["prj_other".to_owned()].into(),
            ..defaults()
        };
        let high = approval_change(None, approval(ApprovalStatus::Pending, Risk::High));
        assert!(select(&high, &prefs, noon()).is_some());
    }

    #[test]
    fn quiet_hours_within_a_day_only_raise_urgent_notifications() {
        let prefs = quiet(at(12, 0), at(14, 0));
        let high = approval_change(None, approval(ApprovalStatus::Pending, Risk::High));
        let critical = approval_change(None, approval(ApprovalStatus::Pending, Risk::Critical));
        let stop = stop_change(None, StopStatus::Partial, StopScope::Tenant);
        assert_eq!(select(&high, &prefs, at(12, 0)), None, "start is inside");
        assert_eq!(select(&high, &prefs, at(13, 59)), None);
        assert!(select(&high, &prefs, at(14, 0)).is_some(), "end is outside");
        assert!(select(&high, &prefs, at(11, 59)).is_some());
        assert!(select(&critical, &prefs, at(13, 0)).is_some());
        assert!(select(&stop, &prefs, at(13, 0)).is_some());
    }

    #[test]
    fn quiet_hours_that_wrap_midnight_cover_both_sides() {
        let prefs = quiet(at(22, 0), at(7, 0));
        let error = agent_change(Some(AgentStatus::Working), AgentStatus::Error);
        let critical = approval_change(None, approval(ApprovalStatus::Pending, Risk::Critical));
        for quiet_time in [at(22, 0), at(23, 59), at(0, 0), at(3, 30), at(6, 59)] {
            assert_eq!(select(&error, &prefs, quiet_time), None, "{quiet_time}");
            assert!(
                select(&critical, &prefs, quiet_time).is_some(),
                "{quiet_time}"
            );
        }
        for awake in [at(7, 0), at(12, 0), at(21, 59)] {
            assert!(select(&error, &prefs, awake).is_some(), "{awake}");
        }
    }

    #[test]
    fn empty_quiet_hours_are_never_quiet() {
        let hours = QuietHours {
            start: at(9, 0),
            end: at(9, 0),
        };
        assert!(!hours.contains(at(9, 0)));
        assert!(!hours.contains(at(21, 0)));
    }

    #[test]
    fn prefs_default_to_enabled_and_read_partial_json() {
        assert!(NotificationPrefs::default().enabled);
        let prefs: NotificationPrefs =
            serde_json::from_str(r#"{"quiet_hours":{"start":"22:00:00","end":"07:00:00"}}"#)
                .expect("partial prefs parse");
        assert!(prefs.enabled);
        assert_eq!(
            prefs.quiet_hours,
            Some(QuietHours {
                start: at(22, 0),
                end: at(7, 0)
            })
        );
        let json = serde_json::to_string(&prefs).expect("prefs serialize");
        let back: NotificationPrefs = serde_json::from_str(&json).expect("prefs round trip");
        assert_eq!(back, prefs);
    }

    #[test]
    fn action_ids_round_trip() {
        for action in [
            NotificationAction::Approve,
            NotificationAction::Reject,
            NotificationAction::Open,
        ] {
            assert_eq!(NotificationAction::from_id(action.id()), Some(action));
        }
        assert_eq!(NotificationAction::Open.id(), "default");
        assert_eq!(NotificationAction::from_id("__closed"), None);
    }
}
