//! An HTTP proxy that only tunnels (`CONNECT`), as a company's proxy does for `https://`: every
//! tunnel, whatever host it names, is carried to one address, so a name nothing resolves (e.g.
//! `spartex.test`) is reachable through the proxy alone. It keeps the authority each `CONNECT`
//! asked for.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct ConnectProxy {
    /// `http://127.0.0.1:<port>`, as `HTTPS_PROXY` names a proxy.
    pub url: String,
    asked: Arc<Mutex<Vec<String>>>,
    tunnelling: tokio::task::JoinHandle<()>,
}

impl ConnectProxy {
    /// Opens the proxy on loopback; each tunnel goes to `to`.
    pub async fn open(to: SocketAddr) -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let port = listener.local_addr().expect("its address").port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        ConnectProxy {
            url: format!("http://127.0.0.1:{port}"),
            tunnelling: tokio::spawn(tunnel_all(listener, to, asked.clone())),
            asked,
        }
    }

    /// The authority (`host:port`) of each tunnel asked for, in order.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Drop for ConnectProxy {
    fn drop(&mut self) {
        self.tunnelling.abort();
    }
}

async fn tunnel_all(listener: TcpListener, to: SocketAddr, asked: Arc<Mutex<Vec<String>>>) {
    while let Ok((client, _)) = listener.accept().await {
        tokio::spawn(tunnel(client, to, asked.clone()));
    }
}

async fn tunnel(mut client: TcpStream, to: SocketAddr, asked: Arc<Mutex<Vec<String>>>) {
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        match client.read_u8().await {
            Ok(byte) => head.push(byte),
            Err(_) => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut words = head.split_whitespace();
    let (Some("CONNECT"), Some(authority)) = (words.next(), words.next()) else {
        let _ = client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await;
        return;
    };
    if let Ok(mut asked) = asked.lock() {
        asked.push(authority.to_owned());
    }
    let Ok(mut upstream) = TcpStream::connect(to).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_ok()
    {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    }
}
