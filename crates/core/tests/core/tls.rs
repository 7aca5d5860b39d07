//! The core over TLS, as it meets every server but this machine's: the sign-in over
//! `https://` and the live event socket over `wss://`, through a TLS front whose certificate
//! the system trusts (as a company's private CA is), and refused where it does not.
//!
//! `SSL_CERT_FILE` is read once per process (the core's TLS configuration is built once);
//! nextest runs each test in a process of its own.

use spartex_core::{LinkState, Secret};
use spartex_testkit::tls_front::TlsFront;
use spartex_testkit::PASSWORD;

use crate::support::{eventually, World};

#[tokio::test]
async fn signs_in_over_https_and_hears_requests_live_over_wss() {
    let world = World::start().await;
    let front = TlsFront::open(world.server.addr()).await;
    std::env::set_var("SSL_CERT_FILE", &front.certificate);
    let core = world.core("dana");
    let account = core
        .login(&front.url, "oncall@acme.test", &Secret::new(PASSWORD))
        .await
        .expect("signs in over https");
    account.catch_up().await.expect("the first sync over https");
    let running = account.start();
    eventually("the event socket is live over wss", || async {
        account.link() == LinkState::Connected
    })
    .await;

    let asked = world.ask("Quill", "Raise the Meta daily cap to $900").await;
    let id = asked["id"].as_str().expect("an id").to_owned();
    eventually("the request arrives on the socket", || async {
        account.approval(&id).await.is_ok()
    })
    .await;
    assert_eq!(
        account.link(),
        LinkState::Connected,
        "heard live, not by a reconnect"
    );
    running.stop().await;
}

#[tokio::test]
async fn a_server_whose_certificate_nobody_trusts_is_refused_before_the_password_goes() {
    let world = World::start().await;
    let front = TlsFront::open(world.server.addr()).await;
    let core = world.core("dana");
    let refused = core
        .login(&front.url, "oncall@acme.test", &Secret::new(PASSWORD))
        .await
        .err()
        .expect("an unknown certificate is refused");
    let said = format!("{refused} {refused:?}").to_lowercase();
    assert!(said.contains("certificate"), "says why: {said}");
    assert!(core.accounts().expect("the accounts").is_empty());
}
