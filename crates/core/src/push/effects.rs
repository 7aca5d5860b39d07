//! What a push means on this phone: the notification it raises, with the buttons the core
//! would honour, or the one it takes down.

use spartex_api::{Decision, PushKind, PushPayload, Role, HELD_SETTLED};
use spartex_policy::{approval_blocker, DecisionContext};

use super::{
    tap_route, PushNotification, ShellAction, CATEGORY_APPROVAL, CATEGORY_APPROVAL_REJECT,
    CATEGORY_APPROVAL_UNLOCK, CHANNEL_DEFAULT, CHANNEL_URGENT_APPROVALS,
};
use crate::notify::{Notification, NotificationAction, NotificationKind};
use crate::store::views::ApprovalView;

/// What a push means on this phone, for a person of `role`, with the approval as cached (if
/// it is). Pure.
pub fn effect_of_push(
    payload: &PushPayload,
    cached: Option<&ApprovalView>,
    role: Role,
) -> ShellAction {
    let key = payload.collapse_key();
    let kind = match payload.kind {
        PushKind::ApprovalResolved => return ShellAction::Dismiss { key },
        PushKind::ApprovalRequested => NotificationKind::ApprovalRequested,
        PushKind::ApprovalAcked => NotificationKind::ApprovalAcked,
        PushKind::AgentError => NotificationKind::AgentError,
        PushKind::StopCompleted => NotificationKind::StopCompleted,
        PushKind::StopPartial => NotificationKind::StopPartial,
        PushKind::BudgetWarning => NotificationKind::BudgetWarning,
        PushKind::BudgetExceeded => NotificationKind::BudgetExceeded,
        PushKind::RequestsHeld | PushKind::AlertsHeld
            if payload.status.as_deref() == Some(HELD_SETTLED) =>
        {
            return ShellAction::Dismiss { key }
        }
        PushKind::RequestsHeld | PushKind::AlertsHeld => NotificationKind::Summary,
    };
    let cached = cached.filter(|view| Some(&view.approval.id) == payload.approval_id.as_ref());
    if kind == NotificationKind::ApprovalRequested {
        if let Some(view) = cached {
            if view.approval.status != spartex_api::ApprovalStatus::Pending {
                // A late push: the request was decided (or expired) before it arrived.
                return ShellAction::Dismiss { key };
            }
        }
    }
    let title = one_line(&payload.title, 200);
    let actions = match kind {
        NotificationKind::ApprovalRequested => approval_actions(cached, role),
        _ => vec![NotificationAction::Open],
    };
    let notification = Notification {
        key,
        kind,
        title: match kind {
            NotificationKind::ApprovalRequested if !title.starts_with("Approval needed") => {
                format!("Approval needed: {title}")
            }
            NotificationKind::ApprovalAcked => format!("Someone is on it: {title}"),
            _ => title.clone(),
        },
        body: body(payload, &title),
        project_id: payload.project_id.clone(),
        approval_id: payload.approval_id.clone(),
        urgent: payload.urgent(),
        actions,
    };
    let channel = if notification.urgent && payload.kind.asks_for_a_decision() {
        CHANNEL_URGENT_APPROVALS
    } else {
        CHANNEL_DEFAULT
    };
    ShellAction::ShowNotification {
        notification: PushNotification {
            category: category(&notification).map(str::to_owned),
            channel: channel.to_owned(),
            open: tap_route(&notification),
            notification,
        },
    }
}

/// The buttons the core would honour, judged on the cached request as it arrived (expiry and
/// a stop in the meantime are judged again when a button is pressed): none but Open when the
/// request is not cached (its preview is unknown) or for a viewer.
fn approval_actions(cached: Option<&ApprovalView>, role: Role) -> Vec<NotificationAction> {
    let Some(view) = cached else {
        return vec![NotificationAction::Open];
    };
    let as_it_arrived = DecisionContext {
        role,
        sending: view.sending.is_some(),
        project_stopped: view.project_stopped,
        now: view.approval.created_at,
    };
    let offers = |decision| approval_blocker(&view.approval, decision, &as_it_arrived).is_none();
    [
        (offers(Decision::Approve), NotificationAction::Approve),
        (offers(Decision::Reject), NotificationAction::Reject),
        (true, NotificationAction::Open),
    ]
    .into_iter()
    .filter_map(|(offered, action)| offered.then_some(action))
    .collect()
}

/// The iOS category for a notification's buttons.
fn category(notification: &Notification) -> Option<&'static str> {
    let has = |action| notification.actions.contains(&action);
    if has(NotificationAction::Approve) {
        Some(if notification.urgent {
            CATEGORY_APPROVAL_UNLOCK
        } else {
            CATEGORY_APPROVAL
        })
    } else if has(NotificationAction::Reject) {
        Some(CATEGORY_APPROVAL_REJECT)
    } else {
        None
    }
}

/// The second line: risk and expiry for a request, and the project. A tenant that pushes
/// minimal detail sends the same words as title and project name; they are said once.
fn body(payload: &PushPayload, title: &str) -> String {
    let mut lines = Vec::new();
    if payload.kind == PushKind::ApprovalRequested {
        let mut first = Vec::new();
        if let Some(risk) = payload.risk {
            first.push(format!("{risk} risk"));
        }
        if let Some(expires) = payload.expires_at {
            first.push(format!("expires {} UTC", expires.format("%H:%M")));
        }
        if !first.is_empty() {
            lines.push(first.join(" · "));
        }
    }
    if let Some(name) = payload.project_name.as_deref().map(|n| one_line(n, 120)) {
        if !name.is_empty() && name != title {
            lines.push(format!("Project: {name}"));
        }
    }
    lines.join("\n")
}

/// Text on one line, at most `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat = spartex_policy::plain_text(&flat, false);
    if flat.chars().count() <= max {
        flat
    } else {
        let mut cut: String = flat.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}
