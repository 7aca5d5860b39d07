//! Notifications: which changes deserve one (the shared policy, [`spartex_policy::notifications`])
//! and how they reach the user ([`Notifier`]; with the `desktop-notifications` feature,
//! [`DesktopNotifier`] for the desktop's notification server; a phone build plugs in its own).
//!
//! A click on a notification's button comes back as a [`NotificationResponse`] on the channel
//! the notifier was built with; whoever owns the channel turns it into a decision or opens the
//! approval.

#[cfg(feature = "desktop-notifications")]
pub mod desktop;
#[cfg(all(feature = "desktop-notifications", unix, not(target_os = "macos")))]
mod freedesktop;
// Only the freedesktop server gives ids to replace and close by.
#[cfg(all(feature = "desktop-notifications", unix, not(target_os = "macos")))]
mod on_screen;

use serde::{Deserialize, Serialize};

#[cfg(feature = "desktop-notifications")]
pub use desktop::DesktopNotifier;
pub use spartex_policy::{
    Notification, NotificationAction, NotificationKind, NotificationPrefs, QuietHours,
};

use spartex_api::Role;

use crate::Change;

/// The notification `change` deserves, for a person of `role` with `prefs`, at local time
/// `now_local`, if any, with projects named by `project_name` (from the cache; an unknown
/// project is named by its id).
pub fn select_named(
    change: &Change,
    prefs: &NotificationPrefs,
    role: Role,
    now_local: chrono::NaiveTime,
    project_name: impl Fn(&str) -> Option<String>,
) -> Option<Notification> {
    let transition = change.transition()?;
    spartex_policy::select_named(&transition, prefs, role, now_local, project_name)
}

/// Like [`select_named`], naming projects by id.
pub fn select(
    change: &Change,
    prefs: &NotificationPrefs,
    role: Role,
    now_local: chrono::NaiveTime,
) -> Option<Notification> {
    select_named(change, prefs, role, now_local, |_| None)
}

/// Shows notifications somewhere a person sees them.
#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError>;

    /// Takes back the notification shown with `key` if it is still on screen: what it asked
    /// for was answered elsewhere, or what it warned of has passed. A notifier that cannot
    /// take one back leaves it.
    async fn withdraw(&self, _key: &str) -> Result<(), NotifyError> {
        Ok(())
    }

    /// Shows `notification` in place of the one with its key, only if that one is still on
    /// screen: what became of a request, for whoever is still looking at it. True when shown.
    /// A notifier that cannot tell what is on screen shows nothing.
    async fn replace_if_shown(&self, _notification: &Notification) -> Result<bool, NotifyError> {
        Ok(false)
    }

    /// Takes back everything still shown (one being shown meanwhile too), waits until it is,
    /// and shows nothing after: nobody will hear their buttons any more (the account is
    /// switched or signed out, the app quits).
    async fn withdraw_all(&self) {}

    /// The keys of the notifications on screen that ask for a decision (Approve, Reject), so
    /// that they can be checked after changes were missed. None where that is not known.
    fn asking(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether a notification shown now would reach the screen (a notification service
    /// answers). A notifier that cannot tell says yes.
    async fn available(&self) -> bool {
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// Nothing answers for `org.freedesktop.Notifications`, or there is no session bus at all.
    #[error(
        "no notification service on the session bus ({detail}): start your desktop's notification \
         daemon (or one such as dunst or mako) in this session, or turn desktop notifications off \
         in Settings"
    )]
    Unavailable { detail: String },
    /// The notification server refused or failed the call.
    #[error("the desktop could not show the notification: {0}")]
    Failed(String),
}

/// The user pressed a notification's button, or clicked the notification itself (`Open`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationResponse {
    /// The [`Notification::key`] of the notification acted on.
    pub key: String,
    pub approval_id: Option<String>,
    pub action: NotificationAction,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LinkState;

    #[test]
    fn changes_that_are_not_transitions_never_notify() {
        let noon = chrono::NaiveTime::from_hms_opt(12, 0, 0).expect("a time of day");
        let changes = [
            Change::Resynced,
            Change::Outbox,
            Change::Link {
                state: LinkState::Offline,
            },
            Change::Progress {
                applied_seq: 1,
                head: 2,
            },
        ];
        for change in changes {
            assert_eq!(
                select(&change, &NotificationPrefs::default(), Role::Owner, noon),
                None,
                "{change:?}"
            );
        }
    }
}
