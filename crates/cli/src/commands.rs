//! Each subcommand: parse, call the core, print. The logic lives in `spartex-core`.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use spartex_api::{Decision, Stop, StopStatus, TenantSettings};
use spartex_core::actions::OutboxKind;
use spartex_core::notify::{DesktopNotifier, NotificationAction};
use spartex_core::rules::ApprovalBlocker;
use spartex_core::session::{blocking_secret, tokens_key};
use spartex_core::{
    Account, Change, Core, CoreConfig, CoreError, LinkState, Outcome, OutcomeResult, Queued,
    Secret, SecretStore, Undelivered,
};

use crate::out::{errln, one_line, outln};
use crate::{render, Cli, CliError, CliResult, Command, Ended};

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

/// `spartex approve|reject --json` when the cache already shows why the decision cannot apply.
#[derive(Serialize)]
struct NotApplied<'a> {
    delivered: bool,
    outcome: &'a Outcome,
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

async fn login(core: &Core, server: &str, email: &str, json: bool) -> CliResult<Ended> {
    let password = match std::env::var("SPARTEX_PASSWORD") {
        // A script's unset variable, expanded: no server has an empty password.
        Ok(password) if password.is_empty() => {
            return Err(CliError::Usage(
                "SPARTEX_PASSWORD is set but empty: set it to the password, or unset it to be \
                 asked for it."
                    .into(),
            ))
        }
        Ok(password) => Secret::new(password),
        Err(_) => Secret::new(
            rpassword::prompt_password(format!("Password for {email}: ")).map_err(|e| {
                CoreError::Local(format!(
                    "could not read the password: {e}. Without a terminal to ask on, give it \
                     in the SPARTEX_PASSWORD environment variable."
                ))
            })?,
        ),
    };
    let account = match core.login(server, email, &password).await {
        Ok(account) => account,
        // The sign-in itself was refused: its message says why; no advice to sign in again.
        Err(CoreError::SignedOut { message }) => return Err(CliError::SignInRefused(message)),
        Err(other) => return Err(other.into()),
    };
    let ended = sync_after_login(&account, json).await;
    close_cache(&account).await;
    ended
}

async fn sync_after_login(account: &Account, json: bool) -> CliResult<Ended> {
    let info = account.info().clone();
    if !json {
        outln!(
            "Signed in to {} as {} ({}). Account: {}",
            info.tenant.name,
            info.user.name,
            info.user.role,
            info.id
        );
        eprintln!("Syncing…");
    }
    // What waited for this sign-in (taken while the session had ended) goes now, not at the
    // next `sync` or `watch`.
    let (report, sent) = account.sync_now().await?;
    let signed_in = SignedIn {
        account: &info,
        cached_events: report.last_seq,
        sent: &sent,
    };
    print(json, &signed_in, || {
        outln!("Cached {} events; ready to work offline.", report.last_seq);
        if sent.delivered > 0 {
            outln!(
                "Delivered {} action(s) that waited for this sign-in.",
                sent.delivered
            );
        }
        for refused in sent
            .outcomes
            .iter()
            .filter(|o| o.result != OutcomeResult::Delivered)
        {
            outln!("Refused: {} ({})", refused.action, refused.message);
        }
    });
    Ok(Ended::Done)
}

/// What `spartex login --json` prints: the account, and what waited for this sign-in (taken
/// while the session had ended), delivered or refused now.
#[derive(Serialize)]
struct SignedIn<'a> {
    #[serde(flatten)]
    account: &'a spartex_core::AccountInfo,
    cached_events: i64,
    sent: &'a spartex_core::delivery::FlushReport,
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

/// Finds a pending approval by id or unique prefix.
async fn find_approval(account: &Account, id: &str) -> CliResult<String> {
    let matches: Vec<String> = account
        .approvals(false)
        .await?
        .into_iter()
        .map(|v| v.approval.id)
        .filter(|full| full == id || full.starts_with(id))
        .collect();
    match matches.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(CoreError::NotCached {
            what: "approval",
            id: id.to_owned(),
        }
        .into()),
        _ => Err(CliError::Usage(format!(
            "`{id}` matches several approvals; give more of the id."
        ))),
    }
}

