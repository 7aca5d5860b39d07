//! Sign-in, rotating refresh tokens, sign-out.

use std::net::IpAddr;

use spartex_api::{
    ErrorCode, LoginRequest, LogoutRequest, RefreshRequest, Tenant, TokenPair, User,
};

use super::new_id;
use crate::auth::{
    hash_token, new_opaque_token, AccessClaims, UserPrincipal, DUMMY_PASSWORD_HASH,
    REFRESH_TOKEN_PREFIX,
};
use crate::config::Secret;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::WriteScope;
use crate::write::Write;

pub async fn login(state: &AppState, client: IpAddr, req: LoginRequest) -> ApiResult<TokenPair> {
    let email = req.email.trim().to_owned();
    if email.is_empty() || req.password.is_empty() {
        return Err(ApiError::bad_request(
            "Both `email` and `password` are needed.",
        ));
    }
    // Counted before the check, so concurrent guesses get no more checks than sequential ones.
    let shared = state.store.shared_counters();
    state
        .sign_in_throttle
        .reserve(shared, client, &email)
        .await?;
    let credentials = state.store.user_credentials(&email).await?;
    let hash = credentials.as_ref().map_or_else(
        || DUMMY_PASSWORD_HASH.to_owned(),
        |c| c.password_hash.clone(),
    );
    let password_ok = state
        .passwords
        .verify(Secret::new(req.password), hash)
        .await?;
    let credentials = match credentials {
        Some(credentials) if password_ok => credentials,
        _ => {
            return Err(ApiError::Unauthenticated {
                code: ErrorCode::InvalidCredentials,
                message: "The email or password is wrong. Check both and try again.".into(),
            });
        }
    };
    state
        .sign_in_throttle
        .succeeded(shared, client, &email)
        .await?;
    let session_id = new_id("ses");
    let mut w = Write::begin(state, WriteScope::Server).await?;
    let now_ms = w.now().timestamp_millis();
    w.tx()
        .insert_session(
            &session_id,
            &credentials.tenant_id,
            &credentials.user.id,
            now_ms,
        )
        .await?;
    let refresh = new_refresh_token(&mut w, &session_id).await?;
    // A person keeps so many sign-ins at once (phones, laptops, scripts); past them the least
    // recently used end (an app in use refreshes every quarter of an hour, so a script signing
    // in on every run ends its own old sessions, not the on-call's phone): it would otherwise
    // add a session a run, for a month.
    let keep = state.settings.max_sessions_per_user;
    let beyond = w
        .tx()
        .live_sessions_beyond(&credentials.user.id, keep)
        .await?;
    for oldest in beyond.into_iter().filter(|id| *id != session_id) {
        w.end_session(&oldest).await?;
        w.tx().forget_refresh_tokens(&oldest).await?;
    }
    w.commit().await?;
    let tenant = tenant(state, &credentials.tenant_id).await?;
    let issued_at_s = state.now().timestamp();
    token_pair(
        state,
        credentials.user,
        tenant,
        session_id,
        refresh,
        issued_at_s,
    )
}

/// A refresh token sent again this soon after it was exchanged gets the same new pair: the
/// first answer was most likely lost on the way. Later, a second use is theft.
pub const REFRESH_RETRY_GRACE_MS: i64 = 10_000;

