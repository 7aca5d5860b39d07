//! Forwards every change of the shown account's cache to the UI as a `core-change` event (the
//! UI re-reads what changed through the commands) and keeps the tray's pending count current.

use spartex_core::{Account, Change};
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::error::RecvError;

use crate::tray;

pub const CHANGE_EVENT: &str = "core-change";

pub fn spawn(app: AppHandle, account: &Account) -> tokio::task::JoinHandle<()> {
    let mut changes = account.subscribe();
    let account = account.clone();
    tokio::spawn(async move {
        tray::show_pending(&app, &account).await;
        loop {
            let change = match changes.recv().await {
                Ok(change) => change,
                // The UI missed some: a full re-read is as good as every one of them.
                Err(RecvError::Lagged(_)) => Change::Resynced,
                Err(RecvError::Closed) => return,
            };
            if affects_pending(&change) {
                tray::show_pending(&app, &account).await;
            }
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
