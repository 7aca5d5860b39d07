//! This install's push registration (`POST/DELETE /api/v1/devices`), remembered in the
//! account's folder (`push-device.json`): the device the server answered and a fingerprint of
//! the address it was registered with (a SHA-256, so no push token is kept on disk).
//!
//! - Registering the same address again within a day asks nothing of the server; after a
//!   day it registers again (the server answers the same device), in case the server dropped it.
//! - A new address (the push service rotated the token) registers the new one and unregisters
//!   the old; an old one that could not be unregistered is retried at the next registration.
//! - Sign-out unregisters it before the session is revoked, best effort and bounded in time.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spartex_api::endpoints::{RegisterDevice, UnregisterDevice};
use spartex_api::{Device, RegisterDeviceRequest};
use tokio::sync::Mutex;

use crate::error::{CoreError, CoreResult};
use crate::session::Session;

const DEVICE_FILE: &str = "push-device.json";

/// How long a registration is trusted before the same address is registered again.
pub const REREGISTER_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// The most sign-out waits for the server to forget the device.
pub const SIGN_OUT_PATIENCE: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Record {
    #[serde(default)]
    current: Option<Registered>,
    /// Devices of addresses this install no longer has, still to unregister.
    #[serde(default)]
    stale: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Registered {
    device: Device,
    /// SHA-256 of the registration as sent, in hex.
    fingerprint: String,
    registered_at: DateTime<Utc>,
}

fn fingerprint(request: &RegisterDeviceRequest) -> String {
    let json = serde_json::to_vec(request).unwrap_or_default();
    Sha256::digest(&json)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One account's push registration on this install.
#[derive(Clone)]
pub(crate) struct DeviceRecord {
    path: PathBuf,
    /// One registration at a time, so two calls never register twice.
    one_at_a_time: Arc<Mutex<()>>,
}

impl DeviceRecord {
    pub(crate) fn new(account_dir: &Path) -> DeviceRecord {
        DeviceRecord {
            path: account_dir.join(DEVICE_FILE),
            one_at_a_time: Arc::new(Mutex::new(())),
        }
    }

    fn load(&self) -> Record {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    fn save(&self, record: &Record) -> CoreResult<()> {
        let local = |e: std::io::Error| {
            CoreError::Local(format!("Could not save {}: {e}", self.path.display()))
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(local)?;
        }
        let json =
            serde_json::to_vec_pretty(record).map_err(|e| CoreError::Local(e.to_string()))?;
        crate::registry::write_private(&self.path, &json).map_err(local)
    }

    /// The device this install is registered as, as last answered.
    pub(crate) fn current(&self) -> Option<Device> {
        self.load().current.map(|r| r.device)
    }

    /// Registers `request`'s address, or answers the device it was registered as today.
    pub(crate) async fn register(
        &self,
        session: &Session,
        request: RegisterDeviceRequest,
        now: DateTime<Utc>,
    ) -> CoreResult<Device> {
        let _one = self.one_at_a_time.lock().await;
        let mut record = self.load();
        let fingerprint = fingerprint(&request);
        if let Some(known) = &record.current {
            if known.fingerprint == fingerprint && now - known.registered_at < REREGISTER_AFTER {
                let device = known.device.clone();
                if !record.stale.is_empty() {
                    self.forget_stale(session, &mut record).await;
                }
                return Ok(device);
            }
        }
        let key = uuid::Uuid::new_v4().to_string();
        let device = session
            .call(&RegisterDevice { body: request }, Some(&key))
            .await?;
        if let Some(old) = record.current.take() {
            if old.device.id != device.id && !record.stale.contains(&old.device.id) {
                record.stale.push(old.device.id);
            }
        }
        record.stale.retain(|id| *id != device.id);
        record.current = Some(Registered {
            device: device.clone(),
            fingerprint,
            registered_at: now,
        });
        self.save(&record)?;
        if !record.stale.is_empty() {
            self.forget_stale(session, &mut record).await;
        }
        tracing::info!(device = %device.id, platform = %device.platform, "registered for pushes");
        Ok(device)
    }

    /// Unregisters the old devices it can; the rest wait for the next registration.
    async fn forget_stale(&self, session: &Session, record: &mut Record) {
        let mut left = Vec::new();
        for id in std::mem::take(&mut record.stale) {
            if !unregister(session, &id).await {
                left.push(id);
            }
        }
        record.stale = left;
        if let Err(error) = self.save(record) {
            tracing::warn!(%error, "could not note which old devices were unregistered");
        }
    }

    /// Stops pushes to this install: unregisters its device (and any old one). True when a
    /// device was registered. Offline, the record is kept and the error returned.
    pub(crate) async fn unregister(&self, session: &Session) -> CoreResult<bool> {
        let _one = self.one_at_a_time.lock().await;
        let mut record = self.load();
        let Some(current) = record.current.clone() else {
            if !record.stale.is_empty() {
                self.forget_stale(session, &mut record).await;
            }
            return Ok(false);
        };
        let key = uuid::Uuid::new_v4().to_string();
        let gone = unregister_request(&current.device.id);
        match session.call(&gone, Some(&key)).await {
            Ok(_) | Err(CoreError::NotFound { .. }) => {}
            Err(error) => return Err(error),
        }
        record.current = None;
        self.forget_stale(session, &mut record).await;
        Ok(true)
    }

    /// Sign-out: unregisters every device this install knows, within [`SIGN_OUT_PATIENCE`].
    /// Never fails: offline, the server keeps pushing to a phone that drops pushes for
    /// accounts not signed in.
    pub(crate) async fn unregister_on_sign_out(&self, session: &Session) {
        let record = self.load();
        let ids: Vec<String> = record
            .current
            .iter()
            .map(|r| r.device.id.clone())
            .chain(record.stale.iter().cloned())
            .collect();
        if ids.is_empty() {
            return;
        }
        let all = async {
            for id in &ids {
                unregister(session, id).await;
            }
        };
        if tokio::time::timeout(SIGN_OUT_PATIENCE, all).await.is_err() {
            tracing::warn!(
                "the server did not answer in time; signing out without unregistering this device"
            );
        }
    }
}

fn unregister_request(device_id: &str) -> UnregisterDevice {
    UnregisterDevice {
        device_id: device_id.to_owned(),
    }
}

/// `DELETE /devices/{id}`; true when the server no longer has it.
async fn unregister(session: &Session, device_id: &str) -> bool {
    let key = uuid::Uuid::new_v4().to_string();
    let gone = unregister_request(device_id);
    match session.call(&gone, Some(&key)).await {
        Ok(_) | Err(CoreError::NotFound { .. }) => true,
        Err(error) => {
            tracing::warn!(device = %device_id, %error, "could not unregister a device");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_tells_addresses_apart_and_hides_them() {
        let one = RegisterDeviceRequest::Fcm {
            push_token: "token-one".into(),
        };
        let two = RegisterDeviceRequest::Fcm {
            push_token: "token-two".into(),
        };
        assert_eq!(fingerprint(&one), fingerprint(&one.clone()));
        assert_ne!(fingerprint(&one), fingerprint(&two));
        assert_eq!(fingerprint(&one).len(), 64);
        assert!(!fingerprint(&one).contains("token"));
    }

    #[test]
    fn the_record_on_disk_holds_no_push_token() {
        let dir = tempfile::tempdir().expect("temp dir");
        let devices = DeviceRecord::new(dir.path());
        let request = RegisterDeviceRequest::Webpush {
            endpoint: "https://push.example/secret-endpoint".into(),
            p256dh: "BPublicKey".into(),
            auth: "AuthSecret".into(),
        };
        let record = Record {
            current: Some(Registered {
                device: Device {
                    id: "dev_1".into(),
                    platform: request.platform(),
                    created_at: Utc::now(),
                    last_push_at: None,
                    last_error: None,
                },
                fingerprint: fingerprint(&request),
                registered_at: Utc::now(),
            }),
            stale: vec!["dev_0".into()],
        };
        devices.save(&record).expect("saves");
        let on_disk = std::fs::read_to_string(dir.path().join(DEVICE_FILE)).expect("reads");
        for secret in ["secret-endpoint", "BPublicKey", "AuthSecret"] {
            assert!(!on_disk.contains(secret), "{on_disk}");
        }
        assert_eq!(devices.current().map(|d| d.id).as_deref(), Some("dev_1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(DEVICE_FILE))
                .expect("kept")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "readable by its owner alone");
        }
    }

    #[test]
    fn a_damaged_record_reads_as_no_registration() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join(DEVICE_FILE), b"{not json").expect("writes");
        assert!(DeviceRecord::new(dir.path()).current().is_none());
    }
}
