//! A TCP port in front of a database that can refuse connections and take them again: a
//! database server restarting, as its clients meet it (connections refused, not answered),
//! without stopping a cluster other tests share.

use std::net::SocketAddr;

/// A TCP port in front of the database that can refuse connections, as the port of a database
/// server that is restarting does, and take them again.
pub struct PortInFront {
    at: SocketAddr,
    database: SocketAddr,
    /// The database URL through this port.
    pub url: String,
    forwarding: Option<tokio::task::JoinHandle<()>>,
    stalled: tokio::sync::watch::Sender<bool>,
}

impl PortInFront {
    /// Opens a port that forwards to the database `database_url` names; [`PortInFront::url`]
    /// names the database through it.
    pub async fn open(database_url: &str) -> PortInFront {
        let mut url = reqwest::Url::parse(database_url).expect("the database URL parses");
        let database = url
            .socket_addrs(|| Some(5432))
            .expect("the database's address")[0];
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let at = listener.local_addr().expect("its address");
        url.set_port(Some(at.port())).expect("a port can be set");
        let stalled = tokio::sync::watch::Sender::new(false);
        let forwarding = tokio::spawn(forward(listener, database, stalled.subscribe()));
        PortInFront {
            at,
            database,
            url: url.into(),
            forwarding: Some(forwarding),
            stalled,
        }
    }

    /// The port connections are taken on.
    pub fn port(&self) -> u16 {
        self.at.port()
    }

    /// Ends every connection through the port and refuses new ones.
    pub async fn refuse(&mut self) {
        if let Some(forwarding) = self.forwarding.take() {
            forwarding.abort();
            // Ended, its listener and connections dropped, before the caller goes on.
            let _ = forwarding.await;
        }
    }

    /// Carries nothing more on any connection, open or new, and closes none: to its clients, a
    /// network path that died without a word (a firewall's idle drop), which only their own
    /// timeouts notice (this machine's kernel still acknowledges what they send).
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Takes connections again, on the same port, and carries what they say.
    pub async fn open_again(&mut self) {
        self.refuse().await;
        self.stalled.send_replace(false);
        let listener = tokio::net::TcpListener::bind(self.at)
            .await
            .expect("the same port binds again");
        let forwarding = forward(listener, self.database, self.stalled.subscribe());
        self.forwarding = Some(tokio::spawn(forwarding));
    }
}

/// Forwards each connection to `database` until stalled; aborting this ends them all with the
/// listener.
async fn forward(
    listener: tokio::net::TcpListener,
    database: SocketAddr,
    stalled: tokio::sync::watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((mut inbound, _)) = listener.accept().await {
        while connections.try_join_next().is_some() {}
        let mut stalled = stalled.clone();
        connections.spawn(async move {
            let Ok(mut outbound) = tokio::net::TcpStream::connect(database).await else {
                return;
            };
            let stall = async move {
                let _ = stalled.wait_for(|stalled| *stalled).await;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                () = stall => {
                    // Both ends stay open, and nothing more is carried.
                    std::future::pending::<()>().await;
                }
            }
        });
    }
}
