//! Clicks on notifications: Approve and Reject decide through the outbox (so they work offline
//! and are delivered once); a click on the notification itself opens what it is about.

use spartex_api::Decision;
use spartex_core::notify::{NotificationAction, NotificationResponse};
use spartex_core::push::{summary_route, DecidedFromNotification};
use spartex_core::Account;
use tauri::AppHandle;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::navigation::approval_route;
use crate::window;

pub fn spawn(
    app: AppHandle,
    account: Account,
    mut clicked: UnboundedReceiver<NotificationResponse>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(response) = clicked.recv().await {
            let Some(approval_id) = response.approval_id else {
                match summary_route(&response.key) {
                    Some(route) => window::open_route(&app, route.to_owned()),
                    None => window::show(&app),
                }
                continue;
            };
            let decision = match response.action {
                NotificationAction::Approve => Decision::Approve,
                NotificationAction::Reject => Decision::Reject,
                NotificationAction::Open => {
                    window::open_route(&app, approval_route(&approval_id));
                    continue;
                }
            };
            // Refused (someone decided first, it expired): shown as it is now, where the
            // window may be hidden and the notification already gone.
            if let DecidedFromNotification::OpenInstead { route } = account
                .decide_from_notification(&approval_id, decision)
                .await
            {
                window::open_route(&app, route);
            }
        }
    })
}
