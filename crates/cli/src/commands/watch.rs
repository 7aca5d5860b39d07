//! `spartex watch`: a line for each change as it arrives, desktop notifications and what is
//! answered on them, until Ctrl-C or the end of the session.

use std::sync::Arc;

use spartex_api::Decision;
use spartex_core::notify::{DesktopNotifier, NotificationAction};
use spartex_core::{Change, Core, CoreError, LinkState};

use super::acting::Acting;
use crate::out::{errln, one_line, outln};
use crate::{render, CliResult, Ended};

pub(super) async fn watch(
    core: &Core,
    acting: &Acting<'_>,
    json: bool,
    no_notify: bool,
) -> CliResult<Ended> {
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
