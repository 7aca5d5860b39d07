//! The tray icon: how many approvals wait, and a way back to them.

use spartex_core::Account;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager};

use crate::shutdown::Exiting;
use crate::window;

const TRAY: &str = "main-tray";
const OPEN_APPROVALS: &str = "open-approvals";
const OPEN_APP: &str = "open-app";
const QUIT: &str = "quit";

/// The tray menu's "Approvals" entry, which carries the count.
struct ApprovalsItem(MenuItem<tauri::Wry>);

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let approvals = MenuItem::with_id(app, OPEN_APPROVALS, "Approvals", true, None::<&str>)?;
    app.manage(ApprovalsItem(approvals.clone()));
    let menu = Menu::with_items(
        app,
        &[
            &approvals,
            &MenuItem::with_id(app, OPEN_APP, "Open Spartex Control", true, None::<&str>)?,
            &MenuItem::with_id(app, QUIT, "Quit", true, None::<&str>)?,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id(TRAY)
        .tooltip("Spartex Control")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, event| match event.id().as_ref() {
            OPEN_APPROVALS => window::open_route(app, "/approvals".into()),
            OPEN_APP => window::show(app),
            QUIT => crate::background::quit_from_tray(app),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                window::show(tray.app_handle());
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    Ok(())
}

/// Shows the number of pending approvals on the tray (title where the platform shows one,
/// tooltip everywhere); not once the app is shutting down.
///
/// The tray lives on the main thread: its setters, called from a task, post there and wait for
/// the answer, which holds the runtime's thread meanwhile (and forever, were the main thread
/// to wait for the task). The count is handed over without waiting instead.
pub async fn show_pending(app: &AppHandle, account: &Account) {
    if app.tray_by_id(TRAY).is_none() || shutting_down(app) {
        return;
    }
    let pending = match account.approvals(true).await {
        Ok(approvals) => approvals.len(),
        Err(error) => {
            tracing::warn!(%error, "could not count pending approvals for the tray");
            return;
        }
    };
    if shutting_down(app) {
        return;
    }
    let on_main = app.clone();
    if let Err(error) = app.run_on_main_thread(move || show_count(&on_main, pending)) {
        tracing::warn!(%error, "could not update the tray");
    }
}

/// On the main thread, where the tray's setters run at once.
fn show_count(app: &AppHandle, pending: usize) {
    let Some(tray) = app.tray_by_id(TRAY) else {
        return;
    };
    let _ = tray.set_tooltip(Some(tooltip(pending)));
    let _ = tray.set_title((pending > 0).then(|| pending.to_string()));
    if let Some(item) = app.try_state::<ApprovalsItem>() {
        let _ = item.0.set_text(menu_label(pending));
    }
}

fn shutting_down(app: &AppHandle) -> bool {
    app.state::<Exiting>().under_way()
}

fn tooltip(pending: usize) -> String {
    match pending {
        0 => "Spartex Control — no approvals waiting".into(),
        1 => "Spartex Control — 1 approval waiting".into(),
        n => format!("Spartex Control — {n} approvals waiting"),
    }
}

fn menu_label(pending: usize) -> String {
    if pending == 0 {
        "Approvals".into()
    } else {
        format!("Approvals ({pending} waiting)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_reads_as_words() {
        assert_eq!(tooltip(0), "Spartex Control — no approvals waiting");
        assert_eq!(tooltip(1), "Spartex Control — 1 approval waiting");
        assert_eq!(tooltip(7), "Spartex Control — 7 approvals waiting");
        assert_eq!(menu_label(3), "Approvals (3 waiting)");
    }
}
