//! A session's end reaches its open sockets; sign-in guessing is slowed per address and
//! account without letting anyone lock an on-call out; a lost refresh answer can be retried.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use spartex_api::SESSION_ENDED_CLOSE_CODE;

use crate::support::{TestServer, PASSWORD};

#[tokio::test]
async fn signing_out_closes_the_sessions_event_socket_with_the_session_ended_code() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let mut events = server.events(oncall.token(), None).await;
    assert_eq!(events.next().await["type"], "hello");

    let (status, _) = oncall.post("/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(events.close_code().await, Some(SESSION_ENDED_CLOSE_CODE));
}

#[tokio::test]
async fn a_revoked_family_closes_its_sockets_and_other_sessions_keep_theirs() {
    let server = TestServer::start().await;
    let stolen = server.login_pair("oncall@acme.test").await;
    let access = stolen["access_token"].as_str().expect("token");
    let mut victim = server.events(access, None).await;
    assert_eq!(victim.next().await["type"], "hello");
    let bystander = server.login("manager@acme.test").await;
    let mut other = server.events(bystander.token(), None).await;
    assert_eq!(other.next().await["type"], "hello");

    let anon = server.anonymous();
    let refresh = json!({"refresh_token": stolen["refresh_token"]});
    let (status, _) = anon.post("/api/v1/auth/refresh", refresh.clone()).await;
    assert_eq!(status, StatusCode::OK);
    server.advance(chrono::Duration::seconds(30));
    let (status, body) = anon.post("/api/v1/auth/refresh", refresh).await;
    assert_eq!(body["error"]["code"], "refresh_token_reused", "{status}");

    assert_eq!(victim.close_code().await, Some(SESSION_ENDED_CLOSE_CODE));
    let (status, _) = bystander
        .post(
            "/api/v1/projects",
            json!({"name": "Still here", "budget_usd": 10.0}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let created = other
        .next_where("the new project", |f| f["type"] == "project.upserted")
        .await;
    assert_eq!(
        created["data"]["name"], "Still here",
        "another session's socket stays open"
    );
}

#[tokio::test]
async fn a_session_past_its_last_refresh_tokens_expiry_loses_its_socket() {
    let server = TestServer::start_with(|settings| {
        settings.session_check_interval = Duration::from_millis(50);
    })
    .await;
    let oncall = server.login("oncall@acme.test").await;
    let mut events = server.events(oncall.token(), None).await;
    assert_eq!(events.next().await["type"], "hello");
    server.advance(chrono::Duration::days(31));
    assert_eq!(events.close_code().await, Some(SESSION_ENDED_CLOSE_CODE));
}

#[tokio::test]
async fn an_access_token_in_the_query_string_opens_only_the_event_stream() {
    let server = TestServer::start().await;
    let oncall = server.login("oncall@acme.test").await;
    let token = oncall.token();
    for (method, path) in [
        (reqwest::Method::GET, "/api/v1/projects"),
        (reqwest::Method::GET, "/api/v1/me"),
        (reqwest::Method::POST, "/api/v1/stop"),
    ] {
        let (status, body) = server
            .anonymous()
            .method(method.clone(), &format!("{path}?access_token={token}"))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("/api/v1/events")),
            "the refusal says where the query token works: {body}"
        );
    }
    let url = format!(
        "{}/api/v1/events?access_token={token}",
        server.base().replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the event stream takes the query token");
    use futures_util::StreamExt;
    let hello = socket.next().await.expect("a frame").expect("readable");
    assert!(hello.to_text().expect("text").contains("hello"));
}

fn client_from(address: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(address))
        .build()
        .expect("client")
}

async fn sign_in(
    client: &reqwest::Client,
    server: &TestServer,
    email: &str,
    password: &str,
) -> StatusCode {
    client
        .post(format!("{}/api/v1/auth/login", server.base()))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("sent")
        .status()
}

