//! Notification settings: kept in the account's folder (`notifications.json`), applied by this
//! machine's notifier, and sent to the server (`PUT /api/v1/me/notification-settings`) so that
//! pushes honour them while the app is closed.
//!
//! Saving never needs the server: the newest copy not yet sent waits beside the settings
//! (`notifications.unsent.json`) and is sent when the link returns, by the account's
//! background task, `spartex sync`, or the next save. Not the outbox: the outbox is a queue of
//! actions, each shown to the user and delivered in order behind stops and decisions, where
//! settings are state of which only the newest copy matters, and a `PUT` of it is harmless to
//! repeat. A newer save simply replaces the waiting copy, and the synchronous
//! `Core::set_notification_prefs` can save without opening the cache.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use spartex_api::endpoints::{GetNotificationSettings, PutNotificationSettings};
use tokio::sync::{watch, Notify};

use crate::changes::LinkState;
use crate::error::{CoreError, CoreResult};
use crate::notify::NotificationPrefs;
use crate::registry::{create_private_dir, write_private};
use crate::session::Session;

const SETTINGS_FILE: &str = "notifications.json";
const UNSENT_FILE: &str = "notifications.unsent.json";

/// Saving a copy and clearing the sent one never interleave within this process.
static FILES_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// This machine's IANA time zone (`Europe/Berlin`), when the system names one.
pub fn local_time_zone() -> Option<String> {
    match iana_time_zone::get_timezone() {
        Ok(zone) if !zone.trim().is_empty() => Some(zone),
        Ok(_) => None,
        Err(error) => {
            tracing::debug!(%error, "this system names no IANA time zone");
            None
        }
    }
}

/// The settings files in one account's folder.
#[derive(Debug, Clone)]
pub(crate) struct PrefsFiles {
    dir: PathBuf,
}

impl PrefsFiles {
    pub(crate) fn new(account_dir: &Path) -> PrefsFiles {
        PrefsFiles {
            dir: account_dir.to_owned(),
        }
    }

    fn settings(&self) -> PathBuf {
        self.dir.join(SETTINGS_FILE)
    }

    fn unsent_path(&self) -> PathBuf {
        self.dir.join(UNSENT_FILE)
    }

    /// The saved settings; the defaults when none were saved (or the file is unreadable JSON).
    pub(crate) fn load(&self) -> CoreResult<NotificationPrefs> {
        Ok(self.read(&self.settings())?.unwrap_or_default())
    }

    /// Whether settings were ever saved here.
    fn saved(&self) -> bool {
        self.settings().exists()
    }

    fn read(&self, path: &Path) -> CoreResult<Option<NotificationPrefs>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).ok()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CoreError::Local(format!(
                "Could not read notification settings: {e}"
            ))),
        }
    }

    fn write(&self, path: &Path, prefs: &NotificationPrefs) -> CoreResult<()> {
        let local =
            |e: std::io::Error| CoreError::Local(format!("Could not save {}: {e}", path.display()));
        create_private_dir(&self.dir).map_err(local)?;
        let json = serde_json::to_vec_pretty(prefs).map_err(|e| CoreError::Local(e.to_string()))?;
        write_private(path, &json).map_err(local)
    }

    /// Saves `prefs` read in `zone` (this machine's, when it names one), and marks them to be
    /// sent to the server. Returns what was saved.
    pub(crate) fn save(
        &self,
        prefs: &NotificationPrefs,
        zone: Option<String>,
    ) -> CoreResult<NotificationPrefs> {
        let mut saved = prefs.clone();
        if zone.is_some() {
            saved.time_zone = zone;
        }
        let _guard = FILES_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        self.write(&self.settings(), &saved)?;
        self.write(&self.unsent_path(), &saved)?;
        Ok(saved)
    }

    /// The copy waiting to be sent, if any.
    pub(crate) fn unsent(&self) -> Option<NotificationPrefs> {
        self.read(&self.unsent_path()).ok().flatten()
    }

    /// The server took `copy`: it no longer waits, unless a newer save replaced it meanwhile.
    fn sent(&self, copy: &NotificationPrefs) {
        let _guard = FILES_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        if self.read(&self.unsent_path()).ok().flatten().as_ref() == Some(copy) {
            let _ = std::fs::remove_file(self.unsent_path());
        }
    }

    /// The server's copy becomes this machine's (sign-in on a new machine).
    fn adopt(&self, prefs: &NotificationPrefs) -> CoreResult<()> {
        let _guard = FILES_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        self.write(&self.settings(), prefs)?;
        let _ = std::fs::remove_file(self.unsent_path());
        Ok(())
    }
}

