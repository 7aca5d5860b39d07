//! Pushes on a phone: what `tauri-plugin-notifications` hands the webview (`push-token`,
//! `push-message`, `actionPerformed`, `notificationClicked`; Rust cannot listen to the plugin
//! itself) comes back through thin commands, goes to the core (`spartex_core::push`), and the
//! [`ShellAction`] it answers is done here: show a notification, take one down, open a screen.
//!
//! The mapping from the plugin's event payloads is pure and compiles on a desktop too, so the
//! desktop's tests check it; only [`register`] and the showing and removing in [`perform`]
//! touch the plugin (`cfg(mobile)`).

use serde_json::Value;
use spartex_api::{ApnsEnvironment, PushPayload, RegisterDeviceRequest, Role};
use spartex_core::notify::{Notification, NotificationAction};
use spartex_core::push::{approval_route, effect_of_push, PushNotification, ShellAction};
use tauri::AppHandle;

/// The key in a shown notification's `extra` under which the core's [`Notification`] travels,
/// so a button pressed on it comes back with everything the core needs.
pub const NOTIFICATION_EXTRA: &str = "spartex_notification";

/// What the core's `parse_push` reads from a `push-message` event: FCM's data map on Android
/// (`{title?, body?, data: {…, payload: "<json>"}}`), APNs's `userInfo` on iOS (`{aps, spartex}`),
/// which the core unwraps itself.
pub fn raw_push(event: &Value) -> Vec<u8> {
    let inner = match (event.get("spartex"), event.get("data")) {
        (None, Some(data @ Value::Object(_))) => data,
        _ => event,
    };
    serde_json::to_vec(inner).unwrap_or_default()
}

/// The plugin's notification id for a core key (`approval:<id>`): stable, so a later push
/// replaces the notification of an earlier one and `approval.resolved` can take it down.
pub fn notification_id(key: &str) -> i32 {
    // FNV-1a: the same on every launch, unlike std's hasher.
    let hash = key.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    // Positive: Android reserves nothing, but the plugin's JS side reads ids as numbers.
    (hash & 0x7fff_ffff) as i32
}

/// A local notification as the plugin's builder takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    pub id: i32,
    /// The Android channel (`approvals-urgent` or `default`).
    pub channel: String,
    /// The iOS category (`approval`, `approval-unlock`, `approval-reject`); the same ids are
    /// registered as Android action types, so the buttons show there too.
    pub category: Option<String>,
    pub title: String,
    pub body: String,
    /// The core's notification, for the button pressed on it.
    pub notification: Notification,
}

pub fn to_show(shown: &PushNotification) -> Shown {
    Shown {
        id: notification_id(&shown.notification.key),
        channel: shown.channel.clone(),
        category: shown.category.clone(),
        title: shown.notification.title.clone(),
        body: shown.notification.body.clone(),
        notification: shown.notification.clone(),
    }
}

/// A button (or the body) pressed on a notification the app showed (`actionPerformed`:
/// `{actionId, notification: {id, extra, …}}`), or `None` when it was dismissed or is not one
/// of ours.
pub fn pressed(event: &Value) -> Option<(Notification, NotificationAction)> {
    let action = match event.get("actionId").and_then(Value::as_str) {
        Some("dismiss") => return None,
        Some("approve") => NotificationAction::Approve,
        Some("reject") => NotificationAction::Reject,
        // "tap" (iOS), the body's intent (Android), "default" (the desktop's name).
        _ => NotificationAction::Open,
    };
    let shown = event.get("notification")?;
    let extra = ["extra", "data"]
        .iter()
        .find_map(|key| shown.get(*key)?.get(NOTIFICATION_EXTRA))?;
    let notification = match extra {
        // Some platforms hand extras back as strings.
        Value::String(json) => serde_json::from_str(json).ok()?,
        other => serde_json::from_value(other.clone()).ok()?,
    };
    Some((notification, action))
}

