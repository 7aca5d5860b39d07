//! The way out of the app. The first exit request (Quit, or the last window gone) is held back
//! while the shell ends the accounts' work and closes their caches on the async runtime, for at
//! most [`PATIENCE`]; then the exit is asked for again and let through.
//!
//! The main thread never waits for the shutdown. It did once (`block_on` in `RunEvent::Exit`),
//! and the tray's refresh, a task the shutdown waits for, was waiting on the main thread in turn
//! (tray setters post to it and wait for the answer): the app never ended.

use std::sync::atomic::{AtomicU8, Ordering::SeqCst};
use std::time::{Duration, Instant};

use tauri::{AppHandle, ExitRequestApi, Manager};

use crate::state::Shell;

/// The log target of the shutdown's steps and their times.
pub const LOG_TARGET: &str = "spartex::shutdown";

/// How long quitting waits for the shell to shut down before the process ends all the same: a
/// Quit that never quits is worse than a cache not closed cleanly.
const PATIENCE: Duration = Duration::from_secs(10);

const RUNNING: u8 = 0;
const SHUTTING_DOWN: u8 = 1;
const SHUT_DOWN: u8 = 2;

/// How far the app is on its way out.
#[derive(Default)]
pub struct Exiting(AtomicU8);

impl Exiting {
    /// Whether the app is shutting down (or shut down): nothing more is shown (the tray).
    #[cfg(desktop)]
    pub fn under_way(&self) -> bool {
        self.0.load(SeqCst) != RUNNING
    }

    /// Starts shutting down if the app was running; says where it was.
    fn start(&self) -> u8 {
        let Exiting(stage) = self;
        let was = stage.compare_exchange(RUNNING, SHUTTING_DOWN, SeqCst, SeqCst);
        was.unwrap_or_else(|was| was)
    }
}

/// `RunEvent::ExitRequested`, from `AppHandle::exit` (`code` is `Some`) or the last window
/// destroyed (`None`): the first one starts the shutdown and is held back, as are those that come
/// while it runs; the one the shutdown makes when it ends goes through.
pub fn on_exit_requested(app: &AppHandle, code: Option<i32>, api: &ExitRequestApi) {
    match app.state::<Exiting>().start() {
        RUNNING => {
            api.prevent_exit();
            tauri::async_runtime::spawn(shut_down(app.clone(), code.unwrap_or(0)));
        }
        SHUTTING_DOWN => {
            tracing::debug!(target: LOG_TARGET, ?code, "exit asked again while shutting down");
            api.prevent_exit();
        }
        _ => tracing::debug!(target: LOG_TARGET, ?code, "exiting"),
    }
}

/// `RunEvent::Exit`: the event loop has ended; the process ends when this returns.
pub fn on_exit(app: &AppHandle) {
    if app.state::<Exiting>().0.load(SeqCst) != SHUT_DOWN {
        // `AppHandle::restart` cannot be held back; this app does not call it.
        tracing::warn!(target: LOG_TARGET, "exiting without having shut down");
    }
}

/// Ends the accounts' work and closes their caches, at most for [`PATIENCE`], then exits.
async fn shut_down(app: AppHandle, code: i32) {
    let started = Instant::now();
    tracing::info!(target: LOG_TARGET, code, "shutting down");
    let shell = app.state::<Shell>();
    match tokio::time::timeout(PATIENCE, shell.shutdown()).await {
        Ok(()) => tracing::info!(
            target: LOG_TARGET,
            ms = started.elapsed().as_millis() as u64,
            "shut down"
        ),
        Err(_) => tracing::warn!(
            target: LOG_TARGET,
            ms = started.elapsed().as_millis() as u64,
            still_running = shell.shutdown_step_under_way().unwrap_or("none"),
            "did not shut down in time; exiting all the same"
        ),
    }
    app.state::<Exiting>().0.store(SHUT_DOWN, SeqCst);
    app.exit(code);
}
