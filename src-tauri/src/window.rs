//! The main window: bringing it forward and sending the UI somewhere.

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

pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        // A phone's app window has no minimised state; the OS brings the app forward.
        #[cfg(desktop)]
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
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
