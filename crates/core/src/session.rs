//! The session: tokens only in the OS secret store, refreshed before they expire, rotation
//! handled; every authenticated call goes through here.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spartex_api::endpoints::{Login, Logout, Refresh};
use spartex_api::{Endpoint, LoginRequest, LogoutRequest, RefreshRequest, TokenPair};
use tokio::sync::Mutex;

use crate::error::{CoreError, CoreResult};
use crate::http::HttpClient;
use crate::secret_store::SecretStore;
use crate::Secret;

/// Refresh this long before the access token expires.
const REFRESH_MARGIN_S: i64 = 60;

/// Both asks of a refresh end within this of the first being sent: under the reference
/// server's grace for a refresh token sent twice (10 s from its commit of the first,
/// `REFRESH_RETRY_GRACE_MS`), so that the second ask is answered with the pair the lost answer
/// held, where a retry after it would be taken for a stolen token's reuse (and end the sign-in).
const REFRESH_WITHIN: std::time::Duration = std::time::Duration::from_secs(9);

/// How long the first ask's answer is waited for: under half of [`REFRESH_WITHIN`], so the
/// second has as long again on the network that lost the first answer.
const REFRESH_FIRST_PATIENCE: std::time::Duration = std::time::Duration::from_secs(4);

/// The longest an access token is taken to live, whatever the server says: a server's
/// `expires_in` is read through this, so a wrong or hostile one (`i64::MAX`) cannot overflow
/// the time arithmetic, which panics (and aborts a release build).
const LONGEST_ACCESS_S: i64 = 30 * 24 * 3600;

fn about_to_expire(tokens: &Tokens) -> bool {
    tokens
        .expires_at
        .checked_sub_signed(chrono::Duration::seconds(REFRESH_MARGIN_S))
        .is_none_or(|refresh_at| refresh_at <= Utc::now())
}

/// When an access token that lives `expires_in` seconds from now expires: at least a second,
/// at most [`LONGEST_ACCESS_S`].
fn expires_at(expires_in: i64) -> DateTime<Utc> {
    let lives = chrono::Duration::seconds(expires_in.clamp(1, LONGEST_ACCESS_S));
    let now = Utc::now();
    now.checked_add_signed(lives).unwrap_or(now)
}

#[derive(Clone, Serialize, Deserialize)]
struct Tokens {
    access_token: Secret,
    refresh_token: Secret,
    expires_at: DateTime<Utc>,
}

pub fn tokens_key(account_id: &str) -> String {
    format!("{account_id}/tokens")
}

pub fn cache_key_key(account_id: &str) -> String {
    format!("{account_id}/cache-key")
}

/// Runs a secret-store call off the async runtime (keyring backends block).
pub async fn blocking_secret<T: Send + 'static>(
    store: &Arc<dyn SecretStore>,
    call: impl FnOnce(&dyn SecretStore) -> Result<T, crate::secret_store::SecretError> + Send + 'static,
) -> CoreResult<T> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || call(store.as_ref()))
        .await
        .map_err(|e| CoreError::Local(format!("secret store task failed: {e}")))?
        .map_err(CoreError::from)
}

pub struct Session {
    account_id: String,
    http: HttpClient,
    secrets: Arc<dyn SecretStore>,
    tokens: Mutex<Held>,
}

/// The tokens this process holds, and whether the secret store has them yet: refreshed tokens
/// the store would not take (a keyring locked meanwhile) are held here and stored once it
/// takes them, since the refresh token they replaced no longer works.
#[derive(Default)]
struct Held {
    tokens: Option<Tokens>,
    unsaved: bool,
}

