//! Registering this install for pushes, and the organisation's settings that shape them.

use spartex_api::endpoints::{
    GetTenantSettings, GetVapidPublicKey, ListDevices, PutTenantSettings,
};
use spartex_api::{Device, RegisterDeviceRequest, TenantSettings, VapidPublicKey};

use crate::account::Account;
use crate::error::CoreResult;

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