async fn decide(
    acting: &Acting<'_>,
    id: &str,
    decision: Decision,
    comment: Option<String>,
    json: bool,
    offline: bool,
) -> CliResult<Ended> {
    let account = acting.account;
    refresh(account, offline).await;
    let id = find_approval(account, id).await?;
    let view = account.approval(&id).await?;
    // What may be decided is the core's rule (`spartex_core::rules`), the same for every face.
    match account.decide(&id, decision, comment).await {
        Ok(queued) => acting.report(&queued, json).await,
        // Decided elsewhere first, and the cache already knows: the same report, on the same
        // stream and with the same exit code, as when the server refuses the decision.
        Err(CoreError::Blocked {
            blocker:
                blocker @ (ApprovalBlocker::AlreadyDecided
                | ApprovalBlocker::Sending
                | ApprovalBlocker::ProjectStopped),
            message,
        }) => {
            let verb = match decision {
                Decision::Approve => "Approve",
                Decision::Reject => "Reject",
            };
            let outcome = Outcome {
                at: chrono::Utc::now(),
                result: if blocker == ApprovalBlocker::AlreadyDecided {
                    OutcomeResult::AlreadyDecided
                } else {
                    OutcomeResult::Refused
                },
                action: format!("{verb} “{}”", view.approval.title),
                message,
                approval_id: Some(id),
                project_id: Some(view.approval.project_id.clone()),
            };
            print(
                json,
                &NotApplied {
                    delivered: false,
                    outcome: &outcome,
                },
                || outln!("{} — not applied: {}", outcome.action, outcome.message),
            );
            Ok(Ended::Refused)
        }
        Err(other) => Err(other.into()),
    }
}

/// The account a command acts on, and the secret store its sign-in is kept in.
struct Acting<'a> {
    account: &'a Account,
    secrets: &'a Arc<dyn SecretStore>,
}

/// What became of an action the core queued and tried to deliver at once.
enum Fate<'q> {
    /// The server took it.
    Delivered,
    /// The server refused it: the outcome says why; it has left the outbox and its local
    /// effect is undone.
    Refused(&'q Outcome),
    /// It waits in the outbox, and only a new sign-in sends it: the session has ended.
    SignedOut,
    /// It waits in the outbox for the server (unreachable, busy, or failing it).
    Waiting,
}

impl Acting<'_> {
    /// Whether this account's sign-in has ended. The core forgets the tokens of a session the
    /// server refused, and without them sends nothing until `spartex login`. Only whether they
    /// are there leaves the secret store's call; a store that cannot be read says nothing.
    async fn signed_out(&self) -> bool {
        let key = tokens_key(&self.account.info().id);
        blocking_secret(self.secrets, move |store| Ok(store.get(&key)?.is_none()))
            .await
            .unwrap_or(false)
    }

    async fn fate<'q>(&self, queued: &'q Queued) -> Fate<'q> {
        match &queued.outcome {
            Some(outcome) if outcome.result != OutcomeResult::Delivered => Fate::Refused(outcome),
            _ if queued.delivered => Fate::Delivered,
            _ if self.signed_out().await => Fate::SignedOut,
            _ => Fate::Waiting,
        }
    }

    /// Says what became of a queued action, and ends the command by it: 0 delivered,
    /// 4 refused, 3 signed out (it waits for `spartex login`), 5 waiting for the server.
    /// Every command that queues an action reports through here.
    async fn report(&self, queued: &Queued, json: bool) -> CliResult<Ended> {
        let fate = self.fate(queued).await;
        report_queued(queued, &fate, json)
    }
}

fn report_queued(queued: &Queued, fate: &Fate<'_>, json: bool) -> CliResult<Ended> {
    let label = &queued.entry.label;
    let stop = queued.entry.kind == OutboxKind::Stop;
    let because = || {
        queued
            .waiting_because
            .as_deref()
            .map(|r| format!("\n  ({r})"))
            .unwrap_or_default()
    };
    print(json, queued, || match fate {
        Fate::Delivered => match &queued.outcome {
            Some(outcome) => outln!("{}", outcome.message),
            None => outln!("{label} — delivered."),
        },
        Fate::Refused(outcome) => {
            outln!("{} — not applied: {}", outcome.action, outcome.message)
        }
        Fate::SignedOut if stop => outln!(
            "!! {label} is NOT DELIVERED: this sign-in has ended. It waits at the front of the \
             outbox and is sent once you sign in again (`spartex login`, then `spartex sync`)."
        ),
        Fate::SignedOut => outln!(
            "{label} — not delivered: this sign-in has ended. It waits in the outbox and is sent \
             once you sign in again (`spartex login`, then `spartex sync`)."
        ),
        Fate::Waiting if stop => outln!(
            "!! {label} is NOT YET DELIVERED. It waits at the front of the outbox and is sent \
             the moment the server takes it (`spartex watch` or `spartex sync`).{}",
            because()
        ),
        Fate::Waiting => outln!(
            "{label} — queued offline; it will be delivered once when the link returns \
             (`spartex sync` or `spartex watch`).{}",
            because()
        ),
    });
    match fate {
        Fate::Delivered => Ok(Ended::Done),
        Fate::Refused(_) => Ok(Ended::Refused),
        Fate::SignedOut => Err(CoreError::SignedOut {
            message: queued
                .waiting_because
                .clone()
                .unwrap_or_else(|| "This sign-in has ended.".to_owned()),
        }
        .into()),
        Fate::Waiting => Ok(Ended::QueuedOffline),
    }
}

