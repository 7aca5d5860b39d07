//! APNs: Apple's HTTP/2 provider API with token-based auth (the `.p8` key from Apple's
//! developer account).
//!
//! Every push rides one HTTP/2 connection per host. The provider token (an ES256 JWT naming
//! the team and the key) is made once and reused for 50 minutes: Apple refuses a token that
//! is renewed more often than every 20 minutes, and one older than an hour.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use spartex_api::{ApnsEnvironment, PushKind, RegisterDeviceRequest};

use super::errors::PushSetupError;
use super::sender::{read_answer, retry_after, PushMessage, PushSender, Sent};
use crate::config::ApnsSettings;

const PRODUCTION: &str = "https://api.push.apple.com";
const SANDBOX: &str = "https://api.sandbox.push.apple.com";
/// Within Apple's window: renewed no sooner than 20 minutes, used no longer than 60.
const PROVIDER_TOKEN_LIFETIME: Duration = Duration::from_secs(50 * 60);
/// The longest `apns-collapse-id` Apple takes, in bytes.
const MAX_COLLAPSE_ID: usize = 64;

/// Sends to iPhones through APNs.
pub struct ApnsSender {
    http: reqwest::Client,
    key: EncodingKey,
    key_id: String,
    team_id: String,
    topic: String,
    /// Replaces both of Apple's hosts (tests against a fake).
    endpoint: Option<String>,
    token: Mutex<Option<ProviderToken>>,
}

struct ProviderToken {
    jwt: String,
    made_at: Instant,
}

impl ApnsSender {
    /// Reads the `.p8` key and checks that it signs. `send_timeout` bounds each attempt,
    /// connecting included.
    pub fn new(settings: &ApnsSettings, send_timeout: Duration) -> Result<Self, PushSetupError> {
        let flag = "--apns-key-file";
        let path = settings.key_file.display().to_string();
        let pem =
            std::fs::read(&settings.key_file).map_err(|source| PushSetupError::Unreadable {
                flag,
                path: path.clone(),
                source,
            })?;
        let not_a_key = |e: jsonwebtoken::errors::Error| PushSetupError::Invalid {
            flag,
            path: path.clone(),
            problem: format!(
                "not an APNs auth key (the PKCS#8 EC key in the .p8 file Apple gives): {e}"
            ),
        };
        let key = EncodingKey::from_ec_pem(&pem).map_err(not_a_key)?;
        for (flag, value) in [
            ("--apns-key-id", &settings.key_id),
            ("--apns-team-id", &settings.team_id),
            ("--apns-topic", &settings.topic),
        ] {
            if value.trim().is_empty() {
                return Err(PushSetupError::Empty { flag });
            }
        }
        let http = reqwest::Client::builder()
            .http2_prior_knowledge()
            .timeout(send_timeout)
            .connect_timeout(send_timeout)
            // Apple keeps idle connections open for long; pings find a dead one before a push does.
            .http2_keep_alive_interval(Duration::from_secs(60))
            .http2_keep_alive_while_idle(true)
            .build()
            .map_err(|source| PushSetupError::Client {
                service: "APNs HTTP/2",
                source,
            })?;
        let sender = ApnsSender {
            http,
            key,
            key_id: settings.key_id.clone(),
            team_id: settings.team_id.clone(),
            topic: settings.topic.clone(),
            endpoint: settings.endpoint.clone(),
            token: Mutex::new(None),
        };
        // ring parses the key only when it signs: sign once, so a bad key stops the start.
        sender.sign(unix_now()).map_err(not_a_key)?;
        Ok(sender)
    }

    fn sign(&self, issued_at: u64) -> jsonwebtoken::errors::Result<String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let claims = json!({ "iss": self.team_id, "iat": issued_at });
        jsonwebtoken::encode(&header, &claims, &self.key)
    }

    /// The provider token to send at `now`: the cached one while it is younger than
    /// [`PROVIDER_TOKEN_LIFETIME`], else a new one.
    fn provider_token(&self, now: Instant) -> jsonwebtoken::errors::Result<String> {
        let mut cached = self.token.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(token) = cached.as_ref() {
            if now.saturating_duration_since(token.made_at) < PROVIDER_TOKEN_LIFETIME {
                return Ok(token.jwt.clone());
            }
        }
        let jwt = self.sign(unix_now())?;
        tracing::debug!("APNs provider token renewed");
        *cached = Some(ProviderToken {
            jwt: jwt.clone(),
            made_at: now,
        });
        Ok(jwt)
    }

    /// Apple called `jwt` expired (a clock apart from Apple's): the next send makes a new one,
    /// unless another send already did.
    fn forget_provider_token(&self, jwt: &str) {
        let mut cached = self.token.lock().unwrap_or_else(PoisonError::into_inner);
        if cached.as_ref().is_some_and(|token| token.jwt == jwt) {
            *cached = None;
        }
    }

    fn host(&self, environment: ApnsEnvironment) -> &str {
        match (&self.endpoint, environment) {
            (Some(endpoint), _) => endpoint.trim_end_matches('/'),
            (None, ApnsEnvironment::Production) => PRODUCTION,
            (None, ApnsEnvironment::Sandbox) => SANDBOX,
        }
    }
}

