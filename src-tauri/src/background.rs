//! Closing the window of a desktop app that watches an organisation hides it: notifications
//! (requests, failures, stops) and the delivery of what waits in the outbox go on, as on-call
//! work needs. A second launch, the tray, or a click on a notification brings the window back.
//! Quit (the tray, the account menu) ends the app, after asking when actions still wait for the
//! server: they would wait for the next launch.

#[cfg(desktop)]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(desktop)]
use std::time::Duration;

use serde::Serialize;
#[cfg(desktop)]
use spartex_core::notify::{Notification, NotificationAction, NotificationKind};
use spartex_core::ErrorKind;
#[cfg(desktop)]
use tauri::Emitter;
use tauri::{AppHandle, Manager};

use crate::error::{CommandError, CommandResult};
use crate::state::Shell;
#[cfg(desktop)]
use crate::window;

/// Tells the UI that a Quit from the tray waits for the person's word ([`QuitRefused`]).
pub const QUIT_REFUSED_EVENT: &str = "quit-refused";

/// Why a quit did not happen: actions still wait for the server, in words.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct QuitRefused {
    pub message: String,
}

/// Set once the person was told the app runs on with its window closed (once a run).
#[cfg(desktop)]
#[derive(Default)]
pub struct ToldStillRunning(AtomicBool);

/// The main window's close button: hides the window while the app has work that goes on
/// without it; otherwise (nobody signed in) the app quits, as closing its only window does.
#[cfg(desktop)]
pub fn on_window_event(window: &tauri::Window, event: &tauri::WindowEvent) {
    let tauri::WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    if window.label() != window::MAIN {
        return;
    }
    api.prevent_close();
    let window = window.clone();
    tauri::async_runtime::spawn(async move {
        let app = window.app_handle();
        if !app.state::<Shell>().works_in_background().await {
            app.exit(0);
            return;
        }
        let hidden = window.hide().or_else(|error| {
            tracing::warn!(%error, "could not hide the window; minimising it");
            window.minimize()
        });
        match hidden {
            Ok(()) => tell_still_running(app).await,
            // The close button must not seem dead: without a way to step aside, it quits.
            Err(error) => {
                tracing::warn!(%error, "could not minimise the window either; quitting");
                app.exit(0);
            }
        }
    });
}

#[cfg(desktop)]
async fn tell_still_running(app: &AppHandle) {
    let Some(notifier) = app.state::<Shell>().notifier().await else {
        return;
    };
    if app
        .state::<ToldStillRunning>()
        .0
        .swap(true, Ordering::Relaxed)
    {
        return;
    }
    if let Err(error) = notifier.notify(&still_running()).await {
        tracing::warn!(%error, "could not say that the app runs on");
    }
}

/// Where the window went: without this, a closed window reads as a quit app, and a person
/// who relies on its notifications cannot tell whether they will still come.
#[cfg(desktop)]
fn still_running() -> Notification {
    Notification {
        key: "app:still-running".into(),
        kind: NotificationKind::StillRunning,
        title: "Spartex Control is still running".into(),
        body: "You will still be notified of approvals, failures and stops. To quit, choose \
               Quit in the tray or the account menu."
            .into(),
        project_id: None,
        approval_id: None,
        urgent: false,
        actions: vec![NotificationAction::Open],
    }
}

/// Quits, unless actions still wait for the server and the person has not said `anyway`:
/// then refused with [`ErrorKind::Undelivered`], naming them.
pub async fn quit(app: &AppHandle, anyway: bool) -> CommandResult<()> {
    if !anyway {
        let waiting = app.state::<Shell>().undelivered().await;
        if !waiting.is_empty() {
            return Err(CommandError {
                code: ErrorKind::Undelivered,
                message: waiting_words(&waiting),
            });
        }
    }
    app.exit(0);
    Ok(())
}

/// Told by the UI that it shows the question a Quit from the tray asked ([`quit_from_tray`]).
#[derive(Default)]
pub struct QuitAsked(tokio::sync::Notify);

impl QuitAsked {
    pub fn asked(&self) {
        self.0.notify_waiters();
    }
}

/// How long the tray's Quit waits for the window to ask before it quits all the same: a Quit
/// that does nothing (a window still starting, a UI that failed) is worse than one that holds
/// the actions back for the next launch, where nothing is lost.
#[cfg(desktop)]
const ASKING_PATIENCE: Duration = Duration::from_secs(3);

/// The tray's Quit: asks in the window when actions still wait for the server.
#[cfg(desktop)]
pub fn quit_from_tray(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Err(refused) = quit(&app, false).await else {
            return;
        };
        window::show(&app);
        let asked = app.state::<QuitAsked>();
        let heard = asked.0.notified();
        tokio::pin!(heard);
        heard.as_mut().enable();
        let refused = QuitRefused {
            message: refused.message,
        };
        if let Err(error) = app.emit_to(window::MAIN, QUIT_REFUSED_EVENT, refused) {
            tracing::warn!(%error, "could not ask whether to quit; quitting");
            app.exit(0);
            return;
        }
        if tokio::time::timeout(ASKING_PATIENCE, heard).await.is_err() {
            tracing::warn!("the window did not ask whether to quit; quitting");
            app.exit(0);
        }
    });
}

fn waiting_words(waiting: &[String]) -> String {
    let (count, them) = match waiting.len() {
        1 => ("1 action has".to_owned(), "it"),
        n => (format!("{n} actions have"), "them"),
    };
    format!(
        "{count} not reached the server yet: {}. Quitting holds {them} back until Spartex \
         Control runs again; keep it running to deliver {them}, or quit anyway.",
        waiting.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_what_waits() {
        assert_eq!(
            waiting_words(&["Stop “Spring Sale”".into()]),
            "1 action has not reached the server yet: Stop “Spring Sale”. Quitting holds it \
             back until Spartex Control runs again; keep it running to deliver it, or quit \
             anyway."
        );
        let two = waiting_words(&["Approve “Hero ad”".into(), "Message to Quill".into()]);
        assert!(
            two.starts_with("2 actions have not reached the server yet: Approve “Hero ad”; "),
            "{two}"
        );
        assert!(two.contains("deliver them"), "{two}");
    }
}
