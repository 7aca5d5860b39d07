//! A watch whose session the server ends stops and exits 3, naming `spartex login`, so that
//! whatever supervises it hears of it instead of keeping a process that will never hear again.

use crate::support::{exit, Cli, TestServer, ONCALL};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_whose_session_is_revoked_elsewhere_exits_3() {
    let mut server = TestServer::start().await;
    let cli = Cli::new();
    let account_id = cli.login(&server, ONCALL).await;

    let mut watch = cli.spawn(&["watch", "--no-notify"]);
    watch.wait_for_line("link      Connected").await;
    cli.revoke_session(&server, &account_id).await;

    let (code, lines) = watch.ended().await;
    let printed = lines.join("\n");
    assert_eq!(code, Some(exit::AUTH), "it printed:\n{printed}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("stderr: error:") && l.contains("spartex login")),
        "it says to sign in again:\n{printed}"
    );
    server.shutdown().await;
}
