//! Notifications: which changes deserve one ([`policy`]) and how they reach the user
//! ([`Notifier`], with [`DesktopNotifier`] for the desktop's notification server).
//!
//! A click on a notification's button comes back as a [`NotificationResponse`] on the channel
//! the notifier was built with; whoever owns the channel turns it into a decision or opens the
//! approval.

pub mod desktop;
pub mod policy;

use serde::{Deserialize, Serialize};

pub use desktop::DesktopNotifier;
pub use policy::{
    select, select_named, Notification, NotificationAction, NotificationKind, NotificationPrefs,
    QuietHours,
};

/// Shows notifications somewhere a person sees them.
#[async_trait::async_trait]
pub trait Notifier: Send + Sync {
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError>;
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
