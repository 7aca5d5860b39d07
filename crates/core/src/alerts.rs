//! Raising notifications for an account: the policy picks, the notifier shows, and a burst is
//! summed up (`held`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use spartex_api::{AgentStatus, Approval, ApprovalStatus, BudgetState, Escalation, Project, Risk};
use spartex_policy::{approval_resolved, ladder_verdict, AlertBudget, HeldBack, LadderVerdict};

use crate::account::Account;
use crate::notify::{
    select_named, Notification, NotificationAction, NotificationKind, NotificationPrefs, Notifier,
};
use crate::{Change, LinkState};

mod held;
mod reach;

/// Watches the account's changes and raises what the policy selects, until the account's
/// change channel closes or the task is aborted. Meanwhile it tells the account whether
/// notifications reach this device ([`Account::set_alerts_here`]), and that they no longer do
/// once it ends.
pub fn spawn_notifications(
    account: &Account,
    notifier: Arc<dyn Notifier>,
    prefs: Arc<std::sync::RwLock<NotificationPrefs>>,
) -> tokio::task::JoinHandle<()> {
    let mut changes = account.subscribe();
    // Made here, so that it is dropped (and says no) even if the task is aborted unstarted.
    let told_reach = reach::ToldReach::new(account, notifier.clone(), prefs.clone());
    let account = account.clone();
    tokio::spawn(async move {
        let mut alerts = Alerts {
            pending_at_start: pending_ladders(&account).await,
            considered: HashMap::new(),
            budget: AlertBudget::new(held::budget_clock()),
            held_back: HeldBack::default(),
            shown_alone: HashSet::new(),
            summaries_shown_at: HashMap::new(),
            account,
            notifier,
            prefs,
            told_disk_full: false,
        };
        tokio::select! {
            () = alerts.raise_what_changes(&mut changes) => {}
            () = told_reach.keep_telling() => {}
        }
    })
}

struct Alerts {
    account: Account,
    notifier: Arc<dyn Notifier>,
    prefs: Arc<std::sync::RwLock<NotificationPrefs>>,
    /// The requests pending when this task started, each with its ladder as then (raised by an
    /// earlier run, or for none to raise).
    pending_at_start: HashMap<String, Option<Escalation>>,
    /// The pending requests this task has considered, each as considered: a change that brings
    /// a request no further (heard after the changes missed were read from the cache) raises
    /// nothing again.
    considered: HashMap<String, Considered>,
    /// How many more alerts may be shown one by one now.
    budget: AlertBudget,
    /// The alerts a burst held back, told in a summary.
    held_back: HeldBack,
    /// The keys of alerts shown one by one and not yet over: one shown again (escalated)
    /// replaces itself and spends nothing.
    shown_alone: HashSet<String>,
    /// When each summary was last shown anew: more often, it is only updated where still on
    /// screen, so that a flood neither re-pops it nor, where notifications cannot be replaced
    /// (macOS, Windows), piles up a summary per held alert.
    summaries_shown_at: HashMap<&'static str, std::time::Instant>,
    /// Told since the link was last live: a spell of full disk is told once, whatever the
    /// link passes through (offline, connecting) until it catches up.
    told_disk_full: bool,
}

/// A pending request as [`Alerts`] last considered it.
struct Considered {
    version: i64,
    escalation: Option<Escalation>,
}

