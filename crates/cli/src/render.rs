//! Text output: every number with its unit and context, freshness always said.

use crate::out::{one_line, outln};
use chrono::{DateTime, Utc};
use spartex_api::{
    Approval, Device, NotifyChannel, NotifyResult, OnCall, Preview, PushDetail, TenantSettings,
};
use spartex_core::server_clock::ServerClock;
use spartex_core::store::views::{ApprovalView, ProjectSummary, ProjectView};
use spartex_core::{LinkState, Status};

pub fn money(amount: f64) -> String {
    let whole = amount.abs() >= 100.0;
    let text = if whole {
        format!("{:.0}", amount.abs())
    } else {
        format!("{:.2}", amount.abs())
    };
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if amount < 0.0 { "-" } else { "" };
    match frac {
        Some(frac) => format!("{sign}${grouped}.{frac}"),
        None => format!("{sign}${grouped}"),
    }
}

pub fn spend(spent: f64, budget: f64) -> String {
    if budget <= 0.0 {
        return format!("{} spent, no budget", money(spent));
    }
    format!(
        "{} of {} ({:.0} %)",
        money(spent),
        money(budget),
        spent / budget * 100.0
    )
}

/// The account's server clock, once a command has an account: the times the CLI is shown (an
/// expiry, the last sync, a queued action) are the server's, so "now" is the server's too.
static SERVER_CLOCK: std::sync::OnceLock<ServerClock> = std::sync::OnceLock::new();

/// Reads "now" from `clock` for the rest of the command.
pub fn follow_server_clock(clock: ServerClock) {
    let _ = SERVER_CLOCK.set(clock);
}

fn now() -> DateTime<Utc> {
    SERVER_CLOCK.get().map_or_else(Utc::now, ServerClock::now)
}

