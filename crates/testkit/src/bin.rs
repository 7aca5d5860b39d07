//! The workspace's binaries, for tests that run them as child processes from another package
//! (`CARGO_BIN_EXE_*` names only the binaries of a test's own package).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Where `scripts/test.sh` tells the tests its binaries already are.
const PREBUILT_BIN_DIR: &str = "SPARTEX_TEST_BIN_DIR";

/// The path of the binary `bin` of the workspace package `package`, built first in the
/// profile of the running test (cargo's no-op when nothing changed), so a test never runs a
/// stale binary. Built once per test process.
///
/// When `SPARTEX_TEST_BIN_DIR` names a folder, the binary is taken from it instead. The test
/// script builds every binary and test of the workspace in one cargo run just before: a
/// `cargo build -p` from here resolves features for that one package, so it would build most
/// dependencies a second time, beside the tests' own build (twice the disk and the time).
pub fn cargo_bin(package: &str, bin: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(PREBUILT_BIN_DIR) {
        let path = Path::new(&dir).join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
        assert!(
            path.is_file(),
            "{PREBUILT_BIN_DIR} is {} but holds no `{bin}` (of {package}); build it with \
             `cargo build --workspace --bins --tests`, or unset {PREBUILT_BIN_DIR}",
            path.display()
        );
        return path;
    }
    static BUILT: Mutex<Option<HashMap<String, PathBuf>>> = Mutex::new(None);
    let mut built = BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = format!("{package}/{bin}");
    if let Some(path) = built.get_or_insert_with(HashMap::new).get(&key) {
        return path.clone();
    }
    let path = build(package, bin);
    built
        .get_or_insert_with(HashMap::new)
        .insert(key, path.clone());
    path
}

fn build(package: &str, bin: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO")
        .or_else(|| option_env!("CARGO").map(Into::into))
        .unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "--message-format=json-render-diagnostics",
        ])
        .args(["-p", package, "--bin", bin])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if !cfg!(debug_assertions) {
        command.arg("--release");
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cargo runs to build {package}/{bin}: {e}"));
    assert!(
        output.status.success(),
        "`cargo build -p {package} --bin {bin}` failed ({}); its errors are above",
        output.status
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["target"]["name"] == bin
        })
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| panic!("cargo built {package}/{bin} but named no executable"))
}

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/testkit sits two levels below the workspace root")
}
