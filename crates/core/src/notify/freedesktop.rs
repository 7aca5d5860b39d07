//! The freedesktop notification server (Linux and the BSDs: dunst, mako, GNOME's, KDE's),
//! spoken over one long-lived D-Bus connection with zbus.
//!
//! One connection, subscribed before its first `Notify`: a server such as dunst sends a
//! notification's clicks and closing only to the connection that showed it (or last replaced
//! it), so the notifications shown, replaced and closed are all this connection's, and a click
//! is looked up by id in [`OnScreen`] rather than heard by a thread per notification.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc::UnboundedSender;
use zbus::message::Sequence;
use zbus::zvariant::Value;
use zbus::{MatchRule, MessageStream};

use super::desktop::APP_NAME;
use super::on_screen::{OnScreen, Shown};
use super::{Notification, NotificationResponse, NotifyError};

const SERVER: &str = "org.freedesktop.Notifications";
const PATH: &str = "/org/freedesktop/Notifications";
const INTERFACE: &str = "org.freedesktop.Notifications";

/// Signals queued for the listener. zbus drops none: a full queue holds up every message the
/// connection receives, the answers to `Notify` included, so the listener must never wait on
/// this connection; it only looks signals up and sends on an unbounded channel.
const SIGNALS_QUEUED: usize = 256;

/// A notification server that does not answer within this is taken as hung: the call fails
/// rather than holding up every notification after it.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

type OnScreenHere = OnScreen<Sequence>;

pub struct Freedesktop {
    responses: UnboundedSender<NotificationResponse>,
    on_screen: Arc<Mutex<OnScreenHere>>,
    live: tokio::sync::Mutex<Option<Live>>,
    /// Shared by each showing while it is under way; [`Freedesktop::withdraw_all`] takes it
    /// whole, so a notification being shown as everything is taken back is taken back too.
    showing: tokio::sync::RwLock<()>,
    /// Everything was taken back: nothing more is shown (its buttons would answer nobody).
    withdrawn: AtomicBool,
}

/// The connection and the task that hears its signals.
struct Live {
    connection: zbus::Connection,
    listening: tokio::task::JoinHandle<()>,
}

impl Freedesktop {
    pub fn new(responses: UnboundedSender<NotificationResponse>) -> Self {
        Freedesktop {
            responses,
            on_screen: Arc::default(),
            live: tokio::sync::Mutex::default(),
            showing: tokio::sync::RwLock::default(),
            withdrawn: AtomicBool::new(false),
        }
    }

    /// Shows `notification` in place of the one its key shows, if any; returns its id. A
    /// connection found dead is made again and the notification sent once more; a server that
    /// does not answer in time is not asked twice (it may yet show the first).
    pub async fn show(&self, notification: &Notification) -> Result<u32, NotifyError> {
        let _under_way = self.showing.read().await;
        if self.withdrawn.load(Ordering::SeqCst) {
            return Err(NotifyError::Failed(
                "this account's notifications were taken back (signed out, switched or quitting)"
                    .into(),
            ));
        }
        match self.show_once(notification).await {
            Err(err) if is_dead_connection(&err) => {
                self.drop_connection().await;
                self.show_once(notification).await
            }
            shown => shown,
        }
        .map_err(|err| told(&err))
    }

    async fn show_once(&self, notification: &Notification) -> zbus::Result<u32> {
        let connection = self.connection().await?;
        let replaces = lock(&self.on_screen).id_of(&notification.key).unwrap_or(0);
        let actions: Vec<&str> = notification
            .actions
            .iter()
            .flat_map(|action| [action.id(), action.label()])
            .collect();
        let urgency: u8 = if notification.urgent { 2 } else { 1 };
        let hints = HashMap::from([("urgency", Value::U8(urgency))]);
        // The server's own expiry (-1): critical ones stay until acted on.
        let expire_timeout = -1i32;
        let reply = connection
            .call_method(
                Some(SERVER),
                PATH,
                Some(INTERFACE),
                "Notify",
                &(
                    APP_NAME,
                    replaces,
                    "",
                    &notification.title,
                    &notification.body,
                    actions,
                    hints,
                    expire_timeout,
                ),
            )
            .await?;
        let id: u32 = reply.body().deserialize()?;
        lock(&self.on_screen).shown(
            id,
            Shown {
                key: notification.key.clone(),
                approval_id: notification.approval_id.clone(),
                asks: notification.asks_for_a_decision(),
            },
            reply.recv_position(),
        );
        Ok(id)
    }

    /// Whether a notification with `key` is on screen.
    pub fn shows(&self, key: &str) -> bool {
        lock(&self.on_screen).id_of(key).is_some()
    }

    /// The keys of the notifications on screen with Approve or Reject buttons.
    pub fn asking(&self) -> Vec<String> {
        lock(&self.on_screen).asking()
    }