/// A tap on a notification the OS showed from a push (`notificationClicked`: `{id, data}`,
/// `data` the push's data map): the raw push, or `None` for one of the app's own
/// notifications (`actionPerformed` answers those) or a tap without a Spartex payload.
pub fn tapped_push(event: &Value) -> Option<Vec<u8>> {
    let data = event.get("data")?.as_object()?;
    if data.contains_key(NOTIFICATION_EXTRA) {
        return None;
    }
    (data.contains_key("payload") || data.contains_key("spartex"))
        .then(|| serde_json::to_vec(data).unwrap_or_default())
}

/// Where a tap on a pushed notification goes: where the core would send a tap on the one it
/// shows for it (the approval, the project, the stop screen; never a stop itself).
pub fn route_for_tapped(payload: &PushPayload, role: Role) -> String {
    match effect_of_push(payload, None, role) {
        ShellAction::ShowNotification { notification } => notification.open,
        _ => match &payload.approval_id {
            Some(id) => approval_route(id),
            None => "/approvals".to_owned(),
        },
    }
}

/// How the phone registers its push token: FCM on Android; APNs on iOS, the sandbox for a
/// debug build (from Xcode) and production for a release.
pub fn device_request(token: String, apple: bool, debug: bool) -> RegisterDeviceRequest {
    if apple {
        RegisterDeviceRequest::Apns {
            push_token: token,
            environment: if debug {
                ApnsEnvironment::Sandbox
            } else {
                ApnsEnvironment::Production
            },
        }
    } else {
        RegisterDeviceRequest::Fcm { push_token: token }
    }
}

/// Registers this phone's push token with the server for `account`: `token` from a
/// `push-token` event, or asked of the OS (permission first: Android 13 and iOS ask the
/// person). The core replaces the device registered before and unregisters it at sign-out.
#[cfg(mobile)]
pub async fn register(
    app: &AppHandle,
    account: &spartex_core::Account,
    token: Option<String>,
) -> crate::error::CommandResult<()> {
    use tauri_plugin_notifications::NotificationsExt;

    let token = match token {
        Some(token) => token,
        None => {
            if let Err(error) = app.notifications().request_permission().await {
                tracing::warn!(%error, "could not ask for permission to notify");
            }
            app.notifications()
                .register_for_push_notifications()
                .await
                .map_err(|error| crate::error::CommandError {
                    code: spartex_core::ErrorKind::Local,
                    message: format!("The phone gave no push token: {error}"),
                })?
        }
    };
    let request = device_request(token, cfg!(target_os = "ios"), cfg!(debug_assertions));
    let device = account.register_push_device(request).await?;
    tracing::info!(device = %device.id, "registered for pushes");
    Ok(())
}

/// Registers in the background once an account is shown (after sign-in, and at start when
/// one is signed in); a failure is logged, and the next start or token change tries again.
#[cfg(mobile)]
pub fn spawn_registration(
    app: AppHandle,
    account: spartex_core::Account,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(error) = register(&app, &account, None).await {
            tracing::warn!(message = %error.message, "could not register for pushes");
        }
    })
}

