//! Credentials: argon2id passwords, signed access tokens, opaque refresh and agent tokens,
//! and the extractors that turn a request's bearer token into a principal.

use argon2::password_hash::{rand_core::OsRng, PasswordHasher, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spartex_api::{ErrorCode, Role};

use crate::config::Secret;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::LiveSession;

pub const REFRESH_TOKEN_PREFIX: &str = "srt_";
pub const AGENT_TOKEN_PREFIX: &str = "sat_";
/// The one route that takes `?access_token=`.
pub const EVENT_STREAM_PATH: &str = "/api/v1/events";

pub async fn hash_password(password: Secret) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
    })
    .await
    .map_err(|_| {
        ApiError::Internal(crate::store::StoreError::Unsupported(
            "password hashing task failed".into(),
        ))
    })?
    .map_err(|e| {
        ApiError::Internal(crate::store::StoreError::Unsupported(format!(
            "password hashing failed: {e}"
        )))
    })
}

/// A hash to verify against when the email is unknown, so both cases take the same time.
pub const DUMMY_PASSWORD_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0dZbK3F8Yp1mX2m2lS6bq2qM3V9mQ9L2G5hK8s1zV0A";

/// A random opaque token with a recognisable prefix, and the hash to store for it.
/// A random value for [`TokenKeys::agent_token`], not a secret on its own.
pub fn new_salt() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn new_opaque_token(prefix: &str) -> (Secret, String) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let token = format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hash_token(&token);
    (Secret::new(token), hash)
}

pub fn hash_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// The SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn random_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: String,
    pub tid: String,
    pub sid: String,
    pub role: Role,
    pub email: String,
    pub name: String,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    successors: Hmac<Sha256>,
}

impl TokenKeys {
    pub fn new(secret: &Secret) -> Self {
        let successors = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes())
            .expect("HMAC takes a key of any length");
        TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            successors,
        }
    }

    /// The refresh token that replaces `token` when it is rotated. It is derived, not drawn,
    /// so a retried refresh (its answer was lost) gets the very same successor back, while
    /// nobody without the server's secret can compute it.
    pub fn refresh_successor(&self, token: &str) -> (Secret, String) {
        let mut mac = self.successors.clone();
        mac.update(b"spartex refresh successor\0");
        mac.update(token.as_bytes());
        let successor = format!(
            "{REFRESH_TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        let hash = hash_token(&successor);
        (Secret::new(successor), hash)
    }

    /// The token an agent's worker signs in with, derived from the agent's id and `salt` (drawn
    /// for it) with the server's secret, so that it is kept nowhere but as its hash: the answer
    /// kept for a retried create (its Idempotency-Key) holds the salt, and the token is derived
    /// again as it is sent. Computing it takes the secret and that kept answer (gone after a
    /// day) together.
    pub fn agent_token(&self, agent_id: &str, salt: &str) -> (Secret, String) {
        let mut mac = self.successors.clone();
        mac.update(b"spartex agent token\0");
        mac.update(agent_id.as_bytes());
        mac.update(b"\0");
        mac.update(salt.as_bytes());
        let token = format!(
            "{AGENT_TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        let hash = hash_token(&token);
        (Secret::new(token), hash)
    }

    pub fn issue(&self, claims: &AccessClaims) -> ApiResult<Secret> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .map(Secret::new)
            .map_err(|e| {
                ApiError::Internal(crate::store::StoreError::Unsupported(format!(
                    "signing failed: {e}"
                )))
            })
    }

    /// Checks the signature; expiry is checked against the server's clock by the caller.
    pub fn decode(&self, token: &str) -> ApiResult<AccessClaims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::unauthenticated("The access token is not valid. Sign in again."))
    }
}

/// A signed-in person, from a valid access token of a live session.
#[derive(Debug, Clone)]
pub struct UserPrincipal {
    pub user_id: String,
    pub tenant_id: String,
    pub session_id: String,
    pub role: Role,
    pub email: String,
    pub name: String,
}

impl UserPrincipal {
    /// Fails with 403 unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role, action: &str) -> ApiResult<()> {
        if self.role.at_least(needed) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "Your role ({}) cannot {action}; it takes {needed} or above. Ask an owner of your organisation.",
                self.role
            )))
        }
    }
}