    /// Closes the notification `key` shows, if any.
    pub async fn withdraw(&self, key: &str) -> Result<(), NotifyError> {
        // The connection first: a new one forgets the ids an earlier one showed, which a
        // restarted server may have given to other apps' notifications.
        let connection = self.connection().await.map_err(|err| told(&err))?;
        let Some(id) = lock(&self.on_screen).id_of(key) else {
            return Ok(());
        };
        close(&connection, id).await?;
        lock(&self.on_screen).forget(id);
        Ok(())
    }

    /// Closes everything still shown, a notification being shown meanwhile included, and waits
    /// for it; shows nothing after: nobody will hear their buttons (the account is being
    /// switched or signed out, the app is quitting). A hung server holds up a sign-out or quit
    /// for a showing's own timeouts (two calls, on a connection found dead) and one call more.
    pub async fn withdraw_all(&self) {
        self.withdrawn.store(true, Ordering::SeqCst);
        let _none_under_way = tokio::time::timeout(2 * CALL_TIMEOUT, self.showing.write()).await;
        let Ok(live) = tokio::time::timeout(CALL_TIMEOUT, self.live.lock()).await else {
            return;
        };
        let Some(live) = live.as_ref() else {
            return;
        };
        let shown = lock(&self.on_screen).take_all();
        let _ = tokio::time::timeout(CALL_TIMEOUT, close_every(&live.connection, shown)).await;
    }

    /// Whether a notification server answers now (asked for its name and version). A
    /// connection found dead is made again and the server asked once more, as for a showing.
    pub async fn answers(&self) -> bool {
        let Ok(connection) = self.connection().await else {
            return false;
        };
        match ask_server_information(&connection).await {
            Err(err) if is_dead_connection(&err) => {
                // Only that one: a showing meanwhile may have made the next already.
                self.drop_connection_if_it_is(&connection).await;
                match self.connection().await {
                    Ok(connection) => ask_server_information(&connection).await.is_ok(),
                    Err(_) => false,
                }
            }
            answer => answer.is_ok(),
        }
    }

    async fn drop_connection_if_it_is(&self, failed: &zbus::Connection) {
        let mut live = self.live.lock().await;
        let same = (live.as_ref())
            .is_some_and(|live| live.connection.unique_name() == failed.unique_name());
        if let Some(live) = live.take_if(|_| same) {
            live.listening.abort();
        }
    }

    async fn drop_connection(&self) {
        if let Some(live) = self.live.lock().await.take() {
            live.listening.abort();
        }
    }

    /// The live connection, made (and subscribed) again if there is none or it was lost.
    async fn connection(&self) -> zbus::Result<zbus::Connection> {
        let mut live = self.live.lock().await;
        if let Some(live) = live.as_ref().filter(|live| !live.listening.is_finished()) {
            return Ok(live.connection.clone());
        }
        let connection = zbus::connection::Builder::session()?
            .method_timeout(CALL_TIMEOUT)
            .build()
            .await?;
        let listening = listen(&connection, &self.on_screen, &self.responses).await?;
        // What an earlier connection showed can no longer be replaced or closed by this one.
        lock(&self.on_screen).take_all();
        *live = Some(Live {
            connection: connection.clone(),
            listening,
        });
        Ok(connection)
    }
}

impl Drop for Freedesktop {
    /// Nobody hears these notifications' buttons any more (the account was switched or signed
    /// out, the app is quitting): they are closed rather than left doing nothing.
    fn drop(&mut self) {
        let Some(live) = self.live.get_mut().take() else {
            return;
        };
        live.listening.abort();
        let shown = lock(&self.on_screen).take_all();
        if shown.is_empty() {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { close_every(&live.connection, shown).await });
        }
    }
}

fn lock(on_screen: &Mutex<OnScreenHere>) -> MutexGuard<'_, OnScreenHere> {
    on_screen
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Subscribes `connection` to the server's signals and to the server leaving the bus, then
/// hears them until the connection ends.
async fn listen(
    connection: &zbus::Connection,
    on_screen: &Arc<Mutex<OnScreenHere>>,
    responses: &UnboundedSender<NotificationResponse>,
) -> zbus::Result<tokio::task::JoinHandle<()>> {
    let from_server = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .interface(INTERFACE)?
        .path(PATH)?
        .build();
    let mut from_server =
        MessageStream::for_match_rule(from_server, connection, Some(SIGNALS_QUEUED)).await?;
    let owner_changes = MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender("org.freedesktop.DBus")?
        .interface("org.freedesktop.DBus")?
        .member("NameOwnerChanged")?
        .arg(0, SERVER)?
        .build();
    let mut owner_changes =
        MessageStream::for_match_rule(owner_changes, connection, Some(SIGNALS_QUEUED)).await?;
    let on_screen = Arc::clone(on_screen);
    let responses = responses.clone();
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                heard = from_server.next() => match heard {
                    Some(Ok(signal)) => from_the_server(&signal, &on_screen, &responses),
                    Some(Err(error)) => tracing::debug!(%error, "an unreadable notification signal"),
                    None => return,
                },
                heard = owner_changes.next() => match heard {
                    Some(Ok(signal)) => {
                        // (name, old owner, new owner): a server that left took its ids along,
                        // and the next one may give them to other apps' notifications.
                        let left = signal
                            .body()
                            .deserialize::<(String, String, String)>()
                            .is_ok_and(|(_, old_owner, _)| !old_owner.is_empty());
                        if left {
                            lock(&on_screen).take_all();
                        }
                    }
                    Some(Err(_)) => {}
                    None => return,
                },
            }
        }
    }))
}