#[tokio::test]
async fn a_burst_of_concurrent_guesses_gets_no_more_checks_than_sequential_ones() {
    let server = TestServer::start().await;
    let attacker = client_from([127, 0, 0, 1]);
    let guesses = (0..40).map(|n| {
        let attacker = attacker.clone();
        let server = &server;
        async move { sign_in(&attacker, server, "oncall@acme.test", &format!("guess-{n}")).await }
    });
    let statuses = futures_util::future::join_all(guesses).await;
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(checked + throttled, statuses.len(), "{statuses:?}");
    assert!(
        checked <= 5,
        "only the free attempts are checked, however many arrive at once: {checked}"
    );
    let passwords = &server.state().passwords;
    assert!(
        passwords.peak_in_use() <= passwords.size(),
        "at most one password check per core at once ({} > {})",
        passwords.peak_in_use(),
        passwords.size()
    );
    assert!(
        passwords.buffers() <= passwords.size(),
        "argon2 memory is one buffer per slot, reused: {} buffers",
        passwords.buffers()
    );
}

#[tokio::test]
async fn guesses_from_elsewhere_never_lock_the_on_call_out() {
    let server = TestServer::start().await;
    let attacker = client_from([127, 0, 0, 66]);
    let mut throttled = false;
    for n in 0..12 {
        let status = sign_in(
            &attacker,
            &server,
            "oncall@acme.test",
            &format!("guess-{n}"),
        )
        .await;
        throttled |= status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(throttled, "the attacker's own address is slowed down");

    let on_call = client_from([127, 0, 0, 2]);
    assert_eq!(
        sign_in(&on_call, &server, "oncall@acme.test", PASSWORD).await,
        StatusCode::OK,
        "the on-call signs in from their own address during the attack"
    );
}

#[tokio::test]
async fn a_refresh_retried_within_seconds_gets_the_same_pair_and_signs_nobody_out() {
    let server = TestServer::start().await;
    let first = server.login_pair("oncall@acme.test").await;
    let anon = server.anonymous();
    let request = json!({"refresh_token": first["refresh_token"]});
    let (status, lost) = anon.post("/api/v1/auth/refresh", request.clone()).await;
    assert_eq!(status, StatusCode::OK, "{lost}");
    server.advance(chrono::Duration::seconds(3));
    let (status, retried) = anon.post("/api/v1/auth/refresh", request.clone()).await;
    assert_eq!(status, StatusCode::OK, "a retry is not theft: {retried}");
    assert_eq!(retried["refresh_token"], lost["refresh_token"]);
    assert_eq!(retried["access_token"], lost["access_token"]);

    let (status, next) = anon
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": retried["refresh_token"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the session lives on: {next}");
    let (status, body) = anon.post("/api/v1/auth/refresh", request).await;
    assert_eq!(
        body["error"]["code"], "refresh_token_reused",
        "once the successor was used, the old token is theft again ({status})"
    );
}

#[tokio::test]
async fn a_person_keeps_so_many_sign_ins_and_a_new_one_past_them_ends_the_least_used() {
    let server = TestServer::start_with(|s| s.max_sessions_per_user = 3).await;
    let anon = server.anonymous();
    let refresh = |pair: &serde_json::Value| json!({"refresh_token": pair["refresh_token"]});
    // The phone signed in first; a script then signs in on every run.
    let phone = server.login_pair("oncall@acme.test").await;
    server.advance(chrono::Duration::seconds(60));
    let first_run = server.login_pair("oncall@acme.test").await;
    let mut first_runs_socket = server
        .events(first_run["access_token"].as_str().expect("token"), None)
        .await;
    assert_eq!(first_runs_socket.next().await["type"], "hello");
    server.advance(chrono::Duration::seconds(60));
    let second_run = server.login_pair("oncall@acme.test").await;
    // The phone is in use: it refreshes.
    server.advance(chrono::Duration::seconds(60));
    let (status, phone) = anon.post("/api/v1/auth/refresh", refresh(&phone)).await;
    assert_eq!(status, StatusCode::OK, "{phone}");
    server.advance(chrono::Duration::seconds(60));
    let third_run = server.login_pair("oncall@acme.test").await;

    // The least recently used ends: the script's first run, not the phone signed in before it.
    assert_eq!(
        first_runs_socket.close_code().await,
        Some(SESSION_ENDED_CLOSE_CODE)
    );
    let (status, body) = anon.post("/api/v1/auth/refresh", refresh(&first_run)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    for (kept, pair) in [
        ("phone", &phone),
        ("second run", &second_run),
        ("third run", &third_run),
    ] {
        let (status, body) = anon.post("/api/v1/auth/refresh", refresh(pair)).await;
        assert_eq!(status, StatusCode::OK, "{kept} stays: {body}");
    }
    let (status, body) = anon
        .post(
            "/api/v1/auth/refresh",
            json!({"refresh_token": "srt_made_up"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}
