//! Pushes on a phone: what `tauri-plugin-notifications` hands the webview (`push-token`,
//! `push-message`, `actionPerformed`, `notificationClicked`; Rust cannot listen to the plugin
//! itself) comes back through thin commands, goes to the core (`spartex_core::push`), and the
//! [`ShellAction`] it answers is done here: show a notification, take one down, open a screen.
//!
//! The mapping from the plugin's event payloads is pure and compiles on a desktop too, so the
//! desktop's tests check it; only [`register`] and the showing and removing in [`perform`]
//! touch the plugin (`cfg(mobile)`).

use serde_json::Value;
use spartex_api::{PushPayload, Role};
use spartex_core::notify::{Notification, NotificationAction};
use spartex_core::push::{approval_route, effect_of_push, PushNotification, ShellAction};
use tauri::AppHandle;

/// The key in a shown notification's `extra` under which the core's [`Notification`] travels
/// (as JSON text: iOS takes string extras only), for a tap on one this process did not show.
pub const NOTIFICATION_EXTRA: &str = "spartex_notification";
/// The key of the random word a shown notification carries: a press on it counts only with it.
pub const NONCE_EXTRA: &str = "spartex_nonce";

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
    /// Carried in its extras and asked back of a press ([`ShownHere`]).
    pub nonce: String,
}

pub fn to_show(shown: &PushNotification) -> Shown {
    Shown {
        id: notification_id(&shown.notification.key),
        channel: shown.channel.clone(),
        category: shown.category.clone(),
        title: shown.notification.title.clone(),
        body: shown.notification.body.clone(),
        notification: shown.notification.clone(),
        nonce: uuid::Uuid::new_v4().simple().to_string(),
    }
}

/// The extras a shown notification carries, every value a string (iOS's plugin takes nothing
/// else: with an object among them the notification was never shown).
pub fn extras(shown: &Shown) -> Vec<(&'static str, String)> {
    let mut extras = vec![
        (
            NOTIFICATION_EXTRA,
            serde_json::to_string(&shown.notification).unwrap_or_default(),
        ),
        (NONCE_EXTRA, shown.nonce.clone()),
    ];
    if let Some(id) = &shown.notification.approval_id {
        extras.push(("approval_id", id.clone()));
    }
    extras
}

/// The notifications this process showed, by the plugin's id. Approve and Reject count only on
/// one of them, and once: on Android any app can send the activity the intent a press sends,
/// naming an approval, but not the nonce the notification carries; iOS hands a press back with
/// the id alone. A press the app cannot vouch for opens the request instead, to decide there.
#[derive(Default)]
pub struct ShownHere(std::sync::Mutex<std::collections::VecDeque<Shown>>);

/// The most notifications remembered: a phone shows a handful at once.
const REMEMBERED: usize = 64;

impl ShownHere {
    pub fn remember(&self, shown: &Shown) {
        let mut remembered = self.remembered();
        remembered.retain(|earlier| earlier.id != shown.id);
        if remembered.len() == REMEMBERED {
            remembered.pop_front();
        }
        remembered.push_back(shown.clone());
    }

    pub fn forget(&self, id: i32) {
        self.remembered().retain(|shown| shown.id != id);
    }

    /// The notification `id` if `vouches` for it, taken: a press counts once. One that does not
    /// vouch (another app's intent with a guessed id) leaves it for the person's own press.
    fn take_if(&self, id: i32, vouches: impl FnOnce(&Shown) -> bool) -> Option<Shown> {
        let mut remembered = self.remembered();
        let at = remembered.iter().position(|shown| shown.id == id)?;
        vouches(&remembered[at])
            .then(|| remembered.remove(at))
            .flatten()
    }

