//! Raising notifications for an account: the policy picks, the notifier shows.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;

use crate::account::Account;
use crate::notify::{select, NotificationPrefs, Notifier};

/// Watches the account's changes and raises what the policy selects, until the account's
/// change channel closes or the task is aborted.
pub fn spawn_notifications(
    account: &Account,
    notifier: Arc<dyn Notifier>,
    prefs: Arc<std::sync::RwLock<NotificationPrefs>>,
) -> tokio::task::JoinHandle<()> {
    let mut changes = account.subscribe();
    tokio::spawn(async move {
        loop {
            let change = match changes.recv().await {
                Ok(change) => change,
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(
                        missed,
                        "notifications fell behind; some changes were not considered"
                    );
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let now = chrono::Local::now().time();
            let chosen = {
                let prefs = prefs
                    .read()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                select(&change, &prefs, now)
            };
            if let Some(notification) = chosen {
                if let Err(error) = notifier.notify(&notification).await {
                    tracing::warn!(%error, "could not show a notification");
                }
            }
        }
    })
}
