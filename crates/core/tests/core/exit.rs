//! A process that exits with its cache still being written (a panic, a path that skips
//! `Store::close`) exits cleanly: SQLCipher's crypto outlives `exit` (store/crypto.rs).
//! Before the fix, 55 of 200 such exits crashed with a segfault or "double free".

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use spartex_core::store::{new_cache_key, Store};

const CHILD_DIR: &str = "SPARTEX_EXIT_WHILE_WRITING_DIR";
const EXITS: usize = 20;
/// A child hung at exit fails the test instead of holding the suite.
const CHILD_PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn a_process_exiting_while_its_cache_is_written_exits_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    for attempt in 0..EXITS {
        let child_dir = dir.path().join(attempt.to_string());
        let child = Command::new(std::env::current_exe().expect("this test binary"))
            .args([
                "--exact",
                "exit::exits_while_writing",
                "--ignored",
                "--nocapture",
            ])
            .env(CHILD_DIR, &child_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs the child");
        let out = output_within(child, CHILD_PATIENCE);
        assert!(
            out.status.success(),
            "exit {attempt} of {EXITS} ended with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("wrote, exiting while writing"),
            "the child never wrote: {stdout}"
        );
    }
}

/// The child's output, once it has exited; killed (and the test failed) past `patience`.
fn output_within(mut child: Child, patience: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().expect("the child's status").is_none() {
        if started.elapsed() > patience {
            let _ = child.kill();
            panic!("the child did not exit within {patience:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("the child's output")
}

/// The child: writers busy on the cache's connection threads while the process exits.
#[test]
#[ignore = "run as a child process by a_process_exiting_while_its_cache_is_written_exits_cleanly"]
fn exits_while_writing() {
    let Some(dir) = std::env::var_os(CHILD_DIR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("child dir");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = runtime
        .block_on(Store::open(&dir.join("cache.db"), &new_cache_key()))
        .expect("opens the cache");
    runtime
        .block_on(store.set_meta("first", "written"))
        .expect("writes");
    for writer in 0..2 {
        let store = store.clone();
        runtime.spawn(async move {
            for i in 0u64.. {
                let value = "v".repeat(3000);
                let _ = store
                    .set_meta(&format!("{writer}-{}", i % 500), &value)
                    .await;
            }
        });
    }
    std::thread::sleep(Duration::from_millis(30));
    println!("wrote, exiting while writing");
    std::process::exit(0);
}
