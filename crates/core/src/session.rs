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
    tokens: Mutex<Option<Tokens>>,
}

impl Session {
    pub fn new(account_id: &str, http: HttpClient, secrets: Arc<dyn SecretStore>) -> Session {
        Session {
            account_id: account_id.to_owned(),
            http,
            secrets,
            tokens: Mutex::new(None),
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
            expires_at: Utc::now() + chrono::Duration::seconds(pair.expires_in),
        };
        self.persist(&tokens).await?;
        *self.tokens.lock().await = Some(tokens);
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
        let mut guard = self.tokens.lock().await;
        if guard.is_none() {
            *guard = self.load().await?;
        }
        let Some(tokens) = guard.clone() else {
            return Err(self.signed_out());
        };
        if tokens.expires_at - chrono::Duration::seconds(REFRESH_MARGIN_S) > Utc::now() {
            return Ok(tokens.access_token);
        }
        // Another process (the app beside the CLI) may have rotated them already.
        if let Some(stored) = self.load().await? {
            if stored.refresh_token != tokens.refresh_token
                && stored.expires_at - chrono::Duration::seconds(REFRESH_MARGIN_S) > Utc::now()
            {
                let access = stored.access_token.clone();
                *guard = Some(stored);
                return Ok(access);
            }
        }
        let fresh = self.refresh(&tokens).await?;
        let access = fresh.access_token.clone();
        *guard = Some(fresh);
        Ok(access)
    }

    async fn refresh(&self, tokens: &Tokens) -> CoreResult<Tokens> {
        let refresh = Refresh {
            body: RefreshRequest {
                refresh_token: tokens.refresh_token.expose().to_owned(),
            },
        };
        match self.http.send(&refresh, None, None).await {
            Ok(pair) => {
                let fresh = Tokens {
                    access_token: Secret::new(pair.access_token),
                    refresh_token: Secret::new(pair.refresh_token),
                    expires_at: Utc::now() + chrono::Duration::seconds(pair.expires_in),
                };
                self.persist(&fresh).await?;
                Ok(fresh)
            }
            Err(CoreError::SignedOut { message }) => {
                self.forget().await?;
                Err(CoreError::SignedOut {
                    message: format!("{message} (account {})", self.account_id),
                })
            }
            Err(other) => Err(other),
        }
    }

    /// Drops the tokens here and in the secret store.
    pub async fn forget(&self) -> CoreResult<()> {
        let key = tokens_key(&self.account_id);
        blocking_secret(&self.secrets, move |store| store.delete(&key)).await?;
        *self.tokens.lock().await = None;
        Ok(())
    }

    /// An authenticated call; an expired access token is refreshed and the call tried once more.
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
                let stale = self.tokens.lock().await.clone();
                if let Some(stale) = stale {
                    let fresh = self.refresh(&stale).await?;
                    let token = fresh.access_token.clone();
                    *self.tokens.lock().await = Some(fresh);
                    return self
                        .http
                        .send(endpoint, Some(&token), idempotency_key)
                        .await;
                }
                Err(self.signed_out())
            }
            other => other,
        }
    }

    /// Revokes the session on the server (best effort: offline it is revoked locally only).
    pub async fn logout(&self) -> CoreResult<()> {
        let tokens = match self.tokens.lock().await.clone() {
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
