//! What the instances on one PostgreSQL database say to each other: announcements of
//! committed writes (`NOTIFY`/`LISTEN` on one channel) and who runs the once-per-deployment
//! jobs (a session-level advisory lock, let go by PostgreSQL when its holder's connection ends,
//! which a killed instance's does at once).

use std::time::{Duration, Instant};

use sqlx::postgres::{PgListener, PgNotification};
use sqlx::{Connection as _, Executor, PgPool, Postgres, Transaction};
use tokio::sync::{mpsc, watch};

use super::{Heard, Listening, StoreError, StoreResult, MAX_ANNOUNCEMENT_BYTES};

/// The `LISTEN`/`NOTIFY` channel every instance of a deployment shares.
const CHANNEL: &str = "spartex_writes";
/// The advisory lock the leader holds (any constant of this database's own: "SPTL").
const LEADER_LOCK: i64 = 0x5350_544c;
/// How often a follower asks for the lock, and the leader checks it still holds it: the
/// longest a deployment runs without its jobs after a leader dies.
const CAMPAIGN_INTERVAL: Duration = Duration::from_secs(1);
/// Announcements heard but not yet handled; past this, the listener waits for the server.
const HEARD_QUEUE: usize = 4096;
/// How long the listener hears nothing before it checks its connection; with
/// [`CHECK_PATIENCE`], the longest a connection that died without a word goes unnoticed.
const QUIET_BEFORE_CHECK: Duration = Duration::from_secs(5);
/// How long the check of a quiet listener's connection waits for its answer.
const CHECK_PATIENCE: Duration = Duration::from_secs(5);
/// How long a new listener may take to connect and `LISTEN`.
const SUBSCRIBE_PATIENCE: Duration = Duration::from_secs(10);

/// Why the connection announcements arrive on was given up (or could not be had), logged as
/// `{code, message}` like the contract's error body.
#[derive(Debug, thiserror::Error)]
pub enum ListenerLost {
    #[error("the connection closed")]
    Closed,
    #[error("the database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("no answer within {0:?}")]
    NoAnswer(Duration),
}

impl ListenerLost {
    pub fn code(&self) -> &'static str {
        match self {
            ListenerLost::Closed => "connection_closed",
            ListenerLost::Database(_) => "database_failed",
            ListenerLost::NoAnswer(_) => "no_answer",
        }
    }

    fn as_body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl serde::Serialize for ListenerLost {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::error::code_and_message(serializer, self.code(), self.to_string())
    }
}