    fn peek(&self, id: i32) -> Option<Shown> {
        (self.remembered().iter())
            .find(|shown| shown.id == id)
            .cloned()
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, std::collections::VecDeque<Shown>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Whether this platform's plugin hands a press back with the notification's extras (Android)
/// or its id alone (iOS).
pub const PRESSES_CARRY_EXTRAS: bool = !cfg!(target_os = "ios");

/// A button (or the body) pressed on a notification the app showed (`actionPerformed`:
/// `{actionId, notification: {id, extra?, …}}`), or `None` when it was dismissed or is not one
/// of ours. Approve and Reject come back as themselves only for a notification in `shown_here`
/// (with its nonce where extras come back); any other press opens what it is about.
pub fn pressed(
    event: &Value,
    shown_here: &ShownHere,
    extras_come_back: bool,
) -> Option<(Notification, NotificationAction)> {
    let shown = event.get("notification");
    let id = shown
        .and_then(|shown| shown.get("id")?.as_i64())
        .and_then(|id| i32::try_from(id).ok());
    let extra = |key: &str| {
        ["extra", "data"]
            .iter()
            .find_map(|field| shown?.get(*field)?.get(key))
    };
    let action = match event.get("actionId").and_then(Value::as_str) {
        Some("dismiss") => {
            if let Some(id) = id {
                shown_here.forget(id);
            }
            return None;
        }
        Some("approve") => NotificationAction::Approve,
        Some("reject") => NotificationAction::Reject,
        // "tap" (iOS), the body's intent (Android), "default" (the desktop's name).
        _ => NotificationAction::Open,
    };
    let nonce = extra(NONCE_EXTRA).and_then(Value::as_str);
    let vouched = id.and_then(|id| {
        shown_here.take_if(id, |ours| !extras_come_back || nonce == Some(&ours.nonce))
    });
    if let Some(ours) = vouched {
        return Some((ours.notification, action));
    }
    let carried = extra(NOTIFICATION_EXTRA).and_then(|extra| match extra {
        Value::String(json) => serde_json::from_str(json).ok(),
        other => serde_json::from_value(other.clone()).ok(),
    });
    let known = id.and_then(|id| shown_here.peek(id));
    Some((
        known.map(|ours| ours.notification).or(carried)?,
        NotificationAction::Open,
    ))
}

/// A tap on one of the app's own notifications that no press event will follow
/// (`notificationClicked`): iOS reports presses (`actionPerformed`) only on notifications its
/// plugin showed in this process, so after the app was ended a press there comes back as this
/// tap alone. The notification it carries, to open; `None` when the process still waits on it
/// (its press event decides) or it is not one of the app's own.
pub fn own_tapped(event: &Value, shown_here: &ShownHere) -> Option<Notification> {
    let data = event.get("data")?.as_object()?;
    let Value::String(json) = data.get(NOTIFICATION_EXTRA)? else {
        return None;
    };
    let id = event
        .get("id")
        .and_then(Value::as_i64)
        .and_then(|id| i32::try_from(id).ok());
    if id.is_some_and(|id| shown_here.peek(id).is_some()) {
        return None;
    }
    serde_json::from_str(json).ok()
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

/// Does what the core asked.
pub async fn perform(app: &AppHandle, action: ShellAction) {
    match action {
        ShellAction::Navigate { route } => crate::window::open_route(app, route),
        ShellAction::Ignore { reason } => tracing::info!(%reason, "nothing to do for a push"),
        #[cfg(mobile)]
        ShellAction::ShowNotification { notification } => {
            use tauri::Manager;
            use tauri_plugin_notifications::NotificationsExt;

            let shown = to_show(&notification);
            let mut builder = app
                .notifications()
                .builder()
                .id(shown.id)
                .channel_id(&shown.channel)
                .title(&shown.title)
                .body(&shown.body)
                .auto_cancel();
            for (key, value) in extras(&shown) {
                builder = builder.extra(key, value);
            }
            if let Some(category) = &shown.category {
                builder = builder.action_type_id(category);
            }
            match builder.show().await {
                Ok(()) => app.state::<ShownHere>().remember(&shown),
                Err(error) => tracing::warn!(%error, "could not show a notification"),
            }
        }
        #[cfg(mobile)]
        ShellAction::Dismiss { key } => {
            use tauri::Manager;
            use tauri_plugin_notifications::NotificationsExt;

            app.state::<ShownHere>().forget(notification_id(&key));
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

    /// APNs's userInfo as the iOS plugin passes it: the payload as JSON text (the server's
    /// form), or as an object under `spartex` (before it).
    fn ios_event(payload: &Value) -> Value {
        json!({
            "aps": { "alert": { "title": "Approval needed" } },
            "payload": payload.to_string()
        })
    }

    fn ios_event_before(payload: &Value) -> Value {
        json!({ "aps": { "alert": { "title": "Approval needed" } }, "spartex": payload })
    }

    #[test]
    fn android_and_ios_push_events_become_the_payload_the_core_reads() {
        let sent = payload("approval.requested", "high");
        for event in [
            android_event(&sent),
            ios_event(&sent),
            ios_event_before(&sent),
            sent.clone(),
        ] {
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

    /// A notification the app showed, remembered as showing does.
    fn shown_here() -> (ShownHere, Shown) {
        let shown = to_show(&PushNotification {
            notification: notification(),
            channel: CHANNEL_DEFAULT.into(),
            category: Some("approval".into()),
            open: "/approvals/ap_1".into(),
        });
        let here = ShownHere::default();
        here.remember(&shown);
        (here, shown)
    }

    /// The press the plugin reports: with the extras on Android, the id alone on iOS.
    fn press(action: &str, shown: &Shown, extras_come_back: bool) -> Value {
        let extra: serde_json::Map<String, Value> = extras(shown)
            .into_iter()
            .map(|(key, value)| (key.to_owned(), Value::String(value)))
            .collect();
        if extras_come_back {
            json!({ "actionId": action, "notification": { "id": shown.id, "extra": extra } })
        } else {
            json!({ "actionId": action, "notification": { "id": shown.id, "title": "x" } })
        }
    }

    #[test]
    fn a_button_on_a_shown_notification_comes_back_once_with_the_core_notification() {
        for extras_come_back in [true, false] {
            for (id, action) in [
                ("approve", NotificationAction::Approve),
                ("reject", NotificationAction::Reject),
                ("tap", NotificationAction::Open),
            ] {
                let (here, shown) = shown_here();
                let event = press(id, &shown, extras_come_back);
                assert_eq!(
                    pressed(&event, &here, extras_come_back),
                    Some((notification(), action)),
                    "{id}"
                );
                let again = pressed(&event, &here, extras_come_back);
                assert!(
                    again
                        .as_ref()
                        .is_none_or(|(_, action)| *action == NotificationAction::Open),
                    "a second press of {id} decides nothing: {again:?}"
                );
            }
        }
        let (here, shown) = shown_here();
        assert_eq!(pressed(&press("dismiss", &shown, true), &here, true), None);
        assert_eq!(
            pressed(
                &json!({ "actionId": "approve", "notification": {} }),
                &here,
                true
            ),
            None
        );
    }

    #[test]
    fn every_extra_is_a_string_as_ios_takes_them() {
        let (_, shown) = shown_here();
        let extras = extras(&shown);
        let carried = &extras.iter().find(|(key, _)| *key == NOTIFICATION_EXTRA);
        let carried: Notification =
            serde_json::from_str(&carried.expect("the notification").1).expect("as JSON text");
        assert_eq!(carried, notification());
        assert!(extras
            .iter()
            .any(|(key, value)| *key == NONCE_EXTRA && value.len() == 32));
    }

    #[test]
    fn a_press_the_app_cannot_vouch_for_only_opens_the_request() {
        // Another app's intent naming the approval, with the notification's id worked out from
        // it but not the nonce; or a press after the process was restarted.
        let (here, shown) = shown_here();
        let mut forged = press("approve", &shown, true);
        forged["notification"]["extra"][NONCE_EXTRA] = json!("guessed");
        assert_eq!(
            pressed(&forged, &here, true),
            Some((notification(), NotificationAction::Open))
        );
        assert_eq!(
            pressed(&press("approve", &shown, true), &here, true),
            Some((notification(), NotificationAction::Approve)),
            "the forged press left the person's own press its buttons"
        );
        let mut without_nonce = press("approve", &shown, true);
        without_nonce["notification"]["extra"]
            .as_object_mut()
            .expect("extras")
            .remove(NONCE_EXTRA);
        assert_eq!(
            pressed(&without_nonce, &ShownHere::default(), true),
            Some((notification(), NotificationAction::Open)),
            "not shown by this process"
        );
        assert_eq!(
            pressed(
                &press("reject", &shown, false),
                &ShownHere::default(),
                false
            ),
            None,
            "an id alone, unknown here, names nothing to open"
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
    fn a_tap_on_the_apps_own_notification_after_the_app_was_ended_opens_it() {
        // iOS hands the press over as a tap with the notification's string extras only.
        let (here, shown) = shown_here();
        let extras: serde_json::Map<String, Value> = extras(&shown)
            .into_iter()
            .map(|(key, value)| (key.to_owned(), Value::String(value)))
            .collect();
        let tap = json!({ "id": shown.id, "data": extras });
        assert_eq!(own_tapped(&tap, &here), None, "the press event decides it");
        assert_eq!(
            own_tapped(&tap, &ShownHere::default()),
            Some(notification()),
            "a new process has no press event to wait for"
        );
        assert_eq!(tapped_push(&tap), None, "not a push's tap");
    }

    #[test]
    fn a_tap_on_a_pushed_notification_on_ios_keeps_its_payload() {
        // iOS hands a tap over with the string values of the push's userInfo only.
        let sent = payload("approval.requested", "critical");
        let event = json!({ "id": -1, "data": { "payload": sent.to_string() } });
        let parsed = parse_push(&tapped_push(&event).expect("a pushed notification"));
        assert_eq!(
            route_for_tapped(&parsed.expect("the core reads it"), Role::Oncall),
            "/approvals/ap_1"
        );
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
}
