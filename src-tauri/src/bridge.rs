//! Forwards the shown account's cache changes to the UI as `core-changes` events (the UI
//! re-reads what changed through the commands) and, on a desktop, keeps the tray's pending
//! count current.

use spartex_core::{Account, Change};
use tauri::{AppHandle, Emitter};
use tokio::sync::broadcast::{self, error::RecvError, error::TryRecvError};

#[cfg(desktop)]
use crate::tray::show_pending;

/// Its payload is every change waiting when the bridge woke: one event for a burst.
pub const CHANGES_EVENT: &str = "core-changes";
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
            let first = tokio::select! {
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
            let batch = with_the_waiting(first, &mut changes);
            tray_stale |= HAS_TRAY && batch.iter().any(affects_pending);
            if let Err(error) = app.emit(CHANGES_EVENT, &batch) {
                tracing::warn!(%error, "could not pass changes to the UI");
            }
        }
    })
}

/// The most changes one event carries: a bound on the script the webview runs for it.
const MOST_IN_A_BATCH: usize = 500;

/// `first` and the changes already waiting behind it, up to `MOST_IN_A_BATCH`. A sync applies its
/// events a batch at a time and publishes a change per event: emitted one by one, a catch-up
/// made the webview run a script per change, thousands in a row.
fn with_the_waiting(first: Change, changes: &mut broadcast::Receiver<Change>) -> Vec<Change> {
    let mut batch = vec![first];
    while batch.len() < MOST_IN_A_BATCH {
        match changes.try_recv() {
            Ok(change) => batch.push(change),
            Err(TryRecvError::Lagged(_)) => batch.push(Change::Resynced),
            Err(TryRecvError::Empty | TryRecvError::Closed) => break,
        }
    }
    batch
}

fn affects_pending(change: &Change) -> bool {
    matches!(
        change,
        Change::Approval { .. } | Change::Resynced | Change::Outbox
    )
}

#[cfg(mobile)]
async fn show_pending(_app: &AppHandle, _account: &Account) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_in_bounded_batches_and_a_lag_says_re_read() {
        let (sender, mut changes) = broadcast::channel(4);
        sender.send(Change::Outbox).expect("a receiver");
        sender.send(Change::OnCall).expect("a receiver");
        let batch = with_the_waiting(Change::Resynced, &mut changes);
        assert!(matches!(
            batch.as_slice(),
            [Change::Resynced, Change::Outbox, Change::OnCall]
        ));
        assert!(with_the_waiting(Change::Outbox, &mut changes).len() == 1);

        for _ in 0..6 {
            sender.send(Change::OnCall).expect("a receiver");
        }
        let batch = with_the_waiting(Change::Outbox, &mut changes);
        assert!(
            matches!(
                batch.as_slice(),
                [
                    Change::Outbox,
                    Change::Resynced,
                    Change::OnCall,
                    Change::OnCall,
                    Change::OnCall,
                    Change::OnCall
                ]
            ),
            "{batch:?}"
        );

        // A flood goes in events of MOST_IN_A_BATCH.
        let (sender, mut changes) = broadcast::channel(2 * MOST_IN_A_BATCH);
        for _ in 0..MOST_IN_A_BATCH + 10 {
            sender.send(Change::OnCall).expect("a receiver");
        }
        let first = changes.try_recv().expect("one waits");
        assert_eq!(with_the_waiting(first, &mut changes).len(), MOST_IN_A_BATCH);
        let rest = changes.try_recv().expect("the rest waits");
        assert_eq!(with_the_waiting(rest, &mut changes).len(), 10);
    }
}
