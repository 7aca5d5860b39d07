use reqwest::StatusCode;
use serde_json::json;

use spartex_server::trusted_proxies::{parse_one, TrustedProxies};

use crate::support::{TestServer, PASSWORD};

#[tokio::test]
async fn login_gives_a_token_pair_that_reaches_me() {
    let server = TestServer::start().await;
    let pair = server.login_pair("manager@acme.test").await;
    assert_eq!(pair["user"]["role"], "manager");
    assert_eq!(pair["tenant"]["name"], "Acme Ads");
    assert_eq!(pair["expires_in"], 900);
    let (status, me) = server
        .api(pair["access_token"].as_str().expect("token"))
        .get("/api/v1/me")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["user"]["email"], "manager@acme.test");
}

/// A newer app may send a field this server does not know yet (a device's name at sign-in):
/// a request whose type does not refuse unknown fields takes the rest, where only the types a
/// request shares with an answer (the schedule, the policy) must have every field known.
#[tokio::test]
async fn a_newer_clients_extra_field_is_left_out_where_the_request_does_not_refuse_it() {
    let server = TestServer::start().await;
    let answer = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.base()))
        .json(
            &json!({"email": "manager@acme.test", "password": PASSWORD, "device_name": "Pixel 9"}),
        )
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_password_or_unknown_email_is_the_same_401() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    let (status, body) = anon
        .post(
            "/api/v1/auth/login",
            json!({"email": "manager@acme.test", "password": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "invalid_credentials");
    let (status, unknown) = anon
        .post(
            "/api/v1/auth/login",
            json!({"email": "ghost@acme.test", "password": "nope"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unknown, body,
        "an unknown email must not be told apart from a wrong password"
    );
}

#[tokio::test]
async fn repeated_failures_are_rate_limited_with_retry_after() {
    let server = TestServer::start().await;
    let anon = server.anonymous();
    for _ in 0..10 {
        anon.post(
            "/api/v1/auth/login",
            json!({"email": "viewer@acme.test", "password": "guess"}),
        )
        .await;
    }
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.base()))
        .json(&json!({"email": "viewer@acme.test", "password": PASSWORD}))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().get("retry-after").is_some());
}

/// A wrong sign-in for the viewer, from `forwarded` as a proxy would name it; the status.
async fn guess_from(server: &TestServer, forwarded: &str) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{}/api/v1/auth/login", server.base()))
        .header("x-forwarded-for", forwarded)
        .json(&json!({"email": "viewer@acme.test", "password": "guess"}))
        .send()
        .await
        .expect("sent")
        .status()
}

#[tokio::test]
async fn behind_a_trusted_proxy_sign_ins_are_counted_by_the_forwarded_client() {
    let server = TestServer::start_with(|settings| {
        settings.trusted_proxies =
            TrustedProxies::new(vec![parse_one("127.0.0.0/8").expect("a range")]);
    })
    .await;
    for _ in 0..5 {
        assert_eq!(
            guess_from(&server, "198.51.100.1, 203.0.113.7").await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        guess_from(&server, "203.0.113.7").await,
        StatusCode::TOO_MANY_REQUESTS,
        "the client the proxy names is slowed, whatever it wrote before"
    );
    assert_eq!(
        guess_from(&server, "203.0.113.8").await,
        StatusCode::UNAUTHORIZED,
        "another client behind the same proxy is not"
    );
}

#[tokio::test]
async fn a_forwarded_address_from_an_untrusted_peer_is_not_believed() {
    let server = TestServer::start().await;
    for n in 0..5 {
        guess_from(&server, &format!("203.0.113.{n}")).await;
    }
    assert_eq!(
        guess_from(&server, "203.0.113.99").await,
        StatusCode::TOO_MANY_REQUESTS,
        "a client cannot dodge the throttle by naming another address"
    );
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_family() {
    let server = TestServer::start().await;
    let first = server.login_pair("oncall@acme.test").await;
    let anon = server.anonymous();
    let (status, second) = anon
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(second["refresh_token"], first["refresh_token"]);
    let (status, _) = server
        .api(second["access_token"].as_str().expect("token"))
        .get("/api/v1/me")
        .await;
    assert_eq!(status, StatusCode::OK);

    // The first token again, well after a lost answer would be retried: someone else may hold
    // a copy, so the whole sign-in is revoked.
    server.advance(chrono::Duration::seconds(30));
    let (status, body) = anon
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": first["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "refresh_token_reused");
    let (status, _) = anon
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": second["refresh_token"]}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the newest token of the family is revoked too"
    );
    let (status, _) = server
        .api(second["access_token"].as_str().expect("token"))
        .get("/api/v1/me")
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "access tokens of a revoked family stop working"
    );
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let server = TestServer::start().await;
    let pair = server.login_pair("oncall@acme.test").await;
    let api = server.api(pair["access_token"].as_str().expect("token"));
    // Used before, so the server knows the session as live when it is signed out.
    let (status, _) = api.get("/api/v1/projects").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .post(
            "/api/v1/auth/logout",
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api.get("/api/v1/me").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = api.get("/api/v1/projects").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = server
        .anonymous()
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": pair["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn access_tokens_expire_by_the_server_clock() {
    let server = TestServer::start().await;
    let api = server.login("viewer@acme.test").await;
    server.advance(chrono::Duration::minutes(16));
    let (status, body) = api.get("/api/v1/projects").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "token_expired");
}

#[tokio::test]
async fn forged_missing_and_misplaced_tokens_are_refused() {
    let server = TestServer::start().await;
    let (status, body) = server.anonymous().get("/api/v1/projects").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");

    let forged = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4IiwidGlkIjoieCIsInNpZCI6IngiLCJyb2xlIjoib3duZXIiLCJlbWFpbCI6IngiLCJuYW1lIjoieCIsImlhdCI6MCwiZXhwIjo5OTk5OTk5OTk5fQ.c2lnbmF0dXJl";
    let (status, _) = server.api(forged).get("/api/v1/projects").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let agent = server.agent("Quill");
    let (status, body) = agent.get("/api/v1/projects").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "agent tokens reach only /agent/*: {body}"
    );

    let user = server.login("owner@acme.test").await;
    let (status, _) = user
        .post("/api/v1/agent/heartbeat", json!({"status": "idle"}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "people cannot pose as agents"
    );
}
