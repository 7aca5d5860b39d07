//! End-to-end: the real app binary over WebDriver against the real server with simulated agents.
//! Run inside `scripts/test-env.sh`; `SPARTEX_UPDATE_SCREENSHOTS=1` refreshes `docs/screenshots/`.

mod accounts;
mod background;
mod desktop;
mod launch;
#[path = "../support/notify_monitor.rs"]
mod notify_monitor;
mod oncall;
mod phone;
mod support;
