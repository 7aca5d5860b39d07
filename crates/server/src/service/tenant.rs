//! The tenant-wide settings its owner keeps.

use spartex_api::{Role, TenantSettings};

use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::store::{Store, StoreResult};
use crate::write::Write;

/// The tenant's settings as saved; the defaults until an owner saves them, and when what is
/// stored cannot be read (a newer server's field, say), so pushes never stop over it.
pub async fn settings(store: &dyn Store, tenant_id: &str) -> StoreResult<TenantSettings> {
    Ok(store
        .tenant_settings(tenant_id)
        .await?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

pub async fn put_settings(
    w: &mut Write,
    user: &UserPrincipal,
    settings: TenantSettings,
) -> ApiResult<TenantSettings> {
    user.require(Role::Owner, "change the organisation's settings")?;
    let json = serde_json::to_string(&settings)
        .map_err(|e| ApiError::invalid(format!("the settings cannot be kept: {e}")))?;
    w.tx().put_tenant_settings(&user.tenant_id, &json).await?;
    Ok(settings)
}
