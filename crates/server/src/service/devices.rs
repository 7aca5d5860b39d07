//! Push registration for phones and desktops.

use spartex_api::{Device, RegisterDeviceRequest};

use super::new_id;
use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::write::Write;

pub async fn register(
    w: &mut Write,
    user: &UserPrincipal,
    req: RegisterDeviceRequest,
) -> ApiResult<Device> {
    if req.push_token.trim().is_empty() || req.push_token.len() > 4096 {
        return Err(ApiError::invalid(
            "`push_token` must be 1 to 4096 characters, as the push service gave it.",
        ));
    }
    let device = Device {
        id: new_id("dev"),
        platform: req.platform,
        created_at: w.now(),
    };
    Ok(w.tx()
        .insert_device(
            &user.tenant_id,
            &user.user_id,
            &device,
            req.push_token.trim(),
        )
        .await?)
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
