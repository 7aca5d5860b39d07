//! Clicks on notifications: Approve and Reject decide through the outbox (so they work offline
//! and are delivered once); a click on the notification itself opens what it is about.

use spartex_api::Decision;
use spartex_core::notify::{NotificationAction, NotificationResponse};
use spartex_core::Account;
use tauri::AppHandle;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::navigation::approval_route;
use crate::window;

/// The comment an agent reads when a rejection came from a notification's button.
pub const REJECTED_FROM_NOTIFICATION: &str = "Rejected from a notification.";

pub fn spawn(
    app: AppHandle,
    account: Account,
    mut clicked: UnboundedReceiver<NotificationResponse>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(response) = clicked.recv().await {
            let Some(approval_id) = response.approval_id else {
                window::show(&app);
                continue;
            };
            let decision = match response.action {
                NotificationAction::Approve => (Decision::Approve, None),
                NotificationAction::Reject => (
                    Decision::Reject,
                    Some(REJECTED_FROM_NOTIFICATION.to_owned()),
                ),
                NotificationAction::Open => {
                    window::open_route(&app, approval_route(&approval_id));
                    continue;
                }
            };
            match account.decide(&approval_id, decision.0, decision.1).await {
                Ok(queued) => {
                    tracing::info!(approval = %approval_id, delivered = queued.delivered, "decided from a notification")
                }
                Err(error) => {
                    // The approval changed since the notification: show it as it is now.
                    tracing::info!(approval = %approval_id, %error, "a decision from a notification was not applied");
                    window::open_route(&app, approval_route(&approval_id));
                }
            }
        }
    })
}
