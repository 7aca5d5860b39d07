//! Bursts: what [`Alerts`] shows on its own, what it holds back and counts in a summary
//! ([`spartex_policy::burst`]), and what it lets go of once over.

use std::collections::HashSet;

use spartex_api::{AgentStatus, BudgetState, Project};
use spartex_policy::burst::ONE_MORE_EVERY;
use spartex_policy::HeldBack;

use super::{read_project, show, withdraw, Alerts};
use crate::account::Account;
use crate::notify::{Notification, NotificationKind};

impl Alerts {
    /// Shows `alert` on its own, or, in a burst, holds it back and shows the summary that counts
    /// it in its place.
    pub(super) async fn raise(&mut self, alert: Notification, project: Option<&Project>) {
        let notifier = self.notifier.clone();
        let notifier = notifier.as_ref();
        let kind = alert.kind;
        if !kind.held_back_in_a_burst() {
            show(notifier, &alert).await;
            return;
        }
        if self.shown_alone.contains(&alert.key) || self.budget.spend(&alert, budget_clock()) {
            if self.held_back.release(&alert.key).is_some() {
                self.tell_held(kind, Telling::IfShown).await;
            }
            self.shown_alone.insert(alert.key.clone());
            show(notifier, &alert).await;
            return;
        }
        let project_name = project.map(|p| p.name.clone());
        self.held_back.hold(&alert, project_name);
        self.tell_held(kind, Telling::Anew).await;
    }

    /// After missed changes: the alerts held back or shown alone whose request settled, whose
    /// agent is at work again or whose project is back within its budget meanwhile are over.
    pub(super) async fn forget_what_ended_unseen(&mut self, still_pending: &HashSet<String>) {
        let alone = self.shown_alone.iter().map(String::as_str);
        let known: Vec<String> = (self.held_back.keys().chain(alone))
            .map(str::to_owned)
            .collect();
        for key in known {
            if ended_unseen(&self.account, &key, still_pending).await {
                self.over(&key).await;
            }
        }
    }

    /// What the alert with `key` told of is over (its request settled or was taken, its agent
    /// is at work again, its project back within budget): a held one leaves its summary.
    pub(super) async fn over(&mut self, key: &str) {
        self.shown_alone.remove(key);
        if let Some(kind) = self.held_back.release(key) {
            self.tell_held(kind, Telling::IfShown).await;
        }
    }

    /// Tells the summary of the held alerts of `kind` as it is now, taking it back once it
    /// holds nothing.
    async fn tell_held(&mut self, kind: NotificationKind, telling: Telling) {
        let key = HeldBack::summary_key(kind);
        let notifier = self.notifier.clone();
        let notifier = notifier.as_ref();
        let now = now();
        let shown_lately = (self.summaries_shown_at.get(key))
            .is_some_and(|at| now.saturating_duration_since(*at) < ONE_MORE_EVERY);
        let telling = match telling {
            Telling::Anew if shown_lately => Telling::IfShown,
            telling => telling,
        };
        match (self.held_back.summary(key), telling) {
            (Some(summary), Telling::Anew) => {
                self.summaries_shown_at.insert(key, now);
                show(notifier, &summary).await;
            }
            (Some(summary), Telling::IfShown) => {
                if let Err(error) = notifier.replace_if_shown(&summary).await {
                    tracing::warn!(%error, "could not update the summary of held alerts");
                }
            }
            (None, _) => {
                self.summaries_shown_at.remove(key);
                withdraw(notifier, key).await;
            }
        }
    }
}

/// How a summary of held alerts is told.
#[derive(Clone, Copy)]
enum Telling {
    /// Shown again, though dismissed, unless it was shown within [`ONE_MORE_EVERY`]: it holds
    /// one more, or one held again (escalated).
    Anew,
    /// Updated only where still on screen: it holds one fewer, or one is shown on its own now.
    IfShown,
}

/// Whether what the alert with `key` told of ended while changes were missed, by the cache as
/// it is now: its request no longer pending, its agent no longer in error, its project no
/// longer near or over budget.
async fn ended_unseen(account: &Account, key: &str, still_pending: &HashSet<String>) -> bool {
    if let Some(approval_id) = Notification::approval_of_key(key) {
        return !still_pending.contains(approval_id);
    }
    if let Some(project_id) = Notification::budget_of_key(key) {
        let project = read_project(account, project_id).await;
        return project.is_some_and(|p| p.budget_state() == BudgetState::Ok);
    }
    let Some(agent_id) = Notification::agent_of_key(key) else {
        return false;
    };
    let agent = account.store().agent_by_id(agent_id).await;
    matches!(agent, Ok(Some(agent)) if agent.status != AgentStatus::Error)
}

pub(super) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// The alert budget's clock: the time since this process first read it.
pub(super) fn budget_clock() -> std::time::Duration {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(now);
    now().saturating_duration_since(origin)
}
