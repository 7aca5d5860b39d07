//! Cross-process tests of the `spartex` binary against the real server: offline work delivered
//! exactly once across SIGKILL, a sync killed midway, a full disk, exit codes, `--json` output,
//! and on-call from the terminal.

mod broken_pipe;
mod burst;
mod crash_sync;
mod disk_full;
mod exit_codes;
mod json;
#[path = "../support/notify_monitor.rs"]
mod notify_monitor;
mod offline;
mod oncall;
mod session_ended;
#[path = "../support/small_disk.rs"]
mod small_disk;
mod support;
mod terminal;
mod undelivered;
