//! A real server on 127.0.0.1:0 with a real SQLite file and a manual clock, seeded with the
//! demo organisations, and real HTTP and WebSocket clients to drive it.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_demo::seed::{ensure_seeded, DemoAgent};
use spartex_server::clock::ManualClock;
use spartex_server::config::{Secret, Settings};
use spartex_server::state::AppState;
use spartex_server::RunningServer;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const PASSWORD: &str = "test-password-1";
/// How long a test waits for something that should happen at once; a ceiling, never a sleep.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub server: Option<RunningServer>,
    pub clock: Arc<ManualClock>,
    pub agents: Vec<DemoAgent>,
    http: reqwest::Client,
    base: String,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Settings)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("server.db").display());
        let mut settings = Settings::new("127.0.0.1:0".parse().expect("addr"), url);
        settings.sweep_interval = Duration::from_millis(20);
        settings.jwt_secret = Some(Secret::new("test-secret"));
        tweak(&mut settings);
        let clock = Arc::new(ManualClock::new(
            "2026-11-28T10:00:00Z".parse().expect("time"),
        ));
        let server = spartex_server::start(settings, clock.clone())
            .await
            .expect("server starts");
        let world = ensure_seeded(&server.state, &Secret::new(PASSWORD))
            .await
            .expect("seeds");
        let base = server.url();
        TestServer {
            server: Some(server),
            clock,
            agents: world.agents,
            http: reqwest::Client::new(),
            base,
            _dir: dir,
        }
    }

    pub fn state(&self) -> &AppState {
        &self.server.as_ref().expect("running").state
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The server's SQLite file.
    pub fn database_path(&self) -> std::path::PathBuf {
        self._dir.path().join("server.db")
    }

    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }

    pub async fn shutdown(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }

    /// Signs in and returns a client for that person.
    pub async fn login(&self, email: &str) -> Api {
        let pair = self.login_pair(email).await;
        self.api(pair["access_token"].as_str().expect("access token"))
    }

    pub async fn login_pair(&self, email: &str) -> Value {
        let (status, body) = self
            .anonymous()
            .post(
                "/api/v1/auth/login",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "login of {email}: {body}");
        body
    }

    pub fn api(&self, token: &str) -> Api {
        Api {
            http: self.http.clone(),
            base: self.base.clone(),
            token: Some(token.to_owned()),
        }
    }

    pub fn anonymous(&self) -> Api {
        Api {
            http: self.http.clone(),
            base: self.base.clone(),
            token: None,
        }
    }

    pub fn agent_named(&self, name: &str) -> &DemoAgent {
        self.agents
            .iter()
            .find(|a| a.agent.name == name)
            .unwrap_or_else(|| panic!("no demo agent {name}"))
    }

    /// A client authenticated as an agent worker.
    pub fn agent(&self, name: &str) -> Api {
        self.api(self.agent_named(name).token.expose())
    }

    pub async fn events(&self, token: &str, since: Option<i64>) -> Socket {
        let query = since.map(|s| format!("?since={s}")).unwrap_or_default();
        Socket::connect(&format!("{}/api/v1/events{query}", self.ws_base()), token).await
    }

    pub async fn control(&self, agent: &str) -> Socket {
        Socket::connect(
            &format!("{}/api/v1/agent/control", self.ws_base()),
            self.agent_named(agent).token.expose(),
        )
        .await
    }

    fn ws_base(&self) -> String {
        self.base.replacen("http", "ws", 1)
    }
}

/// A project's id by name, as seen by `api`.
pub async fn project_id(api: &Api, name: &str) -> String {
    let (_, projects) = api.get("/api/v1/projects").await;
    projects
        .as_array()
        .expect("list")
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["id"].as_str())
        .unwrap_or_else(|| panic!("no project {name}"))
        .to_owned()
}

pub const SPRING: &str = "Spring Sale 2027 — Paid Social";
pub const LAUNCH: &str = "Lumen X1 Launch";
pub const NEWSLETTER: &str = "The Weekly Edit — Newsletter";

/// Asks for approval as `agent`, returning the approval.
pub async fn ask(agent: &Api, risk: &str, expires_in_s: i64) -> Value {
    let (status, approval) = agent
        .post(
            "/api/v1/agent/approvals",
            json!({
                "kind": "publish_ad",
                "title": "Publish the spring hero ad",
                "summary": "Headline and copy below.",
                "payload": { "network": "meta", "ad_set": "as-1" },
                "preview": { "type": "copy", "channel": "Meta", "headline": "30% off", "body": "Spring sale.",
                             "image_description": null, "audience": null },
                "risk": risk,
                "expires_in_s": expires_in_s,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "ask: {approval}");
    approval
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub fn token(&self) -> &str {
        self.token.as_deref().expect("signed in")
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn send(builder: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = builder.send().await.expect("request reaches the server");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("non-JSON answer ({status}): {text}"))
        };
        (status, body)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_with_key(path, body, &uuid::Uuid::new_v4().to_string())
            .await
    }

    pub async fn post_with_key(&self, path: &str, body: Value, key: &str) -> (StatusCode, Value) {
        Self::send(
            self.request(reqwest::Method::POST, path)
                .header("Idempotency-Key", key)
                .json(&body),
        )
        .await
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (StatusCode, Value) {
        Self::send(
            self.request(reqwest::Method::POST, path)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::PATCH, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(reqwest::Method::DELETE, path)).await
    }

    pub async fn method(&self, method: reqwest::Method, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(method, path)).await
    }

    /// Every event of the tenant's log, via `GET /sync`.
    pub async fn all_events(&self) -> Vec<Value> {
        let mut since = 0;
        let mut events = Vec::new();
        loop {
            let (status, page) = self
                .get(&format!("/api/v1/sync?since={since}&limit=1000"))
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            let batch = page["events"].as_array().expect("events").clone();
            if batch.is_empty() {
                return events;
            }
            since = batch.last().and_then(|e| e["seq"].as_i64()).expect("seq");
            events.extend(batch);
        }
    }

    pub async fn head(&self) -> i64 {
        let (_, page) = self.get("/api/v1/sync?since=0&limit=1").await;
        page["head"].as_i64().expect("head")
    }
}

pub struct Socket {
    ws: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl Socket {
    pub async fn connect(url: &str, token: &str) -> Socket {
        let mut request = url.into_client_request().expect("ws url");
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {token}").parse().expect("header"),
        );
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("socket connects");
        Socket { ws }
    }

    /// The next JSON frame; fails the test after [`PATIENCE`].
    pub async fn next(&mut self) -> Value {
        self.try_next(PATIENCE)
            .await
            .expect("a frame within the patience window")
    }

    pub async fn try_next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()??;
            match frame.expect("socket frame") {
                WsMessage::Text(text) => {
                    return Some(serde_json::from_str(&text).expect("JSON frame"))
                }
                WsMessage::Close(_) => return None,
                _ => {}
            }
        }
    }

    /// Skips frames until the server closes the socket; returns the close code, if it sent one.
    pub async fn close_code(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("the socket closes within the patience window");
            match frame {
                Some(Ok(WsMessage::Close(close))) => return close.map(|c| u16::from(c.code)),
                None | Some(Err(_)) => return None,
                Some(Ok(_)) => {}
            }
        }
    }

    /// Skips frames until one matches.
    pub async fn next_where(&mut self, what: &str, matches: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.try_next(left).await {
                Some(frame) if matches(&frame) => return frame,
                Some(_) => {}
                None => panic!("no frame with {what} within {PATIENCE:?}"),
            }
        }
    }
}
