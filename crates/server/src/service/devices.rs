//! Phones and browsers that take pushes, and the notification settings pushes honour.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use spartex_api::{Device, ErrorCode, NotificationPrefs, RegisterDeviceRequest};

use super::new_id;
use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::push::endpoint;
use crate::store::NewDevice;
use crate::write::Write;

/// A registration whose fields were checked, a Web Push endpoint's host looked up: before the
/// write, which must never wait on the network (a lookup a hostile name server leaves
/// unanswered would hold every write behind it). Cloned for a write run again.
#[derive(Clone)]
pub struct Checked(RegisterDeviceRequest);

/// Registers this install under the caller's sign-in, which it ends with; the same address
/// again answers the same device. True when new.
pub async fn register(
    w: &mut Write,
    user: &UserPrincipal,
    Checked(req): Checked,
) -> ApiResult<(Device, bool)> {
    let registration = serde_json::to_string(&req)
        .map_err(|e| ApiError::invalid(format!("the registration cannot be kept: {e}")))?;
    let id = new_id("dev");
    let device = NewDevice {
        id: &id,
        platform: req.platform(),
        address: req.address(),
        registration: &registration,
        created_at: w.now(),
        session_id: Some(&user.session_id),
    };
    w.tx()
        .insert_device(&user.tenant_id, &user.user_id, &device)
        .await?
        // Signed out as this request came: the device would outlive the sign-in.
        .ok_or_else(|| {
            ApiError::unauthenticated("This session was signed out or revoked. Sign in again.")
        })
}

/// The registration with its fields checked, each refusal naming what to fix.
pub async fn checked(req: RegisterDeviceRequest, insecure_endpoints: bool) -> ApiResult<Checked> {
    match &req {
        RegisterDeviceRequest::Apns { push_token, .. } => {
            let hex =
                push_token.len() % 2 == 0 && push_token.bytes().all(|b| b.is_ascii_hexdigit());
            if !(16..=200).contains(&push_token.len()) || !hex {
                return Err(ApiError::invalid(
                    "`push_token` must be the APNs device token in hex (16 to 200 hex digits), as \
                     `didRegisterForRemoteNotificationsWithDeviceToken` gave it.",
                ));
            }
        }
        RegisterDeviceRequest::Fcm { push_token } => {
            if push_token.is_empty()
                || push_token.len() > 4096
                || !push_token.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(ApiError::invalid(
                    "`push_token` must be the FCM registration token (1 to 4096 printable \
                     characters, no spaces), as `FirebaseMessaging.getToken()` gave it.",
                ));
            }
        }
        RegisterDeviceRequest::Webpush {
            endpoint,
            p256dh,
            auth,
        } => {
            if endpoint.len() > 2048 {
                return Err(ApiError::invalid(
                    "`endpoint` is longer than 2048 characters.",
                ));
            }
            endpoint::check(endpoint, insecure_endpoints)
                .await
                .map_err(|refused| ApiError::Invalid {
                    code: ErrorCode::PushEndpointRefused,
                    message: format!("{refused}."),
                })?;
            let point = URL_SAFE_NO_PAD.decode(p256dh.trim_end_matches('=')).ok();
            if point
                .and_then(|p| web_push_native::p256::PublicKey::from_sec1_bytes(&p).ok())
                .is_none()
            {
                return Err(ApiError::invalid(
                    "`p256dh` must be the subscription's P-256 public key, base64url \
                     (PushSubscription.getKey('p256dh')).",
                ));
            }
            let secret = URL_SAFE_NO_PAD.decode(auth.trim_end_matches('=')).ok();
            if secret.map(|s| s.len()) != Some(16) {
                return Err(ApiError::invalid(
                    "`auth` must be the subscription's 16-byte auth secret, base64url \
                     (PushSubscription.getKey('auth')).",
                ));
            }
        }
    }
    Ok(Checked(req))
}

pub async fn unregister(w: &mut Write, user: &UserPrincipal, device_id: &str) -> ApiResult<()> {
    if w.tx()
        .delete_device(&user.tenant_id, &user.user_id, device_id)
        .await?
    {
        Ok(())
    } else {
        Err(ApiError::NotFound { what: "device" })
    }
}

/// Saves the user's notification settings, checked.
pub async fn put_settings(
    w: &mut Write,
    user: &UserPrincipal,
    prefs: NotificationPrefs,
) -> ApiResult<NotificationPrefs> {
    if prefs
        .muted_projects
        .iter()
        .any(|id| id.is_empty() || id.len() > 200)
    {
        return Err(ApiError::invalid(
            "`muted_projects` holds an empty or over-long id.",
        ));
    }
    if let Some(zone) = &prefs.time_zone {
        if zone.parse::<chrono_tz::Tz>().is_err() {
            return Err(ApiError::invalid(format!(
                "`time_zone` `{}` is not an IANA time zone such as `Europe/Berlin`.",
                zone.chars().take(64).collect::<String>()
            )));
        }
    }
    let json = serde_json::to_string(&prefs)
        .map_err(|e| ApiError::invalid(format!("the settings cannot be kept: {e}")))?;
    w.tx()
        .put_notification_settings(&user.tenant_id, &user.user_id, &json)
        .await?;
    Ok(prefs)
}
