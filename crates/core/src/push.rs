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
use serde_json::Value;
use spartex_api::endpoints::{
    GetTenantSettings, GetVapidPublicKey, ListDevices, PutTenantSettings,
};
use spartex_api::{
    Decision, Device, PushKind, PushPayload, RegisterDeviceRequest, Role, TenantSettings,
    VapidPublicKey,
};
use spartex_policy::{approval_blocker, DecisionContext};

use crate::account::Account;
use crate::error::{CoreError, CoreResult};
use crate::notify::{Notification, NotificationAction, NotificationKind};
use crate::store::views::ApprovalView;

/// Larger than anything a push service carries (APNs and FCM take 4 KB, Web Push a 4 KB
/// record); more is not a Spartex push.
pub const MAX_PUSH_BYTES: usize = 16 * 1024;

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

/// Why a push was not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("The push is {0} bytes; a Spartex push is a few hundred.")]
    TooLarge(usize),
    #[error("The push is not JSON ({0}).")]
    NotJson(String),
    #[error("The push is version {0} of the payload; this app reads version 1. Update the app.")]
    UnsupportedVersion(u64),
    #[error("The push is of type `{0}`, which this app does not know. Update the app.")]
    UnknownType(String),
    #[error("The push is not a Spartex push: {0}.")]
    Malformed(String),
}

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
fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Reads what a push plugin received: the payload itself (Web Push), APNs's `userInfo` with the
/// payload under `spartex`, or FCM's data with the whole payload as a JSON string under
/// `payload`. Anything else is refused with the reason, never a panic.
pub fn parse_push(raw: &[u8]) -> Result<PushPayload, PushError> {
    if raw.len() > MAX_PUSH_BYTES {
        return Err(PushError::TooLarge(raw.len()));
    }
    let value: Value =
        serde_json::from_slice(raw).map_err(|e| PushError::NotJson(e.to_string()))?;
    let value = unwrap_envelope(value)?;
    let Value::Object(fields) = &value else {
        return Err(PushError::Malformed("it is not a JSON object".into()));
    };
    let version = match fields.get("v") {
        None => return Err(PushError::Malformed("it has no version `v`".into())),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| PushError::Malformed(format!("its version `{n}` is not a count")))?,
        // FCM data carries every field as a string.
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| PushError::Malformed("its version is not a number".into()))?,
        Some(_) => return Err(PushError::Malformed("its version is not a number".into())),
    };
    if version != u64::from(PushPayload::VERSION) {
        return Err(PushError::UnsupportedVersion(version));
    }
    match fields.get("type") {
        Some(Value::String(kind)) => {
            if serde_json::from_value::<PushKind>(Value::String(kind.clone())).is_err() {
                return Err(PushError::UnknownType(kind.chars().take(64).collect()));
            }
        }
        _ => return Err(PushError::Malformed("it has no `type`".into())),
    }
    let payload: PushPayload =
        serde_json::from_value(value).map_err(|e| PushError::Malformed(e.to_string()))?;
    check(&payload)?;
    Ok(payload)
}

/// The payload inside APNs's or FCM's wrapping, or the value itself.
fn unwrap_envelope(value: Value) -> Result<Value, PushError> {
    let Value::Object(fields) = value else {
        return Ok(value);
    };
    if let Some(inner @ Value::Object(_)) = fields.get("spartex") {
        return Ok(inner.clone());
    }
    // FCM: each field as a string beside the whole payload as JSON; the JSON is read.
    match fields.get("payload") {
        Some(Value::String(json)) => serde_json::from_str(json)
            .map_err(|e| PushError::NotJson(format!("its `payload` is not JSON: {e}"))),
        Some(inner @ Value::Object(_)) => Ok(inner.clone()),
        Some(_) => Err(PushError::Malformed(
            "its `payload` is not an object".into(),
        )),
        None => Ok(Value::Object(fields)),
    }
}

fn check(payload: &PushPayload) -> Result<(), PushError> {
    if payload.tenant_id.trim().is_empty() {
        return Err(PushError::Malformed("its `tenant_id` is empty".into()));
    }
    for (field, id) in [
        ("approval_id", &payload.approval_id),
        ("project_id", &payload.project_id),
    ] {
        if id.as_deref().is_some_and(|id| !is_plain_id(id)) {
            return Err(PushError::Malformed(format!("its `{field}` is not an id")));
        }
    }
    let about_an_approval = matches!(
        payload.kind,
        PushKind::ApprovalRequested | PushKind::ApprovalResolved
    );
    if about_an_approval && payload.approval_id.is_none() {
        return Err(PushError::Malformed(format!(
            "`{}` without an `approval_id`",
            payload.kind
        )));
    }
    Ok(())
}

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
    let channel = if notification.urgent && kind == NotificationKind::ApprovalRequested {
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

/// Registration: the phone app registers on sign-in and whenever its push token changes.
impl Account {
    /// Registers this install for pushes (`POST /api/v1/devices`) and remembers the device in
    /// the account's folder. The same address again within a day answers the remembered
    /// device without asking the server, so calling it on every start is cheap; a new address
    /// (a refreshed token) registers the new one and unregisters the old. Sign-out
    /// ([`crate::Core::logout`]) unregisters it.
    pub async fn register_push_device(&self, request: RegisterDeviceRequest) -> CoreResult<Device> {
        self.devices()
            .register(self.session(), request, chrono::Utc::now())
            .await
    }

    /// Stops pushes to this install (`DELETE /api/v1/devices/{id}`) without signing out.
    /// True when it was registered.
    pub async fn unregister_push_device(&self) -> CoreResult<bool> {
        self.devices().unregister(self.session()).await
    }

    /// The device this install is registered as, from the account's folder.
    pub fn push_device(&self) -> Option<Device> {
        self.devices().current()
    }

    /// The signed-in person's devices, with when each last took a push and its last error
    /// (`GET /api/v1/devices`).
    pub async fn push_devices(&self) -> CoreResult<Vec<Device>> {
        self.session().call(&ListDevices {}, None).await
    }

    /// The organisation's settings, such as how much its pushes say on a lock screen
    /// (`GET /api/v1/tenant/settings`).
    pub async fn tenant_settings(&self) -> CoreResult<TenantSettings> {
        self.session().call(&GetTenantSettings {}, None).await
    }

    /// Saves the organisation's settings (owners only; `PUT /api/v1/tenant/settings`). Online
    /// only: an owner changing what every phone shows wants to know it took.
    pub async fn put_tenant_settings(
        &self,
        settings: TenantSettings,
    ) -> CoreResult<TenantSettings> {
        let key = uuid::Uuid::new_v4().to_string();
        let put = PutTenantSettings { body: settings };
        self.session().call(&put, Some(&key)).await
    }

    /// The server's VAPID key, to subscribe to Web Push (UnifiedPush) with.
    pub async fn vapid_public_key(&self) -> CoreResult<VapidPublicKey> {
        self.session().call(&GetVapidPublicKey {}, None).await
    }
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
