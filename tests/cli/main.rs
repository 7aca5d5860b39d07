//! Cross-process tests of the `spartex` binary against the real server: offline work delivered
//! exactly once across SIGKILL, a sync killed midway, exit codes, and `--json` output.

mod broken_pipe;
mod crash_sync;
mod exit_codes;
mod json;
mod offline;
mod support;
