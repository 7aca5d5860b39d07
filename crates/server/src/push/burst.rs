//! A burst of pushes to one phone (thirty requests filed at once, a fleet of agents failing
//! together) would buzz it once for each, bury the request that matters and teach its person to
//! clear notifications unread. Each device gets the desktop's budget (`spartex_policy::burst`):
//! a few of a lane pushed one by one, one more per [`ONE_MORE_EVERY`], and the rest held back
//! and counted in one notice per kind ([`PushKind::RequestsHeld`], [`PushKind::AlertsHeld`])
//! that replaces itself as they are answered, and is taken away with the last.
//!
//! A device's budget and what it holds are kept with the dispatcher's remembered states (under
//! [`state_key`]), so they commit with its cursor: a restart or another instance goes on with
//! the same budget. A notice is pushed again at most once per [`ONE_MORE_EVERY`]: updates in
//! between wait in the queue (`NewPush::not_before_ms`), each replacing the last, so the phone
//! is told the count as it is, without a buzz per held request.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spartex_api::{PushKind, ALERTS_HELD_KEY, REQUESTS_HELD_KEY};
use spartex_policy::burst::ONE_MORE_EVERY;
use spartex_policy::{AlertBudget, HeldBack, Notification};

/// Where a device's burst is kept among the dispatcher's remembered states.
pub fn state_key(device_id: &str) -> String {
    format!("burst:{device_id}")
}

/// One device's budget, what it holds back, what it was pushed on its own, and when each
/// notice was last pushed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeviceBurst {
    budget: AlertBudget,
    held: HeldBack,
    /// The keys of alerts pushed on their own and not over: pushed again (a page of a request
    /// already shown), one replaces itself and spends nothing.
    #[serde(default)]
    pushed_alone: BTreeSet<String>,
    /// When each notice was last pushed (or is to be), milliseconds since the epoch, by key.
    told_at_ms: BTreeMap<String, i64>,
    /// The notices last pushed holding something: those a phone may show, to take away.
    #[serde(default)]
    on_phone: BTreeSet<String>,
}

impl DeviceBurst {
    fn new(now: DateTime<Utc>) -> DeviceBurst {
        DeviceBurst {
            budget: AlertBudget::new(clock(now)),
            held: HeldBack::default(),
            pushed_alone: BTreeSet::new(),
            told_at_ms: BTreeMap::new(),
            on_phone: BTreeSet::new(),
        }
    }
}

/// What a notice of held alerts says now, for one device.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub device_id: String,
    pub kind: PushKind,
    /// What it holds; `None` once nothing is held any more (the notice is taken away).
    pub summary: Option<Notification>,
    /// Not pushed before this (milliseconds since the epoch), if later than now.
    pub not_before_ms: Option<i64>,
}

/// The bursts of one run of events: every device's, read from the remembered states as needed.
#[derive(Debug, Default)]
pub struct Bursts {
    by_device: HashMap<String, DeviceBurst>,
    changed: BTreeSet<String>,
    to_tell: BTreeSet<(String, &'static str)>,
}

impl Bursts {
    /// Whether `alert` is pushed to `device_id` on its own; if not, it is held back and its
    /// notice will say so. Alerts of a kind never held back (what became of a request, stops)
    /// always are.
    pub fn admit(
        &mut self,
        states: &HashMap<String, String>,
        device_id: &str,
        alert: &Notification,
        project: Option<String>,
        now: DateTime<Utc>,
    ) -> bool {
        if !alert.kind.held_back_in_a_burst() {
            return true;
        }
        let notice = HeldBack::summary_key(alert.kind);
        let burst = self.of(states, device_id, now);
        if burst.pushed_alone.contains(&alert.key) {
            return true;
        }
        let pushed = burst.budget.spend(alert, clock(now));
        let was_held = if pushed {
            burst.pushed_alone.insert(alert.key.clone());
            burst.held.release(&alert.key).is_some()
        } else {
            burst.held.hold(alert, project);
            true
        };
        self.changed.insert(device_id.to_owned());
        if was_held {
            self.to_tell.insert((device_id.to_owned(), notice));
        }
        pushed
    }

    /// `alert` is pushed to `device_id` whatever the budget (an escalation's page: the ladder
    /// counts on it, and learns from its bounce); held, it leaves its notice.
    pub fn push_anyway(
        &mut self,
        states: &HashMap<String, String>,
        device_id: &str,
        alert: &Notification,
        now: DateTime<Utc>,
    ) {
        let burst = self.of(states, device_id, now);
        let newly = burst.pushed_alone.insert(alert.key.clone());
        let was_held = burst.held.release(&alert.key).is_some();
        if newly || was_held {
            self.changed.insert(device_id.to_owned());
        }
        if was_held {
            (self.to_tell).insert((device_id.to_owned(), HeldBack::summary_key(alert.kind)));
        }
    }

