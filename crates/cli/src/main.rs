//! `spartex`: the Spartex Control terminal client, on the same core as the desktop app.

// Output goes through `out::outln!`, which ends quietly when the reader has gone.
#![deny(clippy::print_stdout)]

mod commands;
mod out;
mod render;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use spartex_core::rules::ApprovalBlocker;
use spartex_core::CoreError;

/// Oversee Spartex agent teams from the terminal: projects, approvals, chat, emergency stop.
/// Reads work offline from the local cache; actions taken offline are queued and delivered once.
#[derive(Debug, Parser)]
#[command(name = "spartex", version, about)]
pub struct Cli {
    /// Print data as JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// Which signed-in account to use (see `spartex accounts`).
    #[arg(long, global = true, env = "SPARTEX_ACCOUNT")]
    pub account: Option<String>,
    /// Keep tokens in a plain file instead of the OS secret store. Unsafe: only where no secret
    /// store exists and the machine is yours alone.
    #[arg(long, global = true, env = "SPARTEX_INSECURE_FILE_SECRETS", value_parser = clap::builder::BoolishValueParser::new())]
    pub insecure_file_secrets: bool,
    /// Read the cache without trying to reach the server first.
    #[arg(long, global = true)]
    pub offline: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Sign in to a Spartex server (password from SPARTEX_PASSWORD, else prompted).
    Login {
        #[arg(long, env = "SPARTEX_SERVER")]
        server: String,
        #[arg(long)]
        email: String,
    },
    /// Sign out: revoke the session, wipe the cache and its key. Refused while actions wait to
    /// be delivered (they are tried once more first), unless `--discard-undelivered`.
    Logout {
        /// Sign out even though queued actions have not reached the server: they are lost.
        #[arg(long)]
        discard_undelivered: bool,
    },
    /// List signed-in accounts.
    Accounts,
    /// The link, the last sync, and what waits in the outbox.
    Status,
    /// Catch up with the server and deliver the outbox.
    Sync,
    /// Every project: agents by status, pending approvals, spend against budget.
    Projects,
    /// One project (by name or id): agents, tasks, approvals, chat, spend.
    Project { project: String },
    /// Approvals waiting for a decision, most urgent first.
    Approvals {
        /// Include decided and expired ones.
        #[arg(long)]
        all: bool,
    },
    /// Approve a pending approval (id or unique prefix).
    Approve {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Reject a pending approval; the comment reaches the agent.
    Reject {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// "I'm on it": stop a pending approval's escalation ladder and show everyone you took it.
    Ack { id: String },
    /// Ask the agent of an expired approval to propose it again, with what to change.
    AskAgain {
        id: String,
        #[arg(long)]
        comment: Option<String>,
    },
    /// Who is on call now and next, the week ahead, and the overrides.
    Oncall,
    /// Write to a project's thread, or to one agent's with --agent.
    Chat {
        project: String,
        message: String,
        /// The agent's name or id.
        #[arg(long)]
        agent: Option<String>,
    },
    /// Emergency stop: halt a project's agents, or every project's with --all.
    Stop {
        project: Option<String>,
        #[arg(long, conflicts_with = "project")]
        all: bool,
        #[arg(long, default_value = "")]
        reason: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Resume a stopped project (managers and owners).
    Resume { project: String },
    /// Search projects, tasks, approvals and messages in the cache.
    Search { text: String },
    /// This person's devices registered for push (phones), with when each last took a push
    /// and its last error.
    Devices,
    /// The organisation's settings; owners change them with the flags.
    Org {
        /// What pushes show on a lock screen: `full` (project and request) or `minimal`
        /// ("Approval needed (critical)").
        #[arg(long, value_parser = ["full", "minimal"])]
        push_detail: Option<String>,
    },
    /// Stream live changes and raise desktop notifications until interrupted.
    Watch {
        /// Do not raise desktop notifications.
        #[arg(long)]
        no_notify: bool,
    },
}

/// Exit codes that tell scripts what happened (README.md, "The CLI").
pub mod exit {
    pub const FAILURE: u8 = 1;
    /// A command line the CLI cannot act on, or a stop left unconfirmed: nothing was done.
    pub const USAGE: u8 = 2;
    /// Not signed in, or signed out by the server: an action waits for `spartex login`, a
    /// watch has ended.
    pub const AUTH: u8 = 3;
    /// Refused: decided elsewhere first, expired, changed, or refused by the server.
    pub const CONFLICT: u8 = 4;
    /// Queued: the action waits in the outbox for the server.
    pub const QUEUED_OFFLINE: u8 = 5;
}

/// How a command ended, beyond plain success.
#[derive(Debug)]
pub enum Ended {
    Done,
    QueuedOffline,
    Refused,
}

/// What a command can fail with: the core's errors, and a command line the CLI cannot act on.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The command line asks for something ambiguous or unconfirmed.
    #[error("{0}")]
    Usage(String),
    /// `spartex login` was refused (a wrong email or password).
    #[error("{0}")]
    SignInRefused(String),
}

pub type CliResult<T> = Result<T, CliError>;

fn exit_code(error: &CliError) -> u8 {
    let error = match error {
        CliError::Core(error) => error,
        CliError::Usage(_) => return exit::USAGE,
        CliError::SignInRefused(_) => return exit::AUTH,
    };
    match error {
        CoreError::SignedOut { .. }
        | CoreError::Forbidden { .. }
        | CoreError::NoAccount
        | CoreError::Secrets(_) => exit::AUTH,
        CoreError::Conflict { .. } | CoreError::Gone { .. } | CoreError::Undelivered { .. } => {
            exit::CONFLICT
        }
        CoreError::Blocked { blocker, .. } => match blocker {
            ApprovalBlocker::RoleTooLow => exit::AUTH,
            ApprovalBlocker::NoPreview => exit::USAGE,
            ApprovalBlocker::AlreadyDecided
            | ApprovalBlocker::Sending
            | ApprovalBlocker::ProjectStopped
            | ApprovalBlocker::Expired => exit::CONFLICT,
        },
        CoreError::UnknownAccount(_)
        | CoreError::AmbiguousAccount(_)
        | CoreError::NotCached { .. }
        | CoreError::Invalid { .. }
        | CoreError::EmptyMessage
        | CoreError::BadServerUrl { .. } => exit::USAGE,
        _ => exit::FAILURE,
    }
}

/// What to do next, in the terminal's terms: the core's messages name no command.
fn hint(error: &CliError) -> Option<&'static str> {
    let CliError::Core(error) = error else {
        return None;
    };
    Some(match error {
        CoreError::SignedOut { .. } => "Sign in again with `spartex login`.",
        CoreError::NoAccount => "Sign in with `spartex login --server URL --email EMAIL`.",
        CoreError::UnknownAccount(_) => "`spartex accounts` lists the signed-in accounts.",
        CoreError::AmbiguousAccount(_) => "Pick one with --account.",
        CoreError::NotCached { .. } => "Run `spartex sync`, or check the id.",
        CoreError::Undelivered { .. } => {
            "`spartex status` lists them; `spartex logout --discard-undelivered` signs out anyway."
        }
        _ => return None,
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SPARTEX_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(Ended::Done) => ExitCode::SUCCESS,
        Ok(Ended::QueuedOffline) => ExitCode::from(exit::QUEUED_OFFLINE),
        Ok(Ended::Refused) => ExitCode::from(exit::CONFLICT),
        Err(error) => {
            match hint(&error) {
                Some(hint) => out::errln!("error: {error} {hint}"),
                None => out::errln!("error: {error}"),
            }
            ExitCode::from(exit_code(&error))
        }
    }
}