/// How an attempt to send the settings ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsSent {
    /// Nothing waited.
    NothingWaiting,
    /// The server took the waiting copy.
    Sent,
}

/// One account's settings on their way to the server.
#[derive(Clone)]
pub(crate) struct SettingsSync {
    session: Arc<Session>,
    files: PrefsFiles,
    /// Poked by a save, so the copy leaves at once.
    wakeup: Arc<Notify>,
}

impl SettingsSync {
    pub(crate) fn new(session: Arc<Session>, files: PrefsFiles, wakeup: Arc<Notify>) -> Self {
        SettingsSync {
            session,
            files,
            wakeup,
        }
    }

    pub(crate) fn files(&self) -> &PrefsFiles {
        &self.files
    }

    /// Sends the waiting copy. A copy the server refuses for good (422: a time zone it does not
    /// know, too many mutes) stops waiting, so it is not sent forever; the error says why.
    /// Offline, or with a server that predates these settings (404), it keeps waiting.
    pub(crate) async fn send_unsent(&self) -> CoreResult<SettingsSent> {
        let Some(copy) = self.files.unsent() else {
            return Ok(SettingsSent::NothingWaiting);
        };
        let put = PutNotificationSettings { body: copy.clone() };
        let key = uuid::Uuid::new_v4().to_string();
        match self.session.call(&put, Some(&key)).await {
            Ok(_) => {
                self.files.sent(&copy);
                Ok(SettingsSent::Sent)
            }
            Err(error @ (CoreError::Invalid { .. } | CoreError::Forbidden { .. })) => {
                tracing::warn!(%error, "the server refused the notification settings; they stay on this machine only");
                self.files.sent(&copy);
                Err(error)
            }
            Err(error) => Err(error),
        }
    }

    /// At sign-in: a copy still waiting is sent; else the server's settings become this
    /// machine's, unless the server has none yet (never saved: it answers 404 or the
    /// defaults), in which case this machine's are sent. Best effort: a failure is logged and
    /// leaves the local settings as they are.
    pub(crate) async fn reconcile_at_sign_in(&self, zone: Option<String>) {
        if let Err(error) = self.reconcile(zone).await {
            tracing::warn!(%error, "could not bring the notification settings in line with the server");
        }
    }

    async fn reconcile(&self, zone: Option<String>) -> CoreResult<()> {
        if self.files.unsent().is_none() {
            match self.session.call(&GetNotificationSettings {}, None).await {
                Ok(server) if server != NotificationPrefs::default() => {
                    return self.files.adopt(&server);
                }
                Ok(_) | Err(CoreError::NotFound { .. }) => {
                    let local = self.files.load()?;
                    self.files.save(&local, zone)?;
                }
                Err(error) => return Err(error),
            }
        }
        self.send_unsent().await.map(|_| ())
    }

    /// Settings saved before the server kept them (no time zone) are saved again with this
    /// machine's zone, so they reach the server once.
    fn upgrade_old_settings(&self, zone: Option<String>) {
        if zone.is_none() || !self.files.saved() || self.files.unsent().is_some() {
            return;
        }
        match self.files.load() {
            Ok(prefs) if prefs.time_zone.is_none() => {
                if let Err(error) = self.files.save(&prefs, zone) {
                    tracing::warn!(%error, "could not mark the notification settings for the server");
                }
            }
            _ => {}
        }
    }

