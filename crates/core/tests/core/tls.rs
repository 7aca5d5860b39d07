//! The core over TLS, as it meets every server but this machine's: the sign-in over
//! `https://` and the live event socket over `wss://`, through a TLS front whose certificate
//! the system trusts (as a company's private CA is), and refused where it does not; and both
//! through a company's HTTP proxy, when the environment names one.
//!
//! `SSL_CERT_FILE` and the proxy variables are read once per process (the core's TLS
//! configuration and its proxies are kept); nextest runs each test in a process of its own.

use spartex_core::{LinkState, Secret};
use spartex_testkit::connect_proxy::ConnectProxy;
use spartex_testkit::tls_front::TlsFront;
use spartex_testkit::PASSWORD;

use crate::support::{eventually, World};

#[tokio::test]
async fn signs_in_over_https_and_hears_requests_live_over_wss() {
    let world = World::start().await;
    let front = TlsFront::open(world.server.addr()).await;
    std::env::set_var("SSL_CERT_FILE", &front.certificate);
    signs_in_and_hears_a_request_live(&world, &front.url).await;
}

/// Signs Dana in at `url`, brings the event socket up, and has a request reach her on it.
async fn signs_in_and_hears_a_request_live(world: &World, url: &str) {
    let core = world.core("dana");
    let account = core
        .login(url, "oncall@acme.test", &Secret::new(PASSWORD))
        .await
        .expect("signs in");
    account.catch_up().await.expect("the first sync");
    let running = account.start();
    eventually("the event socket is live", || async {
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

/// A server only the proxy reaches (`spartex.test` resolves nowhere; the proxy carries every
/// tunnel to the TLS front): signed in through it, and live through it too, where the socket
/// went straight out and never came up.
#[tokio::test]
async fn a_server_reached_through_a_companys_proxy_is_live_through_it_too() {
    let world = World::start().await;
    let front = TlsFront::open_as(world.server.addr(), "spartex.test").await;
    let proxy = ConnectProxy::open(front.addr).await;
    std::env::set_var("SSL_CERT_FILE", &front.certificate);
    std::env::set_var("HTTPS_PROXY", &proxy.url);
    signs_in_and_hears_a_request_live(&world, &front.url).await;
    let authority = front.url.trim_start_matches("https://").to_owned();
    assert!(
        proxy.asked().iter().all(|asked| *asked == authority),
        "{:?}",
        proxy.asked()
    );
}
