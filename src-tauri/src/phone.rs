//! What a phone sets up at start: the notification channels (Android) and the notification
//! categories with their Approve / Reject actions (iOS; Android for the notifications the app
//! shows itself), as `mobile/notifications.json` declares them, in the form
//! `tauri-plugin-notifications` takes. The server's FCM pushes name the channels
//! (`channel_id`); the categories are for the app's own notifications (APNs pushes carry
//! none: a press on one reaches the app as a plain tap).

use serde::Deserialize;

/// `mobile/notifications.json`: what the phone registers with the OS.
const NOTIFICATIONS: &str = include_str!("../../mobile/notifications.json");

#[cfg(mobile)]
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PhoneNotifications {
    #[cfg_attr(target_os = "ios", allow(dead_code))]
    channels: Vec<tauri_plugin_notifications::Channel>,
    action_types: Vec<tauri_plugin_notifications::ActionType>,
}

/// Registers the channels (Android keeps them across launches; creating one again changes
/// nothing the user set) and the categories. A failure is logged: notifications then arrive
/// on the OS's fallback channel, or without buttons, but they arrive.
#[cfg(mobile)]
pub fn register_notifications(app: &tauri::AppHandle) {
    use tauri_plugin_notifications::NotificationsExt;

    let declared: PhoneNotifications = match serde_json::from_str(NOTIFICATIONS) {
        Ok(declared) => declared,
        Err(error) => {
            tracing::error!(%error, "mobile/notifications.json does not parse");
            return;
        }
    };
    #[cfg(target_os = "android")]
    for channel in declared.channels {
        let id = channel.id().to_owned();
        if let Err(error) = app.notifications().create_channel(channel) {
            tracing::warn!(%error, channel = %id, "could not create a notification channel");
        }
    }
    if let Err(error) = app
        .notifications()
        .register_action_types(declared.action_types)
    {
        tracing::warn!(%error, "could not register the notification categories");
    }
}

/// The ids the server's push senders and the core's push handling name
/// (`crates/server/src/push`, `spartex_core::push`): FCM channels and APNs categories, and the
/// action ids `spartex_policy::NotificationAction::from_id` reads.
#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Declared {
        channels: Vec<serde_json::Value>,
        action_types: Vec<serde_json::Value>,
    }

    fn declared() -> Declared {
        serde_json::from_str(NOTIFICATIONS).expect("mobile/notifications.json parses")
    }

    fn find<'a>(list: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
        list.iter()
            .find(|item| item["id"] == id)
            .unwrap_or_else(|| panic!("mobile/notifications.json declares {id}"))
    }

    #[test]
    fn urgent_approvals_have_a_high_importance_channel_beside_the_default_one() {
        let declared = declared();
        let urgent = find(&declared.channels, "approvals-urgent");
        assert_eq!(urgent["name"], "Approvals (urgent)");
        // Android's IMPORTANCE_HIGH: sound and heads-up.
        assert_eq!(urgent["importance"], 4);
        assert_eq!(find(&declared.channels, "default")["importance"], 3);
    }

    #[test]
    fn approve_needs_the_device_unlocked_whatever_the_risk() {
        // The risk is the agent's own word: a spend called "low" must not be approved from a
        // locked phone either.
        let declared = declared();
        for category in ["approval", "approval-unlock"] {
            let actions = find(&declared.action_types, category)["actions"]
                .as_array()
                .expect("actions");
            let approve = find(actions, "approve");
            assert_eq!(approve["title"], "Approve");
            assert_eq!(approve["requiresAuthentication"], true, "{category}");
            assert_eq!(find(actions, "reject")["title"], "Reject");
            // A press brings the app up: after iOS ended it, the press reaches it only as a
            // tap, which then opens the request instead of vanishing.
            for action in actions {
                assert_eq!(action["foreground"], true, "{category}: {action}");
            }
        }
    }

    #[test]
    fn a_request_that_cannot_be_approved_here_offers_reject_only() {
        let declared = declared();
        let actions = find(&declared.action_types, "approval-reject")["actions"]
            .as_array()
            .expect("actions");
        let ids: Vec<_> = actions.iter().map(|action| &action["id"]).collect();
        assert_eq!(ids, ["reject"]);
    }
}
