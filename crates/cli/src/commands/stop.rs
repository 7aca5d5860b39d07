//! `spartex stop`: the emergency stop, its confirmation, and following the agents'
//! acknowledgements until the stop completes or the wait runs out.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use spartex_api::{Stop, StopStatus};
use spartex_core::{Change, CoreError, LinkState};

use super::acting::{report_queued, Acting, Fate};
use super::{print, refresh};
use crate::out::{one_line, outln};
use crate::{CliError, CliResult, Ended};

pub(super) async fn stop(
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
