//! The main window: bringing it forward and sending the UI somewhere.

use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager, Runtime, Window};

use crate::state::Shell;

pub const MAIN: &str = "main";
pub const NAVIGATE_EVENT: &str = "navigate";

/// What the UI receives with a `navigate` event: the route to show.
#[derive(Clone, serde::Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Navigate {
    pub path: String,
}

pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        // A phone's app window has no minimised state; the OS brings the app forward.
        #[cfg(desktop)]
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// The window shows itself this long after the start even if its page never begins to load.
pub const LATEST_REVEAL: Duration = Duration::from_secs(3);

/// Shows the window, which starts hidden (`tauri.conf.json`), once its page begins to load.
///
/// A window shown before WebKit's web process is ready paints first and then waits up to half a
/// second for the page's first frame while the web process waits on the window (seen with `gdb`
/// in one launch in three when painting on the CPU; `docs/benchmarks.md`). Shown at
/// `PageLoadEvent::Started`, it never waits.
pub fn reveal<R: Runtime>(window: Window<R>) {
    if window.is_visible().unwrap_or(true) {
        return;
    }
    if let Err(error) = window.show() {
        tracing::warn!(%error, "could not show the window");
    }
}

/// Shows the window after `delay` if its page has not revealed it by then.
pub fn reveal_after(app: &AppHandle, delay: Duration) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        tokio::time::sleep(delay).await;
        if let Some(window) = app.get_webview_window(MAIN) {
            reveal(window.as_ref().window());
        }
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