async fn stop(
    acting: &Acting<'_>,
    project: Option<String>,
    all: bool,
    reason: &str,
    yes: bool,
    json: bool,
    offline: bool,
) -> CliResult<Ended> {
    let account = acting.account;
    refresh(account, offline).await;
    let target = match (&project, all) {
        (Some(project), false) => Some(account.project(project).await?.project),
        (None, true) => None,
        _ => {
            return Err(CliError::Usage(
                "Name a project to stop, or pass --all.".into(),
            ))
        }
    };
    if !yes {
        // The name as shown is the name to type.
        let expected = target
            .as_ref()
            .map_or("STOP".to_owned(), |p| one_line(&p.name).trim().to_owned());
        let what = target
            .as_ref()
            .map_or("every project's agents".to_owned(), |p| {
                format!("the agents of {}", one_line(&p.name))
            });
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(format!(
                "Stopping {what} needs confirmation; pass --yes."
            )));
        }
        eprint!("This halts {what}. Type “{expected}” to confirm: ");
        let _ = std::io::stderr().flush();
        let mut typed = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut typed)
            .map_err(|e| CoreError::Local(e.to_string()))?;
        if typed.trim() != expected {
            // Not done, so not success: a script (or a person's `&& …`) must not go on as if
            // the agents were halted.
            return Err(CliError::Usage(format!(
                "Not confirmed (“{expected}” was not typed); nothing was stopped."
            )));
        }
    }
    let mut changes = account.subscribe();
    let running = account.start();
    let queued = match &target {
        Some(project) => account.stop_project(&project.id, reason).await?,
        None => account.stop_all(reason).await?,
    };
    let fate = acting.fate(&queued).await;
    if !matches!(fate, Fate::Delivered) {
        running.stop().await;
        return report_queued(&queued, &fate, json);
    }
    let scope_project = target.as_ref().map(|p| p.id.clone());
    if !json {
        outln!(
            "{}",
            queued
                .outcome
                .as_ref()
                .map_or(queued.entry.label.clone(), |o| o.message.clone())
        );
    }
    // The stop this command made: the server's answer is in the cache now, the newest stop of
    // its scope by the server's clock. (Comparing the server's `requested_at` with this
    // machine's clock would miss it whenever the two clocks disagree.)
    // Sent without being kept (a full disk), it is not in the cache: the newest there is older.
    let sent_unkept = queued.entry.id == 0;
    let ours = if sent_unkept {
        None
    } else {
        account.latest_stop(scope_project.as_deref()).await?
    };
    let mut acked = std::collections::BTreeSet::new();
    let mut report_acks = |stop: &Stop| {
        for agent in &stop.agents {
            if agent.acked_at.is_some() && acked.insert(agent.agent_id.clone()) && !json {
                outln!("  ✓ {} acknowledged", agent.agent_name);
            }
        }
    };
    if let Some(stop) = &ours {
        report_acks(stop);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut last = ours.clone().map(Box::new);
    let mut disk_full = false;
    while last
        .as_ref()
        .is_none_or(|stop| stop.status == StopStatus::Pending)
    {
        let Ok(Ok(change)) = tokio::time::timeout_at(deadline, changes.recv()).await else {
            break;
        };
        if let Change::Link {
            state: LinkState::DiskFull,
        } = change
        {
            // Acknowledgements reach this machine through its cache, which cannot take them.
            disk_full = true;
            break;
        }
        let Change::Stop { after, .. } = change else {
            continue;
        };
        let mine = match &ours {
            Some(ours) => after.id == ours.id,
            None => after.project_id == scope_project,
        };
        if mine {
            report_acks(&after);
            last = Some(after);
        }
    }
    running.stop().await;
    match last {
        Some(stop) => {
            print(json, &stop, || match stop.status {
                StopStatus::Completed => {
                    let resumed = stop
                        .agents
                        .iter()
                        .filter(|a| a.acked_at.is_none() && a.resumed_at.is_some())
                        .count();
                    let lifted = match resumed {
                        0 => String::new(),
                        n => format!(" A resume lifted it for {n} before they answered."),
                    };
                    outln!(
                        "Stop completed: {} of {} agents acknowledged.{lifted}",
                        stop.agents_stopped,
                        stop.agents_total
                    )
                }
                StopStatus::Partial => {
                    let silent: Vec<&str> = stop
                        .agents
                        .iter()
                        .filter(|a| a.forced)
                        .map(|a| a.agent_name.as_str())
                        .collect();
                    outln!(
                        "Stop ended PARTIAL: {} never answered and were stopped by force.",
                        silent.join(", ")
                    );
                }
                StopStatus::Pending => {
                    outln!("Still waiting for acknowledgements; `spartex status` shows the stop.")
                }
                StopStatus::Unknown => outln!(
                    "The stop is in a state this version does not know ({} of {} agents \
                     acknowledged); update spartex to see it whole.",
                    stop.agents_stopped,
                    stop.agents_total
                ),
            });
        }
        None if disk_full => print(json, &queued, || {
            outln!(
                "Delivered. The local cache's disk is full, so acknowledgements cannot be \
                 followed here: free some space, or follow them on another device."
            )
        }),
        None => print(json, &queued, || {
            outln!("Delivered; no acknowledgement seen yet. `spartex project` shows the agents.")
        }),
    }
    Ok(Ended::Done)
}

