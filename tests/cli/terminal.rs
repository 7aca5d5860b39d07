//! What needs a person at a terminal: the emergency stop's typed confirmation, and the
//! password prompt of `spartex login`. The terminal is a pseudo-terminal of the test's own
//! (Python's `pty`), or none at all (`setsid`, util-linux).

use serde_json::json;

use crate::support::{exit, Cli, TestServer, LAUNCH, ONCALL, OWNER};

/// Runs its arguments on a new pseudo-terminal after typing `argv[1]` into it, and prints all
/// the terminal showed; exits with the command's exit code.
const ON_A_TERMINAL: &str = r#"
import os, pty, sys
typed, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
os.write(fd, typed.encode())
shown = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    shown += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
"#;

/// A stop left unconfirmed (the name mistyped, or the input ended) halts nothing and does not
/// exit 0: a script going on after it must not take the agents for stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unconfirmed_stop_stops_nothing_and_exits_2() {
    let mut server = TestServer::start().await;
    let mut cli = Cli::new();
    cli.login(&server, OWNER).await;

    for (typed, why) in [
        ("Lumen X2 Launch\n", "a mistyped name"),
        ("\u{4}", "end of input"),
    ] {
        cli.run_under(vec![
            "python3".into(),
            "-c".into(),
            ON_A_TERMINAL.into(),
            typed.into(),
        ]);
        let run = cli.run(&["stop", LAUNCH]).await;
        assert!(
            run.stdout.contains("Type “Lumen X1 Launch” to confirm"),
            "{why}: it asked on the terminal: {run:?}"
        );
        run.expect_code(exit::USAGE);
        assert!(
            run.stdout.contains("Not confirmed") && run.stdout.contains("nothing was stopped"),
            "{why}: {run:?}"
        );
    }

    let owner = server.token(OWNER).await;
    assert_eq!(
        server.get(&owner, "/api/v1/stops").await,
        json!([]),
        "nothing was stopped"
    );
    server.shutdown().await;
}

/// Without a terminal to ask on and without SPARTEX_PASSWORD, `spartex login` says to set it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_without_a_terminal_names_spartex_password() {
    let mut server = TestServer::start().await;
    let mut cli = Cli::new();
    // A session of its own has no controlling terminal: /dev/tty cannot be opened.
    cli.run_under(
        ["env", "-u", "SPARTEX_PASSWORD", "setsid", "--wait"]
            .map(String::from)
            .to_vec(),
    );
    let url = server.url();
    let run = cli
        .run(&["login", "--server", &url, "--email", OWNER])
        .await;
    assert_ne!(run.code, Some(exit::OK), "{run:?}");
    assert!(
        run.stderr.contains("could not read the password"),
        "{run:?}"
    );
    assert!(run.stderr.contains("SPARTEX_PASSWORD"), "{run:?}");
    server.shutdown().await;
}

/// An empty SPARTEX_PASSWORD (a script's unset variable, expanded) is a usage error naming it,
/// not a sign-in with an empty password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_spartex_password_is_named_not_sent() {
    let mut server = TestServer::start().await;
    let cli = Cli::new();
    let url = server.url();
    let run = cli
        .run_with_password(&["login", "--server", &url, "--email", ONCALL], "")
        .await;
    run.expect_code(exit::USAGE);
    assert!(
        run.stderr.contains("SPARTEX_PASSWORD is set but empty"),
        "{run:?}"
    );
    server.shutdown().await;
}
