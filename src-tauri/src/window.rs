//! The main window: bringing it forward and sending the UI somewhere.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager};

use crate::state::Shell;

pub const MAIN: &str = "main";
pub const NAVIGATE_EVENT: &str = "navigate";

/// What the UI receives with a `navigate` event: the route to show.
#[derive(Clone, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Navigate {
    pub path: String,
}

/// Set once the window has shown itself after the start ([`reveal`]): until then it is still
/// starting, and a window hidden afterwards was closed to run on in the background.
#[derive(Default)]
pub struct Revealed(AtomicBool);

impl Revealed {
    fn once(&self) -> bool {
        !self.0.swap(true, Ordering::Relaxed)
    }

    fn done(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Brings the window forward, also when it was closed to run on in the background.
pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        // Still starting (a link that launched the app): it shows itself when ready (`reveal`).
        if !app.state::<Revealed>().done() {
            return;
        }
        // A phone's app window has no minimised state; the OS brings the app forward.
        #[cfg(desktop)]
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The window shows itself this long after the start even if its page never asks.
pub const LATEST_REVEAL: Duration = Duration::from_secs(3);

/// Shows the window, which starts hidden (`tauri.conf.json`), when the UI's first screen has
/// what it shows (`show_window`); once: a window closed later stays hidden until asked for.
///
/// A window shown before WebKit's web process is ready paints first and then waits up to half a
/// second for the page while the web process waits on the window (seen with `gdb` in one launch
/// in three when painting on the CPU; `docs/benchmarks.md`). Shown as the page starts loading, it
/// still waited in 5 launches of 12. Shown once the page has its first screen, it never waits,
/// and its first frame is that screen rather than an empty page.
pub fn reveal(app: &AppHandle) {
    if !app.state::<Revealed>().once() {
        return;
    }
    // A phone's OS shows the app's window (tao ignores `visible` on iOS and Android).
    if cfg!(mobile) {
        return;
    }
    let Some(window) = app.get_webview_window(MAIN) else {
        return;
    };
    match window.show() {
        Ok(()) => app.state::<crate::Launched>().reached("window shown"),
        Err(error) => tracing::warn!(%error, "could not show the window"),
    }
}

/// Shows the window after `delay` if the UI has not by then.
pub fn reveal_after(app: &AppHandle, delay: Duration) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(delay).await;
        reveal(&app);
    });
}

/// Brings the window forward at `path`. The route is also kept until the UI takes it, for a
/// link that arrives while the UI is still loading.
pub fn open_route(app: &AppHandle, path: String) {
    show(app);
    app.state::<Shell>().ask_route(path.clone());
    if let Err(error) = app.emit_to(MAIN, NAVIGATE_EVENT, Navigate { path }) {
        tracing::warn!(%error, "could not send the UI to a route");
    }
}
