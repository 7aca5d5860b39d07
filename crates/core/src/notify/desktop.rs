//! Notifications on the desktop: the freedesktop notification server on Linux and the BSDs
//! (with Approve / Reject buttons; `freedesktop.rs`), the platform's own centre through
//! notify-rust elsewhere (no buttons; a click opens the app).
//!
//! On the freedesktop server a newer notification with the same [`Notification::key`]
//! replaces the one on screen (an escalation, "Dana is on it"), [`Notifier::withdraw`] closes
//! one whose request was answered, and the notifications still shown are closed when the
//! notifier is dropped (the account switched or signed out, the app quitting), since nobody
//! hears their buttons any more.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::{Notification, NotificationResponse, Notifier, NotifyError};

#[cfg(all(unix, not(target_os = "macos")))]
use super::freedesktop::Freedesktop as Server;

/// The name the notification server shows as the sender.
pub const APP_NAME: &str = "Spartex Control";

/// Shows notifications on the desktop and reports clicks on their buttons.
#[derive(Clone)]
pub struct DesktopNotifier {
    server: Arc<Server>,
}

impl std::fmt::Debug for DesktopNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DesktopNotifier")
    }
}

impl DesktopNotifier {
    /// Clicks on a notification's buttons arrive on `responses`.
    pub fn new(responses: UnboundedSender<NotificationResponse>) -> Self {
        DesktopNotifier {
            server: Arc::new(Server::new(responses)),
        }
    }

    /// Shows `notification`, in place of the one shown with its key if that is still on
    /// screen. Returns the id the freedesktop notification server gave it, where there is one
    /// (Linux and the BSDs); a click on its buttons then comes back as a
    /// [`NotificationResponse`].
    pub async fn show(&self, notification: &Notification) -> Result<Option<u32>, NotifyError> {
        self.server.show(notification).await.map(Into::into)
    }
}

#[async_trait::async_trait]
impl Notifier for DesktopNotifier {
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.show(notification).await.map(|_| ())
    }

    async fn withdraw(&self, key: &str) -> Result<(), NotifyError> {
        self.server.withdraw(key).await
    }

    async fn withdraw_all(&self) {
        self.server.withdraw_all().await;
    }

    fn asking(&self) -> Vec<String> {
        self.server.asking()
    }

    async fn available(&self) -> bool {
        self.server.answers().await
    }

    async fn replace_if_shown(&self, notification: &Notification) -> Result<bool, NotifyError> {
        if !self.server.shows(&notification.key) {
            return Ok(false);
        }
        self.show(notification).await.map(|_| true)
    }
}

/// macOS and Windows: the platform's notification centre through notify-rust, which gives no
/// id to replace or close by, and no buttons.
#[cfg(not(all(unix, not(target_os = "macos"))))]
mod elsewhere {
    use super::*;

    pub struct Server;

    impl Server {
        pub fn new(_responses: UnboundedSender<NotificationResponse>) -> Self {
            Server
        }

        /// Shows `notification`; there is no id.
        pub async fn show(&self, notification: &Notification) -> Result<Option<u32>, NotifyError> {
            let notification = notification.clone();
            tokio::task::spawn_blocking(move || {
                notify_rust::Notification::new()
                    .appname(APP_NAME)
                    .summary(&notification.title)
                    .body(&notification.body)
                    .show()
                    .map(|_| None)
                    .map_err(|err| NotifyError::Failed(err.to_string()))
            })
            .await
            .map_err(|join| NotifyError::Failed(format!("the notification task failed: {join}")))?
        }

        pub async fn withdraw(&self, _key: &str) -> Result<(), NotifyError> {
            Ok(())
        }

        /// Nothing is known to be on screen here.
        pub fn shows(&self, _key: &str) -> bool {
            false
        }

        pub async fn withdraw_all(&self) {}

        pub fn asking(&self) -> Vec<String> {
            Vec::new()
        }

        /// The platform's centre is taken to be there.
        pub async fn answers(&self) -> bool {
            true
        }
    }
}
#[cfg(not(all(unix, not(target_os = "macos"))))]
use elsewhere::Server;

