//! The fake APNs: Apple's provider API (`POST /3/device/{token}`) over HTTP/2 without TLS.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use super::{recorded, respond, unix_now, FakeAnswer, RecordedRequest, Serving, Shared};

const KEY_ID: &str = "FAKEKEY001";
const TEAM_ID: &str = "FAKETEAM01";
const TOPIC: &str = "com.example.spartex";

/// A fake APNs on 127.0.0.1 that speaks only HTTP/2 (h2c, as a sender with
/// `http2_prior_knowledge` reaches it). Its signing key is made at start and written to a
/// temporary `.p8` file; provider tokens are checked against it like Apple does (ES256,
/// `kid` = the key id, `iss` = the team id, `iat` within the last hour) and a bad one is
/// answered 403 with Apple's reason.
pub struct FakeApns {
    addr: SocketAddr,
    key_dir: TempDir,
    shared: Shared,
    _serving: Serving,
}

#[derive(Clone)]
struct Apple {
    shared: Shared,
    public_key: DecodingKey,
}

impl FakeApns {
    pub async fn start() -> FakeApns {
        let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let private_pem = secret.to_pkcs8_pem(LineEnding::LF).expect("a PKCS#8 key");
        let public_pem = secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("a public key");
        let key_dir = tempfile::tempdir().expect("a temporary folder for the key");
        std::fs::write(key_dir.path().join(key_file_name()), private_pem.as_bytes())
            .expect("the .p8 file is written");
        let apple = Apple {
            shared: Shared::default(),
            public_key: DecodingKey::from_ec_pem(public_pem.as_bytes()).expect("the public key"),
        };
        let app = Router::new()
            .route("/3/device/{token}", post(push))
            .with_state(apple.clone());
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("a bound address");
        FakeApns {
            addr,
            key_dir,
            shared: apple.shared,
            _serving: Serving(tokio::spawn(serve_h2c(listener, app))),
        }
    }

    /// `http://127.0.0.1:PORT`: the APNs endpoint override.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `.p8` file holding this fake's signing key (PKCS#8 PEM, as Apple gives it).
    pub fn key_file(&self) -> PathBuf {
        self.key_dir.path().join(key_file_name())
    }

    pub fn key_id(&self) -> &'static str {
        KEY_ID
    }

    pub fn team_id(&self) -> &'static str {
        TEAM_ID
    }

    /// The app's bundle id the fake expects as `apns-topic` (not enforced: tests assert it).
    pub fn topic(&self) -> &'static str {
        TOPIC
    }

    /// Queues answers for the next requests whose provider token checks out, in order;
    /// requests beyond the script are accepted.
    pub fn answer_next(&self, answers: impl IntoIterator<Item = FakeAnswer>) {
        self.shared.answer_next(answers);
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }
}

fn key_file_name() -> String {
    format!("AuthKey_{KEY_ID}.p8")
}

/// Serves `app` over HTTP/2 only, as APNs does; aborting the task drops every connection.
async fn serve_h2c(listener: TcpListener, app: Router) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        let service = TowerToHyperService::new(app.clone());
        connections.spawn(async move {
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn push(
    State(apple): State<Apple>,
    version: Version,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token_check = apple.check_provider_token(&headers);
    let request = recorded(
        version,
        "POST",
        uri.path(),
        &headers,
        &body,
        token_check.is_ok(),
    );
    match (apple.shared.record(request), token_check) {
        (Some(answer), _) => {
            let apns_id = uuid::Uuid::new_v4().to_string();
            respond(
                answer,
                ([("apns-id", apns_id)], StatusCode::OK).into_response(),
            )
            .await
        }
        (None, Err(reason)) => {
            (StatusCode::FORBIDDEN, Json(json!({ "reason": reason }))).into_response()
        }
        (None, Ok(())) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

impl Apple {
    /// Apple's checks of `authorization: bearer <jwt>`, failing with Apple's reason.
    fn check_provider_token(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let value = headers
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .ok_or("MissingProviderToken")?;
        let (scheme, jwt) = value.split_once(' ').ok_or("InvalidProviderToken")?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err("InvalidProviderToken");
        }
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| "InvalidProviderToken")?;
        if header.alg != Algorithm::ES256 || header.kid.as_deref() != Some(KEY_ID) {
            return Err("InvalidProviderToken");
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.set_issuer(&[TEAM_ID]);
        let token = jsonwebtoken::decode::<Value>(jwt, &self.public_key, &validation)
            .map_err(|_| "InvalidProviderToken")?;
        let issued_at = token.claims["iat"].as_u64().ok_or("InvalidProviderToken")?;
        let now = unix_now();
        if issued_at > now + 60 {
            return Err("InvalidProviderToken");
        }
        if issued_at + 3600 < now {
            return Err("ExpiredProviderToken");
        }
        Ok(())
    }
}
