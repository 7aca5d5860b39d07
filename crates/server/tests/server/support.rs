//! The shared test kit's server (`spartex-testkit`): a real server on 127.0.0.1:0 with a real
//! SQLite file and a manual clock, seeded with the demo organisations, and real HTTP and
//! WebSocket clients to drive it. What is this suite's own is below.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
pub use spartex_testkit::demo::{LAUNCH, NEWSLETTER, SPRING};
use spartex_testkit::webpush_service::WebPushService;
pub use spartex_testkit::{Api, TestServer, PASSWORD};

/// How long a test waits for something that should happen at once; a ceiling, never a sleep.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// For a test that drives, from one sign-in, a load no person sends by hand (hundreds of chat
/// messages as fast as they are answered): lifts the people's write quota out of its way.
pub fn lift_people_quota(settings: &mut spartex_server::config::Settings) {
    settings.user_writes_per_second = 1_000_000;
    settings.user_write_burst = 1_000_000;
}

/// A project's id by name, as seen by `api`.
pub async fn project_id(api: &Api, name: &str) -> String {
    api.project_id(name).await
}

/// Asks for approval as `agent`, returning the approval.
pub async fn ask(agent: &Api, risk: &str, expires_in_s: i64) -> Value {
    agent
        .ask("Publish the spring hero ad", risk, expires_in_s)
        .await
}

/// A push service that trusts the server's published VAPID key.
pub async fn push_service(server: &TestServer) -> WebPushService {
    let service = WebPushService::start().await;
    let key = server
        .anonymous()
        .get_ok("/api/v1/push/vapid-public-key")
        .await;
    service.trust_vapid_key(key["key"].as_str().expect("a key"));
    service
}

/// Signs `email` in and registers a new subscription for them.
pub async fn phone_of(
    server: &TestServer,
    service: &WebPushService,
    email: &str,
) -> (Value, Value) {
    let subscription = service.subscribe();
    let (status, device) = server
        .login(email)
        .await
        .post("/api/v1/devices", subscription.clone())
        .await;
    assert_eq!(status, StatusCode::CREATED, "{device}");
    (subscription, device)
}

/// The answer the server keeps for `person`'s retries of the request sent under `key`.
pub async fn kept_answer(
    server: &TestServer,
    person: &Api,
    key: &str,
) -> spartex_server::store::StoredResponse {
    let me = person.get_ok("/api/v1/me").await;
    let (user_id, tenant) = (
        me["user"]["id"].as_str().expect("my id"),
        me["tenant"]["id"].as_str().expect("my tenant"),
    );
    let state = server.state();
    let mut tx = state
        .store
        .begin(spartex_server::store::WriteScope::Tenant(tenant))
        .await
        .expect("begins");
    tx.stored_response(user_id, key)
        .await
        .expect("reads")
        .expect("the answer is kept for retries")
}

/// Waits until the push dispatcher has read every event so far (it records how far it has read
/// each tenant's log): the pushes those events call for are queued.
pub async fn dispatched(server: &TestServer) {
    let store = &server.state().store;
    spartex_testkit::eventually("the push dispatcher catches up", PATIENCE, async || {
        store
            .push()
            .backlog()
            .await
            .expect("read")
            .is_empty()
            .then_some(())
    })
    .await;
}
