//! Routes: the screen a tap on a notification opens, and what a press on one of its buttons
//! asks for.

use spartex_api::Decision;

use crate::notify::{Notification, NotificationAction, NotificationKind};

/// The route (the UI's path) a tap on an approval opens.
pub fn approval_route(approval_id: &str) -> String {
    format!("/approvals/{approval_id}")
}

/// The route of a project's screen.
pub fn project_route(project_id: &str) -> String {
    format!("/projects/{project_id}")
}

/// The emergency-stop screen (hold to stop, then each agent's acknowledgement): of a project,
/// or of every project. `?stop` asks the screen to open its stop panel; nothing is stopped by
/// opening it.
pub fn stop_route(project_id: Option<&str>) -> String {
    match project_id {
        Some(id) => format!("/projects/{id}?stop=project"),
        None => "/projects?stop=all".to_owned(),
    }
}

/// Ids are letters, digits, `-` and `_`: nothing that could steer a route elsewhere.
pub(super) fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Where a tap on a notification goes: the approval, the project, or, for a stop, the
/// stop screen (never a stop itself).
pub fn tap_route(notification: &Notification) -> String {
    let project = notification.project_id.as_deref();
    match notification.kind {
        NotificationKind::ApprovalRequested
        | NotificationKind::ApprovalAcked
        | NotificationKind::ApprovalResolved => match &notification.approval_id {
            Some(id) => approval_route(id),
            None => "/approvals".to_owned(),
        },
        NotificationKind::StopCompleted | NotificationKind::StopPartial => stop_route(project),
        NotificationKind::AgentError
        | NotificationKind::BudgetWarning
        | NotificationKind::BudgetExceeded => match project {
            Some(id) => project_route(id),
            None => "/projects".to_owned(),
        },
        // The dashboard, whose status bar says how things stand.
        NotificationKind::DiskFull | NotificationKind::StillRunning => "/".to_owned(),
        NotificationKind::Summary => summary_route(&notification.key).unwrap_or("/").to_owned(),
    }
}

/// Where the summary of held alerts ([`spartex_policy::HeldBack`]) with `key` opens: the list of
/// requests for the requests, the dashboard for the rest. None for a key of no summary.
pub fn summary_route(key: &str) -> Option<&'static str> {
    match key {
        spartex_policy::burst::REQUESTS_SUMMARY_KEY => Some("/approvals"),
        spartex_policy::burst::ALERTS_SUMMARY_KEY => Some("/"),
        _ => None,
    }
}

/// What a press on a notification asks for, before anything is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Routed {
    /// Decide this approval (through the outbox).
    Decide {
        approval_id: String,
        decision: Decision,
    },
    /// Open the app here.
    Navigate { route: String },
}

/// Approve and Reject on an approval decide it; anything else (a tap, or a button a
/// notification of another kind should not carry) opens what it is about. Pure.
pub fn route_action(notification: &Notification, action: NotificationAction) -> Routed {
    let decision = match action {
        NotificationAction::Approve => Some(Decision::Approve),
        NotificationAction::Reject => Some(Decision::Reject),
        NotificationAction::Open => None,
    };
    match (notification.kind, &notification.approval_id, decision) {
        (NotificationKind::ApprovalRequested, Some(id), Some(decision)) if is_plain_id(id) => {
            Routed::Decide {
                approval_id: id.clone(),
                decision,
            }
        }
        _ => Routed::Navigate {
            route: tap_route(notification),
        },
    }
}