/// An agent worker, from its per-agent token.
#[derive(Debug, Clone)]
pub struct AgentPrincipal {
    pub agent_id: String,
    pub tenant_id: String,
}

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value.to_str().ok()?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))?;
        return Some(token.trim().to_owned());
    }
    // Only for the event stream's upgrade, for clients that cannot set headers on a WebSocket
    // (browsers); a token in any other URL would end up in proxies' and browsers' histories.
    // Query strings are never logged.
    if parts.uri.path() != EVENT_STREAM_PATH {
        return None;
    }
    let query = parts.uri.query()?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("access_token=").map(str::to_owned))
}

fn missing_bearer(parts: &Parts) -> ApiError {
    let token_in_url = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|pair| pair.starts_with("access_token=")));
    if token_in_url {
        ApiError::unauthenticated(format!(
            "`?access_token=` is accepted only by {EVENT_STREAM_PATH}; send `Authorization: Bearer <access_token>` instead."
        ))
    } else {
        ApiError::unauthenticated("Sign in first: send `Authorization: Bearer <access_token>`.")
    }
}

/// The session while it may be used, with its person's role and organisation now (from the
/// database, not the token): kept in memory between reads (see [`crate::live_sessions`]), so a
/// person's requests do not each ask the database.
pub async fn live_session(
    state: &AppState,
    session_id: &str,
) -> crate::store::StoreResult<Option<LiveSession>> {
    let now_ms = state.now().timestamp_millis();
    let read = || state.store.live_session(session_id);
    state.sessions.live(session_id, now_ms, read).await
}

/// The session a request or socket signed in with, while it may be used and is still the same
/// person's in the same organisation: `None` otherwise.
pub async fn session_of(
    state: &AppState,
    session_id: &str,
    user_id: &str,
    tenant_id: &str,
) -> crate::store::StoreResult<Option<LiveSession>> {
    Ok(live_session(state, session_id)
        .await?
        .filter(|live| live.user_id == user_id && live.tenant_id == tenant_id))
}

/// Whether a person's request is counted by their write quota ([`crate::write_quota`]): every
/// change but those that must never wait behind a runaway client, which are the emergency stop
/// (`POST /stop`, `POST /projects/{id}/stop`) and signing in, refreshing and signing out
/// (`/auth/*`: a person held back can still end the session a stolen token uses). Reads are
/// never counted.
fn counts_against_the_write_quota(method: &axum::http::Method, path: &str) -> bool {
    if method.is_safe() {
        return false;
    }
    let Some(route) = path.strip_prefix("/api/v1/") else {
        return true;
    };
    let project_stop = route
        .strip_prefix("projects/")
        .and_then(|rest| rest.strip_suffix("/stop"))
        .is_some_and(|id| !id.is_empty() && !id.contains('/'));
    !(route == "stop" || project_stop || route.starts_with("auth/"))
}

impl FromRequestParts<AppState> for UserPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = bearer(parts).ok_or_else(|| missing_bearer(parts))?;
        if token.starts_with(AGENT_TOKEN_PREFIX) {
            return Err(ApiError::forbidden(
                "Agent tokens reach only /api/v1/agent/*; sign in as a person for this.",
            ));
        }
        let claims = state.tokens.decode(&token)?;
        if claims.exp <= state.now().timestamp() {
            return Err(ApiError::Unauthenticated {
                code: ErrorCode::TokenExpired,
                message: "The access token expired. Refresh it, or sign in again.".into(),
            });
        }
        // The role (and name) a request acts with are the person's now: the token's claims
        // were true at sign-in, and a manager demoted since must not act as one until it
        // expires.
        let Some(live) = session_of(state, &claims.sid, &claims.sub, &claims.tid).await? else {
            return Err(ApiError::unauthenticated(
                "This session was signed out or revoked. Sign in again.",
            ));
        };
        if counts_against_the_write_quota(&parts.method, parts.uri.path()) {
            state.user_quota.admit(&live.user_id)?;
        }
        Ok(UserPrincipal {
            user_id: live.user_id,
            tenant_id: live.tenant_id,
            session_id: claims.sid,
            role: live.role,
            email: live.email,
            name: live.name,
        })
    }
}