impl Alerts {
    /// Until the account's change channel closes.
    async fn raise_what_changes(&mut self, changes: &mut broadcast::Receiver<Change>) {
        loop {
            match changes.recv().await {
                Ok(Change::Resynced) => self.after_missed_changes().await,
                Ok(change) => self.consider(change).await,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "notifications fell behind; some changes were not considered"
                    );
                    self.after_missed_changes().await;
                }
                Err(RecvError::Closed) => return,
            }
        }
    }

    fn prefs(&self) -> NotificationPrefs {
        self.prefs
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// After changes this task never saw (its channel fell behind, or the cache was rebuilt
    /// from snapshots: a month away, a server that lost its last writes): requests still on
    /// screen that settled meanwhile settle there too, requests that arrived meanwhile are
    /// raised as if heard, where they were never raised at all, and a ladder that reached this
    /// person meanwhile pages them, where it was taken for a request already considered.
    async fn after_missed_changes(&mut self) {
        settle_what_settled_unseen(self.notifier.as_ref(), &self.account).await;
        let pending = match self.account.store().approvals(true).await {
            Ok(pending) => pending,
            Err(error) => {
                tracing::warn!(%error, "could not read the requests that wait");
                return;
            }
        };
        let still_pending: HashSet<String> =
            (pending.iter()).map(|v| v.approval.id.clone()).collect();
        self.considered.retain(|id, _| still_pending.contains(id));
        self.pending_at_start
            .retain(|id, _| still_pending.contains(id));
        self.forget_what_ended_unseen(&still_pending).await;
        let now = self.account.server_now();
        // A burst spends what may be shown one by one on the most pressing first.
        let mut pending = pending;
        pending.sort_by_key(|view| {
            let critical = view.approval.risk.assumed() == Risk::Critical;
            (!critical, view.approval.expires_at)
        });
        for view in pending {
            // One that expired meanwhile is settled by its expiry's event, not raised first.
            if view.approval.expires_at <= now {
                continue;
            }
            // Any other pending one is new to this task; one whose ladder moved since it was
            // last known here (escalated to this person, taken by another) is considered again
            // from there. Either way the cache's is now the version considered, lower too (a
            // server restored from a backup): the changes still queued up to it are passed.
            let id = &view.approval.id;
            let last_known = match self.considered.remove(id) {
                Some(considered) => Some(considered.escalation),
                None => self.pending_at_start.get(id).cloned(),
            };
            let before = match last_known {
                None => None,
                Some(ladder) if ladder == view.approval.escalation => {
                    let as_now = Considered {
                        version: view.approval.version,
                        escalation: ladder,
                    };
                    self.considered.insert(id.clone(), as_now);
                    continue;
                }
                Some(ladder) => Some(Box::new(Approval {
                    escalation: ladder,
                    ..view.approval.clone()
                })),
            };
            let missed = Change::Approval {
                before,
                after: Box::new(view.approval),
            };
            self.consider(missed).await;
        }
    }

    async fn consider(&mut self, change: Change) {
        let notifier = self.notifier.clone();
        let notifier = notifier.as_ref();
        let account = self.account.clone();
        let account = &account;
        let now = chrono::Local::now().time();
        if let Change::Link { state } = change {
            match state {
                LinkState::DiskFull if !self.told_disk_full && self.prefs().enabled => {
                    self.told_disk_full = true;
                    show(notifier, &disk_full()).await;
                }
                // Live again: what arrived meanwhile has been applied.
                LinkState::Connected if self.told_disk_full => {
                    self.told_disk_full = false;
                    withdraw(notifier, DISK_FULL_KEY).await;
                }
                _ => {}
            }
            return;
        }
        // An agent at work again, a project back within its budget: no longer counted as held.
        match &change {
            Change::Agent { after, .. } if after.status != AgentStatus::Error => {
                self.over(&Notification::agent_error_key(&after.id)).await;
            }
            Change::Project { after, .. } if after.budget_state() == BudgetState::Ok => {
                self.over(&Notification::budget_key(&after.id)).await;
            }
            _ => {}
        }
        let info = account.info();
        // A settled request raises nothing; the moment it settles, its notification goes.
        if let Change::Approval { before, after } = &change {
            // A status this version does not know (a newer server's) may still be waiting:
            // what is on screen stays, neither raised again nor said to be settled.
            if after.status == ApprovalStatus::Unknown {
                return;
            }
            if after.status != ApprovalStatus::Pending {
                self.considered.remove(&after.id);
                self.pending_at_start.remove(&after.id);
                self.over(&Notification::approval_key(&after.id)).await;
                let was_pending = before
                    .as_ref()
                    .is_some_and(|b| b.status == ApprovalStatus::Pending);
                if was_pending {
                    settled(notifier, account, after).await;
                }
                return;
            }
            let no_further = (self.considered.get(&after.id))
                .is_some_and(|considered| considered.version >= after.version);
            if no_further || settled_meanwhile(account, &after.id).await {
                return;
            }
            let considered = Considered {
                version: after.version,
                escalation: after.escalation.clone(),
            };
            self.considered.insert(after.id.clone(), considered);
        }
        let role = info.user.role;
        // An approval's project is read once, to name it on the ladder's page or in the
        // notification; other changes read theirs once a notification is chosen.
        let mut project = match &change {
            Change::Approval { after, .. } => read_project(account, &after.project_id).await,
            _ => None,
        };
        if let Change::Approval { before, after } = &change {
            let name = |id: &str| name_of(project.as_ref(), id).unwrap_or_else(|| id.to_owned());
            // A request on a ladder is shown to those it names when it names them, as the
            // server's pushes are, not to everyone at once.
            let verdict = ladder_verdict(before.as_deref(), after, &info.user.id, role, &name);
            let enabled = self.prefs().enabled;
            match verdict {
                LadderVerdict::NotOnLadder => {}
                LadderVerdict::Page(page) if enabled => {
                    self.raise(page, project.as_ref()).await;
                    return;
                }
                // Someone is on one held back: it leaves the summary, with nothing to tell.
                LadderVerdict::TakenBy(taken) if self.held_back.holds(&taken.key) => {
                    self.over(&taken.key).await;
                    return;
                }
                LadderVerdict::TakenBy(taken) if enabled => {
                    show(notifier, &taken).await;
                    return;
                }
                LadderVerdict::Page(_) | LadderVerdict::TakenBy(_) | LadderVerdict::Nothing => {
                    return
                }
            }
        }
        let prefs = self.prefs();
        let mut chosen = select_named(&change, &prefs, role, now, |id| {
            name_of(project.as_ref(), id)
        });
        let unnamed = chosen
            .as_ref()
            .and_then(|n| n.project_id.clone())
            .filter(|id| project.as_ref().is_none_or(|p| &p.id != id));
        if let Some(project_id) = unnamed {
            project = read_project(account, &project_id).await;
            if project.is_some() {
                chosen = select_named(&change, &prefs, role, now, |id| {
                    name_of(project.as_ref(), id)
                });
            }
        }
        if let Some(notification) = chosen {
            self.raise(notification, project.as_ref()).await;
        }
    }
}

