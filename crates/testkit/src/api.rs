//! A plain HTTP client of the contract, as a test drives it: one person's (or one agent's)
//! token, JSON in and out, the status beside the body.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Api {
    pub(crate) fn new(http: reqwest::Client, base: String, token: Option<String>) -> Api {
        Api { http, base, token }
    }

    /// A client of the server at `base` (`http://ADDR`), signed in with `token` if given.
    pub fn at(base: &str, token: Option<String>) -> Api {
        Api::new(
            reqwest::Client::new(),
            base.trim_end_matches('/').to_owned(),
            token,
        )
    }

    pub fn token(&self) -> &str {
        self.token.as_deref().expect("signed in")
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    async fn send(builder: RequestBuilder) -> (StatusCode, Value) {
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
        Self::send(self.request(Method::GET, path)).await
    }

    /// GET whose answer must be 200; returns the body.
    pub async fn get_ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    /// POST with a fresh `Idempotency-Key`.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_with_key(path, body, &uuid::Uuid::new_v4().to_string())
            .await
    }

    pub async fn post_with_key(&self, path: &str, body: Value, key: &str) -> (StatusCode, Value) {
        Self::send(
            self.request(Method::POST, path)
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
            self.request(Method::POST, path)
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.request(Method::PATCH, path).json(&body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        Self::send(self.request(Method::PUT, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(Method::DELETE, path)).await
    }

    pub async fn method(&self, method: Method, path: &str) -> (StatusCode, Value) {
        Self::send(self.request(method, path)).await
    }

    /// Every event of the tenant's log, via `GET /sync`.
    pub async fn all_events(&self) -> Vec<Value> {
        let mut since = 0;
        let mut events = Vec::new();
        loop {
            let page = self
                .get_ok(&format!("/api/v1/sync?since={since}&limit=1000"))
                .await;
            let batch = page["events"].as_array().expect("events").clone();
            let Some(last) = batch.last() else {
                return events;
            };
            since = last["seq"].as_i64().expect("seq");
            events.extend(batch);
        }
    }

    /// The head of the tenant's event log.
    pub async fn head(&self) -> i64 {
        let (_, page) = self.get("/api/v1/sync?since=0&limit=1").await;
        page["head"].as_i64().expect("head")
    }

    /// A project's id by name, as this caller sees the list.
    pub async fn project_id(&self, name: &str) -> String {
        let (_, projects) = self.get("/api/v1/projects").await;
        projects
            .as_array()
            .expect("list")
            .iter()
            .find(|p| p["name"] == name)
            .and_then(|p| p["id"].as_str())
            .unwrap_or_else(|| panic!("no project {name}"))
            .to_owned()
    }

    /// As an agent: asks for approval to publish an ad, with its copy as the preview; returns
    /// the approval.
    pub async fn ask(&self, title: &str, risk: &str, expires_in_s: i64) -> Value {
        self.ask_with(json!({
            "kind": "publish_ad",
            "title": title,
            "summary": "Headline and copy below.",
            "payload": { "network": "meta", "ad_set": "as-1" },
            "preview": { "type": "copy", "channel": "Meta", "headline": "30% off",
                         "body": "Spring sale.", "image_description": null, "audience": null },
            "risk": risk,
            "expires_in_s": expires_in_s,
        }))
        .await
    }

    /// As an agent: asks for approval of `request` (the body of `POST /agent/approvals`);
    /// returns the approval.
    pub async fn ask_with(&self, request: Value) -> Value {
        let (status, approval) = self.post("/api/v1/agent/approvals", request).await;
        assert_eq!(status, StatusCode::CREATED, "ask: {approval}");
        approval
    }
}