impl FromRequestParts<AppState> for AgentPrincipal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = bearer(parts).ok_or_else(|| {
            ApiError::unauthenticated("Send the agent's token: `Authorization: Bearer sat_…`.")
        })?;
        if !token.starts_with(AGENT_TOKEN_PREFIX) {
            return Err(ApiError::forbidden(
                "This route is for agent workers; it takes an agent token (sat_…).",
            ));
        }
        let Some((tenant_id, agent_id)) = state.store.agent_for_token(&hash_token(&token)).await?
        else {
            return Err(ApiError::unauthenticated(
                "The agent token is unknown or was revoked.",
            ));
        };
        let counted =
            parts.method != axum::http::Method::GET && !parts.uri.path().ends_with("/stop-ack");
        if counted {
            state.agent_quota.admit(&agent_id)?;
        }
        Ok(AgentPrincipal {
            agent_id,
            tenant_id,
        })
    }
}

/// The hash of the token a request came with: what an agent's control socket checks again
/// when the agent's tokens are revoked. Taken after [`AgentPrincipal`], which refuses any
/// request without a known agent token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(pub String);

impl TokenHash {
    /// Whether this agent token still signs in as `agent`.
    pub async fn signs_in(
        &self,
        state: &AppState,
        agent: &AgentPrincipal,
    ) -> crate::store::StoreResult<bool> {
        let found = state.store.agent_for_token(&self.0).await?;
        Ok(found.is_some_and(|(tenant_id, agent_id)| {
            tenant_id == agent.tenant_id && agent_id == agent.agent_id
        }))
    }
}

impl FromRequestParts<AppState> for TokenHash {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &AppState) -> ApiResult<Self> {
        let token = bearer(parts).ok_or_else(|| missing_bearer(parts))?;
        Ok(TokenHash(hash_token(&token)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_are_hashed_with_argon2id_and_the_dummy_hash_is_real() {
        let hash = hash_password(Secret::new("correct horse"))
            .await
            .expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            argon2::password_hash::PasswordHash::new(DUMMY_PASSWORD_HASH).is_ok(),
            "the dummy hash must cost a real verification"
        );
    }

    #[test]
    fn a_persons_writes_are_counted_but_the_emergency_stop_sign_out_and_reads_are_not() {
        use axum::http::Method;
        for (method, path) in [
            (Method::POST, "/api/v1/projects/prj_1/messages"),
            (Method::POST, "/api/v1/projects"),
            (Method::PATCH, "/api/v1/projects/prj_1"),
            (Method::POST, "/api/v1/approvals/apr_1/decision"),
            (Method::POST, "/api/v1/projects/prj_1/resume"),
            (Method::PUT, "/api/v1/oncall/schedule"),
            (Method::DELETE, "/api/v1/devices/dev_1"),
            (Method::POST, "/api/v1/projects/stop/messages"),
        ] {
            assert!(
                counts_against_the_write_quota(&method, path),
                "{method} {path}"
            );
        }
        for (method, path) in [
            (Method::POST, "/api/v1/stop"),
            (Method::POST, "/api/v1/projects/prj_1/stop"),
            (Method::POST, "/api/v1/auth/logout"),
            (Method::POST, "/api/v1/auth/refresh"),
            (Method::GET, "/api/v1/projects/prj_1/messages"),
            (Method::GET, "/api/v1/events"),
            (Method::HEAD, "/api/v1/projects"),
        ] {
            assert!(
                !counts_against_the_write_quota(&method, path),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn opaque_tokens_are_unique_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_opaque_token(REFRESH_TOKEN_PREFIX);
        let (b, _) = new_opaque_token(REFRESH_TOKEN_PREFIX);
        assert_ne!(a, b);
        assert!(a.expose().starts_with(REFRESH_TOKEN_PREFIX));
        assert_eq!(hash_token(a.expose()), hash_a);
        assert!(!hash_a.contains(a.expose()));
    }

    #[test]
    fn a_token_signed_with_another_secret_is_refused() {
        let claims = AccessClaims {
            sub: "u".into(),
            tid: "t".into(),
            sid: "s".into(),
            role: Role::Owner,
            email: "e".into(),
            name: "n".into(),
            iat: 0,
            exp: i64::MAX,
        };
        let forged = TokenKeys::new(&Secret::new("attacker"))
            .issue(&claims)
            .expect("signs");
        assert!(TokenKeys::new(&Secret::new("server"))
            .decode(forged.expose())
            .is_err());
        let genuine = TokenKeys::new(&Secret::new("server"))
            .issue(&claims)
            .expect("signs");
        assert_eq!(
            TokenKeys::new(&Secret::new("server"))
                .decode(genuine.expose())
                .expect("valid")
                .sub,
            "u"
        );
    }
}
