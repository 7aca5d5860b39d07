//! The server's VAPID key (RFC 8292): made once and kept in the database, so Web Push
//! subscriptions made with its public half survive restarts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike, ES256KeyPair};

use crate::store::{Store, StoreError, StoreResult, WriteScope};

const SETTING: &str = "vapid_private_key";

/// The kept key, made on first start.
pub async fn stored_key(store: &dyn Store) -> StoreResult<ES256KeyPair> {
    let mut tx = store.begin(WriteScope::Server).await?;
    if let Some(kept) = tx.setting(SETTING).await? {
        return URL_SAFE_NO_PAD
            .decode(&kept)
            .ok()
            .and_then(|raw| ES256KeyPair::from_bytes(&raw).ok())
            .ok_or_else(|| {
                StoreError::Unsupported(format!(
                    "the stored `{SETTING}` is damaged; delete that server setting to make a new \
                     key (phones then register again)"
                ))
            });
    }
    let key = ES256KeyPair::generate();
    tx.put_setting(SETTING, &URL_SAFE_NO_PAD.encode(key.to_bytes()))
        .await?;
    drop(tx.commit().await?);
    Ok(key)
}

/// The public half as subscriptions take it: the uncompressed point, base64url.
pub fn public_key(key: &ES256KeyPair) -> String {
    URL_SAFE_NO_PAD.encode(key.public_key().public_key().to_bytes_uncompressed())
}
