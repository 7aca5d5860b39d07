//! How many alerts one screen shows one by one. A burst (thirty requests waiting at a fresh
//! sign-in, an agent filing two hundred in a minute, a fleet of agents failing together) would
//! bury the screen, and the one request that matters with it. Past [`SHOWN_AT_ONCE`] in a lane
//! ([`Lane`]: urgent requests, other requests, every other alert), the rest are held back
//! ([`HeldBack`]) and told in a summary that counts them and opens where they are. A summary
//! follows what it holds: a held request answered or taken by someone else leaves it, and it
//! goes once nothing is left.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::notifications::{plain_text, Notification, NotificationAction, NotificationKind};

/// Alerts of one lane shown one by one in a burst, before the rest are held back.
pub const SHOWN_AT_ONCE: u32 = 3;
/// After a burst, one more alert is shown on its own per this long.
pub const ONE_MORE_EVERY: Duration = Duration::from_secs(20);
/// Projects named in a summary before "and N more".
const PROJECTS_NAMED: usize = 3;

/// How many alerts may be shown one by one now, in each lane ([`Lane`]): [`SHOWN_AT_ONCE`], one
/// more earned per [`ONE_MORE_EVERY`] since. Its clock is the caller's, read as the time since
/// an origin of its choosing: the desktop's since its alerts started, the server's since the
/// epoch (its budgets are kept with the push dispatcher's state, across restarts).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertBudget {
    lanes: [Bucket; 3],
}

/// Alerts that spend from a budget of their own: a burst of one lane holds back none of another.
/// An urgent request (critical, or an escalation paging this person) is never held back by a
/// flood of ordinary ones, nor any request by a fleet of agents failing; a flood of "critical"
/// ones (the risk is the agent's own word) is still held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    UrgentRequests,
    Requests,
    OtherAlerts,
}

impl Lane {
    pub fn of(alert: &Notification) -> Lane {
        match alert.kind {
            NotificationKind::ApprovalRequested if alert.urgent => Lane::UrgentRequests,
            NotificationKind::ApprovalRequested => Lane::Requests,
            _ => Lane::OtherAlerts,
        }
    }
}

impl AlertBudget {
    pub fn new(now: Duration) -> AlertBudget {
        AlertBudget {
            lanes: [Bucket::new(now), Bucket::new(now), Bucket::new(now)],
        }
    }

    /// Whether `alert` may be shown on its own at `now`; if so, it is spent from its lane.
    pub fn spend(&mut self, alert: &Notification, now: Duration) -> bool {
        let lane = match Lane::of(alert) {
            Lane::UrgentRequests => 0,
            Lane::Requests => 1,
            Lane::OtherAlerts => 2,
        };
        self.lanes[lane].spend(now)
    }
}

/// One lane's budget: a token bucket.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Bucket {
    left: u32,
    earned_until: Duration,
}

impl Bucket {
    fn new(now: Duration) -> Bucket {
        Bucket {
            left: SHOWN_AT_ONCE,
            earned_until: now,
        }
    }

    fn spend(&mut self, now: Duration) -> bool {
        // A clock stepped back must not leave the bucket waiting for the old time to return.
        self.earned_until = self.earned_until.min(now);
        let since = now.saturating_sub(self.earned_until);
        let earned = u32::try_from(since.as_millis() / ONE_MORE_EVERY.as_millis())
            .unwrap_or(u32::MAX)
            .min(SHOWN_AT_ONCE);
        self.left = self.left.saturating_add(earned).min(SHOWN_AT_ONCE);
        self.earned_until = if self.left == SHOWN_AT_ONCE {
            now
        } else {
            self.earned_until + ONE_MORE_EVERY * earned
        };
        let spent = self.left > 0;
        self.left = self.left.saturating_sub(1);
        spent
    }
}

impl NotificationKind {
    /// An alert of this kind is held back in a burst. What replaces a notification already
    /// shown (taken by someone, resolved), says what a stop did, or speaks of this device
    /// itself is rare and always shown.
    pub fn held_back_in_a_burst(self) -> bool {
        matches!(
            self,
            NotificationKind::ApprovalRequested
                | NotificationKind::AgentError
                | NotificationKind::BudgetWarning
                | NotificationKind::BudgetExceeded
        )
    }
}