/// The requests pending in the cache now, each with its ladder.
async fn pending_ladders(account: &Account) -> HashMap<String, Option<Escalation>> {
    match account.store().approvals(true).await {
        Ok(pending) => (pending.into_iter())
            .map(|v| (v.approval.id, v.approval.escalation))
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "could not read the requests that wait");
            HashMap::new()
        }
    }
}

/// Whether the cache holds the request settled now: a change of it heard late (still queued
/// after a lag, whose missed changes were read from the cache) raises nothing.
async fn settled_meanwhile(account: &Account, approval_id: &str) -> bool {
    match account.store().approval(approval_id).await {
        Ok(Some(view)) => !matches!(
            view.approval.status,
            ApprovalStatus::Pending | ApprovalStatus::Unknown
        ),
        _ => false,
    }
}

/// A request stopped waiting: its notification's buttons would do nothing. Who answered it
/// knows, so theirs is taken back; whoever else still has it on screen reads in its place what
/// became of it.
async fn settled(notifier: &dyn Notifier, account: &Account, after: &Approval) {
    let me = &account.info().user.id;
    let answered_here = after.decided_by.as_ref().is_some_and(|by| &by.id == me);
    if answered_here {
        withdraw(notifier, &Notification::approval_key(&after.id)).await;
        return;
    }
    let project = read_project(account, &after.project_id).await;
    let name = |id: &str| name_of(project.as_ref(), id).unwrap_or_else(|| id.to_owned());
    if let Err(error) = notifier
        .replace_if_shown(&approval_resolved(after, &name))
        .await
    {
        tracing::warn!(%error, "could not say what became of a request");
    }
}

/// After changes were missed (the channel fell behind, the cache was rebuilt), the requests still
/// on screen with buttons are read again: those that settled meanwhile settle on screen too.
async fn settle_what_settled_unseen(notifier: &dyn Notifier, account: &Account) {
    for key in notifier.asking() {
        let Some(approval_id) = Notification::approval_of_key(&key) else {
            continue;
        };
        let Ok(Some(view)) = account.store().approval(approval_id).await else {
            continue;
        };
        if !matches!(
            view.approval.status,
            ApprovalStatus::Pending | ApprovalStatus::Unknown
        ) {
            settled(notifier, account, &view.approval).await;
        }
    }
}

/// A project as the cache holds it, by id (no lock held while reading).
async fn read_project(account: &Account, project_id: &str) -> Option<Project> {
    account
        .store()
        .project_by_id(project_id)
        .await
        .ok()
        .flatten()
}

/// The name people know the project `id` by, if `project` is it.
fn name_of(project: Option<&Project>, id: &str) -> Option<String> {
    project.filter(|p| p.id == id).map(|p| p.name.clone())
}

const DISK_FULL_KEY: &str = "cache:disk-full";

/// Raised as the cache's disk fills: until space is freed nothing new reaches this device's
/// screens, so a person who relies on its notifications must hear it, quiet hours or not (as
/// they would a critical request). Once per spell of full disk (until the link is live again).
fn disk_full() -> Notification {
    Notification {
        key: DISK_FULL_KEY.into(),
        kind: NotificationKind::DiskFull,
        title: "Disk full: new approvals cannot reach this computer".into(),
        body: "Spartex Control cannot keep what arrives until some space is freed on the disk \
               holding its cache. Nothing is lost: it waits on the server and arrives once there \
               is space."
            .into(),
        project_id: None,
        approval_id: None,
        urgent: true,
        actions: vec![NotificationAction::Open],
    }
}

async fn show(notifier: &dyn Notifier, notification: &Notification) {
    if let Err(error) = notifier.notify(notification).await {
        tracing::warn!(%error, "could not show a notification");
    }
}

async fn withdraw(notifier: &dyn Notifier, key: &str) {
    if let Err(error) = notifier.withdraw(key).await {
        tracing::warn!(%error, key, "could not take back a notification");
    }
}
