//! Raising notifications for an account: the policy picks, the notifier shows.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use spartex_api::{Approval, ApprovalStatus, Project};
use spartex_policy::{approval_resolved, ladder_verdict, LadderVerdict};

use crate::account::Account;
use crate::notify::{
    select_named, Notification, NotificationAction, NotificationKind, NotificationPrefs, Notifier,
};
use crate::{Change, LinkState};

/// Watches the account's changes and raises what the policy selects, until the account's
/// change channel closes or the task is aborted.
pub fn spawn_notifications(
    account: &Account,
    notifier: Arc<dyn Notifier>,
    prefs: Arc<std::sync::RwLock<NotificationPrefs>>,
) -> tokio::task::JoinHandle<()> {
    let mut changes = account.subscribe();
    let account = account.clone();
    tokio::spawn(async move {
        // Told since the link was last live: a spell of full disk is told once, whatever the
        // link passes through (offline, connecting) until it catches up.
        let mut told_disk_full = false;
        loop {
            let change = match changes.recv().await {
                Ok(change) => change,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "notifications fell behind; some changes were not considered"
                    );
                    settle_what_settled_unseen(notifier.as_ref(), &account).await;
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let now = chrono::Local::now().time();
            let read_prefs = || {
                prefs
                    .read()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
            };
            if let Change::Link { state } = change {
                match state {
                    LinkState::DiskFull if !told_disk_full && read_prefs().enabled => {
                        told_disk_full = true;
                        show(notifier.as_ref(), &disk_full()).await;
                    }
                    // Live again: what arrived meanwhile has been applied.
                    LinkState::Connected if told_disk_full => {
                        told_disk_full = false;
                        withdraw(notifier.as_ref(), DISK_FULL_KEY).await;
                    }
                    _ => {}
                }
                continue;
            }
            if let Change::Resynced = change {
                settle_what_settled_unseen(notifier.as_ref(), &account).await;
                continue;
            }
            let info = account.info();
            // A settled request raises nothing; the moment it settles, its notification goes.
            if let Change::Approval { before, after } = &change {
                if after.status != ApprovalStatus::Pending {
                    let was_pending = before
                        .as_ref()
                        .is_some_and(|b| b.status == ApprovalStatus::Pending);
                    if was_pending {
                        settled(notifier.as_ref(), &account, after).await;
                    }
                    continue;
                }
            }
            let role = info.user.role;
            // An approval's project is read once, to name it on the ladder's page or in the
            // notification; other changes read theirs once a notification is chosen.
            let mut project = match &change {
                Change::Approval { after, .. } => read_project(&account, &after.project_id).await,
                _ => None,
            };
            if let Change::Approval { before, after } = &change {
                let name =
                    |id: &str| name_of(project.as_ref(), id).unwrap_or_else(|| id.to_owned());
                // A request on a ladder is shown to those it names when it names them, as the
                // server's pushes are, not to everyone at once.
                match ladder_verdict(before.as_deref(), after, &info.user.id, role, &name) {
                    LadderVerdict::NotOnLadder => {}
                    LadderVerdict::Page(page) | LadderVerdict::TakenBy(page) => {
                        if read_prefs().enabled {
                            show(notifier.as_ref(), &page).await;
                        }
                        continue;
                    }
                    LadderVerdict::Nothing => continue,
                }
            }
            let mut chosen = select_named(&change, &read_prefs(), role, now, |id| {
                name_of(project.as_ref(), id)
            });
            let unnamed = chosen
                .as_ref()
                .and_then(|n| n.project_id.clone())
                .filter(|id| project.as_ref().is_none_or(|p| &p.id != id));
            if let Some(project_id) = unnamed {
                project = read_project(&account, &project_id).await;
                if project.is_some() {
                    chosen = select_named(&change, &read_prefs(), role, now, |id| {
                        name_of(project.as_ref(), id)
                    });
                }
            }
            if let Some(notification) = chosen {
                show(notifier.as_ref(), &notification).await;
            }
        }
    })
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
        if view.approval.status != ApprovalStatus::Pending {
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
