//! TLS in front of a test server, as a deployment's proxy terminates it: `https://localhost:…`
//! and `wss://localhost:…` carried to the server's plain port, with a certificate made at test
//! time. The client trusts it as a company's private CA is trusted: the certificate is written
//! to a file that `SSL_CERT_FILE` names.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

pub struct TlsFront {
    /// `https://localhost:<port>`: the server through TLS.
    pub url: String,
    /// Where the front takes connections.
    pub addr: SocketAddr,
    /// The certificate the front shows, as PEM, in a file of its own.
    pub certificate: PathBuf,
    forwarding: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl TlsFront {
    /// Opens a TLS port on loopback that carries every connection to `server`.
    pub async fn open(server: SocketAddr) -> TlsFront {
        TlsFront::open_as(server, "localhost").await
    }

    /// [`TlsFront::open`] with a certificate for `name`, and `https://name:<port>` as its URL
    /// (a name nothing resolves, as `spartex.test`, is reached only through a proxy that
    /// carries it here: [`crate::connect_proxy`]).
    pub async fn open_as(server: SocketAddr, name: &str) -> TlsFront {
        let made = rcgen::generate_simple_self_signed(vec![name.to_owned()])
            .expect("a certificate for the name");
        let dir = tempfile::tempdir().expect("a folder");
        let certificate = dir.path().join("front.pem");
        std::fs::write(&certificate, made.cert.pem()).expect("the certificate is written");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.key_pair.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(made.cert.der().to_vec())], key)
            .expect("the certificate and its key");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let port = listener.local_addr().expect("its address").port();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        TlsFront {
            url: format!("https://{name}:{port}"),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            certificate,
            forwarding: tokio::spawn(forward(listener, acceptor, server)),
            _dir: dir,
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.forwarding.abort();
    }
}

async fn forward(listener: TcpListener, acceptor: TlsAcceptor, server: SocketAddr) {
    while let Ok((client, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            // A client that refuses the certificate ends its handshake here; nothing to carry.
            let Ok(mut client) = acceptor.accept(client).await else {
                return;
            };
            let Ok(mut upstream) = TcpStream::connect(server).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        });
    }
}
