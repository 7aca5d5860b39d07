//! Web Push (RFC 8030 delivery, RFC 8291 `aes128gcm`, RFC 8292 VAPID), which UnifiedPush
//! distributors speak too. Encryption and signing are `web-push-native`'s (RustCrypto); this
//! module adds the headers the contract names and reads the push service's answer.

use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use spartex_api::RegisterDeviceRequest;
use web_push_native::jwt_simple::algorithms::{
    ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
};
use web_push_native::jwt_simple::claims::Claims;
use web_push_native::{p256, Auth, WebPushBuilder};

use super::endpoint::{self, PublicOnlyResolver};
use super::errors::{PushRequestError, PushSetupError};
use super::sender::{answer_text, by_status, transport_error, PushMessage, PushSender, Sent};

/// A VAPID signature may be valid for at most 24 hours (RFC 8292 §2); each is made valid for
/// 12 and reused for one, so a push service sees one signature per origin an hour instead of
/// one per push (an ES256 signature costs more than the push's encryption).
const VAPID_VALIDITY: Duration = Duration::from_secs(12 * 3600);
const VAPID_REUSE: Duration = Duration::from_secs(3600);

pub struct WebPushSender {
    http: reqwest::Client,
    /// Signed `Authorization` headers by push service origin, with when each was made.
    signatures: std::sync::Mutex<
        std::collections::HashMap<String, (http::HeaderValue, std::time::Instant)>,
    >,
    vapid: ES256KeyPair,
    contact: String,
    insecure_endpoints: bool,
}

impl WebPushSender {
    pub fn new(
        vapid: ES256KeyPair,
        contact: String,
        insecure_endpoints: bool,
        timeout: Duration,
    ) -> Result<Self, PushSetupError> {
        let mut http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // A push service never redirects; following one could lead anywhere.
            .redirect(reqwest::redirect::Policy::none());
        if !insecure_endpoints {
            http = http.dns_resolver(std::sync::Arc::new(PublicOnlyResolver));
        }
        Ok(WebPushSender {
            http: http.build().map_err(|source| PushSetupError::Client {
                service: "Web Push",
                source,
            })?,
            signatures: std::sync::Mutex::default(),
            vapid,
            contact,
            insecure_endpoints,
        })
    }

    fn request(
        &self,
        endpoint: &str,
        p256dh: &str,
        auth: &str,
        message: &PushMessage,
    ) -> Result<reqwest::Request, PushRequestError> {
        let uri: http::Uri = endpoint
            .parse()
            .map_err(|e: http::uri::InvalidUri| PushRequestError::BadEndpoint(e.to_string()))?;
        let public = URL_SAFE_NO_PAD
            .decode(p256dh.trim_end_matches('='))
            .ok()
            .and_then(|bytes| p256::PublicKey::from_sec1_bytes(&bytes).ok())
            .ok_or(PushRequestError::BadP256dh)?;
        let auth: [u8; 16] = URL_SAFE_NO_PAD
            .decode(auth.trim_end_matches('='))
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(PushRequestError::BadAuth)?;
        let vapid = self.vapid_header(&uri)?;
        let request = WebPushBuilder::new(uri, public, Auth::clone_from_slice(&auth))
            .build(message.payload.as_bytes().to_vec())
            .map_err(|e| PushRequestError::Encrypt(e.to_string()))?;
        let (mut parts, body) = request.into_parts();
        parts.headers.insert(http::header::AUTHORIZATION, vapid);
        parts.headers.insert("ttl", message.ttl.as_secs().into());
        parts.headers.insert(
            "urgency",
            http::HeaderValue::from_static(if message.urgent { "high" } else { "normal" }),
        );
        if let Ok(topic) = http::HeaderValue::from_str(&topic(&message.collapse_key)) {
            parts.headers.insert("topic", topic);
        }
        let request = http::Request::from_parts(parts, body);
        reqwest::Request::try_from(request).map_err(|e| PushRequestError::Request(e.to_string()))
    }
}

impl WebPushSender {
    /// RFC 8292's `Authorization: vapid t=…, k=…`. Signed here rather than by the crate's
    /// builder, whose audience leaves out a non-default port: the audience is the push
    /// resource's origin, port included.
    fn vapid_header(&self, endpoint: &http::Uri) -> Result<http::HeaderValue, PushRequestError> {
        let scheme = endpoint.scheme_str().ok_or(PushRequestError::NoScheme)?;
        let authority = endpoint.authority().ok_or(PushRequestError::NoHost)?;
        let origin = format!("{scheme}://{authority}");
        let mut signatures = self
            .signatures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((header, made)) = signatures.get(&origin) {
            if made.elapsed() < VAPID_REUSE {
                return Ok(header.clone());
            }
        }
        let claims = Claims::create(VAPID_VALIDITY.into())
            .with_audience(origin.clone())
            .with_subject(&self.contact);
        let token = self
            .vapid
            .sign(claims)
            .map_err(|e| PushRequestError::Vapid(e.to_string()))?;
        let key =
            URL_SAFE_NO_PAD.encode(self.vapid.public_key().public_key().to_bytes_uncompressed());
        let header = http::HeaderValue::from_str(&format!("vapid t={token}, k={key}"))
            .map_err(|e| PushRequestError::VapidHeader(e.to_string()))?;
        if signatures.len() > 1024 {
            signatures.clear();
        }
        signatures.insert(origin, (header.clone(), std::time::Instant::now()));
        Ok(header)
    }
}

/// RFC 8030 §5.4: a topic is at most 32 characters of the base64url alphabet, so the
/// collapse key is hashed into one (24 bytes of SHA-256 are 32 characters).
pub fn topic(collapse_key: &str) -> String {
    URL_SAFE_NO_PAD.encode(&Sha256::digest(collapse_key.as_bytes())[..24])
}

#[async_trait]
impl PushSender for WebPushSender {
    async fn send(&self, device: &RegisterDeviceRequest, message: &PushMessage) -> Sent {
        let RegisterDeviceRequest::Webpush {
            endpoint,
            p256dh,
            auth,
        } = device
        else {
            return Sent::Refused("not a Web Push device".into());
        };
        // Literal addresses skip the resolver: check them here, every time.
        if let Err(refused) = endpoint::check_literal(endpoint, self.insecure_endpoints) {
            return Sent::Refused(refused.to_string());
        }
        let request = match self.request(endpoint, p256dh, auth, message) {
            Ok(request) => request,
            Err(error) => return Sent::Refused(error.to_string()),
        };
        match self.http.execute(request).await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let body = answer_text(response).await.unwrap_or_default();
                by_status(status, &headers, &body)
            }
            Err(error) => Sent::Retry {
                error: format!(
                    "the push service did not answer: {}",
                    transport_error(&error)
                ),
                after: None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topic_fits_rfc_8030() {
        let topic = topic("approval:apr_0192c1f0a2b37c4d8e9f0a1b2c3d4e5f6");
        assert_eq!(topic.len(), 32);
        assert!(topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(
            topic,
            super::topic("approval:apr_0192c1f0a2b37c4d8e9f0a1b2c3d4e5f6")
        );
    }
}