/// The alerts held back from a burst, by key, and the summaries that tell them: one of the
/// requests, which opens the list of requests, and one of every other alert, which opens the
/// dashboard.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct HeldBack {
    held: BTreeMap<String, Held>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Held {
    kind: NotificationKind,
    urgent: bool,
    project: Option<String>,
}

/// The summary of the held requests has this key, and opens the list of requests.
pub const REQUESTS_SUMMARY_KEY: &str = spartex_api::REQUESTS_HELD_KEY;
/// The summary of the other held alerts has this key, and opens the dashboard.
pub const ALERTS_SUMMARY_KEY: &str = spartex_api::ALERTS_HELD_KEY;

impl HeldBack {
    /// Holds `alert` back, in its project named `project`; held again (escalated, say), it is
    /// counted once, as it is now.
    pub fn hold(&mut self, alert: &Notification, project: Option<String>) {
        let held = Held {
            kind: alert.kind,
            urgent: alert.urgent,
            project: project.map(|name| plain_text(&name, false)),
        };
        self.held.insert(alert.key.clone(), held);
    }

    /// The keys of the alerts held.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.held.keys().map(String::as_str)
    }

    pub fn holds(&self, key: &str) -> bool {
        self.held.contains_key(key)
    }

    /// Lets go of the alert with `key`, if held (what it told of is over, or it is shown on its
    /// own now), and says its kind.
    pub fn release(&mut self, key: &str) -> Option<NotificationKind> {
        self.held.remove(key).map(|held| held.kind)
    }

    /// The key of the summary that tells alerts of `kind`.
    pub fn summary_key(kind: NotificationKind) -> &'static str {
        match kind {
            NotificationKind::ApprovalRequested => REQUESTS_SUMMARY_KEY,
            _ => ALERTS_SUMMARY_KEY,
        }
    }

    /// The summary with `key` ([`HeldBack::summary_key`]) of what is held; none once nothing
    /// it tells is.
    pub fn summary(&self, key: &str) -> Option<Notification> {
        let held: Vec<&Held> = (self.held.values())
            .filter(|held| HeldBack::summary_key(held.kind) == key)
            .collect();
        let count = |kinds: &[NotificationKind]| {
            (held.iter())
                .filter(|held| kinds.contains(&held.kind))
                .count()
        };
        let requests = count(&[NotificationKind::ApprovalRequested]);
        let errors = count(&[NotificationKind::AgentError]);
        let budgets = count(&[
            NotificationKind::BudgetWarning,
            NotificationKind::BudgetExceeded,
        ]);
        let mut lines = Vec::new();
        let title = match (requests, errors, budgets) {
            (0, 0, 0) => return None,
            (n, _, _) if n > 0 => {
                let urgent = held.iter().filter(|held| held.urgent).count();
                lines.push(match urgent {
                    0 => format!("{n} {}", plural(n, "request", "requests")),
                    u => format!("{n} {}, {u} urgent", plural(n, "request", "requests")),
                });
                format!(
                    "{n} more {} for you",
                    plural(n, "request waits", "requests wait")
                )
            }
            (_, n, 0) => format!(
                "{n} more {} on an error",
                plural(n, "agent stopped", "agents stopped")
            ),
            (_, 0, n) => format!(
                "{n} more {} near or over budget",
                plural(n, "project", "projects")
            ),
            (_, errors, budgets) => {
                lines.push(format!(
                    "{errors} {}",
                    plural(errors, "agent error", "agent errors")
                ));
                lines.push(format!(
                    "{budgets} {}",
                    plural(budgets, "budget alert", "budget alerts")
                ));
                format!("{} more alerts for you", errors + budgets)
            }
        };
        lines.push(projects(&held));
        let summary = Notification {
            key: key.into(),
            kind: NotificationKind::Summary,
            title,
            body: lines.join("\n"),
            project_id: None,
            approval_id: None,
            urgent: held.iter().any(|held| held.urgent),
            actions: vec![NotificationAction::Open],
        };
        Some(summary.shown_plainly())
    }
}