impl Session {
    pub fn new(account_id: &str, http: HttpClient, secrets: Arc<dyn SecretStore>) -> Session {
        Session {
            account_id: account_id.to_owned(),
            http,
            secrets,
            tokens: Mutex::default(),
        }
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Signs in; the caller stores the pair once it knows the account id.
    pub async fn login(http: &HttpClient, email: &str, password: &Secret) -> CoreResult<TokenPair> {
        let login = Login {
            body: LoginRequest {
                email: email.to_owned(),
                password: password.expose().to_owned(),
            },
        };
        http.send(&login, None, None).await
    }

    pub async fn save(&self, pair: &TokenPair) -> CoreResult<()> {
        let tokens = Tokens {
            access_token: Secret::new(pair.access_token.clone()),
            refresh_token: Secret::new(pair.refresh_token.clone()),
            expires_at: expires_at(pair.expires_in),
        };
        self.persist(&tokens).await?;
        *self.tokens.lock().await = Held {
            tokens: Some(tokens),
            unsaved: false,
        };
        Ok(())
    }

    async fn persist(&self, tokens: &Tokens) -> CoreResult<()> {
        let key = tokens_key(&self.account_id);
        let value = Secret::new(
            serde_json::to_string(tokens).map_err(|e| CoreError::Local(e.to_string()))?,
        );
        blocking_secret(&self.secrets, move |store| store.set(&key, &value)).await
    }

    async fn load(&self) -> CoreResult<Option<Tokens>> {
        let key = tokens_key(&self.account_id);
        let stored = blocking_secret(&self.secrets, move |store| store.get(&key)).await?;
        Ok(stored.and_then(|secret| serde_json::from_str(secret.expose()).ok()))
    }

    fn signed_out(&self) -> CoreError {
        CoreError::SignedOut {
            message: format!("You are signed out of {}.", self.http.base()),
        }
    }

    /// A valid access token, refreshed first when it is about to expire.
    pub async fn access_token(&self) -> CoreResult<Secret> {
        let mut held = self.tokens.lock().await;
        if held.tokens.is_none() {
            held.tokens = self.load().await?;
        }
        let Some(tokens) = held.tokens.clone() else {
            return Err(self.signed_out());
        };
        if held.unsaved {
            held.unsaved = self.persist_or_hold(&tokens).await;
        }
        if !about_to_expire(&tokens) {
            return Ok(tokens.access_token);
        }
        // Another process (the app beside the CLI) may have rotated them already: the refresh
        // token it replaced would be taken for a stolen one's reuse, ending the session.
        let Some(stored) = self.stored_since(&held).await else {
            return self.refresh(&mut held, &tokens).await;
        };
        held.tokens = Some(stored.clone());
        if about_to_expire(&stored) {
            return self.refresh(&mut held, &stored).await;
        }
        Ok(stored.access_token)
    }

    /// Tokens another process stored in place of those held here; none while the held ones
    /// are not stored yet (the store's are older then), or when the store cannot be read now
    /// (a keyring locked meanwhile): the held ones refresh as well.
    async fn stored_since(&self, held: &Held) -> Option<Tokens> {
        let held_refresh = &held.tokens.as_ref()?.refresh_token;
        if held.unsaved {
            return None;
        }
        match self.load().await {
            Ok(stored) => stored.filter(|stored| stored.refresh_token != *held_refresh),
            Err(error) => {
                tracing::warn!(%error, "could not read the stored tokens; using the ones held here");
                None
            }
        }
    }

    /// Stores `tokens`; true when the store would not take them (they stay held, unsaved).
    async fn persist_or_hold(&self, tokens: &Tokens) -> bool {
        match self.persist(tokens).await {
            Ok(()) => false,
            Err(error) => {
                tracing::warn!(%error, "could not store the refreshed tokens yet; holding them until the secret store takes them");
                true
            }
        }
    }

    /// Trades `tokens`' refresh token for new tokens, held in `held` and stored when the
    /// secret store takes them: the refresh token they replace is spent, so a store that
    /// fails must not lose them. Refused, the session is over: forgotten here and, unless
    /// another process stored other tokens meanwhile (it signed in again), in the store.
    async fn refresh(&self, held: &mut Held, tokens: &Tokens) -> CoreResult<Secret> {
        let refresh = Refresh {
            body: RefreshRequest {
                refresh_token: tokens.refresh_token.expose().to_owned(),
            },
        };
        let first_sent = tokio::time::Instant::now();
        let asked = match self
            .http
            .send_within(&refresh, None, REFRESH_FIRST_PATIENCE)
            .await
        {
            // The answer may be lost after the server rotated the tokens: asked again at once,
            // within its grace, it gives the same new pair (the refresh token is spent otherwise,
            // and the session with it). The second ask has what is left of the grace, no more.
            Err(error @ (CoreError::Offline { .. } | CoreError::Server { .. })) => {
                let left = REFRESH_WITHIN.saturating_sub(first_sent.elapsed());
                if left.is_zero() {
                    Err(error)
                } else {
                    tracing::info!(%error, "no answer to the refresh; asking once more");
                    self.http.send_within(&refresh, None, left).await
                }
            }
            answered => answered,
        };
        match asked {
            Ok(pair) => {
                let fresh = Tokens {
                    access_token: Secret::new(pair.access_token),
                    refresh_token: Secret::new(pair.refresh_token),
                    expires_at: expires_at(pair.expires_in),
                };
                let access = fresh.access_token.clone();
                held.unsaved = self.persist_or_hold(&fresh).await;
                held.tokens = Some(fresh);
                Ok(access)
            }
            Err(CoreError::SignedOut { message }) => {
                *held = Held::default();
                match self.load().await {
                    Ok(Some(stored)) if stored.refresh_token != tokens.refresh_token => {}
                    _ => self.forget_stored().await?,
                }
                Err(CoreError::SignedOut {
                    message: format!("{message} (account {})", self.account_id),
                })
            }
            Err(other) => Err(other),
        }
    }

    async fn forget_stored(&self) -> CoreResult<()> {
        let key = tokens_key(&self.account_id);
        blocking_secret(&self.secrets, move |store| store.delete(&key)).await
    }

    /// Drops the tokens here and in the secret store.
    pub async fn forget(&self) -> CoreResult<()> {
        self.forget_stored().await?;
        *self.tokens.lock().await = Held::default();
        Ok(())
    }

    /// An authenticated call; an access token the server refuses is refreshed and the call
    /// tried once more.
    pub async fn call<E: Endpoint>(
        &self,
        endpoint: &E,
        idempotency_key: Option<&str>,
    ) -> CoreResult<E::Answer> {
        let token = self.access_token().await?;
        match self
            .http
            .send(endpoint, Some(&token), idempotency_key)
            .await
        {
            Err(CoreError::SignedOut { .. }) => {
                let token = self.renewed_after_refusal(&token).await?;
                self.http
                    .send(endpoint, Some(&token), idempotency_key)
                    .await
            }
            other => other,
        }
    }

    /// An access token in place of `refused`, which the server refused (a REST call's 401, the
    /// event socket's handshake): the one another call refreshed meanwhile, or a refreshed
    /// one. Refused in turn, the session is over ([`CoreError::SignedOut`]).
    pub(crate) async fn renewed_after_refusal(&self, refused: &Secret) -> CoreResult<Secret> {
        let mut held = self.tokens.lock().await;
        let Some(tokens) = held.tokens.clone() else {
            return Err(self.signed_out());
        };
        if tokens.access_token != *refused {
            // Refreshed by another call meanwhile.
            return Ok(tokens.access_token);
        }
        // Another process may have refreshed meanwhile: the refresh token it replaced would be
        // taken for a stolen one's reuse, ending the session everywhere.
        let current = self.stored_since(&held).await.unwrap_or(tokens);
        self.refresh(&mut held, &current).await
    }

    /// Ends on the server a sign-in nothing was kept of (best effort).
    pub async fn revoke_unkept(http: &HttpClient, pair: &TokenPair) {
        let logout = Logout {
            body: LogoutRequest {
                refresh_token: Some(pair.refresh_token.clone()),
            },
        };
        let access = Secret::new(pair.access_token.clone());
        if let Err(e) = http.send(&logout, Some(&access), None).await {
            tracing::warn!(error = %e, "could not end an unkept sign-in on the server");
        }
    }

    /// Revokes the session on the server (best effort: offline it is revoked locally only).
    pub async fn logout(&self) -> CoreResult<()> {
        let held = self.tokens.lock().await.tokens.clone();
        let tokens = match held {
            Some(tokens) => Some(tokens),
            None => self.load().await?,
        };
        if let Some(tokens) = tokens {
            let logout = Logout {
                body: LogoutRequest {
                    refresh_token: Some(tokens.refresh_token.expose().to_owned()),
                },
            };
            if let Err(e) = self
                .http
                .send(&logout, Some(&tokens.access_token), None)
                .await
            {
                tracing::warn!(error = %e, "could not revoke the session on the server; forgetting it here");
            }
        }
        self.forget().await
    }
}
