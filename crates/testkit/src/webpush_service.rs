//! A Web Push service (RFC 8030) on 127.0.0.1, as a browser's or a UnifiedPush distributor's
//! push service is to the server: it takes pushes for subscriptions it made, checks the
//! VAPID signature (RFC 8292) against the server's published key, and decrypts each message
//! (RFC 8291 `aes128gcm`) with the subscriber's private key, as the phone would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;
use web_push_native::{p256, Auth};

/// One push as the subscriber got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub subscription: String,
    pub at: DateTime<Utc>,
    /// Lower-cased header names.
    pub headers: HashMap<String, String>,
    /// The decrypted payload.
    pub payload: Value,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// What the service does with pushes for one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// 201 Created, as RFC 8030 answers.
    Accept,
    /// 410 Gone: the app was uninstalled.
    Gone,
    /// Holds the request and never answers.
    Hang,
    /// 503, a passing failure.
    Unavailable,
    /// 400 with a body that never ends, as a hostile endpoint would answer to exhaust the
    /// server's memory ([`WebPushService::bytes_answered`] counts what it took).
    EndlessRefusal,
}

struct Subscriber {
    secret: p256::SecretKey,
    auth: [u8; 16],
    behaviour: Behaviour,
}

#[derive(Default)]
struct Inner {
    subscribers: HashMap<String, Subscriber>,
    received: Vec<Received>,
    refused: Vec<Refusal>,
    /// The server's VAPID key (base64url point) every push must be signed with.
    vapid_key: Option<String>,
    /// Bytes of endless answers the server read (or the kernel buffered for it).
    bytes_answered: Arc<AtomicU64>,
}

#[derive(Clone)]
pub struct WebPushService {
    base: String,
    inner: Arc<Mutex<Inner>>,
    _server: Arc<tokio::task::JoinHandle<()>>,
}

