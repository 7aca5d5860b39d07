//! Each subcommand: parse, call the core, print. The logic lives in `spartex-core`.
//!
//! Here: the dispatch, and the subcommands that take a few lines; each larger one has its own
//! module.

mod acting;
mod decisions;
mod login;
mod stop;
mod watch;

use std::time::Duration;

use serde::Serialize;
use spartex_api::{Decision, TenantSettings};
use spartex_core::{Account, Core, CoreConfig, CoreError, Undelivered};

use crate::out::{errln, outln};
use crate::{render, Cli, CliError, CliResult, Command, Ended};
use acting::Acting;
use decisions::{decide, find_approval};
use login::login;
use stop::stop;
use watch::watch;

pub async fn run(cli: Cli) -> CliResult<Ended> {
    let config = if cli.insecure_file_secrets {
        CoreConfig::insecure_file_secrets(spartex_core::core::default_data_dir()?)
    } else {
        CoreConfig::os_default()?
    };
    // Kept to tell an action that waits for the link from one that waits for a new sign-in.
    let secrets = config.secrets.clone();
    let core = Core::new(config);
    let json = cli.json;
    let account = cli.account.as_deref();
    match cli.command {
        Command::Login { server, email } => login(&core, &server, &email, json).await,
        Command::Logout {
            discard_undelivered,
        } => {
            let undelivered = Undelivered::discarded_if(discard_undelivered);
            let info = core.logout(account, undelivered).await?;
            print(json, &info, || {
                outln!("Signed out of {} and wiped its cache.", info.id)
            });
            Ok(Ended::Done)
        }
        Command::Accounts => {
            let accounts = core.accounts()?;
            print(json, &accounts, || {
                if accounts.is_empty() {
                    outln!("No account is signed in. Sign in with `spartex login --server URL --email EMAIL`.");
                }
                for a in &accounts {
                    outln!(
                        "{:<28} {} ({}) at {} — {}",
                        a.id,
                        a.user.name,
                        a.user.role,
                        a.tenant.name,
                        a.server_url
                    );
                }
            });
            Ok(Ended::Done)
        }
        command => {
            let account = core.open(account).await?;
            let acting = Acting {
                account: &account,
                secrets: &secrets,
            };
            let ended = with_account(&core, &acting, command, json, cli.offline).await;
            close_cache(&account).await;
            ended
        }
    }
}

/// Closes the cache before the process exits. Only dropped, its connections are closed on
/// their own threads (a checkpoint, then SQLCipher's teardown) while `main` may already be in
/// `exit`, running the C library's exit handlers (OpenSSL's among them): a race that aborted
/// a command with "double free or corruption" instead of its exit code.
async fn close_cache(account: &Account) {
    account.store().close().await;
}

/// `spartex sync --json`
#[derive(Serialize)]
struct SyncOutput<'a> {
    sync: &'a spartex_core::sync::SyncReport,
    outbox: &'a spartex_core::delivery::FlushReport,
}

fn print<T: Serialize>(json: bool, value: &T, text: impl FnOnce()) {
    if json {
        match serde_json::to_string_pretty(value) {
            Ok(out) => outln!("{}", crate::out::json_shown(&out)),
            Err(e) => eprintln!("error: could not print JSON: {e}"),
        }
    } else {
        text();
    }
}

/// Tries to catch up first, so reads are fresh when the server is there; says so when not.
async fn refresh(account: &Account, offline: bool) -> bool {
    if offline {
        return false;
    }
    match tokio::time::timeout(Duration::from_secs(10), account.sync_now()).await {
        Ok(Ok(_)) => true,
        Ok(Err(error)) => {
            if !error.is_transient() {
                errln!("warning: {error}");
            }
            false
        }
        Err(_) => false,
    }
}

async fn freshness_line(account: &Account, live: bool) -> String {
    let last = account.status().await.ok().and_then(|s| s.last_sync_at);
    render::freshness(live, last)
}

