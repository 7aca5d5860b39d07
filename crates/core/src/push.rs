//! Pushes on a phone whose app was closed, and the buttons on the notifications they raise.
//!
//! The shell hands the core what its push plugin received ([`Account::on_push`]) and what the
//! person pressed ([`Account::act_on_notification`]); the core answers with a [`ShellAction`],
//! the one thing the shell must do: show a notification, take one down, or open a screen.
//! Everything it decides is a pure function here ([`parse_push`], [`effect_of_push`],
//! [`route_action`]), so the shell stays a few lines.
//!
//! The rules that hold on the desktop hold here: Approve is offered only where the core would
//! take it from what is cached (a request whose preview is not cached offers Open only, never
//! an approval made blind), a press decides through the outbox with its Idempotency-Key, and a
//! stop is never one tap away: stop notifications open the hold-to-stop screen.

use serde::{Deserialize, Serialize};
use spartex_api::{Decision, PushKind};

use crate::account::Account;
use crate::error::CoreError;
use crate::notify::{Notification, NotificationAction, NotificationKind};
use crate::store::views::ApprovalView;

mod effects;
mod parse;
mod registration;
mod routes;

pub use effects::effect_of_push;
pub use parse::{parse_push, PushError, MAX_PUSH_BYTES};
pub use routes::{
    approval_route, project_route, route_action, stop_route, summary_route, tap_route, Routed,
};

/// The Android channel for high and critical approvals (high importance: heads-up, sound
/// through the softer Do Not Disturb settings), as the server's FCM messages name it.
pub const CHANNEL_URGENT_APPROVALS: &str = "approvals-urgent";
/// The Android channel for everything else.
pub const CHANNEL_DEFAULT: &str = "default";
/// The iOS category with Approve and Reject.
pub const CATEGORY_APPROVAL: &str = "approval";
/// The iOS category with Approve (which asks to unlock the phone first) and Reject: high and
/// critical risk.
pub const CATEGORY_APPROVAL_UNLOCK: &str = "approval-unlock";
/// The iOS category with Reject only: a request that cannot be approved from here.
pub const CATEGORY_APPROVAL_REJECT: &str = "approval-reject";

/// The comment an agent reads when a rejection came from a notification's button.
pub const REJECTED_FROM_NOTIFICATION: &str = "Rejected from a notification.";

/// How long a push or a press waits for the cache to catch up before it answers from what is
/// there (a phone's app gets some 30 s of background time for a push).
pub const CATCH_UP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(8);

/// A notification to show for a push, with what the phone needs beside the words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushNotification {
    /// Its words, key and buttons; `urgent` here means it goes out on the urgent channel
    /// (high and critical approvals, stops).
    pub notification: Notification,
    /// The Android channel it goes on.
    pub channel: String,
    /// The iOS category (the set of buttons); `None`: no buttons, a tap opens it.
    pub category: Option<String>,
    /// The route a tap on it opens.
    pub open: String,
}

/// What became of a decision taken on a notification's button.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecidedFromNotification {
    /// Queued: delivered, or waiting for the link (`delivered` false), which the person must
    /// still be told.
    Taken { delivered: bool },
    /// Not taken: open the approval at `route` to show it as it is now.
    OpenInstead { route: String },
}

/// What the shell must do now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum ShellAction {
    /// Show it, replacing any shown under the same key.
    ShowNotification { notification: PushNotification },
    /// Take down the notification shown under `key` (`approval:<id>`), if any.
    Dismiss { key: String },
    /// Open the app at `route`.
    Navigate { route: String },
    /// Nothing to do; `reason` is for the log.
    Ignore { reason: String },
}