    /// Sends the waiting copy whenever a save pokes it or the link returns, retrying on the
    /// sync backoff while the server cannot be reached, until `stop` fires.
    pub(crate) async fn run(
        &self,
        mut link: watch::Receiver<LinkState>,
        mut stop: watch::Receiver<bool>,
    ) {
        self.upgrade_old_settings(local_time_zone());
        let mut failures: u32 = 0;
        loop {
            let retry = match self.send_unsent().await {
                Ok(_) => {
                    failures = 0;
                    None
                }
                Err(CoreError::SignedOut { .. }) => return,
                Err(error) if error.is_transient() => {
                    tracing::debug!(%error, "notification settings wait for the server");
                    failures = failures.saturating_add(1);
                    Some(crate::sync::at_least_as_asked(
                        crate::sync::backoff(failures).max(Duration::from_secs(1)),
                        error.retry_after(),
                    ))
                }
                // Refused for good, or a server that predates these settings (404): asked
                // again when the link returns or the settings change, not on a timer.
                Err(_) => None,
            };
            let deadline = tokio::time::Instant::now() + retry.unwrap_or(Duration::from_secs(3600));
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline) => break,
                    _ = self.wakeup.notified() => break,
                    changed = link.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if *link.borrow_and_update() == LinkState::Connected {
                            break;
                        }
                    }
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> (tempfile::TempDir, PrefsFiles) {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = PrefsFiles::new(&dir.path().join("accounts").join("a"));
        (dir, files)
    }

    #[test]
    fn nothing_saved_reads_as_the_defaults_and_nothing_waits() {
        let (_dir, files) = files();
        assert_eq!(files.load().expect("loads"), NotificationPrefs::default());
        assert_eq!(files.unsent(), None);
    }

    #[test]
    fn a_save_carries_the_machines_zone_and_waits_for_the_server() {
        let (_dir, files) = files();
        let prefs = NotificationPrefs {
            muted_projects: ["prj_1".to_owned()].into(),
            time_zone: Some("Etc/Unknown".into()),
            ..NotificationPrefs::default()
        };
        let saved = files
            .save(&prefs, Some("Europe/Berlin".into()))
            .expect("saves");
        assert_eq!(saved.time_zone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(files.load().expect("loads"), saved);
        assert_eq!(files.unsent(), Some(saved.clone()));
        files.sent(&saved);
        assert_eq!(files.unsent(), None, "sent, it no longer waits");
        assert_eq!(
            files.load().expect("loads"),
            saved,
            "and is still applied here"
        );
    }

    #[test]
    fn without_a_zone_from_the_system_the_given_one_is_kept() {
        let (_dir, files) = files();
        let prefs = NotificationPrefs {
            time_zone: Some("Asia/Tokyo".into()),
            ..NotificationPrefs::default()
        };
        let saved = files.save(&prefs, None).expect("saves");
        assert_eq!(saved.time_zone.as_deref(), Some("Asia/Tokyo"));
    }

    #[test]
    fn a_newer_save_is_not_cleared_by_the_answer_to_an_older_one() {
        let (_dir, files) = files();
        let older = files
            .save(&NotificationPrefs::default(), Some("UTC".into()))
            .expect("saves");
        let newer = files
            .save(
                &NotificationPrefs {
                    enabled: false,
                    ..NotificationPrefs::default()
                },
                Some("UTC".into()),
            )
            .expect("saves");
        files.sent(&older);
        assert_eq!(files.unsent(), Some(newer), "the newer copy still waits");
    }

    #[test]
    fn the_servers_copy_is_adopted_and_nothing_waits() {
        let (_dir, files) = files();
        files
            .save(&NotificationPrefs::default(), Some("UTC".into()))
            .expect("saves");
        let server = NotificationPrefs {
            enabled: false,
            time_zone: Some("America/New_York".into()),
            ..NotificationPrefs::default()
        };
        files.adopt(&server).expect("adopts");
        assert_eq!(files.load().expect("loads"), server);
        assert_eq!(files.unsent(), None);
    }

    #[test]
    fn the_machine_names_its_zone_in_iana_form() {
        // Every system these tests run on names one; where it does not, nothing is filled in.
        if let Some(zone) = local_time_zone() {
            assert!(
                zone == "UTC" || zone.contains('/') || zone.chars().all(|c| c.is_ascii_uppercase()),
                "{zone}"
            );
        }
    }
}
