//! FCM HTTP v1: Android phones with Google services, authorised by a Google service account.
//!
//! The service account signs a JWT (RS256) that Google's token endpoint exchanges for an
//! OAuth2 access token; the token is kept until a minute before it expires, so many sends
//! share one exchange.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use spartex_api::RegisterDeviceRequest;

use super::errors::PushSetupError;
use super::sender::{
    answer_text, read_answer, retry_after, transport_failure, PushMessage, PushSender, Sent,
};
use crate::config::FcmSettings;

const FCM: &str = "https://fcm.googleapis.com";
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// How long the signed assertion is valid: Google's maximum.
const ASSERTION_LIFETIME: u64 = 3600;
/// An access token is renewed this long before Google says it expires.
const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

/// The Android notification channel of high and critical approvals (high importance: it
/// rings through and shows heads-up). The app creates both channels.
pub const CHANNEL_URGENT_APPROVALS: &str = "approvals-urgent";
/// Every other push's channel.
pub const CHANNEL_DEFAULT: &str = "default";

/// Sends to Android phones through FCM.
pub struct FcmSender {
    http: reqwest::Client,
    client_email: String,
    token_uri: String,
    key: EncodingKey,
    send_url: String,
    /// Held across an exchange, so sends that find no token wait for one exchange.
    access: tokio::sync::Mutex<Option<AccessToken>>,
}

struct AccessToken {
    token: String,
    renew_at: Instant,
}

/// The fields of a service account's JSON key that sending needs.
#[derive(Deserialize)]
struct ServiceAccount {
    project_id: String,
    client_email: String,
    private_key: String,
    token_uri: String,
}

