//! Push registration (protocol v1.1): devices, the VAPID key, and the notification settings
//! the server honours while the app is closed.

use axum::extract::{Path, State};
use axum::Json;
use spartex_api::{
    Deleted, Device, NotificationPrefs, RegisterDeviceRequest, TenantSettings, VapidPublicKey,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::doc::{
    IdPath, IdempotencyKey, Idempotent, Invalid, JsonBody, NotFound, SignedIn, Throttled,
};
use super::extract::{ApiJson, Mutation};
use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::service::{devices, tenant};
use crate::state::AppState;
use crate::write::{mutate, Answer, Reply};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_device, list_devices))
        .routes(routes!(delete_device))
        .routes(routes!(vapid_public_key))
        .routes(routes!(notification_settings, put_notification_settings))
        .routes(routes!(tenant_settings, put_tenant_settings))
}

/// Registers this install for pushes: APNs, FCM or Web Push (UnifiedPush). The same token or
/// endpoint again answers the same device (200), so an app may register on every start.
#[utoipa::path(post, path = "/api/v1/devices", tag = "devices", request_body = RegisterDeviceRequest,
    params(IdempotencyKey), security(("bearer" = [])),
    responses((status = 201, body = Device), (status = 200, body = Device, description = "Already registered"),
        SignedIn, JsonBody, Idempotent, Invalid, Throttled))]
async fn register_device(
    State(state): State<AppState>,
    user: UserPrincipal,
    mutation: Mutation,
    ApiJson(req): ApiJson<RegisterDeviceRequest>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    let checked = devices::checked(req, state.settings.push.insecure_endpoints).await?;
    mutate(&state, scope, async |w| {
        let (device, new) = devices::register(w, &user, checked).await?;
        Ok(if new {
            Reply::created(device)
        } else {
            Reply::ok(device)
        })
    })
    .await
}

/// The caller's own devices, with when a push last reached each and the last error.
#[utoipa::path(get, path = "/api/v1/devices", tag = "devices", security(("bearer" = [])),
    responses((status = 200, body = Vec<Device>), SignedIn))]
async fn list_devices(
    State(state): State<AppState>,
    user: UserPrincipal,
) -> ApiResult<Json<Vec<Device>>> {
    Ok(Json(
        state.store.devices(&user.tenant_id, &user.user_id).await?,
    ))
}

/// Unregisters one of the caller's own devices (sign-out on the phone).
#[utoipa::path(delete, path = "/api/v1/devices/{id}", tag = "devices", params(IdPath, IdempotencyKey),
    security(("bearer" = [])), responses((status = 200, body = Deleted), SignedIn, Idempotent, NotFound, Throttled))]
async fn delete_device(
    State(state): State<AppState>,
    user: UserPrincipal,
    Path(id): Path<String>,
    mutation: Mutation,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        devices::unregister(w, &user, &id).await?;
        Ok(Reply::ok(Deleted { deleted: id }))
    })
    .await
}

/// The server's VAPID public key, to make a Web Push subscription with. It is kept in the
/// database, so subscriptions survive restarts.
#[utoipa::path(get, path = "/api/v1/push/vapid-public-key", tag = "devices",
    responses((status = 200, body = VapidPublicKey)))]
async fn vapid_public_key(State(state): State<AppState>) -> ApiResult<Json<VapidPublicKey>> {
    let key = state
        .pushes
        .vapid_public_key
        .get()
        .cloned()
        .ok_or_else(|| {
            ApiError::invalid("this server has no VAPID key yet; try again in a moment")
        })?;
    Ok(Json(VapidPublicKey { key }))
}

/// The caller's notification settings as pushes honour them (the defaults until saved).
#[utoipa::path(get, path = "/api/v1/me/notification-settings", tag = "devices", security(("bearer" = [])),
    responses((status = 200, body = NotificationPrefs), SignedIn))]
async fn notification_settings(
    State(state): State<AppState>,
    user: UserPrincipal,
) -> ApiResult<Json<NotificationPrefs>> {
    let saved = state
        .store
        .notification_settings(&user.tenant_id, &user.user_id)
        .await?;
    Ok(Json(
        saved
            .and_then(|json| serde_json::from_str(&json).ok())
            .unwrap_or_default(),
    ))
}

/// Saves the caller's notification settings: quiet hours (in `time_zone`), muted projects,
/// on or off. Critical approvals and stops pass through quiet hours and mutes.
#[utoipa::path(put, path = "/api/v1/me/notification-settings", tag = "devices",
    request_body = NotificationPrefs, params(IdempotencyKey), security(("bearer" = [])),
    responses((status = 200, body = NotificationPrefs), SignedIn, JsonBody, Idempotent, Invalid, Throttled))]
async fn put_notification_settings(
    State(state): State<AppState>,
    user: UserPrincipal,
    mutation: Mutation,
    ApiJson(prefs): ApiJson<NotificationPrefs>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        devices::put_settings(w, &user, prefs).await.map(Reply::ok)
    })
    .await
}

/// The organisation's settings: how much its pushes say on a lock screen.
#[utoipa::path(get, path = "/api/v1/tenant/settings", tag = "devices", security(("bearer" = [])),
    responses((status = 200, body = TenantSettings), SignedIn))]
async fn tenant_settings(
    State(state): State<AppState>,
    user: UserPrincipal,
) -> ApiResult<Json<TenantSettings>> {
    Ok(Json(
        tenant::settings(state.store.as_ref(), &user.tenant_id).await?,
    ))
}

/// Saves the organisation's settings (owners only). `push_detail: "minimal"` keeps project
/// names and request titles off every member's lock screen from the next push on.
#[utoipa::path(put, path = "/api/v1/tenant/settings", tag = "devices",
    request_body = TenantSettings, params(IdempotencyKey), security(("bearer" = [])),
    responses((status = 200, body = TenantSettings), SignedIn, JsonBody, Idempotent, Throttled))]
async fn put_tenant_settings(
    State(state): State<AppState>,
    user: UserPrincipal,
    mutation: Mutation,
    ApiJson(settings): ApiJson<TenantSettings>,
) -> ApiResult<Answer> {
    let scope = mutation.scope(&user.tenant_id, &user.user_id);
    mutate(&state, scope, async |w| {
        tenant::put_settings(w, &user, settings)
            .await
            .map(Reply::ok)
    })
    .await
}