/// A click on a notification's button (reported with what the notification was about), or a
/// notification closed (forgotten).
fn from_the_server(
    signal: &zbus::Message,
    on_screen: &Mutex<OnScreenHere>,
    responses: &UnboundedSender<NotificationResponse>,
) {
    let header = signal.header();
    match header.member().map(|member| member.as_str()) {
        Some("ActionInvoked") => {
            let Ok((id, action)) = signal.body().deserialize::<(u32, String)>() else {
                return;
            };
            let Some(action) = super::NotificationAction::from_id(&action) else {
                return;
            };
            // Not one of this connection's: another app's, or one forgotten.
            let Some(shown) = lock(on_screen).what(id).cloned() else {
                return;
            };
            tracing::debug!(key = %shown.key, ?action, "notification action");
            // The receiver is gone when the app is shutting down: nothing to tell.
            let _ = responses.send(NotificationResponse {
                key: shown.key,
                approval_id: shown.approval_id,
                action,
            });
        }
        Some("NotificationClosed") => {
            if let Ok((id, _reason)) = signal.body().deserialize::<(u32, u32)>() {
                lock(on_screen).closed(id, signal.recv_position());
            }
        }
        _ => {}
    }
}

/// Closes the notifications `ids`, all at once; a failure is only logged (nothing is left to
/// do about it).
async fn close_every(connection: &zbus::Connection, ids: Vec<u32>) {
    futures_util::future::join_all(ids.into_iter().map(|id| async move {
        if let Err(error) = close(connection, id).await {
            tracing::debug!(%error, id, "could not close a notification");
        }
    }))
    .await;
}

/// Closes notification `id` (`CloseNotification`); one already closed is no error.
async fn close(connection: &zbus::Connection, id: u32) -> Result<(), NotifyError> {
    let closed = connection
        .call_method(
            Some(SERVER),
            PATH,
            Some(INTERFACE),
            "CloseNotification",
            &(id,),
        )
        .await;
    match closed {
        Ok(_) => Ok(()),
        // The spec answers an id no longer shown with an error of the server's own: the
        // person closed it first. The bus's errors (no server at all) are failures.
        Err(zbus::Error::MethodError(name, ..))
            if !name.as_str().starts_with("org.freedesktop.DBus.Error.") =>
        {
            Ok(())
        }
        Err(err) => Err(told(&err)),
    }
}

/// Asks the notification server its name and version: whether one answers at all.
async fn ask_server_information(connection: &zbus::Connection) -> zbus::Result<zbus::Message> {
    connection
        .call_method(
            Some(SERVER),
            PATH,
            Some(INTERFACE),
            "GetServerInformation",
            &(),
        )
        .await
}

/// The connection itself failed (its socket closed or broke), rather than the server being
/// slow: worth a new connection.
fn is_dead_connection(err: &zbus::Error) -> bool {
    matches!(err, zbus::Error::InputOutput(io) if io.kind() != std::io::ErrorKind::TimedOut)
}

/// `err` as the user is told it: a server that did not answer in time is not a missing one.
fn told(err: &zbus::Error) -> NotifyError {
    match err {
        zbus::Error::InputOutput(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            NotifyError::Failed(format!(
                "the notification server did not answer within {} s",
                CALL_TIMEOUT.as_secs()
            ))
        }
        _ => classify(&err.to_string()),
    }
}

/// Tells "nobody answers on the bus" (which the user fixes by starting a notification daemon)
/// from other failures, by the D-Bus error the call met.
pub(super) fn classify(error: &str) -> NotifyError {
    const NO_SERVICE: &[&str] = &[
        "ServiceUnknown",
        "NameHasNoOwner",
        "was not provided by any .service files",
        // The bus tried to start a notification service and it failed.
        "org.freedesktop.DBus.Error.Spawn",
    ];
    const NO_BUS: &[&str] = &[
        "DBUS_SESSION_BUS_ADDRESS",
        "failed to connect to",
        "address error",
        "I/O error",
        "No such file or directory",
        "Connection refused",
    ];
    if NO_SERVICE
        .iter()
        .chain(NO_BUS)
        .any(|sign| error.contains(sign))
    {
        NotifyError::Unavailable {
            detail: error.to_owned(),
        }
    } else {
        NotifyError::Failed(error.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;

    /// The real daemon (dunst, under scripts/test-env.sh) asked to close an id it does not
    /// show: the person closed it first, which is no failure.
    #[tokio::test]
    async fn closing_what_the_server_no_longer_shows_is_no_error() {
        if !test_support::desktop_session() {
            return;
        }
        let connection = zbus::Connection::session()
            .await
            .expect("the session bus answers");
        close(&connection, u32::MAX - 1)
            .await
            .expect("nothing to close is no error");
    }
}
