//! Output into a pipe whose reader has gone (`spartex approvals | head -1`) ends the command
//! quietly, with success, instead of a panic and a backtrace.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Child;

use crate::support::{exit, Cli, TestServer, ONCALL, PATIENCE};

/// Waits for the process to end and returns its exit code and everything it wrote to stderr.
async fn ended(mut child: Child) -> (Option<i32>, String) {
    let mut stderr = String::new();
    let mut pipe = child.stderr.take().expect("piped stderr");
    let status = tokio::time::timeout(PATIENCE, async {
        let _ = pipe.read_to_string(&mut stderr).await;
        child.wait().await
    })
    .await
    .expect("the command ends within the patience window")
    .expect("an exit status");
    (status.code(), stderr)
}

#[track_caller]
fn assert_quiet(code: Option<i32>, stderr: &str) {
    assert!(!stderr.contains("panicked"), "a panic on stderr:\n{stderr}");
    assert!(
        !stderr.contains("Broken pipe"),
        "an error on stderr:\n{stderr}"
    );
    assert_eq!(code, Some(exit::OK), "stderr:\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_into_a_closed_pipe_ends_quietly() {
    let server = TestServer::start().await;
    for title in [
        "Publish the spring headline",
        "Swap the hero image",
        "Raise the bid",
    ] {
        server.ask("Iris", title).await;
    }
    let cli = Cli::new();
    cli.login(&server, ONCALL).await;

    // The reader is gone before the first line is written, so that line meets the closed pipe.
    let mut child = cli.start(&["approvals"]);
    drop(child.stdout.take());
    let (code, stderr) = ended(child).await;
    assert_quiet(code, &stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_whose_reader_leaves_ends_quietly() {
    let server = TestServer::start().await;
    let cli = Cli::new();
    cli.login(&server, ONCALL).await;

    // `spartex watch | head -1`: one line read, then the pipe closes.
    let mut child = cli.start(&["watch", "--no-notify"]);
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let first = tokio::time::timeout(PATIENCE, async {
        loop {
            server.ask("Iris", "Publish the spring headline").await;
            let next = tokio::time::timeout(Duration::from_secs(1), stdout.next_line()).await;
            if let Ok(line) = next {
                return line;
            }
        }
    })
    .await
    .expect("the watch prints a line within the patience window")
    .expect("stdout is readable");
    assert!(first.is_some(), "the watch printed nothing");
    drop(stdout);

    // The next change it prints meets the closed pipe, and it ends.
    let ending = async {
        loop {
            server.ask("Iris", "Swap the hero image").await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    let (code, stderr) = tokio::select! {
        ended = ended(child) => ended,
        () = ending => unreachable!("asking never ends"),
    };
    assert_quiet(code, &stderr);
}
