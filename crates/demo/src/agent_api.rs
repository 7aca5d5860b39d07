//! How a simulated worker talks to the server: the agent-worker API over HTTP and the control
//! socket, each call and each wait giving up as soon as the demo shuts down.

use std::time::Duration;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use spartex_api::{AgentControl, ErrorBody, ErrorCode};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use spartex_server::config::Secret;

/// Resolves once the demo is shutting down (at once if it already is).
pub(super) async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which is a shutdown too.
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}

#[derive(Debug)]
pub(super) enum CallError {
    /// The server refused because this agent or its project is stopped or paused.
    Halted,
    /// 422: the request as sent is refused; sent again unchanged, it would be again.
    Refused(String),
    Failed(String),
}

#[derive(Clone)]
pub(super) struct AgentApi {
    pub(super) http: reqwest::Client,
    pub(super) base: String,
    pub(super) token: Secret,
    /// Every call gives up when the demo shuts down.
    pub(super) shutdown: watch::Receiver<bool>,
}

impl AgentApi {
    pub(super) async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, CallError> {
        let request = self
            .http
            .post(format!("{}/api/v1/agent/{path}", self.base))
            .bearer_auth(self.token.expose())
            .header(
                spartex_api::IDEMPOTENCY_KEY_HEADER,
                uuid::Uuid::new_v4().to_string(),
            )
            .json(body);
        self.call(request).await
    }

    pub(super) async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, CallError> {
        let request = self
            .http
            .get(format!("{}/api/v1/agent/{path}", self.base))
            .bearer_auth(self.token.expose());
        self.call(request).await
    }

    async fn call<R: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<R, CallError> {
        let mut shutdown = self.shutdown.clone();
        tokio::select! {
            answer = async { Self::answer(request.send().await).await } => answer,
            () = stopped(&mut shutdown) => Err(CallError::Failed("the demo is shutting down".into())),
        }
    }

    async fn answer<R: DeserializeOwned>(
        sent: reqwest::Result<reqwest::Response>,
    ) -> Result<R, CallError> {
        let response = sent.map_err(|e| CallError::Failed(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            return response
                .json()
                .await
                .map_err(|e| CallError::Failed(e.to_string()));
        }
        let body: Option<ErrorBody> = response.json().await.ok();
        let code = body.map(|b| b.error.code);
        if status == reqwest::StatusCode::CONFLICT
            && matches!(
                code,
                Some(ErrorCode::AgentStopped | ErrorCode::ProjectStopped)
            )
        {
            return Err(CallError::Halted);
        }
        let code = code.as_ref().map(ErrorCode::as_str).unwrap_or_default();
        if status == reqwest::StatusCode::UNPROCESSABLE_ENTITY {
            return Err(CallError::Refused(format!("{status} {code}")));
        }
        Err(CallError::Failed(format!("{status} {code}")))
    }

    pub(super) fn control_url(&self) -> String {
        format!(
            "{}/api/v1/agent/control",
            self.base.replacen("http", "ws", 1)
        )
    }
}

/// Keeps the agent's control socket open, reconnecting after a second when it drops.
pub(super) async fn control_socket(
    url: String,
    token: Secret,
    frames: mpsc::Sender<AgentControl>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        if *shutdown.borrow() {
            return;
        }
        if let Ok(mut request) = url.as_str().into_client_request() {
            if let Ok(value) = format!("Bearer {}", token.expose()).parse() {
                request.headers_mut().insert("authorization", value);
            }
            let connected = tokio::select! {
                connected = tokio_tungstenite::connect_async(request) => connected,
                () = stopped(&mut shutdown) => return,
            };
            if let Ok((mut socket, _)) = connected {
                loop {
                    let message = tokio::select! {
                        message = socket.next() => message,
                        () = stopped(&mut shutdown) => return,
                    };
                    match message {
                        Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                            if let Ok(frame) = serde_json::from_str::<AgentControl>(&text) {
                                let sent = tokio::select! {
                                    sent = frames.send(frame) => sent.is_ok(),
                                    () = stopped(&mut shutdown) => false,
                                };
                                if !sent {
                                    return;
                                }
                            }
                        }
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break,
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}
