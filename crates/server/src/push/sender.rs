//! One trait for the three push services, and what an attempt can come to.

use std::time::Duration;

use async_trait::async_trait;
use spartex_api::RegisterDeviceRequest;

/// One push for one device, as every push service is told it.
#[derive(Debug, Clone)]
pub struct PushMessage {
    /// The lock-screen-safe JSON (`spartex_api::PushPayload`).
    pub payload: String,
    /// The payload's `type`, e.g. `approval.requested`.
    pub kind: spartex_api::PushKind,
    /// Shared by an approval's request and its resolution: the newer replaces the older.
    pub collapse_key: String,
    /// High and critical approvals, stops: the phone rings through.
    pub urgent: bool,
    /// How long the push service should keep trying to reach the phone.
    pub ttl: Duration,
    /// The notification's text, for services that show it without the app (APNs, FCM).
    pub title: String,
    pub body: String,
    /// The approval's risk, if it is one (iOS picks the category that needs unlock for
    /// high and critical).
    pub risk: Option<spartex_api::Risk>,
}

/// What the push service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// Accepted for delivery.
    Accepted,
    /// The device is gone for good (404/410, APNs `Unregistered`/`BadDeviceToken`, FCM
    /// `UNREGISTERED`): remove it.
    Gone(String),
    /// A passing failure (5xx, 429, a timeout, a dropped connection): try again later,
    /// no sooner than `after` if the service said so.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// The service refused this push for good (a malformed request, our credentials): do
    /// not retry it, keep the device.
    Refused(String),
    /// This server has no sender for the device's platform (APNs or FCM not configured): the
    /// push waits, as a passing failure does, in case the operator configures it; a page
    /// counts as not delivered, so the escalation ladder does not wait on it.
    NotConfigured(String),
}

/// A push service client.
#[async_trait]
pub trait PushSender: Send + Sync {
    /// Sends one push to one device registered on this sender's platform.
    async fn send(&self, device: &RegisterDeviceRequest, message: &PushMessage) -> Sent;
}

/// A sender for a platform the server was not configured for: its devices are kept (the
/// operator may configure it later), and each attempt says what is missing.
pub struct Unconfigured(pub &'static str);

#[async_trait]
impl PushSender for Unconfigured {
    async fn send(&self, _device: &RegisterDeviceRequest, _message: &PushMessage) -> Sent {
        Sent::NotConfigured(format!("this server is not configured for {}", self.0))
    }
}

/// The wait a `Retry-After` header asks for, in seconds (the HTTP-date form is rare from
/// push services and is treated as absent).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(3600)))
}

/// Sorts an HTTP answer from a push service the way RFC 8030 reads it; APNs and FCM refine
/// it with the reasons in their bodies.
pub fn by_status(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> Sent {
    let error = format!("{status}: {}", body.chars().take(200).collect::<String>());
    match status.as_u16() {
        200..=299 => Sent::Accepted,
        404 | 410 => Sent::Gone(error),
        408 | 429 | 500..=599 => Sent::Retry {
            error,
            after: retry_after(headers),
        },
        _ => Sent::Refused(error),
    }
}

/// What went wrong when no answer came (a timeout, a refused or dropped connection), said
/// without the URL: an APNs URL holds the device token, a Web Push URL is the subscription's
/// secret address.
pub fn transport_error(error: &reqwest::Error) -> String {
    let what = if error.is_timeout() {
        "no answer in time"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "the connection failed"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        detail = format!("{detail}: {cause}");
        source = cause.source();
    }
    format!("{what}{detail}")
}

/// A passing failure for an attempt that got no answer.
pub fn transport_failure(error: &reqwest::Error) -> Sent {
    Sent::Retry {
        error: transport_error(error),
        after: None,
    }
}

/// A push service's answer as status, headers and body; a retry when it did not come whole.
pub async fn read_answer(
    attempt: reqwest::Result<reqwest::Response>,
) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, String), Sent> {
    let response = attempt.map_err(|e| transport_failure(&e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let text = answer_text(response)
        .await
        .map_err(|e| transport_failure(&e))?;
    Ok((status, headers, text))
}

/// The most of a push service's answer that is read: room for any error it explains itself
/// with, and no more, so an endpoint that answers without end (a Web Push endpoint is any
/// host a user names) cannot make the server hold it.
const ANSWER_READ_AT_MOST: usize = 16 * 1024;

/// The start of an answer's body as text, [`ANSWER_READ_AT_MOST`] bytes at most.
pub async fn answer_text(mut response: reqwest::Response) -> reqwest::Result<String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = ANSWER_READ_AT_MOST - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() == ANSWER_READ_AT_MOST {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