pub fn ago(at: DateTime<Utc>) -> String {
    let seconds = (now() - at).num_seconds().max(0);
    match seconds {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

pub fn expiry(at: DateTime<Utc>) -> String {
    let seconds = (at - now()).num_seconds();
    if seconds <= 0 {
        return "expired".into();
    }
    if seconds >= 3600 {
        format!(
            "expires in {}:{:02} h",
            seconds / 3600,
            (seconds % 3600) / 60
        )
    } else {
        format!("expires in {}:{:02}", seconds / 60, seconds % 60)
    }
}

/// "live" or "offline, data from 10:42 (3 min ago)".
pub fn freshness(live: bool, last_sync: Option<DateTime<Utc>>) -> String {
    match (live, last_sync) {
        (true, _) => "live: synced just now".into(),
        (false, Some(at)) => format!(
            "offline: data from {} UTC ({})",
            at.format("%H:%M"),
            ago(at)
        ),
        (false, None) => "offline: nothing cached yet; run `spartex sync` when online".into(),
    }
}

/// A change of the live link, as `watch` prints it.
pub fn link_words(link: &LinkState) -> &'static str {
    match link {
        LinkState::Connected => "Connected",
        LinkState::Connecting => "Connecting",
        LinkState::Offline => "Offline",
        LinkState::SignedOut => "Signed out: sign in again",
        LinkState::DiskFull => {
            "Disk full: free some space on the cache's disk; updates resume by themselves"
        }
    }
}

pub fn status(status: &Status, reachable: bool) {
    let link = match (status.link, reachable) {
        (LinkState::SignedOut, _) => "signed out: sign in again",
        (_, true) => "online",
        (_, false) => "offline",
    };
    outln!(
        "Account   {} — {} ({}) at {}",
        status.account.id,
        status.account.user.name,
        status.account.user.role,
        status.account.tenant.name
    );
    outln!("Server    {} — {link}", status.account.server_url);
    match status.last_sync_at {
        Some(at) => outln!(
            "Last sync {} UTC ({}), seq {} of {}",
            at.format("%Y-%m-%d %H:%M:%S"),
            ago(at),
            status.last_seq,
            status.server_head.map_or("?".into(), |h| h.to_string())
        ),
        None => outln!("Last sync never"),
    }
    let newer = &status.actions_for_a_newer_version;
    if status.outbox.is_empty() && newer.is_empty() {
        outln!("Outbox    empty");
    } else {
        outln!("Outbox    {} waiting:", status.outbox.len() + newer.len());
        for entry in &status.outbox {
            let error = entry
                .last_error
                .as_deref()
                .map(|e| format!(" — last try: {e}"))
                .unwrap_or_default();
            outln!(
                "  • {} (queued {}, {} tries){error}",
                entry.label,
                ago(entry.created_at),
                entry.attempts
            );
        }
        for label in newer {
            outln!(
                "  • {label} (queued by a newer spartex, which alone can send it: update this one)"
            );
        }
    }
    if status.unreadable_events > 0 {
        outln!(
            "Unread    {} updates from the server need a newer spartex to be shown: update it.",
            status.unreadable_events
        );
    }
    for outcome in &status.recent_outcomes {
        outln!(
            "  {} {} — {}",
            outcome.at.format("%H:%M"),
            outcome.result,
            outcome.message
        );
    }
}

pub fn projects(rows: &[ProjectSummary]) {
    if rows.is_empty() {
        outln!("No projects yet.");
        return;
    }
    for row in rows {
        let p = &row.project;
        let agents = format!(
            "{} working · {} waiting · {} stopped · {} error",
            row.agents_working, row.agents_waiting, row.agents_stopped, row.agents_error
        );
        let approvals = match row.pending_approvals {
            0 => String::new(),
            1 => " · 1 approval pending".into(),
            n => format!(" · {n} approvals pending"),
        };
        let sending = if row.stop_sending {
            " · STOP NOT YET DELIVERED"
        } else {
            ""
        };
        outln!(
            "{:<34} {:<9} {}",
            one_line(&p.name),
            p.status,
            spend(p.spent_usd, p.budget_usd)
        );
        outln!(
            "  {agents}{approvals}{sending}{}",
            row.last_activity
                .map(|t| format!(" · active {}", ago(t)))
                .unwrap_or_default()
        );
    }
}

pub fn project(view: &ProjectView) {
    let p = &view.project;
    outln!(
        "{} — {} — {}",
        one_line(&p.name),
        p.status,
        spend(p.spent_usd, p.budget_usd)
    );
    if !p.description.is_empty() {
        outln!("{}", p.description);
    }
    if view.stop_sending {
        outln!("!! An emergency stop is queued here and NOT YET DELIVERED.");
    }
    outln!("\nAgents");
    for agent in &view.agents {
        let beat = agent
            .last_heartbeat_at
            .map(|t| format!(", heartbeat {}", ago(t)))
            .unwrap_or_default();
        outln!(
            "  {:<10} {:<12} {:<18} {:<16} {}{beat}",
            one_line(&agent.name),
            one_line(&agent.role),
            one_line(&agent.model),
            agent.status,
            money(agent.cost_usd)
        );
    }
    let open: Vec<_> = view
        .tasks
        .iter()
        .filter(|t| !t.status.is_finished())
        .collect();
    outln!("\nOpen tasks ({})", open.len());
    for task in open.iter().take(15) {
        outln!(
            "  {:>3} %  {:<8} {}",
            task.progress,
            task.status,
            one_line(&task.title)
        );
    }
    let pending: Vec<_> = view
        .approvals
        .iter()
        .filter(|a| a.approval.status == spartex_api::ApprovalStatus::Pending)
        .collect();
    if !pending.is_empty() {
        outln!("\nPending approvals");
        for view in pending {
            approval_line(view);
        }
    }
    outln!("\nRecent chat");
    for message in view.messages.iter().rev().take(8).rev() {
        let sending = if message.sending { " (sending…)" } else { "" };
        outln!(
            "  {} {}: {}{sending}",
            message.message.created_at.format("%H:%M"),
            one_line(&message.message.author_name),
            first_line(&message.message.body)
        );
    }
}

fn first_line(text: &str) -> String {
    let line = one_line(text.lines().next().unwrap_or_default());
    if line.chars().count() > 100 {
        format!("{}…", line.chars().take(99).collect::<String>())
    } else {
        line
    }
}

pub fn approval_line(view: &ApprovalView) {
    let a = &view.approval;
    let state = match (&view.sending, a.status) {
        (Some(decision), _) => format!("{decision} — sending…"),
        (None, spartex_api::ApprovalStatus::Pending) => expiry(a.expires_at),
        (None, status) => status.to_string(),
    };
    outln!(
        "  {}  {:<8} {}  [{}] {} — {state}",
        short_id(&a.id),
        a.risk,
        one_line(&a.title),
        one_line(&view.project_name),
        one_line(view.agent_name.as_deref().unwrap_or("-"))
    );
}

pub fn approvals(views: &[ApprovalView]) {
    if views.is_empty() {
        outln!("Nothing waits for a decision.");
        return;
    }
    for view in views {
        approval_line(view);
        escalation(&view.approval);
        preview(&view.approval);
        // Why Approve is refused now, in the core's words (the same the app shows).
        let pending = view.approval.status == spartex_api::ApprovalStatus::Pending;
        if let Some(why) = view.approve_blocker.as_ref().filter(|_| pending) {
            outln!("      {why}");
        }
    }
}

fn preview(approval: &Approval) {
    match &approval.preview {
        Some(Preview::Copy {
            channel,
            headline,
            body,
            ..
        }) => {
            outln!(
                "      {channel}: {}{}",
                headline
                    .as_deref()
                    .map(|h| format!("“{h}” "))
                    .unwrap_or_default(),
                first_line(body)
            );
        }
        Some(Preview::Amount {
            currency,
            old_amount,
            new_amount,
            period,
        }) => {
            let from = old_amount
                .map(|o| format!("{} → ", money(o)))
                .unwrap_or_default();
            outln!(
                "      {from}{} {currency}{}",
                money(*new_amount),
                period
                    .as_deref()
                    .map(|p| format!(" per {p}"))
                    .unwrap_or_default()
            );
        }
        Some(Preview::Diff { path, unified_diff }) => {
            outln!("      {path}");
            for line in unified_diff
                .lines()
                .filter(|l| l.starts_with('+') || l.starts_with('-'))
                .filter(|l| !l.starts_with("+++") && !l.starts_with("---"))
            {
                outln!("        {line}");
            }
        }
        None => outln!("      (no preview)"),
    }
}

/// Ids are long; the first 12 characters are unique enough to type.
/// `spartex devices`: one line each, the last push and its error said in words.
pub fn org(settings: &TenantSettings) {
    let shown = match settings.push_detail {
        PushDetail::Full => "the project and the request's title",
        PushDetail::Minimal => "only the kind and risk (\"Approval needed (critical)\")",
    };
    outln!(
        "Pushes: {} — a lock screen shows {shown}.",
        settings.push_detail
    );
}

pub fn devices(devices: &[Device]) {
    if devices.is_empty() {
        outln!("No device is registered for push. The phone app registers itself at sign-in.");
        return;
    }
    for device in devices {
        let last_push = match device.last_push_at {
            Some(at) => format!("last push {}", ago(at)),
            None => "no push yet".to_owned(),
        };
        let error = match &device.last_error {
            Some(error) => format!(" — last error: {}", first_line(error)),
            None => String::new(),
        };
        outln!(
            "{:<24} {:<8} registered {}, {last_push}{error}",
            device.id,
            device.platform,
            ago(device.created_at),
        );
    }
}

pub fn short_id(id: &str) -> String {
    id.chars().take(16).collect()
}

/// Who was told of a request on the ladder, and who took it.
fn escalation(approval: &Approval) {
    let Some(ladder) = &approval.escalation else {
        return;
    };
    let told: Vec<String> = ladder
        .notified
        .iter()
        .map(|n| match (n.result, n.channel) {
            (NotifyResult::SkippedUnreachable, _) => {
                format!("{} skipped (unreachable)", n.user_name)
            }
            (NotifyResult::Failed, _) => format!("{} failed", n.user_name),
            (NotifyResult::Unknown, _) | (_, Some(NotifyChannel::Unknown)) => format!(
                "{} (reached in a way this version does not know)",
                n.user_name
            ),
            (NotifyResult::Sent, Some(channel)) => format!("{} by {channel}", n.user_name),
            (NotifyResult::Sent, None) => n.user_name.clone(),
        })
        .collect();
    if !told.is_empty() {
        outln!("      Told at level {}: {}", ladder.level, told.join(", "));
    }
    match (&ladder.acked_by, ladder.acked_at) {
        (Some(by), Some(at)) => outln!(
            "      {} is on it (since {} UTC)",
            by.name,
            at.format("%H:%M")
        ),
        _ => {
            if let Some(next) = ladder.next_at {
                outln!(
                    "      Next level at {} UTC unless someone takes it",
                    next.format("%H:%M")
                );
            }
        }
    }
}

/// `spartex oncall`: now, next, the week ahead and the overrides.
pub fn oncall(oncall: &OnCall, live: bool) {
    let name = |id: &str| {
        oncall
            .people
            .iter()
            .find(|u| u.id == id)
            .map_or_else(|| id.to_owned(), |u| u.name.clone())
    };
    let now: Vec<&str> = oncall.now.iter().map(|u| u.name.as_str()).collect();
    match (now.is_empty(), oncall.next_handoff_at) {
        (true, _) => outln!("Nobody is on call now."),
        (false, Some(next)) => outln!(
            "On call now: {} (until {} UTC)",
            now.join(", "),
            next.format("%a %d %b %H:%M")
        ),
        (false, None) => outln!(
            "On call now: {} (no schedule: everyone with role oncall)",
            now.join(", ")
        ),
    }
    if let Some(next) = oncall.week.get(1) {
        let people: Vec<String> = next.user_ids.iter().map(|id| name(id)).collect();
        outln!("Next: {}", people.join(", "));
    }
    if oncall.week.len() > 1 {
        outln!("\nThe week ahead (UTC):");
        for shift in &oncall.week {
            let people: Vec<String> = shift.user_ids.iter().map(|id| name(id)).collect();
            outln!(
                "  {} – {}  {}",
                shift.starts_at.format("%a %d %b %H:%M"),
                shift.ends_at.format("%a %d %b %H:%M"),
                people.join(", ")
            );
        }
    }
    if !oncall.overrides.is_empty() {
        outln!("\nOverrides:");
        for cover in &oncall.overrides {
            outln!(
                "  {}  {} – {} UTC  ({})",
                name(&cover.user_id),
                cover.starts_at.format("%a %d %b %H:%M"),
                cover.ends_at.format("%a %d %b %H:%M"),
                cover.id
            );
        }
    }
    if !live {
        outln!("\n(offline: worked out from the schedule last cached)");
    }
}