impl WebPushService {
    pub async fn start() -> WebPushService {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/push/{id}", post(push))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the push service binds");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebPushService {
            base,
            inner,
            _server: Arc::new(server),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Only pushes signed with this VAPID key (the server's, from its public endpoint) pass.
    pub fn trust_vapid_key(&self, key: &str) {
        self.lock().vapid_key = Some(key.to_owned());
    }

    /// A new subscription, as `PushManager.subscribe()` makes one: the registration body a
    /// client sends to `POST /api/v1/devices`.
    pub fn subscribe(&self) -> Value {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let auth: [u8; 16] = rand::random();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let public = secret.public_key().to_encoded_point(false);
        self.lock().subscribers.insert(
            id.clone(),
            Subscriber {
                secret,
                auth,
                behaviour: Behaviour::Accept,
            },
        );
        json!({
            "platform": "webpush",
            "endpoint": format!("{}/push/{id}", self.base),
            "p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
            "auth": URL_SAFE_NO_PAD.encode(auth),
        })
    }

    pub fn set_behaviour(&self, registration: &Value, behaviour: Behaviour) {
        let id = subscription_id(registration);
        if let Some(subscriber) = self.lock().subscribers.get_mut(&id) {
            subscriber.behaviour = behaviour;
        }
    }

    /// Every push taken for this subscription, oldest first.
    pub fn received(&self, registration: &Value) -> Vec<Received> {
        let id = subscription_id(registration);
        self.lock()
            .received
            .iter()
            .filter(|r| r.subscription == id)
            .cloned()
            .collect()
    }

    /// Bytes of [`Behaviour::EndlessRefusal`] answers sent so far.
    pub fn bytes_answered(&self) -> u64 {
        self.lock().bytes_answered.load(Ordering::Relaxed)
    }

    pub fn all_received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Why pushes were refused (bad signature, undecryptable body): a test asserts it empty.
    pub fn refusals(&self) -> Vec<Refusal> {
        self.lock().refused.clone()
    }

    /// Waits until the subscription has `count` pushes, up to `patience`.
    pub async fn wait_for(
        &self,
        registration: &Value,
        count: usize,
        patience: Duration,
    ) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let received = self.received(registration);
            if received.len() >= count || tokio::time::Instant::now() >= deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn subscription_id(registration: &Value) -> String {
    registration["endpoint"]
        .as_str()
        .and_then(|e| e.rsplit('/').next())
        .unwrap_or_default()
        .to_owned()
}

async fn push(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Utc::now();
    let (behaviour, secret, auth, vapid_key, bytes_answered) = {
        let inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(subscriber) = inner.subscribers.get(&id) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        (
            subscriber.behaviour,
            subscriber.secret.clone(),
            subscriber.auth,
            inner.vapid_key.clone(),
            inner.bytes_answered.clone(),
        )
    };
    match behaviour {
        Behaviour::Gone => return StatusCode::GONE.into_response(),
        Behaviour::Unavailable => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Behaviour::EndlessRefusal => return endless_refusal(bytes_answered),
        Behaviour::Accept => {}
    }
    let headers: HashMap<String, String> = headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let checked = check_vapid(&headers, vapid_key.as_deref()).and_then(|()| {
        if headers.get("content-encoding").map(String::as_str) != Some("aes128gcm") {
            return Err(Refusal::new(
                RefusalCode::Encoding,
                "Content-Encoding is not aes128gcm",
            ));
        }
        let plain =
            web_push_native::decrypt(body.to_vec(), &secret, &Auth::clone_from_slice(&auth))
                .map_err(|e| {
                    Refusal::new(
                        RefusalCode::Undecryptable,
                        format!("the body does not decrypt with the subscriber's keys: {e}"),
                    )
                })?;
        serde_json::from_slice::<Value>(&plain).map_err(|e| {
            Refusal::new(
                RefusalCode::NotJson,
                format!("the plaintext is not JSON: {e}"),
            )
        })
    });
    let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
    match checked {
        Ok(payload) => {
            inner.received.push(Received {
                subscription: id,
                at,
                headers,
                payload,
            });
            StatusCode::CREATED.into_response()
        }
        Err(reason) => {
            inner.refused.push(reason);
            StatusCode::BAD_REQUEST.into_response()
        }
    }
}

/// RFC 8292: `Authorization: vapid t=<ES256 JWT>, k=<public key>`, the key the server
/// publishes, the audience this service's origin, an expiry within 24 hours.
fn check_vapid(headers: &HashMap<String, String>, trusted: Option<&str>) -> Result<(), Refusal> {
    let authorization = headers
        .get("authorization")
        .ok_or_else(|| vapid("no Authorization header"))?;
    let rest = authorization
        .strip_prefix("vapid ")
        .ok_or_else(|| vapid("Authorization is not the vapid scheme"))?;
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(t) = part.strip_prefix("t=") {
            token = Some(t);
        } else if let Some(k) = part.strip_prefix("k=") {
            key = Some(k);
        }
    }
    let (token, key) = token
        .zip(key)
        .ok_or_else(|| vapid("vapid without t= and k="))?;
    if trusted.is_some_and(|trusted| trusted != key) {
        return Err(vapid(
            "signed with a key other than the server's published VAPID key",
        ));
    }
    let point = URL_SAFE_NO_PAD
        .decode(key)
        .map_err(|_| vapid("k= is not base64url"))?;
    if point.len() != 65 || point[0] != 4 {
        return Err(vapid("k= is not an uncompressed P-256 point"));
    }
    let decoding = jsonwebtoken::DecodingKey::from_ec_components(
        &URL_SAFE_NO_PAD.encode(&point[1..33]),
        &URL_SAFE_NO_PAD.encode(&point[33..]),
    )
    .map_err(|e| vapid(format!("k=: {e}")))?;
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_required_spec_claims(&["exp", "aud", "sub"]);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(token, &decoding, &validation)
        .map_err(|e| vapid(format!("the VAPID token does not verify: {e}")))?
        .claims;
    let exp = claims["exp"].as_i64().unwrap_or_default();
    if exp > Utc::now().timestamp() + 24 * 3600 {
        return Err(vapid("the VAPID token is valid for more than 24 hours"));
    }
    let aud = claims["aud"].as_str().unwrap_or_default();
    if !aud.starts_with("http://127.0.0.1:") {
        return Err(vapid(format!(
            "the VAPID audience `{aud}` is not this push service's origin"
        )));
    }
    if !claims["sub"]
        .as_str()
        .is_some_and(|s| s.starts_with("mailto:") || s.starts_with("https:"))
    {
        return Err(vapid(
            "the VAPID subject is not a mailto: or https: contact",
        ));
    }
    Ok(())
}

/// Why the service refused a push: its kind, for a test to match, and what to fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub code: RefusalCode,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCode {
    /// The VAPID authorization is missing, malformed, or does not verify.
    Vapid,
    /// The body is not `aes128gcm`.
    Encoding,
    /// The body does not decrypt with the subscriber's keys.
    Undecryptable,
    /// The plaintext is not JSON.
    NotJson,
}

impl Refusal {
    fn new(code: RefusalCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

fn vapid(message: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::Vapid, message)
}

/// 400 with a body of 64 KiB chunks for as long as the reader takes them.
fn endless_refusal(bytes_answered: Arc<AtomicU64>) -> Response {
    const CHUNK: usize = 64 * 1024;
    let chunks = futures_util::stream::repeat_with(move || {
        bytes_answered.fetch_add(CHUNK as u64, Ordering::Relaxed);
        Ok::<_, std::convert::Infallible>(Bytes::from(vec![b'x'; CHUNK]))
    });
    (StatusCode::BAD_REQUEST, Body::from_stream(chunks)).into_response()
}
