//! `dbus-monitor` watching the session bus for what passes between apps and the notification
//! daemon (dunst, under `scripts/test-env.sh`): every `Notify` call, the daemon's answers
//! (the ids it gives), and its `NotificationClosed` signals.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const RULES: [&str; 3] = [
    "type=method_call,interface=org.freedesktop.Notifications,member=Notify",
    // Answers carry no interface; those to a Notify call are found by their serial.
    "type=method_return,sender=org.freedesktop.Notifications",
    "type=signal,interface=org.freedesktop.Notifications,member=NotificationClosed",
];

pub struct NotifyMonitor {
    child: Child,
    seen: Arc<Mutex<String>>,
}

/// One message as dbus-monitor prints it: its header line, then one line per argument.
struct Message<'a> {
    header: &'a str,
    body: Vec<&'a str>,
}

impl Message<'_> {
    /// `name=value` from the header.
    fn field(&self, name: &str) -> Option<&str> {
        self.header
            .split([' ', ';'])
            .find_map(|part| part.strip_prefix(name)?.strip_prefix('='))
    }
}

impl NotifyMonitor {
    pub async fn start() -> NotifyMonitor {
        let mut child = Command::new("dbus-monitor")
            .arg("--session")
            .args(RULES)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("dbus-monitor runs (package dbus-bin; scripts/test.sh installs it)");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        // It prints its own NameAcquired signal once it is monitoring.
        let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("dbus-monitor starts within 10 s")
            .expect("readable");
        assert!(
            first.as_deref().is_some_and(|l| l.contains("NameAcquired")),
            "unexpected first line: {first:?}"
        );
        let seen = Arc::new(Mutex::new(String::new()));
        let sink = seen.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let mut seen = sink.lock().expect("lock");
                seen.push_str(&line);
                seen.push('\n');
            }
        });
        NotifyMonitor { child, seen }
    }

    /// What the bus carried in `Notify` calls from `sender` (a unique bus name), or from anyone.
    pub fn seen_from(&self, sender: Option<&str>) -> String {
        let all = self.seen.lock().expect("lock").clone();
        messages(&all)
            .filter(|m| m.header.contains("member=Notify"))
            .filter(|m| sender.is_none() || m.field("sender") == sender)
            .flat_map(|m| std::iter::once(m.header).chain(m.body))
            .fold(String::new(), |text, line| text + line + "\n")
    }

    /// Waits up to 10 s for a `Notify` call containing one of `needles`, and says who made it:
    /// the app's unique bus name, which tells its notifications from those of the other tests
    /// running meanwhile on the same bus.
    pub async fn sender_of(&self, needles: &[String]) -> String {
        self.until(
            &format!("a notification containing one of {needles:?}"),
            || {
                let all = self.seen.lock().expect("lock").clone();
                let call = messages(&all).find(|m| {
                    m.header.contains("member=Notify")
                        && m.body.iter().any(|l| needles.iter().any(|n| l.contains(n)))
                })?;
                call.field("sender").map(str::to_owned)
            },
        )
        .await
    }

    /// Waits up to 10 s for the id the daemon gave the notification containing `needle`.
    pub async fn id_of(&self, needle: &str) -> u32 {
        self.id_of_from(None, needle).await
    }

    /// [`NotifyMonitor::id_of`], of a notification `sender` sent.
    pub async fn id_of_from(&self, sender: Option<&str>, needle: &str) -> u32 {
        self.until(
            &format!("the id of the notification containing {needle:?}"),
            || {
                let all = self.seen.lock().expect("lock").clone();
                let call = messages(&all).find(|m| {
                    m.header.contains("member=Notify")
                        && (sender.is_none() || m.field("sender") == sender)
                        && m.body.iter().any(|l| l.contains(needle))
                })?;
                let (sender, serial) = (call.field("sender")?, call.field("serial")?);
                let answer = messages(&all).find(|m| {
                    m.header.starts_with("method return")
                        && m.field("destination") == Some(sender)
                        && m.field("reply_serial") == Some(serial)
                })?;
                answer
                    .body
                    .first()?
                    .trim()
                    .strip_prefix("uint32 ")?
                    .parse()
                    .ok()
            },
        )
        .await
    }

    /// Waits up to 10 s for the daemon to close notification `id` because an app asked it to
    /// (`CloseNotification`, reason 3).
    pub async fn until_closed(&self, id: u32) {
        let expected = [format!("uint32 {id}"), "uint32 3".to_owned()];
        self.until(&format!("notification {id} closed by its app"), || {
            let all = self.seen.lock().expect("lock").clone();
            let closed = messages(&all).any(|m| {
                m.header.contains("member=NotificationClosed")
                    && m.body
                        .iter()
                        .map(|l| l.trim())
                        .eq(expected.iter().map(String::as_str))
            });
            closed.then_some(())
        })
        .await;
    }

    async fn until<T>(&self, what: &str, mut found: impl FnMut() -> Option<T>) -> T {
        for _ in 0..100 {
            if let Some(found) = found() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "no {what} within 10 s; the bus carried:\n{}",
            self.seen.lock().expect("lock")
        );
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The messages in dbus-monitor's output: a header line, then the arguments (indented, but a
/// string's own line breaks start lines of their own).
fn messages(output: &str) -> impl Iterator<Item = Message<'_>> {
    let mut lines = output
        .lines()
        .skip_while(|line| !is_header(line))
        .peekable();
    std::iter::from_fn(move || {
        let header = lines.next()?;
        let mut body = Vec::new();
        while let Some(line) = lines.next_if(|line| !is_header(line)) {
            body.push(line);
        }
        Some(Message { header, body })
    })
}

fn is_header(line: &&str) -> bool {
    const HEADERS: [&str; 4] = ["method call ", "method return ", "signal ", "error "];
    HEADERS.iter().any(|kind| line.starts_with(kind))
}