async fn watch(core: &Core, acting: &Acting<'_>, json: bool, no_notify: bool) -> CliResult<Ended> {
    let account = acting.account;
    let mut changes = account.subscribe();
    // The link's state, apart from the changes: a burst of changes that outruns the channel
    // cannot hide that the session ended.
    let mut link = account.watch_link();
    let (responses, mut clicked) = tokio::sync::mpsc::unbounded_channel();
    // Before the link starts, so that its first connection says whether notifications are
    // raised here.
    let notifications = if no_notify {
        None
    } else {
        let prefs = Arc::new(std::sync::RwLock::new(
            core.notification_prefs(&account.info().id)?,
        ));
        Some(spartex_core::alerts::spawn_notifications(
            account,
            Arc::new(DesktopNotifier::new(responses)),
            prefs,
        ))
    };
    let running = account.start();
    if !json {
        errln!("Watching {} — Ctrl-C to stop.", account.info().tenant.name);
    }
    let mut signed_out = false;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            Ok(()) = link.changed() => {
                // The server ended the session: nothing more comes until `spartex login`, and a
                // supervisor must hear of it rather than watch a silent process.
                if *link.borrow_and_update() == LinkState::SignedOut {
                    signed_out = true;
                    break;
                }
            }
            Some(response) = clicked.recv() => {
                if let Some(approval_id) = response.approval_id {
                    let decision = match response.action {
                        NotificationAction::Approve => Some(Decision::Approve),
                        NotificationAction::Reject => Some(Decision::Reject),
                        NotificationAction::Open => None,
                    };
                    if let Some(decision) = decision {
                        let reported = match account.decide(&approval_id, decision, None).await {
                            Ok(queued) => acting.report(&queued, json).await,
                            Err(error) => Err(error.into()),
                        };
                        if let Err(error) = reported {
                            errln!("error: {error}");
                        }
                    }
                }
            }
            change = changes.recv() => match change {
                Ok(change) => {
                    watch_line(&change, json);
                    if crate::out::reader_gone() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => eprintln!("({n} changes skipped: too many at once)"),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
        }
    }
    if let Some(task) = notifications {
        task.abort();
    }
    running.stop().await;
    if signed_out {
        return Err(CoreError::SignedOut {
            message: format!(
                "The server at {} ended this session (signed out or revoked elsewhere); the \
                 watch has stopped.",
                account.info().server_url
            ),
        }
        .into());
    }
    Ok(Ended::Done)
}

fn watch_line(change: &Change, json: bool) {
    if json {
        if let Ok(line) = serde_json::to_string(change) {
            outln!("{}", crate::out::json_shown(&line));
        }
        return;
    }
    let now = chrono::Local::now().format("%H:%M:%S");
    match change {
        Change::Approval { after, .. } => outln!(
            "{now} approval  {:<8} {} — {}",
            after.risk,
            one_line(&after.title),
            after.status
        ),
        Change::Agent { before, after }
            if before.as_ref().is_none_or(|b| b.status != after.status) =>
        {
            outln!(
                "{now} agent     {} is {}",
                one_line(&after.name),
                after.status
            )
        }
        Change::Message { message } => outln!(
            "{now} chat      {}: {}",
            one_line(&message.author_name),
            one_line(message.body.lines().next().unwrap_or_default())
        ),
        Change::Stop { after, .. } => outln!(
            "{now} stop      {} — {}/{} acknowledged",
            after.status,
            after.agents_stopped,
            after.agents_total
        ),
        Change::Project { before, after }
            if before.as_ref().is_none_or(|b| b.status != after.status) =>
        {
            outln!(
                "{now} project   {} is {}",
                one_line(&after.name),
                after.status
            )
        }
        Change::Outcome { outcome } => {
            outln!(
                "{now} outbox    {} — {}",
                outcome.result,
                one_line(&outcome.message)
            )
        }
        Change::Link { state } => outln!("{now} link      {}", render::link_words(state)),
        Change::OnCall => outln!("{now} on call   the schedule or its overrides changed"),
        Change::Resynced => outln!("{now} cache     rebuilt from fresh snapshots"),
        _ => {}
    }
}
