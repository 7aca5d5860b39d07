//! Fake APNs and FCM, since the real services cannot be reached from here. Each speaks its
//! service's documented HTTP API on 127.0.0.1 (APNs over HTTP/2 without TLS, FCM's token
//! endpoint and send endpoint over HTTP/1), checks the sender's signed tokens with keys made
//! when the fake starts (no key material is kept in the repository), records every request
//! and answers as the test scripts it.
//!
//! They know nothing of the server's types, so a server's unit tests (a second copy of the
//! server crate) and its end-to-end tests both use them:
//!
//! ```ignore
//! let apns = FakeApns::start().await;
//! apns.answer_next([FakeAnswer::apns_reason(410, "Unregistered")]);
//! let settings = ApnsSettings {
//!     key_file: apns.key_file(),
//!     key_id: apns.key_id().into(),
//!     team_id: apns.team_id().into(),
//!     topic: apns.topic().into(),
//!     endpoint: Some(apns.url()),
//! };
//! // … send through the server; then:
//! let request = &apns.requests()[0];
//! assert_eq!(request.header("apns-push-type"), Some("alert"));
//! ```

mod apns;
mod fcm;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use tokio::task::JoinHandle;

pub use apns::FakeApns;
pub use fcm::FakeFcm;

/// How a fake answers one request. Unscripted requests are accepted.
#[derive(Debug, Clone)]
pub enum FakeAnswer {
    /// 200: APNs with an `apns-id`, FCM with the message's `name`.
    Accept,
    /// This status with this JSON body and, if set, `Retry-After` (seconds).
    Status {
        status: u16,
        body: Value,
        retry_after: Option<u64>,
    },
    /// Never answers; the connection stays open and silent.
    Hang,
}

impl FakeAnswer {
    /// An APNs error: `{"reason": reason}`, with a `timestamp` for 410 as Apple adds.
    pub fn apns_reason(status: u16, reason: &str) -> FakeAnswer {
        let mut body = serde_json::json!({ "reason": reason });
        if status == 410 {
            body["timestamp"] = 1_764_000_000_000_u64.into();
        }
        FakeAnswer::Status {
            status,
            body,
            retry_after: None,
        }
    }

    /// An FCM v1 error: `{"error": {code, message, status, details: [{errorCode}]}}`.
    pub fn fcm_error(
        status: u16,
        grpc_status: &str,
        error_code: &str,
        message: &str,
    ) -> FakeAnswer {
        FakeAnswer::Status {
            status,
            body: serde_json::json!({ "error": {
                "code": status,
                "message": message,
                "status": grpc_status,
                "details": [{
                    "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                    "errorCode": error_code,
                }],
            }}),
            retry_after: None,
        }
    }

    /// Adds `Retry-After: seconds` to a [`FakeAnswer::Status`].
    pub fn retry_after(self, seconds: u64) -> FakeAnswer {
        match self {
            FakeAnswer::Status { status, body, .. } => FakeAnswer::Status {
                status,
                body,
                retry_after: Some(seconds),
            },
            other => other,
        }
    }
}

/// One request a fake received, as it arrived.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub version: Version,
    pub method: String,
    pub path: String,
    /// Lower-case names; a repeated header's values joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The JSON body (`Null` if it was not JSON).
    pub body: Value,
    /// Whether its credentials checked out (APNs: the provider token; FCM: the access token).
    /// A request that failed the check was answered 403 (APNs) or 401 (FCM), not as scripted.
    pub authorized: bool,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What a fake's handlers and its test share.
#[derive(Default)]
struct Recorder {
    script: VecDeque<FakeAnswer>,
    requests: Vec<RecordedRequest>,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Recorder>>);

impl Shared {
    fn with<T>(&self, f: impl FnOnce(&mut Recorder) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn answer_next(&self, answers: impl IntoIterator<Item = FakeAnswer>) {
        self.with(|recorder| recorder.script.extend(answers));
    }

    fn requests(&self) -> Vec<RecordedRequest> {
        self.with(|recorder| recorder.requests.clone())
    }

    /// Records the request and picks its answer: the next scripted one, if its credentials
    /// checked out.
    fn record(&self, request: RecordedRequest) -> Option<FakeAnswer> {
        self.with(|recorder| {
            let authorized = request.authorized;
            recorder.requests.push(request);
            authorized.then(|| recorder.script.pop_front().unwrap_or(FakeAnswer::Accept))
        })
    }
}

fn recorded(
    version: Version,
    method: &str,
    path: &str,
    headers: &HeaderMap,
    body: &[u8],
    authorized: bool,
) -> RecordedRequest {
    let mut named = BTreeMap::<String, String>::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        named
            .entry(name.as_str().to_owned())
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    RecordedRequest {
        version,
        method: method.to_owned(),
        path: path.to_owned(),
        headers: named,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
        authorized,
    }
}

/// The scripted answer as a response; `accepted` is the service's own 200.
async fn respond(answer: FakeAnswer, accepted: Response) -> Response {
    match answer {
        FakeAnswer::Accept => accepted,
        FakeAnswer::Status {
            status,
            body,
            retry_after,
        } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, Json(body)).into_response();
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, seconds.into());
            }
            response
        }
        FakeAnswer::Hang => std::future::pending().await,
    }
}

/// A fake's serving task: stopped (connections and all) when the fake is dropped.
struct Serving(JoinHandle<()>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}
