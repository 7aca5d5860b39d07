//! Whether this phone is paged: its push token registered with the server for the account
//! shown, and, when it is not, why, in words the UI shows. An on-call person whose phone
//! will not ring must know it: the worst failure of paging is the silent one.

use std::sync::Mutex;

use spartex_api::{ApnsEnvironment, RegisterDeviceRequest};
use tauri::plugin::PermissionState;
#[cfg(mobile)]
use tauri::{AppHandle, Manager};

/// Said on a desktop whose notifications are on but shown by nothing.
pub const NO_NOTIFICATION_SERVICE: &str = "No notification service answers on this computer, \
     so you are not alerted here and the escalation ladder does not count on it. Start your \
     desktop's notification daemon (such as dunst or mako), or make sure your phone is paged.";

/// Why a desktop does not alert its person for the account shown: only when notifications are
/// on and nothing shows them (turned off, the person knows; a phone says its own).
pub fn desktop_problem(found: spartex_core::AlertsHere) -> Option<String> {
    (found == spartex_core::AlertsHere::NoService).then(|| NO_NOTIFICATION_SERVICE.to_owned())
}

/// Said when the person (or the phone's settings) refused notifications.
pub const NOT_ALLOWED: &str = "Notifications are turned off for Spartex Control, so this phone \
     will not be paged. Turn them on in the phone's settings, then open the app again.";

/// Why this phone is not paged for the account shown, or nothing when it is (or is being
/// registered). A desktop is never paged by push: it raises its own notifications.
#[derive(Default)]
pub struct Paging(Mutex<Option<String>>);

impl Paging {
    pub fn registered(&self) {
        *self.problem_slot() = None;
    }

    pub fn not_paged(&self, why: String) {
        *self.problem_slot() = Some(why);
    }

    pub fn problem(&self) -> Option<String> {
        self.problem_slot().clone()
    }

