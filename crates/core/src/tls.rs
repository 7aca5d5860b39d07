//! The one TLS configuration of the core, for REST (reqwest) and the event socket
//! (tokio-tungstenite) alike, so both trust the same servers: rustls with ring as its
//! cryptography, the Mozilla roots everywhere and, on a desktop, the system's trusted
//! certificates too (a server behind a company's private CA; `SSL_CERT_FILE` and
//! `SSL_CERT_DIR` name other ones, as for OpenSSL).
//!
//! The provider is named, never the process default: with both ring and aws-lc-rs in a build
//! (a test's WebDriver client brings the second), rustls would refuse to pick one and panic.

use std::sync::{Arc, OnceLock};

use rustls::{ClientConfig, RootCertStore};

/// Built once per process: reading the system's certificates takes a few milliseconds.
pub fn client_config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG.get_or_init(|| Arc::new(build())).clone()
}

fn build() -> ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        // ring supports every safe default version; this cannot fail with it.
        .unwrap_or_else(|error| unreachable!("ring lacks TLS 1.2 and 1.3: {error}"));
    builder
        .with_root_certificates(roots())
        .with_no_client_auth()
}

fn roots() -> RootCertStore {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    add_system_roots(&mut roots);
    roots
}

#[cfg(not(any(target_os = "android", target_os = "ios")))]
fn add_system_roots(roots: &mut RootCertStore) {
    let found = rustls_native_certs::load_native_certs();
    for error in &found.errors {
        tracing::warn!(%error, "a system certificate could not be read");
    }
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    tracing::debug!(added, ignored, "system certificates trusted");
}

#[cfg(any(target_os = "android", target_os = "ios"))]
fn add_system_roots(_: &mut RootCertStore) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_trusts_the_public_roots_and_speaks_http1_only() {
        let config = client_config();
        assert!(
            config.alpn_protocols.is_empty(),
            "no ALPN: a WebSocket upgrade needs HTTP/1.1, and reqwest here speaks only that"
        );
        assert!(Arc::ptr_eq(&config, &client_config()), "built once");
        assert!(
            roots().len() >= webpki_roots::TLS_SERVER_ROOTS.len(),
            "the Mozilla roots at least"
        );
    }
}