// The freedesktop notification server, over D-Bus.
#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use std::time::{Duration, Instant};

    use tokio::io::{AsyncBufReadExt, BufReader, Lines};
    use tokio::process::{ChildStdout, Command};

    use super::*;
    use crate::notify::freedesktop::classify;
    use crate::notify::{NotificationAction, NotificationKind};
    use crate::test_support;

    #[test]
    fn a_missing_notification_service_is_unavailable() {
        let unknown = "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.Notifications was not provided by any .service files";
        let err = classify(unknown);
        assert!(matches!(err, NotifyError::Unavailable { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.contains("no notification service on the session bus"));
        assert!(message.contains("dunst"), "says what to start: {message}");
        let spawn_failed = "org.freedesktop.DBus.Error.Spawn.ChildSignaled: Process org.freedesktop.Notifications received signal 5";
        assert!(matches!(
            classify(spawn_failed),
            NotifyError::Unavailable { .. }
        ));
        assert!(matches!(
            classify("org.freedesktop.DBus.Error.AccessDenied: go away"),
            NotifyError::Failed(_)
        ));
    }

    /// With no session bus at all, showing fails as `Unavailable`. The test runs itself again
    /// in a child process whose bus address points nowhere, so no other test sees the change.
    #[tokio::test]
    async fn without_a_session_bus_notifications_are_unavailable() {
        if !test_support::in_child() {
            test_support::rerun_in_child(
                "notify::desktop::tests::without_a_session_bus_notifications_are_unavailable",
                &[("DBUS_SESSION_BUS_ADDRESS", test_support::NOWHERE_BUS)],
            );
            return;
        }
        let (responses, _clicks) = tokio::sync::mpsc::unbounded_channel();
        let notifier = DesktopNotifier::new(responses);
        assert!(!notifier.available().await, "nothing answers");
        let err = notifier
            .notify(&approval_notification("nobus"))
            .await
            .expect_err("there is no bus to show it on");
        assert!(matches!(err, NotifyError::Unavailable { .. }), "{err:?}");
        println!("{err}");
    }

    fn approval_notification(tag: &str) -> Notification {
        Notification {
            key: format!("approval:apr_{tag}"),
            kind: NotificationKind::ApprovalRequested,
            title: format!("Approval needed: Publish the spring hero ad {tag}"),
            body: "critical · expires 10:42 UTC\nProject: Spring launch".into(),
            project_id: Some("prj_spring".into()),
            approval_id: Some(format!("apr_{tag}")),
            urgent: true,
            actions: vec![
                NotificationAction::Approve,
                NotificationAction::Reject,
                NotificationAction::Open,
            ],
        }
    }

    /// `dbus-monitor` watching for `Notify` calls on the session bus.
    struct Monitor {
        child: tokio::process::Child,
        lines: Lines<BufReader<ChildStdout>>,
    }

    const NOTIFY_CALLS: &str =
        "type=method_call,interface=org.freedesktop.Notifications,member=Notify";
    const CLOSED_SIGNALS: &str =
        "type=signal,interface=org.freedesktop.Notifications,member=NotificationClosed";

    impl Monitor {
        /// Watches the session bus for messages matching `rule`.
        async fn start(rule: &str) -> Monitor {
            let mut child = Command::new("dbus-monitor")
                .args(["--session", rule])
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .expect("dbus-monitor runs (package dbus-bin; scripts/test.sh installs it)");
            let stdout = child.stdout.take().expect("stdout is piped");
            let mut monitor = Monitor {
                child,
                lines: BufReader::new(stdout).lines(),
            };
            // It prints its own NameAcquired signal once it is monitoring.
            let first = monitor
                .next_line(Instant::now() + Duration::from_secs(10))
                .await
                .expect("dbus-monitor prints its first line within 10 s");
            assert!(
                first.contains("NameAcquired"),
                "unexpected first line: {first}"
            );
            monitor
        }

        async fn next_line(&mut self, deadline: Instant) -> Option<String> {
            let left = deadline.saturating_duration_since(Instant::now());
            tokio::time::timeout(left, self.lines.next_line())
                .await
                .ok()?
                .expect("dbus-monitor's output is readable")
        }

        /// Waits up to 10 s for the daemon's `NotificationClosed(id, 3)`: closed by a call to
        /// `CloseNotification`.
        async fn until_closed_by_its_app(&mut self, id: u32) {
            self.until_closed_by_their_app(&[id]).await;
        }

        /// The same for each of `ids`, in whatever order the daemon closes them.
        async fn until_closed_by_their_app(&mut self, ids: &[u32]) {
            let mut open: Vec<String> = ids.iter().map(|id| format!("uint32 {id}")).collect();
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut seen = String::new();
            let mut arguments: Vec<String> = Vec::new();
            while !open.is_empty() {
                let Some(line) = self.next_line(deadline).await else {
                    panic!(
                        "no NotificationClosed(…, 3) for {open:?} within 10 s; dbus-monitor printed:\n{seen}"
                    );
                };
                seen.push_str(&line);
                seen.push('\n');
                if line.starts_with("signal") {
                    arguments.clear();
                    continue;
                }
                arguments.push(line.trim().to_owned());
                if let [id, reason] = arguments.as_slice() {
                    if reason == "uint32 3" {
                        open.retain(|open| open != id);
                    }
                }
            }
        }

        /// The `Notify` call whose text contains `needle`, from its header to its last
        /// argument (the timeout, an `int32`).
        async fn call_containing(&mut self, needle: &str) -> String {
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut call = String::new();
            let mut seen = String::new();
            while let Some(line) = self.next_line(deadline).await {
                seen.push_str(&line);
                seen.push('\n');
                if line.starts_with("method call") {
                    call.clear();
                }
                call.push_str(&line);
                call.push('\n');
                if line.trim_start().starts_with("int32") && call.contains(needle) {
                    return call;
                }
            }
            panic!(
                "no Notify call containing {needle:?} within 10 s; dbus-monitor printed:\n{seen}"
            );
        }
    }

    /// Sends the notification through the real notification daemon of the session
    /// (dunst, under scripts/test-env.sh), reads the `Notify` call back off the bus, then
    /// plays the daemon's part of a click on "Approve" and expects the response.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_notification_reaches_the_daemon_and_its_buttons_answer() {
        if !test_support::desktop_session() {
            return;
        }
        let mut monitor = Monitor::start(NOTIFY_CALLS).await;
        let (responses, mut clicks) = tokio::sync::mpsc::unbounded_channel();
        let notifier = DesktopNotifier::new(responses);
        assert!(notifier.available().await, "the session's daemon answers");
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let notification = approval_notification(&tag);

        let id = notifier
            .show(&notification)
            .await
            .expect("the session's notification daemon takes the notification")
            .expect("the freedesktop server gives the notification an id");

        let call = monitor.call_containing(&notification.title).await;
        println!("the Notify call on the bus:\n{call}");
        for expected in [
            format!("string \"{APP_NAME}\""),
            format!("string \"{}\"", notification.title),
            format!("string \"{}\"", notification.body),
            "string \"approve\"".to_owned(),
            "string \"Approve\"".to_owned(),
            "string \"reject\"".to_owned(),
            "string \"Reject\"".to_owned(),
            "string \"default\"".to_owned(),
        ] {
            assert!(call.contains(&expected), "{expected} missing from\n{call}");
        }
        // Critical urgency: the `urgency` hint holds byte 2.
        let urgency = call
            .split("string \"urgency\"")
            .nth(1)
            .expect("the call carries an urgency hint");
        assert!(
            urgency.trim_start().starts_with("variant") && urgency.contains("byte 2"),
            "urgency is not critical in\n{call}"
        );

        let response = click(id, "approve", &mut clicks).await;
        assert_eq!(
            response,
            NotificationResponse {
                key: notification.key.clone(),
                approval_id: notification.approval_id.clone(),
                action: NotificationAction::Approve,
            }
        );
        monitor.child.kill().await.expect("dbus-monitor stops");
    }

    /// Plays the daemon's part of a click on the button `action` of notification `id`. The
    /// waiting thread may not be listening yet, so repeats until it answers.
    async fn click(
        id: u32,
        action: &str,
        clicks: &mut tokio::sync::mpsc::UnboundedReceiver<NotificationResponse>,
    ) -> NotificationResponse {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let sent = Command::new("dbus-send")
                .args([
                    "--session",
                    "--type=signal",
                    "/org/freedesktop/Notifications",
                    "org.freedesktop.Notifications.ActionInvoked",
                    &format!("uint32:{id}"),
                    &format!("string:{action}"),
                ])
                .status()
                .await
                .expect("dbus-send runs");
            assert!(sent.success(), "dbus-send failed: {sent}");
            if let Ok(response) =
                tokio::time::timeout(Duration::from_millis(300), clicks.recv()).await
            {
                return response.expect("the notifier keeps its sender");
            }
            assert!(
                Instant::now() < deadline,
                "no response to the click within 10 s"
            );
        }
    }

    /// An escalation of a request takes its notification's place on the real daemon (dunst),
    /// a click on it is reported once; a request answered elsewhere is closed on the daemon
    /// when taken back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_notification_replaces_the_one_with_its_key_and_is_taken_back() {
        if !test_support::desktop_session() {
            return;
        }
        let mut closed = Monitor::start(CLOSED_SIGNALS).await;
        let (responses, mut clicks) = tokio::sync::mpsc::unbounded_channel();
        let notifier = DesktopNotifier::new(responses);
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let request = approval_notification(&tag);
        let escalated = Notification {
            title: format!("Approval needed (escalated, level 2): {tag}"),
            ..request.clone()
        };
        let shown = |notification: Notification| {
            let notifier = notifier.clone();
            async move {
                notifier
                    .show(&notification)
                    .await
                    .expect("the daemon takes it")
                    .expect("the freedesktop server gives an id")
            }
        };

        let id = shown(request.clone()).await;
        let replaced_by = shown(escalated.clone()).await;
        assert_eq!(replaced_by, id, "the daemon replaced it in place");
        let said = notifier
            .replace_if_shown(&escalated)
            .await
            .expect("the daemon takes it");
        assert!(said, "{} is on screen", escalated.key);
        // What became of a request is said only where the request is on screen.
        let elsewhere = approval_notification(&format!("{tag}-never-shown"));
        let said = notifier
            .replace_if_shown(&elsewhere)
            .await
            .expect("nothing to replace is no error");
        assert!(!said, "nothing was on screen under {}", elsewhere.key);
        let response = click(id, "reject", &mut clicks).await;
        assert_eq!(response.action, NotificationAction::Reject);
        assert_eq!(response.key, request.key);
        let again = tokio::time::timeout(Duration::from_millis(500), clicks.recv()).await;
        assert!(again.is_err(), "one click reported twice: {again:?}");

        let answered_elsewhere = approval_notification(&format!("{tag}-elsewhere"));
        let id = shown(answered_elsewhere.clone()).await;
        notifier
            .withdraw(&answered_elsewhere.key)
            .await
            .expect("taken back");
        // The daemon's word that it closed it: reason 3, "closed by a call to CloseNotification".
        closed.until_closed_by_its_app(id).await;
        // Taking back what is no longer shown is nothing to do.
        notifier
            .withdraw(&answered_elsewhere.key)
            .await
            .expect("nothing to take back");
        closed.child.kill().await.expect("dbus-monitor stops");
    }

    /// Once the account stops (switched, signed out, the app quitting) nobody hears its
    /// notifications' buttons: the shell takes them all back, and a notifier dropped without
    /// that closes what it showed too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopped_or_dropped_notifier_closes_what_it_showed() {
        if !test_support::desktop_session() {
            return;
        }
        let mut closed = Monitor::start(CLOSED_SIGNALS).await;
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let (responses, _clicks) = tokio::sync::mpsc::unbounded_channel();
        let stopped = DesktopNotifier::new(responses.clone());
        let id = stopped
            .show(&approval_notification(&format!("{tag}-stopped")))
            .await
            .expect("the daemon takes it")
            .expect("the freedesktop server gives an id");
        stopped.withdraw_all().await;
        closed.until_closed_by_its_app(id).await;

        let dropped = DesktopNotifier::new(responses);
        let id = dropped
            .show(&approval_notification(&format!("{tag}-dropped")))
            .await
            .expect("the daemon takes it")
            .expect("the freedesktop server gives an id");
        drop(dropped);
        closed.until_closed_by_its_app(id).await;
        closed.child.kill().await.expect("dbus-monitor stops");
    }

    /// A notification being shown as the account stops (the alerts task was at it) is taken
    /// back with the rest, and nothing is shown after: the shell stopped the task first, and
    /// a showing cut off before the server's answer was recorded stayed on screen.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn what_is_being_shown_as_everything_is_taken_back_goes_too() {
        if !test_support::desktop_session() {
            return;
        }
        let mut closed = Monitor::start(CLOSED_SIGNALS).await;
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let (responses, _clicks) = tokio::sync::mpsc::unbounded_channel();
        let notifier = DesktopNotifier::new(responses);
        // Connected first, so that the next showing is one `Notify` under way.
        let first = notifier
            .show(&approval_notification(&format!("{tag}-first")))
            .await
            .expect("the daemon takes it")
            .expect("the freedesktop server gives an id");
        let showing = tokio::spawn({
            let notifier = notifier.clone();
            let notification = approval_notification(&format!("{tag}-under-way"));
            async move { notifier.show(&notification).await }
        });
        tokio::task::yield_now().await;
        notifier.withdraw_all().await;
        // Shown before everything was taken back, then closed with it; or refused.
        let mut taken_back = vec![first];
        if let Ok(Some(id)) = showing.await.expect("did not panic") {
            taken_back.push(id);
        }
        closed.until_closed_by_their_app(&taken_back).await;
        let after = notifier
            .show(&approval_notification(&format!("{tag}-after")))
            .await;
        assert!(
            after.is_err(),
            "shown after everything was taken back: {after:?}"
        );
        closed.child.kill().await.expect("dbus-monitor stops");
    }
}
