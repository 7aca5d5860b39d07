//! Forwards every change of the shown account's cache to the UI as a `core-change` event (the
//! UI re-reads what changed through the commands) and, on a desktop, keeps the tray's pending
//! count current.

use spartex_core::{Account, Change};
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::error::RecvError;

#[cfg(desktop)]
use crate::tray::show_pending;

pub const CHANGE_EVENT: &str = "core-change";
const TRAY_REFRESH: std::time::Duration = std::time::Duration::from_millis(500);
/// A phone has no tray: there the pending count is the approvals tab's badge in the UI.
const HAS_TRAY: bool = cfg!(desktop);

pub fn spawn(app: AppHandle, account: &Account) -> tokio::task::JoinHandle<()> {
    let mut changes = account.subscribe();
    let account = account.clone();
    tokio::spawn(async move {
        // The tray count is a query of every pending approval: refreshed at most twice a
        // second, however many approvals a burst brings.
        let mut tray_stale = HAS_TRAY;
        let mut tray_tick = tokio::time::interval(TRAY_REFRESH);
        loop {
            let change = tokio::select! {
                received = changes.recv() => match received {
                    Ok(change) => change,
                    // The UI missed some: a full re-read is as good as every one of them.
                    Err(RecvError::Lagged(_)) => Change::Resynced,
                    Err(RecvError::Closed) => return,
                },
                _ = tray_tick.tick(), if tray_stale => {
                    show_pending(&app, &account).await;
                    tray_stale = false;
                    continue;
                }
            };
            tray_stale |= HAS_TRAY && affects_pending(&change);
            if let Err(error) = app.emit(CHANGE_EVENT, &change) {
                tracing::warn!(%error, "could not pass a change to the UI");
            }
        }
    })
}

fn affects_pending(change: &Change) -> bool {
    matches!(
        change,
        Change::Approval { .. } | Change::Resynced | Change::Outbox
    )
}

#[cfg(mobile)]
async fn show_pending(_app: &AppHandle, _account: &Account) {}