    /// Whether `device_id` holds the alert with `key` back.
    pub fn holds(&mut self, states: &HashMap<String, String>, device_id: &str, key: &str) -> bool {
        self.known(states, device_id)
            && (self.of(states, device_id, DateTime::UNIX_EPOCH).held).holds(key)
    }

    /// What the alert with `key` told of is over, on each of `device_ids`: those that held it
    /// back (returned) tell their notice one fewer, and are pushed nothing of how it ended,
    /// never having shown it.
    pub fn over<'a>(
        &mut self,
        states: &HashMap<String, String>,
        device_ids: impl IntoIterator<Item = &'a str>,
        key: &str,
    ) -> BTreeSet<String> {
        let mut held_on = BTreeSet::new();
        for device_id in device_ids {
            if !self.known(states, device_id) {
                continue;
            }
            let burst = self.of(states, device_id, DateTime::UNIX_EPOCH);
            let was_alone = burst.pushed_alone.remove(key);
            let held = burst.held.release(key);
            if was_alone || held.is_some() {
                self.changed.insert(device_id.to_owned());
            }
            if let Some(kind) = held {
                (self.to_tell).insert((device_id.to_owned(), HeldBack::summary_key(kind)));
                held_on.insert(device_id.to_owned());
            }
        }
        held_on
    }

    /// Whether `device_id` has a burst (read already, or among the remembered states).
    fn known(&self, states: &HashMap<String, String>, device_id: &str) -> bool {
        self.by_device.contains_key(device_id) || states.contains_key(&state_key(device_id))
    }

    /// What the notices of the devices whose held alerts changed say now, and the states to
    /// remember.
    pub fn finish(mut self, now: DateTime<Utc>) -> (Vec<Notice>, Vec<(String, String)>) {
        let now_ms = now.timestamp_millis();
        let mut notices = Vec::new();
        for (device_id, key) in std::mem::take(&mut self.to_tell) {
            let Some(burst) = self.by_device.get_mut(&device_id) else {
                continue;
            };
            let summary = burst.held.summary(key);
            let last_told = burst.told_at_ms.get(key).copied();
            if summary.is_none() && !burst.on_phone.contains(key) {
                // Released before its notice was ever pushed: nothing to take away.
                continue;
            }
            let spell = i64::try_from(ONE_MORE_EVERY.as_millis()).unwrap_or(i64::MAX);
            let not_before = match last_told {
                // One waits in the queue for then: this one takes its place (never later than
                // a spell from now, whatever a clock stepped back wrote).
                Some(at) if at > now_ms => Some(at.min(now_ms.saturating_add(spell))),
                Some(at) => Some(at.saturating_add(spell)).filter(|at| *at > now_ms),
                None => None,
            };
            (burst.told_at_ms).insert(key.to_owned(), not_before.unwrap_or(now_ms));
            if summary.is_some() {
                burst.on_phone.insert(key.to_owned());
            } else {
                burst.on_phone.remove(key);
            }
            notices.push(Notice {
                device_id,
                kind: notice_kind(key),
                summary,
                not_before_ms: not_before,
            });
        }
        let states = (self.changed.iter())
            .filter_map(|device_id| {
                let burst = self.by_device.get(device_id)?;
                let json = serde_json::to_string(burst).ok()?;
                Some((state_key(device_id), json))
            })
            .collect();
        (notices, states)
    }

    fn of(
        &mut self,
        states: &HashMap<String, String>,
        device_id: &str,
        now: DateTime<Utc>,
    ) -> &mut DeviceBurst {
        self.by_device
            .entry(device_id.to_owned())
            .or_insert_with(|| {
                // A state that does not read (written by a newer server, or damaged) starts
                // the device afresh: a budget in full, nothing held.
                (states.get(&state_key(device_id)))
                    .and_then(|json| serde_json::from_str(json).ok())
                    .unwrap_or_else(|| DeviceBurst::new(now))
            })
    }
}

fn notice_kind(key: &str) -> PushKind {
    if key == REQUESTS_HELD_KEY {
        PushKind::RequestsHeld
    } else {
        debug_assert_eq!(key, ALERTS_HELD_KEY);
        PushKind::AlertsHeld
    }
}

/// The budget's clock on a server: the time since the epoch, as its budgets outlive a run.
fn clock(now: DateTime<Utc>) -> Duration {
    Duration::from_millis(u64::try_from(now.timestamp_millis()).unwrap_or(0))
}

#[cfg(test)]
#[path = "burst_tests.rs"]
mod tests;
