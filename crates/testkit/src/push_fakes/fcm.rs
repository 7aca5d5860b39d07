//! The fake FCM: Google's OAuth2 token endpoint for a service account, and the FCM HTTP v1
//! send endpoint (`POST /v1/projects/{project}/messages:send`), over HTTP/1.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpListener;

use super::{recorded, respond, unix_now, FakeAnswer, RecordedRequest, Serving, Shared};

const PROJECT_ID: &str = "spartex-fake";
const CLIENT_EMAIL: &str = "push@spartex-fake.iam.gserviceaccount.com";
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// A fake FCM on 127.0.0.1. Its service account (a JSON key file in a temporary folder, with
/// an RSA key made for this test process) names the fake's own `/token` as `token_uri`. The
/// token endpoint checks the RS256 assertion as Google does (`iss`, `scope`, `aud`, at most
/// an hour between `iat` and `exp`) and grants `fake-fcm-access-N`; the send endpoint takes
/// only a granted token that was not revoked, and answers 401 `UNAUTHENTICATED` otherwise.
pub struct FakeFcm {
    addr: SocketAddr,
    account_dir: TempDir,
    shared: Shared,
    google: Arc<Mutex<Grants>>,
    _serving: Serving,
}

struct Grants {
    granted: usize,
    live: Vec<String>,
    expires_in: u64,
    refusals: Vec<String>,
}

#[derive(Clone)]
struct Google {
    shared: Shared,
    grants: Arc<Mutex<Grants>>,
    public_key: DecodingKey,
    token_uri: String,
}

impl FakeFcm {
    pub async fn start() -> FakeFcm {
        let (private_pem, public_pem) = tokio::task::spawn_blocking(rsa_key)
            .await
            .expect("an RSA key");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("a bound address");
        let token_uri = format!("http://{addr}/token");
        let account_dir = tempfile::tempdir().expect("a temporary folder for the account");
        let account = json!({
            "type": "service_account",
            "project_id": PROJECT_ID,
            "private_key_id": "fake",
            "private_key": private_pem,
            "client_email": CLIENT_EMAIL,
            "client_id": "0",
            "token_uri": token_uri,
        });
        std::fs::write(
            account_dir.path().join("service-account.json"),
            account.to_string(),
        )
        .expect("the service account file is written");
        let google = Google {
            shared: Shared::default(),
            grants: Arc::new(Mutex::new(Grants {
                granted: 0,
                live: Vec::new(),
                expires_in: 3599,
                refusals: Vec::new(),
            })),
            public_key: DecodingKey::from_rsa_pem(public_pem.as_bytes()).expect("the public key"),
            token_uri,
        };
        let app = Router::new()
            .route("/token", post(grant))
            .route("/v1/projects/{project}/messages:send", post(send))
            .with_state(google.clone());
        let serving = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeFcm {
            addr,
            account_dir,
            shared: google.shared,
            google: google.grants,
            _serving: Serving(serving),
        }
    }

    /// `http://127.0.0.1:PORT`: the FCM endpoint override.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The service account's JSON key file.
    pub fn service_account_file(&self) -> PathBuf {
        self.account_dir.path().join("service-account.json")
    }

