//! Refreshing the access token where a REST call would not: the event socket's handshake, and
//! a refresh whose answer is lost on the way.

use std::time::Duration;

use spartex_core::{Change, LinkState};

use crate::support::{World, PATIENCE};

/// The server's clock runs past the access token's life while the client's does not (a
/// laptop's clock minutes behind, or the token revoked early): the client sends a token it
/// believes good, and the socket's handshake answers 401. It is refreshed, as a REST call's
/// is, and the socket connects, where it went signed out at once.
#[tokio::test]
async fn an_access_token_the_socket_refuses_is_refreshed_and_the_socket_connects() {
    let world =
        World::start_with(|settings| settings.access_token_ttl = Duration::from_secs(5 * 60)).await;
    let account = world.login(&world.core("dana"), "oncall@acme.test").await;
    account.catch_up().await.expect("the first sync");
    world.clock.advance(chrono::Duration::minutes(6));

    let mut changes = account.subscribe();
    let running = account.start();
    let link = tokio::time::timeout(PATIENCE, async {
        loop {
            match changes.recv().await {
                Ok(Change::Link { state })
                    if matches!(state, LinkState::Connected | LinkState::SignedOut) =>
                {
                    return state
                }
                Ok(_) => {}
                Err(error) => panic!("the changes ended: {error}"),
            }
        }
    })
    .await
    .expect("the link settles");
    assert_eq!(link, LinkState::Connected, "refreshed, not signed out");

    // Live, with the refreshed token.
    let asked = world.ask("Quill", "Raise the Meta daily cap to $900").await;
    let id = asked["id"].as_str().expect("an id").to_owned();
    crate::support::eventually("the request arrives on the socket", || async {
        account.approval(&id).await.is_ok()
    })
    .await;
    running.stop().await;
}
