//! Whether notifications raised here reach this device's person, as the account tells the
//! server on its event socket: the escalation ladder counts an open app as a way to reach them
//! only while it can alert them.

use std::sync::Arc;
use std::time::Duration;

use crate::account::Account;
use crate::notify::{NotificationPrefs, Notifier};
use crate::sync::AlertsHere;

/// How soon turning notifications off, or the notification service going away, stops this
/// device counting as a way to reach its person on the escalation ladder (and the other way).
const RECHECK: Duration = Duration::from_secs(5);
/// A notification service that does not answer within this has not answered, this time.
const PATIENCE: Duration = Duration::from_secs(2);
/// Unanswered checks in a row after which the notification service is taken as gone.
const GONE_AFTER: u32 = 2;

/// Tells the account, while it lives, whether a notification raised now would reach this
/// person (notifications are on, and the notification service answers), and that none would
/// once it is dropped.
pub(super) struct ToldReach {
    account: Account,
    notifier: Arc<dyn Notifier>,
    prefs: Arc<std::sync::RwLock<NotificationPrefs>>,
}

impl ToldReach {
    /// Says at once that notifications reach this person when they are on, taking the
    /// notification service to be there (it nearly always is), so that a link started next
    /// says so on its first connection; [`ToldReach::keep_telling`] asks the service.
    pub(super) fn new(
        account: &Account,
        notifier: Arc<dyn Notifier>,
        prefs: Arc<std::sync::RwLock<NotificationPrefs>>,
    ) -> ToldReach {
        let told = ToldReach {
            account: account.clone(),
            notifier,
            prefs,
        };
        let found = if told.enabled() {
            AlertsHere::Raised
        } else {
            AlertsHere::TurnedOff
        };
        told.account.set_alerts_here(found);
        told
    }

    fn enabled(&self) -> bool {
        self.prefs
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .enabled
    }

    /// Reads the settings, and asks the notification service while they have notifications
    /// on, at once and every [`RECHECK`], for ever. A service is taken as gone once it has not
    /// answered twice in a row, so one slow answer does not take this device off the ladder.
    pub(super) async fn keep_telling(&self) {
        let mut recheck = tokio::time::interval(RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut unanswered = 0;
        loop {
            recheck.tick().await;
            if !self.enabled() {
                unanswered = 0;
                self.account.set_alerts_here(AlertsHere::TurnedOff);
                continue;
            }
            let answers = tokio::time::timeout(PATIENCE, self.notifier.available()).await;
            if answers.unwrap_or(false) {
                unanswered = 0;
                self.account.set_alerts_here(AlertsHere::Raised);
                continue;
            }
            unanswered += 1;
            if unanswered >= GONE_AFTER {
                self.account.set_alerts_here(AlertsHere::NoService);
            }
        }
    }
}

impl Drop for ToldReach {
    fn drop(&mut self) {
        self.account.set_alerts_here(AlertsHere::NotRaisedHere);
    }
}
