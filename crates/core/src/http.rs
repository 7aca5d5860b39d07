//! The HTTP client of the contract: one typed `send` for every [`Endpoint`], rustls, timeouts,
//! retries with backoff where a retry is safe (reads, and mutations, which always carry an
//! Idempotency-Key), contract errors mapped to [`CoreError`].

use std::time::Duration;

use reqwest::StatusCode;
use rustls::ClientConfig;
use spartex_api::{Endpoint, ErrorBody, Method, IDEMPOTENCY_KEY_HEADER};

use crate::error::{CoreError, CoreResult};
use crate::server_clock::ServerClock;
use crate::Secret;

const ATTEMPTS: u32 = 3;

/// A request waits at most this long between its own attempts. A server asking for longer (a
/// full disk's 30 s) gets the error back at once, and the caller's own retry (the outbox, the
/// sync) waits as asked.
const LONGEST_WAIT_IN_A_REQUEST: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct HttpClient {
    http: reqwest::Client,
    base: String,
    clock: ServerClock,
}

impl HttpClient {
    /// A client for the server at `base` (`http://` or `https://`, no trailing path).
    pub fn new(base: &str) -> CoreResult<HttpClient> {
        let base = base.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(CoreError::BadServerUrl { url: base });
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            // Servers close kept-alive connections left idle (the reference server after
            // 10 s); reusing one kept longer races that close and fails the request.
            .pool_idle_timeout(Duration::from_secs(5))
            .user_agent(concat!("spartex-control/", env!("CARGO_PKG_VERSION")))
            // Never followed: a 307 or 308 would send the password or a refresh token again,
            // to another host or over plain http:// (past `refuse_plain_http`). Said instead.
            .redirect(reqwest::redirect::Policy::none())
            // The event socket's configuration too: both trust the same servers.
            .use_preconfigured_tls(ClientConfig::clone(&crate::tls::client_config()))
            .build()
            .map_err(|e| CoreError::Local(format!("could not start the HTTP client: {e}")))?;
        Ok(HttpClient {
            http,
            base,
            clock: ServerClock::default(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The server's clock, as its answers' `Date` headers tell it.
    pub fn clock(&self) -> &ServerClock {
        &self.clock
    }

    /// Refuses a plain `http://` server other than this machine: signing in to one would send
    /// the password and then every token in the clear (the phone's own cleartext rules do not
    /// cover this client, which brings its own TLS). Asked of a new sign-in only: an account
    /// kept before still opens.
    pub fn refuse_plain_http(&self) -> CoreResult<()> {
        let plain = || CoreError::PlainHttp {
            url: self.base.clone(),
        };
        if !self.base.starts_with("http://") {
            return Ok(());
        }
        let url = reqwest::Url::parse(&self.base).map_err(|_| CoreError::BadServerUrl {
            url: self.base.clone(),
        })?;
        let host = url.host_str().unwrap_or_default();
        let this_machine = host.eq_ignore_ascii_case("localhost")
            || (host.trim_start_matches('[').trim_end_matches(']'))
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if this_machine {
            Ok(())
        } else {
            Err(plain())
        }
    }

    /// `ws://…` or `wss://…` for a path.
    pub fn socket_url(&self, path: &str) -> String {
        format!("{}{path}", self.base.replacen("http", "ws", 1))
    }

    /// Sends a request to `endpoint`, retrying transient failures, and reads its answer.
    /// Mutations must pass `idempotency_key`.
    pub async fn send<E: Endpoint>(
        &self,
        endpoint: &E,
        token: Option<&Secret>,
        idempotency_key: Option<&str>,
    ) -> CoreResult<E::Answer> {
        let retry_safe = E::METHOD == Method::Get || idempotency_key.is_some();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(endpoint, token, idempotency_key, None).await {
                Err(error) if retry_safe && error.is_transient() && attempt < ATTEMPTS => {
                    let backoff = Duration::from_millis(200 * 4u64.pow(attempt - 1));
                    let wait = match error.retry_after() {
                        Some(asked) if asked > LONGEST_WAIT_IN_A_REQUEST => return Err(error),
                        Some(asked) => asked.max(backoff),
                        None => backoff,
                    };
                    tracing::debug!(path = %endpoint.path(), attempt, error = %error, "retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    /// One attempt at `endpoint`, never retried here, that fails as offline unless answered in
    /// full within `patience` (the client's 30 s otherwise): for a request the caller retries
    /// itself sooner than that, such as a refresh, which the server answers again only briefly.
    pub async fn send_within<E: Endpoint>(
        &self,
        endpoint: &E,
        token: Option<&Secret>,
        patience: Duration,
    ) -> CoreResult<E::Answer> {
        self.send_once(endpoint, token, None, Some(patience)).await
    }

    async fn send_once<E: Endpoint>(
        &self,
        endpoint: &E,
        token: Option<&Secret>,
        idempotency_key: Option<&str>,
        patience: Option<Duration>,
    ) -> CoreResult<E::Answer> {
        let method = match E::METHOD {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let url = format!("{}{}", self.base, endpoint.path());
        let mut request = self.http.request(method, url);
        if let Some(patience) = patience {
            request = request.timeout(patience);
        }
        let query = endpoint.query();
        if !query.is_empty() {
            request = request.query(&query);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token.expose());
        }
        if let Some(key) = idempotency_key {
            request = request.header(IDEMPOTENCY_KEY_HEADER, key);
        }
        if let Some(body) = endpoint.body() {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.offline(&e))?;
        let received_at = chrono::Utc::now();
        let status = response.status();
        if status.is_redirection() {
            return Err(self.redirected(&response));
        }
        let retry_after = retry_after_s(response.headers());
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            // The server's own answers, not a captive portal's page or a proxy's.
            self.clock.observe(response.headers(), received_at);
        }
        let bytes = response.bytes().await.map_err(|e| self.offline(&e))?;
        if status.is_success() {
            if bytes.is_empty() {
                // 204: only an endpoint that answers nothing (`()`) reads this as an answer.
                return serde_json::from_str("null").map_err(|_| {
                    self.protocol(format!("HTTP {status} with no body where one was due"))
                });
            }
            if !is_json {
                return Err(self.protocol(format!("HTTP {status} with a body that is not JSON")));
            }
            return serde_json::from_slice(&bytes).map_err(|e| match e.classify() {
                // A resource (it has its id) this version cannot read, e.g. with a status a
                // newer server added: the server took the request.
                serde_json::error::Category::Data if names_a_resource(&bytes) => {
                    CoreError::UnreadableAnswer {
                        server: self.base.clone(),
                        detail: e.to_string(),
                    }
                }
                serde_json::error::Category::Data => {
                    self.protocol(format!("unexpected answer: {e}"))
                }
                _ => self.protocol(format!("malformed JSON: {e}")),
            });
        }
        let error: Option<ErrorBody> = if is_json {
            serde_json::from_slice(&bytes).ok()
        } else {
            None
        };
        let Some(ErrorBody { error }) = error else {
            if status.is_server_error() {
                return Err(CoreError::Server {
                    status: status.as_u16(),
                    message: "no details".into(),
                    retry_after_s: retry_after,
                });
            }
            return Err(self.protocol(format!("HTTP {status} without the contract's error body")));
        };
        Err(self.answered_error(status, error, retry_after))
    }

    /// What an answer with the contract's error body means for the caller.
    fn answered_error(
        &self,
        status: StatusCode,
        error: spartex_api::ErrorDetail,
        retry_after: Option<u64>,
    ) -> CoreError {
        match status {
            StatusCode::UNAUTHORIZED => CoreError::SignedOut {
                message: error.message,
            },
            StatusCode::FORBIDDEN => CoreError::Forbidden {
                message: error.message,
            },
            StatusCode::NOT_FOUND => CoreError::NotFound {
                message: error.message,
            },
            StatusCode::CONFLICT => CoreError::Conflict {
                code: error.code,
                message: error.message,
                details: error.details,
            },
            StatusCode::GONE => CoreError::Gone {
                code: error.code,
                message: error.message,
                details: error.details,
            },
            // The request reached the server too slowly: the link, not the request.
            StatusCode::REQUEST_TIMEOUT => CoreError::Offline {
                server: self.base.clone(),
                reason: error.message,
            },
            StatusCode::TOO_MANY_REQUESTS => CoreError::RateLimited {
                retry_after_s: retry_after.unwrap_or(1),
            },
            s if s.is_server_error() => CoreError::Server {
                status: s.as_u16(),
                message: error.message,
                retry_after_s: retry_after,
            },
            _ => CoreError::Invalid {
                code: error.code,
                message: error.message,
            },
        }
    }

    fn offline(&self, error: &reqwest::Error) -> CoreError {
        let reason = if let Some(failed) = tls_failure(error) {
            tls_words(failed)
        } else if error.is_timeout() {
            "timed out".to_owned()
        } else if error.is_connect() {
            "connection refused or no route".to_owned()
        } else {
            "the connection dropped".to_owned()
        };
        CoreError::Offline {
            server: self.base.clone(),
            reason,
        }
    }

    /// A 3xx answer, which is not followed: where it sends the request, for the person to
    /// sign in there if it is right.
    fn redirected(&self, response: &reqwest::Response) -> CoreError {
        let Some(location) = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
        else {
            return self.protocol(format!("HTTP {} without a Location", response.status()));
        };
        let location = response
            .url()
            .join(location)
            .map_or_else(|_| location.to_owned(), String::from);
        // The server's words, shown: no control characters, and not a page of them.
        let mut location = spartex_policy::plain_text(&location, false);
        if location.chars().count() > 200 {
            location = location.chars().take(199).chain(['…']).collect();
        }
        CoreError::Redirected {
            server: self.base.clone(),
            location,
        }
    }

    fn protocol(&self, detail: String) -> CoreError {
        CoreError::Protocol {
            server: self.base.clone(),
            detail,
        }
    }
}

/// A failed TLS connection in words: a certificate refused (an unknown issuer, an expired or
/// misnamed certificate), or TLS itself failing (a port that speaks plain HTTP, no protocol
/// version in common), with rustls' reason either way.
fn tls_words(failed: &rustls::Error) -> String {
    match failed {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::UnsupportedNameType => format!(
            "its TLS certificate was refused ({failed}); if the address is right, its \
             certificate's issuer must be trusted by this system"
        ),
        _ => format!(
            "the TLS connection failed ({failed}); check that the address is an https:// \
             server and that its TLS setup is sound"
        ),
    }
}

/// What TLS refused, when a request failed in the handshake: rustls' error, under reqwest's,
/// hyper's and I/O errors. An I/O error is looked into (its `source` skips what it wraps).
fn tls_failure(error: &reqwest::Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        cause = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io.get_ref().map(|inner| inner as _),
            None => current.source(),
        };
    }
    None
}

/// Whether `body` is a JSON object with a string `id`: a resource, whatever else it holds.
fn names_a_resource(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|value| value.get("id").is_some_and(serde_json::Value::is_string))
}

/// The seconds a `Retry-After` header asks for: a number of seconds, or the HTTP-date a proxy
/// in front of the server may write instead (a date already past asks for no wait: none).
pub(crate) fn retry_after_s(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse() {
        return Some(seconds);
    }
    let until = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let left = until
        .signed_duration_since(chrono::Utc::now())
        .num_seconds();
    u64::try_from(left).ok().filter(|left| *left > 0)
}

#[cfg(test)]
mod tests {
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
    use reqwest::StatusCode;

    use super::{retry_after_s, HttpClient};

    #[test]
    fn plain_http_is_refused_for_any_server_but_this_machine() {
        for here in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://LOCALHOST",
            "http://[::1]:9000",
            "http://127.8.9.10",
            "https://spartex.example",
            "https://10.0.0.5",
        ] {
            let client = HttpClient::new(here).expect("a client");
            assert!(client.refuse_plain_http().is_ok(), "{here}");
        }
        for away in [
            "http://10.0.0.5:8080",
            "http://spartex.example",
            "http://localhost.evil.example",
            "http://[::ffff:10.0.0.5]",
            "http://0.0.0.0:8080",
        ] {
            let client = HttpClient::new(away).expect("a client");
            let refused = client.refuse_plain_http().expect_err(away);
            assert!(refused.to_string().contains("use https://"), "{refused}");
            assert_eq!(refused.kind(), crate::ErrorKind::Invalid);
        }
    }

    #[test]
    fn only_a_final_answer_refuses_an_action_for_good() {
        let client = HttpClient::new("http://127.0.0.1:1").expect("a client");
        let answered = |status: u16| {
            let detail = serde_json::from_value(serde_json::json!({
                "code": "some_code", "message": "said", "details": {}
            }))
            .expect("an error body");
            let status = StatusCode::from_u16(status).expect("a status");
            client.answered_error(status, detail, None)
        };
        for status in [400, 403, 404, 409, 410, 413, 422] {
            assert!(answered(status).is_refusal(), "{status}");
        }
        // A body that reached the server too slowly, a busy or failing server: tried again.
        for status in [408, 429, 500, 503] {
            let error = answered(status);
            assert!(
                !error.is_refusal() && error.is_transient(),
                "{status}: {error:?}"
            );
        }
        assert!(
            !answered(401).is_refusal(),
            "signed out: kept for the next sign-in"
        );
    }

    fn asking(value: &str) -> Option<u64> {
        let mut headers = HeaderMap::new();
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_str(value).expect("a header value"),
        );
        retry_after_s(&headers)
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_as_an_http_date() {
        assert_eq!(asking("30"), Some(30));
        assert_eq!(asking(" 5 "), Some(5));
        let in_a_minute = (chrono::Utc::now() + chrono::Duration::seconds(60))
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
        let asked = asking(&in_a_minute).expect("an HTTP-date is read");
        assert!(
            (58..=60).contains(&asked),
            "{in_a_minute} asked for {asked} s"
        );
        assert_eq!(
            asking("Sun, 06 Nov 1994 08:49:37 GMT"),
            None,
            "a date past asks for no wait"
        );
        assert_eq!(asking("soon"), None);
        assert_eq!(asking("-3"), None);
        assert_eq!(retry_after_s(&HeaderMap::new()), None);
    }
}
