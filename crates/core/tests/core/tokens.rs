//! The session's tokens when the secret store fails, another process shares them, or the
//! server ends the session: no action is dropped, no refresh token is spent twice, no call hangs.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use spartex_api::Decision;
use spartex_core::CoreError;

use crate::support::{World, PATIENCE};

/// Access tokens that are always about to expire (the core refreshes a minute ahead), so every
/// call refreshes and reads the secret store.
async fn short_lived_tokens() -> World {
    World::start_with(|settings| settings.access_token_ttl = Duration::from_secs(30)).await
}

/// The secret store stops answering, as a keyring locked meanwhile does: its file is moved
/// aside and a folder stands in its place. Dropping the guard puts it back.
struct Unreadable {
    path: PathBuf,
    aside: PathBuf,
}

fn make_unreadable(world: &World, core_name: &str) -> Unreadable {
    let path = world.dir.path().join(core_name).join("secrets.json");
    let aside = path.with_extension("aside");
    std::fs::rename(&path, &aside).expect("moves the secrets aside");
    std::fs::create_dir(&path).expect("a folder in their place");
    Unreadable { path, aside }
}

impl Drop for Unreadable {
    fn drop(&mut self) {
        std::fs::remove_dir(&self.path).expect("removes the folder");
        std::fs::rename(&self.aside, &self.path).expect("puts the secrets back");
    }
}

fn stored_tokens(world: &World, core_name: &str) -> Option<serde_json::Value> {
    let path = world.dir.path().join(core_name).join("secrets.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("secrets file")).expect("JSON");
    file["secrets"]
        .as_object()
        .expect("a map")
        .iter()
        .find(|(key, _)| key.ends_with("/tokens"))
        .and_then(|(_, value)| serde_json::from_str(value.as_str()?).ok())
}

#[tokio::test]
async fn a_decision_made_while_the_secret_store_fails_waits_for_it_and_is_delivered_once() {
    let world = World::start().await;
    let approval = world.ask("Quill", "Publish the spring teaser").await;
    let id = approval["id"].as_str().expect("id").to_owned();
    let signed_in = world.login(&world.core("dana"), "oncall@acme.test").await;
    signed_in.catch_up().await.expect("sync");
    signed_in.store().close().await;
    drop(signed_in);

    // The app starts again; its keyring locks before its first call.
    let account = world.core("dana").open(None).await.expect("opens");
    let unreadable = make_unreadable(&world, "dana");
    let queued = account
        .decide(&id, Decision::Approve, None)
        .await
        .expect("queued");
    assert!(!queued.delivered);
    assert!(
        queued.outcome.is_none(),
        "not refused: {:?}",
        queued.outcome
    );
    assert_eq!(account.outbox().await.expect("outbox").len(), 1);
    assert_eq!(
        account.approval(&id).await.expect("cached").sending,
        Some(Decision::Approve)
    );

    drop(unreadable);
    let report = account.flush_outbox().await.expect("flushes");
    assert_eq!(
        (report.delivered, report.refused, report.waiting),
        (1, 0, 0)
    );
    let token = world.server_token("viewer@acme.test").await;
    let settled = world.get(&token, &format!("/api/v1/approvals/{id}")).await;
    assert_eq!(settled["status"], json!("approved"));
}

#[tokio::test]
async fn tokens_refreshed_while_the_secret_store_fails_are_held_and_stored_once_it_works() {
    let world = short_lived_tokens().await;
    let approval = world.ask("Quill", "Publish the spring teaser").await;
    let id = approval["id"].as_str().expect("id").to_owned();
    let account = world.login(&world.core("dana"), "oncall@acme.test").await;
    account.catch_up().await.expect("sync");
    let before = stored_tokens(&world, "dana").expect("stored");

    let unreadable = make_unreadable(&world, "dana");
    let queued = account
        .decide(&id, Decision::Approve, None)
        .await
        .expect("queued");
    assert!(
        queued.delivered,
        "refreshed with the tokens held: {:?}",
        queued.waiting_because
    );
    account
        .catch_up()
        .await
        .expect("refreshes again, from what it holds");

    drop(unreadable);
    account.catch_up().await.expect("syncs");
    let after = stored_tokens(&world, "dana").expect("stored");
    assert_ne!(
        after["refresh_token"], before["refresh_token"],
        "the refreshed tokens were stored once the store worked"
    );
    // Another process on the same folder (the CLI) signs in with what was stored: a refresh
    // token the server has not seen spent.
    let restarted = world.core("dana").open(None).await.expect("opens");
    restarted
        .catch_up()
        .await
        .expect("the stored refresh token still works");
    account
        .catch_up()
        .await
        .expect("and the first process's session too");
}

#[tokio::test]
async fn a_process_refreshing_after_another_did_uses_the_tokens_it_stored() {
    let world = short_lived_tokens().await;
    let app = world.login(&world.core("dana"), "oncall@acme.test").await;
    app.catch_up().await.expect("sync");
    let cli = world.core("dana").open(None).await.expect("opens");
    cli.catch_up()
        .await
        .expect("the CLI refreshes, storing new tokens");
    // Past the server's grace for a refresh token used twice (a lost answer's retry).
    world.clock.advance(chrono::Duration::seconds(11));

    tokio::time::timeout(PATIENCE, app.catch_up())
        .await
        .expect("answers, not hangs")
        .expect("the app refreshes the CLI's tokens, not the ones it held");
    cli.catch_up().await.expect("the CLI is still signed in");
}

#[tokio::test]
async fn a_session_ended_on_the_server_signs_out_at_the_next_refresh_without_hanging() {
    let world = short_lived_tokens().await;
    let account = world.login(&world.core("dana"), "oncall@acme.test").await;
    account.catch_up().await.expect("sync");
    let access = stored_tokens(&world, "dana").expect("stored")["access_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let (status, _) = world.post(&access, "/api/v1/auth/logout", json!({})).await;
    assert_eq!(status, 204);

    let refused = tokio::time::timeout(PATIENCE, account.catch_up())
        .await
        .expect("answers, not hangs")
        .expect_err("signed out");
    assert!(
        matches!(refused, CoreError::SignedOut { .. }),
        "{refused:?}"
    );
    assert!(
        stored_tokens(&world, "dana").is_none(),
        "the ended session's tokens are forgotten"
    );
}