    fn problem_slot(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What the OS's answer about notifications means: asked (`Some(true)`: allowed), refused, or
/// still to be asked of the person (`None`).
pub fn allowed(state: PermissionState) -> Option<bool> {
    match state {
        PermissionState::Granted => Some(true),
        PermissionState::Denied => Some(false),
        PermissionState::Prompt | PermissionState::PromptWithRationale => None,
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

/// Whether the phone may show notifications, asking the person if it has not yet. Asked only
/// when the OS says it must be: Android's plugin never answers a request for a permission
/// already granted, and registration waited on it for good.
#[cfg(mobile)]
async fn may_notify(app: &AppHandle) -> bool {
    use tauri_plugin_notifications::NotificationsExt;

    match app.notifications().permission_state().await.map(allowed) {
        Ok(Some(known)) => return known,
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(%error, "could not tell whether the phone may notify; registering");
            return true;
        }
    }
    match app.notifications().request_permission().await.map(allowed) {
        Ok(answer) => answer == Some(true),
        Err(error) => {
            tracing::warn!(%error, "could not ask for permission to notify; registering");
            true
        }
    }
}

/// Registers this phone's push token with the server for `account`: `token` from a
/// `push-token` event, or asked of the OS once it may notify. The core replaces the device
/// registered before and unregisters it at sign-out. A phone that may not notify is taken off
/// every signed-in organisation's list, the one shown and the others: iOS gives a token even
/// then, and the escalation ladder would count on a phone that shows nothing. Registered for
/// the one shown, it is registered for the others too (again after notifications were turned
/// back on; the same token within a day asks nothing of the server).
#[cfg(mobile)]
pub async fn register(
    app: &AppHandle,
    account: &spartex_core::Account,
    token: Option<String>,
) -> crate::error::CommandResult<()> {
    use crate::error::CommandError;
    use tauri_plugin_notifications::NotificationsExt;

    let outcome = async {
        if !may_notify(app).await {
            let shell = app.state::<crate::state::Shell>();
            let not_reached = shell
                .core()
                .unregister_push_devices_of_every_account()
                .await;
            log_not_reached(
                not_reached,
                "could not take this phone off the organisation's push list",
            );
            return Err(CommandError {
                code: spartex_core::ErrorKind::Local,
                message: NOT_ALLOWED.into(),
            });
        }
        let token = match token {
            Some(token) => token,
            None => app
                .notifications()
                .register_for_push_notifications()
                .await
                .map_err(|error| CommandError {
                    code: spartex_core::ErrorKind::Local,
                    message: format!(
                        "The phone gave no push token ({error}), so it will not be paged. \
                         Open the app again once it is online."
                    ),
                })?,
        };
        let request = device_request(token, cfg!(target_os = "ios"), cfg!(debug_assertions));
        let device = account.register_push_device(request.clone()).await?;
        tracing::info!(device = %device.id, "registered for pushes");
        Ok(request)
    }
    .await;
    let paging = app.state::<Paging>();
    match outcome {
        Ok(request) => {
            paging.registered();
            let shell = app.state::<crate::state::Shell>();
            let not_reached = (shell.core())
                .register_push_device_for_every_account(&request, &account.info().id)
                .await;
            log_not_reached(
                not_reached,
                "could not register this phone for the organisation's pushes",
            );
            Ok(())
        }
        Err(error) => {
            paging.not_paged(error.message.clone());
            Err(error)
        }
    }
}

#[cfg(mobile)]
fn log_not_reached(not_reached: spartex_core::CoreResult<spartex_core::NotReached>, what: &str) {
    match not_reached {
        Ok(not_reached) => {
            for (info, error) in not_reached {
                tracing::warn!(%error, organisation = %info.tenant.name, "{what}");
            }
        }
        Err(error) => tracing::warn!(%error, "could not list the accounts signed in: {what}"),
    }
}

/// Registers in the background once an account is shown (after sign-in, and at start when
/// one is signed in); a failure is shown (`paging_problem`), and the next start or token
/// change tries again.
#[cfg(mobile)]
pub fn spawn_registration(
    app: AppHandle,
    account: spartex_core::Account,
) -> tokio::task::JoinHandle<()> {
    // Another account's problem is not this one's: said again only if it is.
    app.state::<Paging>().registered();
    tokio::spawn(async move {
        if let Err(error) = register(&app, &account, None).await {
            tracing::warn!(message = %error.message, "could not register for pushes");
        }
    })
}

/// The UI listens to the notification plugin's events: a tap that started the app, which the
/// plugin holds until someone listens, is passed on now, and later taps at once.
#[cfg(mobile)]
pub fn listening(app: &AppHandle) {
    use tauri_plugin_notifications::NotificationsExt;

    if let Err(error) = app.notifications().set_click_listener_active(true) {
        tracing::warn!(%error, "taps on notifications will not reach the app");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_desktop_says_it_alerts_nobody_only_when_nothing_shows_notifications_turned_on() {
        use spartex_core::AlertsHere;
        assert_eq!(
            desktop_problem(AlertsHere::NoService).as_deref(),
            Some(NO_NOTIFICATION_SERVICE)
        );
        for quiet in [
            AlertsHere::Raised,
            AlertsHere::TurnedOff,
            AlertsHere::NotRaisedHere,
        ] {
            assert_eq!(desktop_problem(quiet), None, "{quiet:?}");
        }
    }

    #[test]
    fn only_the_oss_yes_or_no_is_taken_without_asking() {
        assert_eq!(allowed(PermissionState::Granted), Some(true));
        assert_eq!(allowed(PermissionState::Denied), Some(false));
        assert_eq!(allowed(PermissionState::Prompt), None);
        assert_eq!(allowed(PermissionState::PromptWithRationale), None);
    }

    #[test]
    fn the_problem_is_said_until_a_registration_succeeds() {
        let paging = Paging::default();
        assert_eq!(paging.problem(), None);
        paging.not_paged(NOT_ALLOWED.into());
        assert_eq!(paging.problem().as_deref(), Some(NOT_ALLOWED));
        paging.registered();
        assert_eq!(paging.problem(), None);
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