/// Sends an announcement as part of `tx`: PostgreSQL delivers it at commit, in commit order,
/// and never for a transaction rolled back.
pub(super) async fn announce(
    tx: &mut Transaction<'static, Postgres>,
    announcement: &str,
) -> StoreResult<()> {
    if announcement.len() > MAX_ANNOUNCEMENT_BYTES {
        return Err(StoreError::Unsupported(format!(
            "an announcement of {} bytes is over the {MAX_ANNOUNCEMENT_BYTES} PostgreSQL carries",
            announcement.len()
        )));
    }
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(announcement)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Starts listening; the task ends when [`Listening::heard`] is dropped.
pub(super) async fn listen(pool: &PgPool) -> StoreResult<Listening> {
    let listener = subscribe(pool).await?;
    let (heard, receiver) = mpsc::channel(HEARD_QUEUE);
    let (connection, connection_receiver) = watch::channel(Some(0));
    tokio::spawn(relay(pool.clone(), listener, heard, connection));
    Ok(Listening {
        heard: receiver,
        connection: connection_receiver,
    })
}

/// A listener on a connection of a pool of its own. Dropping a listener makes sqlx send
/// `UNLISTEN` on its connection and wait for the answer, which on a connection that died
/// without a word comes only when the kernel gives up (about 15 minutes), or never behind a
/// proxy that still acknowledges: that must not hold one of the server's connections. The
/// database is asked to drop such a connection's backend within about 30 s (TCP keepalives and a
/// user timeout: a dead listener would otherwise hold `NOTIFY`'s queue back for hours). Bounded
/// as a whole: a path that stalls once connected fails.
async fn subscribe(pool: &PgPool) -> Result<PgListener, ListenerLost> {
    let options = dropped_when_silent(pool);
    let own = super::pool_options::<Postgres>()
        .max_connections(1)
        .acquire_timeout(SUBSCRIBE_PATIENCE)
        .connect_lazy_with(options);
    let subscribing = async {
        let mut listener = PgListener::connect_with(&own).await?;
        // A lost connection is said at once (`Ok(None)`), not after sqlx has tried to reconnect
        // for the pool's whole wait: until then this instance would believe it hears every write.
        listener.eager_reconnect(false);
        listener.listen(CHANNEL).await?;
        Ok(listener)
    };
    tokio::time::timeout(SUBSCRIBE_PATIENCE, subscribing)
        .await
        .unwrap_or(Err(ListenerLost::NoAnswer(SUBSCRIBE_PATIENCE)))
}

async fn relay(
    pool: PgPool,
    mut listener: PgListener,
    heard: mpsc::Sender<Heard>,
    connection: watch::Sender<Option<u64>>,
) {
    let mut connections = 0;
    // When the connection last proved it carried every announcement: one arrived, or it
    // answered a check (the database hands a connection what it was told before answering it).
    let mut carried_at = Instant::now();
    loop {
        let next = tokio::select! {
            next = listener.try_recv() => Some(next),
            () = tokio::time::sleep(QUIET_BEFORE_CHECK) => None,
            () = heard.closed() => return,
        };
        let lost = match next {
            Some(Ok(Some(notification))) => {
                carried_at = Instant::now();
                if !pass_on(&heard, notification).await {
                    return;
                }
                continue;
            }
            Some(Ok(None)) => ListenerLost::Closed,
            Some(Err(error)) => ListenerLost::Database(error),
            None => tokio::select! {
                checked = still_listening(&mut listener) => match checked {
                    Ok(()) => {
                        carried_at = Instant::now();
                        continue;
                    }
                    Err(cause) => cause,
                },
                () = heard.closed() => return,
            },
        };
        connection.send_replace(None);
        // What arrived while the connection was checked, before it failed.
        while let Some(notification) = listener.next_buffered() {
            if !pass_on(&heard, notification).await {
                return;
            }
        }
        drop(listener);
        tracing::warn!(cause = %lost.as_body(), "lost the PostgreSQL connection announcements arrive on; listening again as soon as it can");
        // What was said until the new listener listens is lost: it is told after that.
        let Some(again) = resubscribe(&pool, &heard).await else {
            return;
        };
        listener = again;
        connections += 1;
        connection.send_replace(Some(connections));
        tracing::info!("listening for other instances' writes again");
        let unheard_for = carried_at.elapsed();
        carried_at = Instant::now();
        if heard
            .send(Heard::Reconnected { unheard_for })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Hands one announcement to the server; false once nobody listens any more.
async fn pass_on(heard: &mpsc::Sender<Heard>, notification: PgNotification) -> bool {
    let said = Heard::Announcement(notification.payload().to_owned());
    heard.send(said).await.is_ok()
}

/// Whether the listener's connection still answers. A connection whose path died without a
/// word (a firewall's idle drop) is otherwise never noticed: the listener only reads.
async fn still_listening(listener: &mut PgListener) -> Result<(), ListenerLost> {
    let check = (&mut *listener).execute("SELECT 1");
    match tokio::time::timeout(CHECK_PATIENCE, check).await {
        Ok(answer) => answer.map(drop).map_err(ListenerLost::Database),
        Err(_) => Err(ListenerLost::NoAnswer(CHECK_PATIENCE)),
    }
}

/// A new listener, tried at once and then every [`CAMPAIGN_INTERVAL`] after each failure;
/// `None` once nobody listens any more.
async fn resubscribe(pool: &PgPool, heard: &mpsc::Sender<Heard>) -> Option<PgListener> {
    let mut said = false;
    loop {
        if pool.is_closed() {
            return None;
        }
        let attempt = tokio::select! {
            attempt = subscribe(pool) => attempt,
            () = heard.closed() => return None,
        };
        match attempt {
            Ok(listener) => return Some(listener),
            Err(error) if !said => {
                tracing::warn!(error = %error.as_body(), "cannot listen for other instances' writes yet; trying again");
                said = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(CAMPAIGN_INTERVAL) => {}
            () = heard.closed() => return None,
        }
    }
}

/// The pool's connection options, with the database asked to drop the backend of a
/// connection whose peer has gone silent within about 30 s (TCP keepalives after 10 s idle,
/// and a 20 s user timeout),
/// where the kernel's defaults wait about two hours: a listener's backend holding `NOTIFY`'s
/// queue back, or a vanished leader's backend holding the leader's lock.
fn dropped_when_silent(pool: &PgPool) -> sqlx::postgres::PgConnectOptions {
    (*pool.connect_options()).clone().options([
        ("tcp_keepalives_idle", "10"),
        ("tcp_keepalives_interval", "5"),
        ("tcp_keepalives_count", "2"),
        ("tcp_user_timeout", "20000"),
    ])
}

/// How long the leader waits for the database to say it still holds the lock: past it, it
/// stops leading (another instance takes over once the database drops its backend).
const LOCK_CHECK_PATIENCE: Duration = Duration::from_secs(10);

/// Campaigns for the leader's lock until the receiver is dropped.
pub(super) fn campaign(pool: &PgPool) -> watch::Receiver<bool> {
    let (leading, receiver) = watch::channel(false);
    tokio::spawn(run_campaign(pool.clone(), leading));
    receiver
}

async fn run_campaign(pool: PgPool, leading: watch::Sender<bool>) {
    loop {
        // Its own connection, not the pool's: the lock lasts as long as it does, and the
        // database drops it within about 30 s of this instance vanishing (a host that lost power
        // sends no FIN), so another instance can lead.
        let options = dropped_when_silent(&pool);
        let connecting = sqlx::PgConnection::connect_with(&options);
        if let Ok(Ok(mut connection)) = tokio::time::timeout(LOCK_CHECK_PATIENCE, connecting).await
        {
            hold_or_wait(&mut connection, &leading).await;
            if leading.is_closed() {
                return; // the server is stopping; closing the connection lets the lock go
            }
            if leading.send_replace(false) {
                tracing::warn!("lost the PostgreSQL connection that made this instance the leader; another instance takes over the sweeper and push delivery");
            }
        }
        tokio::select! {
            () = tokio::time::sleep(CAMPAIGN_INTERVAL) => {}
            () = leading.closed() => return,
        }
        if pool.is_closed() {
            return;
        }
    }
}

/// Asks for the lock until granted, then checks it is still held; returns once the
/// connection fails or nobody wants to know any more.
async fn hold_or_wait(connection: &mut sqlx::PgConnection, leading: &watch::Sender<bool>) {
    loop {
        let check = async {
            if *leading.borrow() {
                sqlx::query_scalar::<_, i32>("SELECT 1")
                    .fetch_one(&mut *connection)
                    .await
                    .map(|_| true)
            } else {
                sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(LEADER_LOCK)
                    .fetch_one(&mut *connection)
                    .await
            }
        };
        // A path to the database gone silent: leading stops within the patience, before the
        // database, dropping this connection, lets another instance take the lock.
        let Ok(check) = tokio::time::timeout(LOCK_CHECK_PATIENCE, check).await else {
            return;
        };
        match check {
            Ok(true) => {
                if !leading.send_replace(true) {
                    tracing::info!("this instance leads: it runs the sweeper and push delivery for the deployment");
                }
            }
            Ok(false) => {}
            Err(_) => return,
        }
        tokio::select! {
            () = tokio::time::sleep(CAMPAIGN_INTERVAL) => {}
            () = leading.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_listener_is_logged_as_code_and_message() {
        let lost = ListenerLost::NoAnswer(CHECK_PATIENCE);
        assert_eq!(
            serde_json::to_value(&lost).expect("serializes"),
            serde_json::json!({"code": "no_answer", "message": "no answer within 5s"})
        );
        assert_eq!(ListenerLost::Closed.code(), "connection_closed");
    }
}