impl Account {
    /// What a received push means: the notification to show (its buttons judged on the cached
    /// request; when the cache is behind the push, it catches up first, for at most
    /// [`CATCH_UP_PATIENCE`]), the one to take down, or nothing (malformed, or for an account
    /// other than this one). Never fails.
    pub async fn on_push(&self, raw: &[u8]) -> ShellAction {
        let payload = match parse_push(raw) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(%error, "ignored a push");
                return ShellAction::Ignore {
                    reason: error.to_string(),
                };
            }
        };
        if payload.tenant_id != self.info().tenant.id {
            return ShellAction::Ignore {
                reason: format!(
                    "The push is for another organisation than {}.",
                    self.info().tenant.name
                ),
            };
        }
        let cached = match (&payload.approval_id, payload.kind) {
            (Some(id), PushKind::ApprovalRequested) => {
                if self.cached_approval(id).await.is_none() {
                    self.catch_up_to(payload.seq).await;
                }
                self.cached_approval(id).await
            }
            _ => None,
        };
        effect_of_push(&payload, cached.as_ref(), self.info().user.role)
    }

    /// A press on a notification this core raised (from a push or the policy): Approve and
    /// Reject decide through the outbox, as from the app (an approval not cached is fetched
    /// first; one the core refuses, Approve without a preview for one, is opened instead);
    /// a tap opens what it is about; a stop notification opens the stop screen.
    pub async fn act_on_notification(
        &self,
        notification: &Notification,
        action: NotificationAction,
    ) -> ShellAction {
        let (approval_id, decision) = match route_action(notification, action) {
            Routed::Navigate { route } => return ShellAction::Navigate { route },
            Routed::Decide {
                approval_id,
                decision,
            } => (approval_id, decision),
        };
        match self.decide_from_notification(&approval_id, decision).await {
            DecidedFromNotification::Taken { delivered: true } => ShellAction::Dismiss {
                key: notification.key.clone(),
            },
            // Taken down, it read as done while the decision waited for the link (or for a
            // new sign-in), on a phone whose app may be suspended before it is sent.
            DecidedFromNotification::Taken { delivered: false } => ShellAction::ShowNotification {
                notification: not_sent_yet(notification, &approval_id, decision),
            },
            DecidedFromNotification::OpenInstead { route } => ShellAction::Navigate { route },
        }
    }

    /// Approve or Reject pressed on a notification (a push's on a phone, the desktop's own):
    /// decided through the outbox as from the app, an approval not cached fetched first.
    /// One the server or the core refused (someone decided first, it expired, Approve on a
    /// request without a preview) is to be opened as it is now, never left as if decided.
    pub async fn decide_from_notification(
        &self,
        approval_id: &str,
        decision: Decision,
    ) -> DecidedFromNotification {
        if self.cached_approval(approval_id).await.is_none() {
            self.catch_up_to(i64::MAX).await;
        }
        let open = DecidedFromNotification::OpenInstead {
            route: approval_route(approval_id),
        };
        let comment = (decision == Decision::Reject).then(|| REJECTED_FROM_NOTIFICATION.to_owned());
        match self.decide(approval_id, decision, comment).await {
            Ok(queued) if queued.refused() => {
                tracing::info!(approval = %approval_id, "a decision from a notification was refused; opening it");
                open
            }
            Ok(queued) => {
                tracing::info!(approval = %approval_id, delivered = queued.delivered, "decided from a notification");
                DecidedFromNotification::Taken {
                    delivered: queued.delivered,
                }
            }
            Err(error) => {
                tracing::info!(approval = %approval_id, %error, "a decision from a notification was not taken; opening it");
                open
            }
        }
    }

    async fn cached_approval(&self, id: &str) -> Option<ApprovalView> {
        match self.approval(id).await {
            Ok(view) => Some(view),
            Err(CoreError::NotCached { .. }) => None,
            Err(error) => {
                tracing::warn!(%error, "could not read the cache");
                None
            }
        }
    }

    /// Catches up when the cache is behind `seq`, for at most [`CATCH_UP_PATIENCE`].
    async fn catch_up_to(&self, seq: i64) {
        if self.store().last_seq().await.is_ok_and(|last| last >= seq) {
            return;
        }
        match tokio::time::timeout(CATCH_UP_PATIENCE, self.catch_up()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::info!(%error, "could not catch up for a push"),
            Err(_) => tracing::info!("catching up for a push took too long"),
        }
    }
}

/// A push for another organisation signed in on this phone than the one shown, which the
/// shown account ignores: a notification is shown all the same, naming the organisation, with
/// no buttons (they would act on the organisation shown) and opening the approvals of the one
/// shown, where the person switches; a resolution takes it down. Dropped, a critical request
/// for the other organisation was never seen while its ladder counted this phone as paged.
/// `None` for a push of no account here.
pub fn for_another_account(raw: &[u8], accounts: &[crate::AccountInfo]) -> Option<ShellAction> {
    let payload = parse_push(raw).ok()?;
    let account = accounts
        .iter()
        .find(|account| account.tenant.id == payload.tenant_id)?;
    match effect_of_push(&payload, None, account.user.role) {
        ShellAction::ShowNotification { mut notification } => {
            let shown = &mut notification.notification;
            shown.title = format!("{}: {}", account.tenant.name, shown.title);
            shown.actions = vec![NotificationAction::Open];
            // Opened in the organisation shown, an id of the other would be "not found".
            shown.approval_id = None;
            shown.project_id = None;
            notification.category = None;
            notification.open = tap_route(shown);
            Some(ShellAction::ShowNotification { notification })
        }
        dismiss @ ShellAction::Dismiss { .. } => Some(dismiss),
        _ => None,
    }
}

/// In place of the request's notification, while the decision pressed on it waits to be sent:
/// the server's resolution replaces it once it is.
fn not_sent_yet(asked: &Notification, approval_id: &str, decision: Decision) -> PushNotification {
    let what = match decision {
        Decision::Approve => "Your approval",
        Decision::Reject => "Your rejection",
    };
    let request = asked
        .title
        .strip_prefix("Approval needed: ")
        .unwrap_or(&asked.title);
    PushNotification {
        notification: Notification {
            key: asked.key.clone(),
            kind: NotificationKind::ApprovalRequested,
            title: format!("{what} is not sent yet"),
            body: format!(
                "{request}: it is sent as soon as Spartex Control reaches the server. Open the \
                 app to follow it."
            ),
            project_id: asked.project_id.clone(),
            approval_id: Some(approval_id.to_owned()),
            urgent: false,
            actions: vec![NotificationAction::Open],
        },
        channel: CHANNEL_DEFAULT.to_owned(),
        category: None,
        open: approval_route(approval_id),
    }
}

#[cfg(test)]
mod tests;