    pub fn project_id(&self) -> &'static str {
        PROJECT_ID
    }

    /// Queues answers for the next sends whose access token is good, in order; sends
    /// beyond the script are accepted.
    pub fn answer_next(&self, answers: impl IntoIterator<Item = FakeAnswer>) {
        self.shared.answer_next(answers);
    }

    /// Every send received so far, in order (token exchanges are counted, not recorded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// How many access tokens were granted.
    pub fn token_exchanges(&self) -> usize {
        self.grants(|grants| grants.granted)
    }

    /// Why token requests were refused, if any were.
    pub fn refused_assertions(&self) -> Vec<String> {
        self.grants(|grants| grants.refusals.clone())
    }

    /// Every access token granted so far stops working, as if Google revoked it.
    pub fn revoke_access_tokens(&self) {
        self.grants(|grants| grants.live.clear());
    }

    /// The `expires_in` the next grants carry (3599 unless set).
    pub fn set_access_token_lifetime(&self, seconds: u64) {
        self.grants(|grants| grants.expires_in = seconds);
    }

    fn grants<T>(&self, f: impl FnOnce(&mut Grants) -> T) -> T {
        f(&mut self.google.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// One 2048-bit RSA key per test process (PKCS#8 private PEM, SPKI public PEM): making one
/// takes a while, and every fake may share it.
fn rsa_key() -> (String, String) {
    static KEY: OnceLock<(String, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("an RSA key");
        let private_pem = private
            .to_pkcs8_pem(LineEnding::LF)
            .expect("PKCS#8")
            .to_string();
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("SPKI");
        (private_pem, public_pem)
    })
    .clone()
}

async fn grant(
    State(google): State<Google>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut grants = google.grants.lock().unwrap_or_else(PoisonError::into_inner);
    match google.check_assertion(&form) {
        Ok(()) => {
            grants.granted += 1;
            let token = format!("fake-fcm-access-{}", grants.granted);
            grants.live.push(token.clone());
            Json(json!({
                "access_token": token,
                "expires_in": grants.expires_in,
                "token_type": "Bearer",
            }))
            .into_response()
        }
        Err(refused) => {
            let why = refused.to_string();
            grants.refusals.push(why.clone());
            let body = json!({ "error": "invalid_grant", "error_description": why });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}

async fn send(
    State(google): State<Google>,
    version: Version,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let authorized = bearer.is_some_and(|token| {
        let grants = google.grants.lock().unwrap_or_else(PoisonError::into_inner);
        grants.live.iter().any(|live| live == token)
    });
    let request = recorded(version, "POST", uri.path(), &headers, &body, authorized);
    let count = google.shared.requests().len() + 1;
    match google.shared.record(request) {
        Some(answer) => {
            let name = format!("projects/{PROJECT_ID}/messages/{count}");
            respond(answer, Json(json!({ "name": name })).into_response()).await
        }
        None => {
            let body = json!({ "error": {
                "code": 401,
                "message": "Request had invalid authentication credentials.",
                "status": "UNAUTHENTICATED",
            }});
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    }
}

/// Why the fake token endpoint refused an assertion, as Google's `error_description` says it.
#[derive(Debug)]
enum AssertionRefused {
    GrantType,
    Missing,
    DoesNotVerify(jsonwebtoken::errors::Error),
    Scope,
    TimesNotNumbers,
    TimesOutOfRange,
}

impl std::fmt::Display for AssertionRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::GrantType => write!(f, "grant_type is not {GRANT_TYPE}"),
            Self::Missing => f.write_str("no assertion"),
            Self::DoesNotVerify(e) => write!(f, "the assertion does not verify: {e}"),
            Self::Scope => write!(f, "scope is not {SCOPE}"),
            Self::TimesNotNumbers => f.write_str("iat and exp must be numbers"),
            Self::TimesOutOfRange => f.write_str("iat and exp must span at most an hour from now"),
        }
    }
}

impl Google {
    fn check_assertion(&self, form: &HashMap<String, String>) -> Result<(), AssertionRefused> {
        if form.get("grant_type").map(String::as_str) != Some(GRANT_TYPE) {
            return Err(AssertionRefused::GrantType);
        }
        let assertion = form.get("assertion").ok_or(AssertionRefused::Missing)?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[CLIENT_EMAIL]);
        validation.set_audience(&[&self.token_uri]);
        let token = jsonwebtoken::decode::<Value>(assertion, &self.public_key, &validation)
            .map_err(AssertionRefused::DoesNotVerify)?;
        let claims = token.claims;
        if claims["scope"] != SCOPE {
            return Err(AssertionRefused::Scope);
        }
        let (Some(issued_at), Some(expires)) = (claims["iat"].as_u64(), claims["exp"].as_u64())
        else {
            return Err(AssertionRefused::TimesNotNumbers);
        };
        if issued_at > unix_now() + 60 || expires <= issued_at || expires - issued_at > 3600 {
            return Err(AssertionRefused::TimesOutOfRange);
        }
        Ok(())
    }
}