#[async_trait]
impl PushSender for ApnsSender {
    async fn send(&self, device: &RegisterDeviceRequest, message: &PushMessage) -> Sent {
        let RegisterDeviceRequest::Apns {
            push_token,
            environment,
        } = device
        else {
            return Sent::Refused("not an APNs device".into());
        };
        // The token goes into the path: anything but hex is no device APNs ever made.
        if push_token.is_empty() || !push_token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Sent::Gone("the device token is not hex".into());
        }
        let payload: Value = match serde_json::from_str(&message.payload) {
            Ok(payload) => payload,
            Err(e) => return Sent::Refused(format!("the payload is not JSON: {e}")),
        };
        let jwt = match self.provider_token(Instant::now()) {
            Ok(jwt) => jwt,
            Err(e) => return Sent::Refused(format!("could not sign the provider token: {e}")),
        };
        let Ok(mut authorization) = HeaderValue::from_str(&format!("bearer {jwt}")) else {
            return Sent::Refused("the provider token is not a header value".into());
        };
        authorization.set_sensitive(true);
        let expiration = unix_now().saturating_add(message.ttl.as_secs());
        let attempt = self
            .http
            .post(format!("{}/3/device/{push_token}", self.host(*environment)))
            .header(reqwest::header::AUTHORIZATION, authorization)
            .header("apns-topic", &self.topic)
            .header("apns-push-type", "alert")
            .header("apns-priority", if message.urgent { "10" } else { "5" })
            .header("apns-expiration", expiration.to_string())
            .header("apns-collapse-id", collapse_id(&message.collapse_key))
            .json(&body(message, &payload))
            .send()
            .await;
        let (status, headers, text) = match read_answer(attempt).await {
            Ok(answer) => answer,
            Err(failed) => return failed,
        };
        let sent = by_answer(status, &headers, &text);
        if reason_of(&text).as_deref() == Some("ExpiredProviderToken") {
            self.forget_provider_token(&jwt);
        }
        sent
    }
}

/// The JSON APNs shows: the alert, how it interrupts and its thread, with the payload for the
/// app as JSON text under `payload`, as FCM's data carries it: the notification plugin hands a
/// tap on a pushed notification to the app with the string values of its `userInfo` only.
///
/// No category, so no buttons: the plugin reports a button pressed on a pushed notification as
/// a plain tap, without saying which, so an Approve or Reject there did nothing while the
/// notification went away as if it had. A tap opens the request, decided in the app. (The
/// app's own notifications, shown while it runs, keep their buttons: those presses reach it.)
fn body(message: &PushMessage, payload: &Value) -> Value {
    let thread = match payload.get("project_id").and_then(Value::as_str) {
        Some(project) => format!("project:{project}"),
        None => message.collapse_key.clone(),
    };
    let mut aps = json!({
        "alert": { "title": message.title, "body": message.body },
        "interruption-level": if message.urgent { "time-sensitive" } else { "active" },
        "thread-id": thread,
    });
    // A push that asks someone to act sounds; a resolution or a report arrives silently.
    if message.urgent || message.kind == PushKind::ApprovalRequested {
        aps["sound"] = "default".into();
    }
    json!({ "aps": aps, "payload": message.payload })
}

/// The collapse key as APNs takes it: itself when it fits in 64 bytes, else its SHA-256 in hex
/// (64 characters), so a request and its resolution still share it.
pub fn collapse_id(collapse_key: &str) -> String {
    if collapse_key.len() <= MAX_COLLAPSE_ID {
        return collapse_key.to_owned();
    }
    Sha256::digest(collapse_key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn reason_of(body: &str) -> Option<String> {
    let json: Value = serde_json::from_str(body).ok()?;
    Some(json.get("reason")?.as_str()?.to_owned())
}

/// What APNs's answer means for the device (Apple's "Handling notification responses").
fn by_answer(status: StatusCode, headers: &HeaderMap, body: &str) -> Sent {
    let reason = reason_of(body);
    let error = match &reason {
        Some(reason) => format!("APNs {status}: {reason}"),
        None => format!("APNs {status}"),
    };
    // `DeviceTokenNotForTopic` is not among them: a mistyped --apns-topic answers it for
    // every iPhone, and must not delete them all; the device keeps the error instead.
    let gone_reason = matches!(reason.as_deref(), Some("BadDeviceToken" | "Unregistered"));
    match status.as_u16() {
        200..=299 => Sent::Accepted,
        410 => Sent::Gone(error),
        400 if gone_reason => Sent::Gone(error),
        // Our clock and Apple's disagree: a new token may pass.
        403 if reason.as_deref() == Some("ExpiredProviderToken") => {
            Sent::Retry { error, after: None }
        }
        429 | 500..=599 => Sent::Retry {
            error,
            after: retry_after(headers),
        },
        _ => Sent::Refused(error),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

#[cfg(test)]
mod tests;