async fn with_account(
    core: &Core,
    acting: &Acting<'_>,
    command: Command,
    json: bool,
    offline: bool,
) -> CliResult<Ended> {
    let account = acting.account;
    render::follow_server_clock(account.server_clock());
    match command {
        Command::Status => {
            let reachable = refresh(account, offline).await;
            let status = account.status().await?;
            print(json, &status, || render::status(&status, reachable));
            Ok(Ended::Done)
        }
        Command::Sync => {
            let (report, flushed) = account.sync_now().await?;
            print(
                json,
                &SyncOutput {
                    sync: &report,
                    outbox: &flushed,
                },
                || {
                    outln!(
                        "Applied {} events; cache at seq {} of {}.",
                        report.applied,
                        report.last_seq,
                        report.head
                    );
                    if report.resynced {
                        outln!("The cache was rebuilt from fresh snapshots.");
                    }
                    for outcome in &flushed.outcomes {
                        outln!("{} — {}", outcome.result, outcome.message);
                    }
                    if flushed.waiting > 0 {
                        outln!("{} actions still wait in the outbox.", flushed.waiting);
                    }
                },
            );
            Ok(Ended::Done)
        }
        Command::Projects => {
            let live = refresh(account, offline).await;
            let rows = account.dashboard().await?;
            let fresh = freshness_line(account, live).await;
            print(json, &rows, || {
                render::projects(&rows);
                outln!("\n({fresh})");
            });
            Ok(Ended::Done)
        }
        Command::Project { project } => {
            let live = refresh(account, offline).await;
            let view = account.project(&project).await?;
            let fresh = freshness_line(account, live).await;
            print(json, &view, || {
                render::project(&view);
                outln!("\n({fresh})");
            });
            Ok(Ended::Done)
        }
        Command::Approvals { all } => {
            let live = refresh(account, offline).await;
            let views = account.approvals(!all).await?;
            let fresh = freshness_line(account, live).await;
            print(json, &views, || {
                render::approvals(&views);
                outln!("\n({fresh})");
            });
            Ok(Ended::Done)
        }
        Command::Approve { id, comment } => {
            decide(acting, &id, Decision::Approve, comment, json, offline).await
        }
        Command::Reject { id, comment } => {
            decide(acting, &id, Decision::Reject, comment, json, offline).await
        }
        Command::Ack { id } => {
            refresh(account, offline).await;
            let id = find_approval(account, &id).await?;
            acting.report(&account.ack(&id).await?, json).await
        }
        Command::AskAgain { id, comment } => {
            refresh(account, offline).await;
            let id = find_approval(account, &id).await?;
            acting
                .report(&account.ask_again(&id, comment).await?, json)
                .await
        }
        Command::Oncall => {
            let view = if offline {
                account.cached_oncall_now().await?
            } else {
                account.oncall().await?
            };
            print(json, &view, || render::oncall(&view.oncall, view.live));
            Ok(Ended::Done)
        }
        Command::Chat {
            project,
            message,
            agent,
        } => {
            refresh(account, offline).await;
            let view = account.project(&project).await?;
            let agent_id = match agent {
                Some(agent) => Some(
                    view.agents
                        .iter()
                        .find(|a| a.id == agent || a.name.eq_ignore_ascii_case(&agent))
                        .map(|a| a.id.clone())
                        .ok_or_else(|| CoreError::NotCached {
                            what: "agent",
                            id: agent.clone(),
                        })?,
                ),
                None => None,
            };
            let queued = account
                .send_message(&view.project.id, agent_id.as_deref(), &message)
                .await?;
            acting.report(&queued, json).await
        }
        Command::Stop {
            project,
            all,
            reason,
            yes,
        } => stop(acting, project, all, &reason, yes, json, offline).await,
        Command::Resume { project } => {
            refresh(account, offline).await;
            let queued = account.resume(&project).await?;
            acting.report(&queued, json).await
        }
        Command::Devices => {
            let devices = account.push_devices().await?;
            print(json, &devices, || render::devices(&devices));
            Ok(Ended::Done)
        }
        Command::Org { push_detail } => {
            let settings = match push_detail {
                Some(detail) => {
                    let push_detail = detail
                        .parse()
                        .map_err(|e| CliError::Usage(format!("--push-detail: {e}")))?;
                    account
                        .put_tenant_settings(TenantSettings { push_detail })
                        .await?
                }
                None => account.tenant_settings().await?,
            };
            print(json, &settings, || render::org(&settings));
            Ok(Ended::Done)
        }
        Command::Search { text } => {
            let hits = account.search(&text, 30).await?;
            print(json, &hits, || {
                if hits.is_empty() {
                    outln!("Nothing in the cache matches “{text}”.");
                }
                for hit in &hits {
                    outln!(
                        "{:<9} {}  {} — {}",
                        hit.kind,
                        render::short_id(&hit.id),
                        hit.title,
                        hit.snippet.replace('\n', " ")
                    );
                }
            });
            Ok(Ended::Done)
        }
        Command::Watch { no_notify } => watch(core, acting, json, no_notify).await,
        Command::Login { .. } | Command::Logout { .. } | Command::Accounts => Ok(Ended::Done),
    }
}