/// "Projects: Orion, Atlas, Vega and 2 more", the most held first.
fn projects(held: &[&Held]) -> String {
    let mut by_project = BTreeMap::<&str, usize>::new();
    for held in held {
        let name = held.project.as_deref().unwrap_or("unknown project");
        *by_project.entry(name).or_default() += 1;
    }
    let mut names: Vec<(&str, usize)> = by_project.into_iter().collect();
    names.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let label = plural(names.len(), "Project", "Projects");
    let named: Vec<&str> = names.iter().take(PROJECTS_NAMED).map(|n| n.0).collect();
    match names.len().saturating_sub(PROJECTS_NAMED) {
        0 => format!("{label}: {}", named.join(", ")),
        more => format!("{label}: {} and {more} more", named.join(", ")),
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(key: &str, kind: NotificationKind, urgent: bool) -> Notification {
        Notification {
            key: key.into(),
            kind,
            title: String::new(),
            body: String::new(),
            project_id: Some("pr_1".into()),
            approval_id: None,
            urgent,
            actions: vec![NotificationAction::Open],
        }
    }

    fn request(id: &str, urgent: bool) -> Notification {
        alert(
            &Notification::approval_key(id),
            NotificationKind::ApprovalRequested,
            urgent,
        )
    }

    #[test]
    fn a_burst_shows_a_few_then_one_more_per_spell() {
        let start = Duration::from_secs(1_765_000_000);
        let mut budget = AlertBudget::new(start);
        let ordinary = request("ap_1", false);
        let mut spend = |at| budget.spend(&ordinary, at);
        let shown: Vec<bool> = (0..5).map(|_| spend(start)).collect();
        assert_eq!(shown, [true, true, true, false, false]);
        let just_short = start + ONE_MORE_EVERY - Duration::from_millis(1);
        assert!(!spend(just_short));
        assert!(spend(start + ONE_MORE_EVERY));
        assert!(!spend(start + ONE_MORE_EVERY));
        // Two spells earn two, counted from when the last was earned, not from the last spend.
        let later = start + ONE_MORE_EVERY * 3;
        assert!(spend(later));
        assert!(spend(later));
        assert!(!spend(later));
    }

    #[test]
    fn a_quiet_hour_earns_no_more_than_a_burst_and_time_going_back_earns_nothing() {
        let start = Duration::from_secs(1_765_000_000);
        let mut budget = AlertBudget::new(start);
        let ordinary = request("ap_1", false);
        let an_hour_on = start + Duration::from_secs(3600);
        let shown = (0..10)
            .filter(|_| budget.spend(&ordinary, an_hour_on))
            .count();
        assert_eq!(shown, SHOWN_AT_ONCE as usize);
        assert!(
            !budget.spend(&ordinary, start),
            "an earlier instant earns nothing"
        );
    }

    #[test]
    fn a_burst_in_one_lane_holds_back_none_of_another() {
        let start = Duration::from_secs(1_765_000_000);
        let mut budget = AlertBudget::new(start);
        let error = alert("agent-error:ag_1", NotificationKind::AgentError, false);
        let (ordinary, critical) = (request("ap_1", false), request("ap_2", true));
        for _ in 0..SHOWN_AT_ONCE {
            assert!(budget.spend(&error, start));
            assert!(budget.spend(&ordinary, start));
        }
        assert!(!budget.spend(&error, start));
        assert!(!budget.spend(&ordinary, start));
        let shown = (0..10).filter(|_| budget.spend(&critical, start)).count();
        assert_eq!(
            shown, SHOWN_AT_ONCE as usize,
            "a flood of critical ones is held back too"
        );
        assert_eq!(Lane::of(&critical), Lane::UrgentRequests);
        assert_eq!(
            Lane::of(&alert("budget:pr_1", NotificationKind::BudgetWarning, true)),
            Lane::OtherAlerts
        );
    }

    #[test]
    fn held_requests_are_counted_once_with_the_urgent_and_their_projects() {
        let mut held = HeldBack::default();
        assert_eq!(held.summary(REQUESTS_SUMMARY_KEY), None);
        for (i, project) in ["Atlas", "Orion", "Orion", "Vega", "Lyra", "Orion"]
            .iter()
            .enumerate()
        {
            held.hold(
                &request(&format!("ap_{i}"), i == 0),
                Some((*project).into()),
            );
        }
        // Held again as it escalated: still one, and now urgent.
        held.hold(&request("ap_1", true), Some("Orion".into()));
        let summary = held.summary(REQUESTS_SUMMARY_KEY).expect("a summary");
        assert_eq!(summary.key, REQUESTS_SUMMARY_KEY);
        assert_eq!(summary.kind, NotificationKind::Summary);
        assert_eq!(summary.title, "6 more requests wait for you");
        assert_eq!(
            summary.body,
            "6 requests, 2 urgent\nProjects: Orion, Atlas, Lyra and 1 more"
        );
        assert!(summary.urgent, "it holds an urgent request");
        assert_eq!(summary.actions, [NotificationAction::Open]);
        assert_eq!(summary.approval_id, None);
        assert_eq!(
            held.summary(ALERTS_SUMMARY_KEY),
            None,
            "no other alert is held"
        );
    }

    #[test]
    fn a_summary_follows_what_is_released_and_goes_with_the_last() {
        let mut held = HeldBack::default();
        held.hold(&request("ap_1", true), Some("Atlas".into()));
        held.hold(&request("ap_2", false), Some("Atlas".into()));
        let first = Notification::approval_key("ap_1");
        assert_eq!(
            held.release(&first),
            Some(NotificationKind::ApprovalRequested)
        );
        assert_eq!(held.release(&first), None, "once");
        let summary = held.summary(REQUESTS_SUMMARY_KEY).expect("one left");
        assert_eq!(summary.title, "1 more request waits for you");
        assert_eq!(summary.body, "1 request\nProject: Atlas");
        assert!(!summary.urgent, "the urgent one was released");
        assert!(held.holds(&Notification::approval_key("ap_2")));
        held.release(&Notification::approval_key("ap_2"));
        assert_eq!(held.summary(REQUESTS_SUMMARY_KEY), None);
    }

    #[test]
    fn other_alerts_are_summed_up_apart_from_requests_by_kind() {
        let error = |id: &str| {
            alert(
                &format!("agent-error:{id}"),
                NotificationKind::AgentError,
                false,
            )
        };
        let budget = alert("budget:pr_1", NotificationKind::BudgetExceeded, false);
        let mut held = HeldBack::default();
        held.hold(&request("ap_1", false), Some("Atlas".into()));
        held.hold(&error("ag_1"), Some("Atlas".into()));
        let errors = held.summary(ALERTS_SUMMARY_KEY).expect("a summary");
        assert_eq!(errors.key, ALERTS_SUMMARY_KEY);
        assert_eq!(errors.title, "1 more agent stopped on an error");
        assert_eq!(errors.body, "Project: Atlas");
        held.hold(&error("ag_2"), None);
        held.hold(&budget, Some("Vega".into()));
        let mixed = held.summary(ALERTS_SUMMARY_KEY).expect("a summary");
        assert_eq!(mixed.title, "3 more alerts for you");
        assert_eq!(
            mixed.body,
            "2 agent errors\n1 budget alert\nProjects: Atlas, Vega, unknown project"
        );
        let requests = held.summary(REQUESTS_SUMMARY_KEY).expect("a summary");
        assert_eq!(requests.title, "1 more request waits for you");
        assert_eq!(
            HeldBack::summary_key(NotificationKind::BudgetWarning),
            ALERTS_SUMMARY_KEY
        );
    }

    #[test]
    fn only_new_alerts_are_held_back() {
        use NotificationKind::*;
        for kind in [ApprovalRequested, AgentError, BudgetWarning, BudgetExceeded] {
            assert!(kind.held_back_in_a_burst(), "{kind:?}");
        }
        for kind in [
            ApprovalAcked,
            ApprovalResolved,
            StopCompleted,
            StopPartial,
            DiskFull,
            StillRunning,
            Summary,
        ] {
            assert!(!kind.held_back_in_a_burst(), "{kind:?}");
        }
    }
}