/// Does what the core asked.
pub async fn perform(app: &AppHandle, action: ShellAction) {
    match action {
        ShellAction::Navigate { route } => crate::window::open_route(app, route),
        ShellAction::Ignore { reason } => tracing::info!(%reason, "nothing to do for a push"),
        #[cfg(mobile)]
        ShellAction::ShowNotification { notification } => {
            use tauri_plugin_notifications::NotificationsExt;

            let shown = to_show(&notification);
            let mut builder = app
                .notifications()
                .builder()
                .id(shown.id)
                .channel_id(shown.channel)
                .title(shown.title)
                .body(shown.body)
                .auto_cancel()
                .extra(NOTIFICATION_EXTRA, &shown.notification);
            if let Some(id) = &shown.notification.approval_id {
                builder = builder.extra("approval_id", id);
            }
            if let Some(category) = shown.category {
                builder = builder.action_type_id(category);
            }
            if let Err(error) = builder.show().await {
                tracing::warn!(%error, "could not show a notification");
            }
        }
        #[cfg(mobile)]
        ShellAction::Dismiss { key } => {
            use tauri_plugin_notifications::NotificationsExt;

            if let Err(error) = app
                .notifications()
                .remove_active(vec![notification_id(&key)])
            {
                tracing::warn!(%error, "could not take a notification down");
            }
        }
        // A desktop raises its notifications itself (`spartex_core::alerts`), not from pushes.
        #[cfg(desktop)]
        ShellAction::ShowNotification { .. } | ShellAction::Dismiss { .. } => {
            tracing::info!("a push reached a desktop; its notifications are its own");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use spartex_core::notify::NotificationKind;
    use spartex_core::push::{parse_push, CHANNEL_DEFAULT, CHANNEL_URGENT_APPROVALS};

    fn payload(kind: &str, risk: &str) -> Value {
        json!({
            "v": 1,
            "type": kind,
            "tenant_id": "t_1",
            "approval_id": "ap_1",
            "project_id": "pr_1",
            "project_name": "Billing",
            "title": "Deploy to production",
            "risk": risk,
            "seq": 42
        })
    }

    /// FCM's data as the Android plugin passes it: every field a string, the whole payload
    /// as JSON under `payload`.
    fn android_event(payload: &Value) -> Value {
        let mut data = serde_json::Map::new();
        for (key, value) in payload.as_object().expect("test data") {
            let text = match value {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            data.insert(key.clone(), Value::String(text));
        }
        data.insert("payload".into(), Value::String(payload.to_string()));
        json!({ "title": "Approval needed", "body": "Deploy", "data": data })
    }

    /// APNs's userInfo as the iOS plugin passes it.
    fn ios_event(payload: &Value) -> Value {
        json!({
            "aps": { "alert": { "title": "Approval needed" }, "category": "approval" },
            "spartex": payload
        })
    }

    #[test]
    fn android_and_ios_push_events_become_the_payload_the_core_reads() {
        let sent = payload("approval.requested", "high");
        for event in [android_event(&sent), ios_event(&sent), sent.clone()] {
            let parsed = parse_push(&raw_push(&event)).expect("the core reads it");
            assert_eq!(parsed.approval_id.as_deref(), Some("ap_1"));
            assert_eq!(parsed.seq, 42);
        }
    }

    #[test]
    fn an_urgent_approval_goes_on_the_urgent_channel_with_its_key_as_id() {
        let sent = payload("approval.requested", "critical");
        let parsed = parse_push(&raw_push(&android_event(&sent))).expect("test data");
        let ShellAction::ShowNotification { notification } =
            effect_of_push(&parsed, None, Role::Manager)
        else {
            panic!("a request shows a notification");
        };
        let shown = to_show(&notification);
        assert_eq!(shown.channel, CHANNEL_URGENT_APPROVALS);
        assert_eq!(shown.id, notification_id("approval:ap_1"));
        // Not cached: no buttons, a tap opens it (never an approval made blind).
        assert_eq!(shown.category, None);

        let calm = parse_push(&raw_push(&ios_event(&payload("approval.requested", "low"))));
        let ShellAction::ShowNotification { notification } =
            effect_of_push(&calm.expect("test data"), None, Role::Manager)
        else {
            panic!("a request shows a notification");
        };
        assert_eq!(to_show(&notification).channel, CHANNEL_DEFAULT);
    }

    #[test]
    fn the_category_the_core_chose_is_the_one_shown() {
        for category in ["approval", "approval-unlock", "approval-reject"] {
            let shown = to_show(&PushNotification {
                notification: notification(),
                channel: CHANNEL_DEFAULT.into(),
                category: Some(category.into()),
                open: "/approvals/ap_1".into(),
            });
            assert_eq!(shown.category.as_deref(), Some(category));
        }
    }

    #[test]
    fn notification_ids_are_stable_positive_and_distinct() {
        assert_eq!(
            notification_id("approval:ap_1"),
            notification_id("approval:ap_1")
        );
        assert_ne!(
            notification_id("approval:ap_1"),
            notification_id("approval:ap_2")
        );
        assert!(notification_id("approval:ap_1") >= 0);
    }

    fn notification() -> Notification {
        Notification {
            key: "approval:ap_1".into(),
            kind: NotificationKind::ApprovalRequested,
            title: "Approval needed: Deploy".into(),
            body: String::new(),
            project_id: Some("pr_1".into()),
            approval_id: Some("ap_1".into()),
            urgent: false,
            actions: vec![
                NotificationAction::Approve,
                NotificationAction::Reject,
                NotificationAction::Open,
            ],
        }
    }

    #[test]
    fn a_button_on_a_shown_notification_comes_back_with_the_core_notification() {
        let extra = json!({ NOTIFICATION_EXTRA: notification(), "approval_id": "ap_1" });
        for (id, action) in [
            ("approve", NotificationAction::Approve),
            ("reject", NotificationAction::Reject),
            ("tap", NotificationAction::Open),
        ] {
            let event = json!({ "actionId": id, "notification": { "id": 7, "extra": extra } });
            assert_eq!(pressed(&event), Some((notification(), action)), "{id}");
        }
        let as_string = json!({
            "actionId": "approve",
            "notification": { "extra": { NOTIFICATION_EXTRA: serde_json::to_string(&notification()).expect("test data") } }
        });
        assert_eq!(
            pressed(&as_string),
            Some((notification(), NotificationAction::Approve))
        );
        let dismissed = json!({ "actionId": "dismiss", "notification": { "extra": extra } });
        assert_eq!(pressed(&dismissed), None);
        assert_eq!(
            pressed(&json!({ "actionId": "approve", "notification": {} })),
            None
        );
    }

    #[test]
    fn a_tap_on_a_pushed_notification_opens_what_it_is_about_never_a_stop() {
        let sent = payload("approval.requested", "high");
        let event = json!({ "id": -1, "data": android_event(&sent)["data"] });
        let raw = tapped_push(&event).expect("a pushed notification");
        let parsed = parse_push(&raw).expect("test data");
        assert_eq!(route_for_tapped(&parsed, Role::Viewer), "/approvals/ap_1");

        let stop = json!({
            "v": 1, "type": "stop.partial", "tenant_id": "t_1", "project_id": "pr_1",
            "title": "Stop incomplete", "seq": 9
        });
        let parsed = parse_push(&raw_push(&ios_event(&stop))).expect("test data");
        assert_eq!(
            route_for_tapped(&parsed, Role::Manager),
            "/projects/pr_1?stop=project"
        );

        let resolved = payload("approval.resolved", "high");
        let parsed =
            parse_push(&serde_json::to_vec(&resolved).expect("test data")).expect("test data");
        assert_eq!(route_for_tapped(&parsed, Role::Manager), "/approvals/ap_1");
    }

    #[test]
    fn a_tap_on_the_apps_own_notification_is_left_to_its_action_event() {
        let local = json!({ "id": 7, "data": { NOTIFICATION_EXTRA: notification() } });
        assert_eq!(tapped_push(&local), None);
        assert_eq!(tapped_push(&json!({ "id": 7 })), None);
        assert_eq!(
            tapped_push(&json!({ "id": 7, "data": { "other": "x" } })),
            None
        );
    }

    #[test]
    fn android_registers_with_fcm_and_ios_with_the_apns_host_of_its_build() {
        assert_eq!(
            device_request("t".into(), false, true),
            RegisterDeviceRequest::Fcm {
                push_token: "t".into()
            }
        );
        for (debug, environment) in [
            (true, ApnsEnvironment::Sandbox),
            (false, ApnsEnvironment::Production),
        ] {
            assert_eq!(
                device_request("t".into(), true, debug),
                RegisterDeviceRequest::Apns {
                    push_token: "t".into(),
                    environment
                }
            );
        }
    }
}
