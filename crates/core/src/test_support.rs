//! Helpers for unit tests that need the real desktop session or a process of their own.

/// Set to `1` by `scripts/test-env.sh`, which provides a session bus with an unlocked
/// gnome-keyring and a notification daemon.
const DESKTOP_VAR: &str = "SPARTEX_TEST_DESKTOP";

/// Set in a child started by [`rerun_in_child`].
const CHILD_VAR: &str = "SPARTEX_TEST_CHILD";

/// A session bus address where no bus listens.
pub(crate) const NOWHERE_BUS: &str = "unix:path=/nonexistent/spartex-test/bus";

/// True when the test runs inside `scripts/test-env.sh`. Outside it the test says it is skipped
/// and returns: the only skip there is, so that `cargo nextest` works on a bare machine.
/// Inside it, a missing session bus fails the test.
pub(crate) fn desktop_session() -> bool {
    if std::env::var(DESKTOP_VAR).as_deref() != Ok("1") {
        println!("skipped: needs scripts/test-env.sh");
        return false;
    }
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "{DESKTOP_VAR}=1 but DBUS_SESSION_BUS_ADDRESS is unset: there is no D-Bus session. Run the \
         tests through `bash scripts/test.sh`, or `bash scripts/test-env.sh cargo nextest run ...`, \
         which start a session with gnome-keyring and a notification daemon"
    );
    true
}

/// True in the child process that [`rerun_in_child`] started.
pub(crate) fn in_child() -> bool {
    std::env::var_os(CHILD_VAR).is_some()
}

/// Runs the test named `test` (its path in the crate, e.g. `secret_store::tests::name`) again in a
/// child process of this test binary with `env` set, and fails unless it ran and passed there.
/// For tests that must change process-wide state such as environment variables.
pub(crate) fn rerun_in_child(test: &str, env: &[(&str, &str)]) {
    let binary = std::env::current_exe().expect("the test binary knows its path");
    let output = std::process::Command::new(binary)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, "1")
        .envs(env.iter().copied())
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "`{test}` failed in its child process ({}):\n{stdout}\n{stderr}",
        output.status
    );
    println!("child process of `{test}`:\n{stdout}");
}

/// The temporary files (`*.tmp*`) a write through a temporary file left in `dir`.
pub(crate) fn temporary_files_in(dir: &std::path::Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir)
        .expect("lists")
        .flatten()
        .map(|entry| entry.file_name())
        .filter(|name| name.to_string_lossy().contains(".tmp"))
        .collect()
}