pub async fn refresh(state: &AppState, req: RefreshRequest) -> ApiResult<TokenPair> {
    let unknown = || ApiError::unauthenticated("This refresh token is not valid. Sign in again.");
    if !req.refresh_token.starts_with(REFRESH_TOKEN_PREFIX) {
        return Err(unknown());
    }
    let token_hash = hash_token(&req.refresh_token);
    // Looked up before the write: a made-up token, sent by anyone, must not queue behind and
    // hold the server's one writer.
    if !state.store.refresh_token_known(&token_hash).await? {
        return Err(unknown());
    }
    let (successor, successor_hash) = state.tokens.refresh_successor(&req.refresh_token);
    let mut w = Write::begin(state, WriteScope::Server).await?;
    let now_ms = w.now().timestamp_millis();
    let row = w
        .tx()
        .refresh_token(&token_hash)
        .await?
        .ok_or_else(unknown)?;
    if row.session_revoked {
        return Err(ApiError::unauthenticated(
            "This session was signed out or revoked. Sign in again.",
        ));
    }
    let issued_at_ms = match row.used_at_ms {
        Some(used_at_ms) if is_retry(&mut w, used_at_ms, now_ms, &successor_hash).await? => {
            used_at_ms
        }
        Some(_) => {
            w.end_session(&row.session_id).await?;
            w.commit().await?;
            tracing::warn!(session = %row.session_id, "refresh token reused; the session family was revoked");
            return Err(ApiError::Unauthenticated {
                code: ErrorCode::RefreshTokenReused,
                message: "This refresh token was already used, so it may have been copied. Every token of this \
                          sign-in was revoked to be safe. Sign in again."
                    .into(),
            });
        }
        None if row.expires_at_ms <= now_ms => {
            return Err(ApiError::Unauthenticated {
                code: ErrorCode::TokenExpired,
                message: "This sign-in has expired. Sign in again.".into(),
            });
        }
        None => {
            w.tx().mark_refresh_token_used(&token_hash, now_ms).await?;
            insert_refresh_token(&mut w, &successor_hash, &row.session_id).await?;
            w.commit().await?;
            now_ms
        }
    };
    let user = state
        .store
        .user(&row.tenant_id, &row.user_id)
        .await?
        .ok_or_else(unknown)?;
    let tenant = tenant(state, &row.tenant_id).await?;
    token_pair(
        state,
        user,
        tenant,
        row.session_id,
        successor,
        issued_at_ms / 1000,
    )
}

/// True when a used token comes back within the grace window and its successor is unused.
async fn is_retry(
    w: &mut Write,
    used_at_ms: i64,
    now_ms: i64,
    successor_hash: &str,
) -> ApiResult<bool> {
    if now_ms.saturating_sub(used_at_ms) > REFRESH_RETRY_GRACE_MS {
        return Ok(false);
    }
    Ok(w.tx()
        .refresh_token(successor_hash)
        .await?
        .is_some_and(|successor| successor.used_at_ms.is_none()))
}

/// Revokes the caller's session (and the one a given refresh token belongs to, if it is theirs).
pub async fn logout(state: &AppState, user: &UserPrincipal, req: LogoutRequest) -> ApiResult<()> {
    let mut w = Write::begin(state, WriteScope::Server).await?;
    w.end_session(&user.session_id).await?;
    if let Some(token) = &req.refresh_token {
        if let Some(row) = w.tx().refresh_token(&hash_token(token)).await? {
            if row.user_id == user.user_id {
                w.end_session(&row.session_id).await?;
            }
        }
    }
    w.commit().await?;
    Ok(())
}

async fn new_refresh_token(w: &mut Write, session_id: &str) -> ApiResult<Secret> {
    let (token, hash) = new_opaque_token(REFRESH_TOKEN_PREFIX);
    insert_refresh_token(w, &hash, session_id).await?;
    Ok(token)
}

async fn insert_refresh_token(w: &mut Write, hash: &str, session_id: &str) -> ApiResult<()> {
    let ttl = chrono::Duration::from_std(w.state().settings.refresh_token_ttl)
        .unwrap_or(chrono::Duration::days(30));
    let expires_at_ms = (w.now() + ttl).timestamp_millis();
    w.tx()
        .insert_refresh_token(hash, session_id, expires_at_ms)
        .await?;
    Ok(())
}

async fn tenant(state: &AppState, tenant_id: &str) -> ApiResult<Tenant> {
    state
        .store
        .tenant(tenant_id)
        .await?
        .ok_or(ApiError::NotFound {
            what: "organisation",
        })
}

fn token_pair(
    state: &AppState,
    user: User,
    tenant: Tenant,
    session_id: String,
    refresh: Secret,
    issued_at_s: i64,
) -> ApiResult<TokenPair> {
    let now = issued_at_s;
    let ttl = i64::try_from(state.settings.access_token_ttl.as_secs()).unwrap_or(900);
    let claims = AccessClaims {
        sub: user.id.clone(),
        tid: tenant.id.clone(),
        sid: session_id,
        role: user.role,
        email: user.email.clone(),
        name: user.name.clone(),
        iat: now,
        exp: now + ttl,
    };
    let access = state.tokens.issue(&claims)?;
    Ok(TokenPair {
        access_token: access.expose().to_owned(),
        refresh_token: refresh.expose().to_owned(),
        expires_in: (now + ttl - state.now().timestamp()).max(0),
        user,
        tenant,
    })
}