impl FcmSender {
    /// Reads the service account's JSON key and checks that its private key signs.
    /// `send_timeout` bounds each attempt, the token exchange included.
    pub fn new(settings: &FcmSettings, send_timeout: Duration) -> Result<Self, PushSetupError> {
        let path = settings.service_account_file.display().to_string();
        let flag = "--fcm-service-account";
        let invalid = |problem: String| PushSetupError::Invalid {
            flag,
            path: path.clone(),
            problem,
        };
        let text = std::fs::read_to_string(&settings.service_account_file).map_err(|source| {
            PushSetupError::Unreadable {
                flag,
                path: path.clone(),
                source,
            }
        })?;
        let account: ServiceAccount = serde_json::from_str(&text).map_err(|e| {
            invalid(format!(
                "not a Google service account key (JSON with project_id, client_email, \
                 private_key, token_uri): {e}"
            ))
        })?;
        let not_a_key = |e: jsonwebtoken::errors::Error| {
            invalid(format!(
                "its private_key is not an RSA private key in PEM: {e}"
            ))
        };
        let key = EncodingKey::from_rsa_pem(account.private_key.as_bytes()).map_err(not_a_key)?;
        let project_is_a_name = !account.project_id.is_empty()
            && account
                .project_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !project_is_a_name {
            return Err(invalid("its project_id is not a project id".into()));
        }
        reqwest::Url::parse(&account.token_uri)
            .map_err(|e| invalid(format!("its token_uri is not a URL: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(send_timeout)
            .connect_timeout(send_timeout)
            .build()
            .map_err(|source| PushSetupError::Client {
                service: "FCM HTTP",
                source,
            })?;
        let endpoint = settings.endpoint.as_deref().unwrap_or(FCM);
        let sender = FcmSender {
            http,
            send_url: format!(
                "{}/v1/projects/{}/messages:send",
                endpoint.trim_end_matches('/'),
                account.project_id
            ),
            client_email: account.client_email,
            token_uri: account.token_uri,
            key,
            access: tokio::sync::Mutex::new(None),
        };
        // ring parses the key only when it signs: sign once, so a bad key stops the start.
        sender.assertion(unix_now()).map_err(not_a_key)?;
        Ok(sender)
    }

    /// The signed request for an access token (Google's "OAuth 2.0 for server to server").
    fn assertion(&self, issued_at: u64) -> jsonwebtoken::errors::Result<String> {
        let claims = json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": issued_at,
            "exp": issued_at + ASSERTION_LIFETIME,
        });
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
    }

    /// The cached access token, or a new one from the token endpoint. A failure is the
    /// attempt's outcome.
    async fn access_token(&self) -> Result<String, Sent> {
        let mut cached = self.access.lock().await;
        if let Some(access) = cached.as_ref() {
            if Instant::now() < access.renew_at {
                return Ok(access.token.clone());
            }
        }
        let fresh = self.exchange().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn exchange(&self) -> Result<AccessToken, Sent> {
        let assertion = self
            .assertion(unix_now())
            .map_err(|e| Sent::Refused(format!("could not sign the token request: {e}")))?;
        let asked_at = Instant::now();
        let response = self
            .http
            .post(&self.token_uri)
            .form(&[("grant_type", GRANT_TYPE), ("assertion", &assertion)])
            .send()
            .await
            .map_err(|e| transport_failure(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = answer_text(response)
            .await
            .map_err(|e| transport_failure(&e))?;
        if !status.is_success() {
            let json: Value = serde_json::from_str(&text).unwrap_or_default();
            let field = |name| json.get(name).and_then(Value::as_str).unwrap_or("");
            let error = format!(
                "the token endpoint answered {status}: {} {}",
                field("error"),
                field("error_description")
            );
            return Err(match status.as_u16() {
                429 | 500..=599 => Sent::Retry {
                    error,
                    after: retry_after(&headers),
                },
                // The service account itself was refused: no retry will change that.
                _ => Sent::Refused(error),
            });
        }
        #[derive(Deserialize)]
        struct Granted {
            access_token: String,
            expires_in: u64,
        }
        let granted: Granted = serde_json::from_str(&text).map_err(|e| Sent::Retry {
            error: format!("the token endpoint's answer is not a token: {e}"),
            after: None,
        })?;
        tracing::debug!("FCM access token renewed");
        let lifetime = Duration::from_secs(granted.expires_in);
        Ok(AccessToken {
            token: granted.access_token,
            renew_at: asked_at + lifetime.saturating_sub(RENEW_BEFORE_EXPIRY.min(lifetime / 2)),
        })
    }

    /// Google refused `token` (revoked, or expired early): the next send exchanges again,
    /// unless another send already did.
    async fn forget_access_token(&self, token: &str) {
        let mut cached = self.access.lock().await;
        if cached.as_ref().is_some_and(|access| access.token == token) {
            *cached = None;
        }
    }
}

#[async_trait]
impl PushSender for FcmSender {
    async fn send(&self, device: &RegisterDeviceRequest, message: &PushMessage) -> Sent {
        let RegisterDeviceRequest::Fcm { push_token } = device else {
            return Sent::Refused("not an FCM device".into());
        };
        let payload: Value = match serde_json::from_str(&message.payload) {
            Ok(payload) => payload,
            Err(e) => return Sent::Refused(format!("the payload is not JSON: {e}")),
        };
        let access = match self.access_token().await {
            Ok(access) => access,
            Err(failed) => return failed,
        };
        let attempt = self
            .http
            .post(&self.send_url)
            .bearer_auth(&access)
            .json(&body(push_token, message, &payload))
            .send()
            .await;
        let (status, headers, text) = match read_answer(attempt).await {
            Ok(answer) => answer,
            Err(failed) => return failed,
        };
        if status == StatusCode::UNAUTHORIZED {
            self.forget_access_token(&access).await;
        }
        // FCM's messages quote nothing of the request today; the token is cut out regardless.
        match by_answer(status, &headers, &text) {
            Sent::Gone(error) => Sent::Gone(error.replace(push_token.as_str(), "<token>")),
            Sent::Refused(error) => Sent::Refused(error.replace(push_token.as_str(), "<token>")),
            Sent::Retry { error, after } => Sent::Retry {
                error: error.replace(push_token.as_str(), "<token>"),
                after,
            },
            answer @ (Sent::Accepted | Sent::NotConfigured(_)) => answer,
        }
    }
}

/// The FCM v1 message: the notification for the tray, the payload as data for the app (each
/// field as a string, since FCM data is strings only, and the whole JSON under `payload`),
/// and Android's priority, lifetime, channel and replacement tag.
fn body(push_token: &str, message: &PushMessage, payload: &Value) -> Value {
    let mut data = Map::new();
    if let Value::Object(fields) = payload {
        for (name, value) in fields {
            let text = match value {
                Value::Null => continue,
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            data.insert(name.clone(), text.into());
        }
    }
    data.insert("payload".into(), message.payload.clone().into());
    let channel = if message.urgent && message.kind.asks_for_a_decision() {
        CHANNEL_URGENT_APPROVALS
    } else {
        CHANNEL_DEFAULT
    };
    json!({
        "message": {
            "token": push_token,
            "data": data,
            "notification": { "title": message.title, "body": message.body },
            "android": {
                "priority": if message.urgent { "HIGH" } else { "NORMAL" },
                "ttl": format!("{}s", message.ttl.as_secs()),
                "collapse_key": message.collapse_key,
                "notification": { "channel_id": channel, "tag": message.collapse_key },
            },
        }
    })
}

/// What FCM's answer means for the device (FCM's `ErrorCode` reference). Its error body is
/// `{"error": {"status", "message", "details": [{"errorCode"}, {"fieldViolations"}]}}`.
fn by_answer(status: StatusCode, headers: &HeaderMap, body: &str) -> Sent {
    let json: Value = serde_json::from_str(body).unwrap_or_default();
    let error = &json["error"];
    let grpc_status = error["status"].as_str().unwrap_or("");
    let message = error["message"].as_str().unwrap_or("");
    let details = error["details"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let error_code = details
        .iter()
        .find_map(|detail| detail["errorCode"].as_str())
        .unwrap_or("");
    let names_the_token = message.contains("registration token")
        || details.iter().any(|detail| {
            detail["fieldViolations"]
                .as_array()
                .is_some_and(|violations| violations.iter().any(|v| v["field"] == "message.token"))
        });
    let said = [grpc_status, error_code, message]
        .iter()
        .filter(|part| !part.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    let said: String = said.chars().take(200).collect();
    let error = format!("FCM {status}: {said}").trim_end().to_owned();
    match status.as_u16() {
        200..=299 => Sent::Accepted,
        404 => Sent::Gone(error),
        _ if grpc_status == "UNREGISTERED" || error_code == "UNREGISTERED" => Sent::Gone(error),
        400 if names_the_token
            && (grpc_status == "INVALID_ARGUMENT" || error_code == "INVALID_ARGUMENT") =>
        {
            Sent::Gone(error)
        }
        // The access token was refused: the sender drops it, and a new one may pass.
        401 => Sent::Retry { error, after: None },
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
