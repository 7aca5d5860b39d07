//! Who is on call at an instant, and when that changes, from a schedule of rotating layers and
//! overrides, each in its own time zone.
//!
//! Handoffs happen at a local wall-clock time, so they follow daylight saving: a handoff at a
//! time that does not exist that day (the hour skipped in spring) happens when the clocks jump,
//! and one at a time that happens twice (the hour repeated in autumn) happens the first time
//! only. Neither transition skips or doubles a handoff.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use spartex_api::{OnCallConfig, OnCallOverride, OnCallShift, Rotation, ScheduleLayer};

/// How far ahead [`Rota::next_change_after`] looks before it says "never".
const HORIZON: Duration = Duration::days(62);
/// The most instants it tries, so a schedule can never make it spin.
const MAX_STEPS: usize = 2_000;
/// The most shifts [`Rota::shifts`] lists.
const MAX_SHIFTS: usize = 500;

/// `HH:MM`, as schedules spell local times.
pub fn parse_local_time(text: &str) -> Option<NaiveTime> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(hours.parse().ok()?, minutes.parse().ok()?, 0)
}

/// A layer read once: its zone and times parsed. Layers that do not parse are left out (the
/// server refuses them when they are saved).
#[derive(Debug, Clone)]
struct Layer<'a> {
    users: &'a [String],
    zone: Tz,
    period_days: i64,
    handoff: NaiveTime,
    starts_at: DateTime<Utc>,
    anchor: NaiveDate,
    hours: Option<(NaiveTime, NaiveTime)>,
}

impl<'a> Layer<'a> {
    fn read(layer: &'a ScheduleLayer) -> Option<Self> {
        let zone: Tz = layer.timezone.parse().ok()?;
        let hours = match &layer.active_hours {
            Some(hours) => Some((parse_local_time(&hours.from)?, parse_local_time(&hours.to)?)),
            None => None,
        };
        if layer.user_ids.is_empty() {
            return None;
        }
        Some(Layer {
            users: &layer.user_ids,
            zone,
            period_days: match layer.rotation {
                Rotation::Daily => 1,
                Rotation::Weekly => 7,
                Rotation::Unknown => return None,
            },
            handoff: parse_local_time(&layer.handoff_at)?,
            starts_at: layer.starts_at,
            anchor: layer.starts_at.with_timezone(&zone).date_naive(),
            hours,
        })
    }

    /// The handoff of the `k`th rotation date (the anchor's date plus `k` periods).
    fn handoff_of(&self, k: i64) -> DateTime<Utc> {
        let date = self.anchor + Duration::days(k * self.period_days);
        local_instant(self.zone, date, self.handoff)
    }

    /// The largest `k` whose handoff is at or before `t` (-1 for none).
    fn last_handoff_index(&self, t: DateTime<Utc>) -> i64 {
        let local_date = t.with_timezone(&self.zone).date_naive();
        let mut k = (local_date - self.anchor)
            .num_days()
            .div_euclid(self.period_days);
        while k >= 0 && self.handoff_of(k) > t {
            k -= 1;
        }
        k.max(-1)
    }

    /// The first `k` whose handoff comes after `starts_at` (a layer starting after that day's
    /// handoff time has its first handoff a period later).
    fn first_handoff_index(&self) -> i64 {
        i64::from(self.handoff_of(0) <= self.starts_at)
    }

    fn on_call(&self, t: DateTime<Utc>) -> Option<&'a String> {
        if t < self.starts_at || !self.active(t) {
            return None;
        }
        let handoffs = (self.last_handoff_index(t) - self.first_handoff_index() + 1).max(0);
        let turn = usize::try_from(handoffs).unwrap_or(0) % self.users.len();
        self.users.get(turn)
    }

    fn active(&self, t: DateTime<Utc>) -> bool {
        let Some((from, to)) = self.hours else {
            return true;
        };
        let local = t.with_timezone(&self.zone).time();
        if from <= to {
            from <= local && local < to
        } else {
            local >= from || local < to
        }
    }

    /// Instants after `t` where this layer's answer may change.
    fn changes_after(&self, t: DateTime<Utc>, into: &mut Vec<DateTime<Utc>>) {
        if self.starts_at > t {
            into.push(self.starts_at);
        }
        let from = t.max(self.starts_at);
        let next = (self.last_handoff_index(from) + 1).max(self.first_handoff_index());
        into.push(self.handoff_of(next));
        if let Some((start, end)) = self.hours {
            let today = t.with_timezone(&self.zone).date_naive();
            for offset in -1..=1 {
                let date = today + Duration::days(offset);
                for time in [start, end] {
                    let at = local_instant(self.zone, date, time);
                    if at > t {
                        into.push(at);
                    }
                }
            }
        }
    }
}

/// The instant a local date and time names in `zone`: the first of two in the repeated hour,
/// and the moment the clocks jump for a time inside the skipped one.
pub fn local_instant(zone: Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let wall = date.and_time(time);
    if let Some(at) = zone.from_local_datetime(&wall).earliest() {
        return at.with_timezone(&Utc);
    }
    // In a gap: walk to the first wall time that exists again (gaps are at most a few hours).
    let mut probe = wall;
    for _ in 0..(24 * 60) {
        probe += Duration::minutes(1);
        if let Some(at) = zone.from_local_datetime(&probe).earliest() {
            return at.with_timezone(&Utc);
        }
    }
    Utc.from_utc_datetime(&wall)
}

/// A tenant's schedule, read once, to ask who is on call.
pub struct Rota<'a> {
    layers: Vec<Layer<'a>>,
    overrides: &'a [OnCallOverride],
    /// Who is on call where no layer applies: everyone with role `oncall`.
    fallback: &'a [String],
}

impl<'a> Rota<'a> {
    pub fn new(config: &'a OnCallConfig, fallback: &'a [String]) -> Self {
        Rota {
            layers: config.layers.iter().filter_map(Layer::read).collect(),
            overrides: &config.overrides,
            fallback,
        }
    }

    /// The user ids on call at `t`: whoever covers by override, else the last layer that
    /// applies, else everyone with role `oncall`.
    pub fn on_call_at(&self, t: DateTime<Utc>) -> Vec<String> {
        let mut covering: Vec<String> = Vec::new();
        for cover in self
            .overrides
            .iter()
            .filter(|o| o.starts_at <= t && t < o.ends_at)
        {
            if !covering.contains(&cover.user_id) {
                covering.push(cover.user_id.clone());
            }
        }
        if !covering.is_empty() {
            return covering;
        }
        match self.layers.iter().rev().find_map(|layer| layer.on_call(t)) {
            Some(user) => vec![user.clone()],
            None => self.fallback.to_vec(),
        }
    }

    /// The first instant after `t` at which the people on call differ from those at `t`.
    pub fn next_change_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let now = self.on_call_at(t);
        let mut at = t;
        let mut candidates = Vec::new();
        for _ in 0..MAX_STEPS {
            candidates.clear();
            for layer in &self.layers {
                layer.changes_after(at, &mut candidates);
            }
            for cover in self.overrides {
                candidates.extend(
                    [cover.starts_at, cover.ends_at]
                        .into_iter()
                        .filter(|c| *c > at),
                );
            }
            at = candidates.iter().copied().filter(|c| *c > at).min()?;
            if at > t + HORIZON {
                return None;
            }
            if self.on_call_at(at) != now {
                return Some(at);
            }
        }
        None
    }

    /// Who is on call from `from` to `until`, as consecutive shifts.
    pub fn shifts(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<OnCallShift> {
        let mut shifts = Vec::new();
        let mut at = from;
        while at < until && shifts.len() < MAX_SHIFTS {
            let ends_at = self
                .next_change_after(at)
                .map_or(until, |next| next.min(until));
            shifts.push(OnCallShift {
                starts_at: at,
                ends_at,
                user_ids: self.on_call_at(at),
            });
            at = ends_at;
        }
        shifts
    }
}

#[cfg(test)]
#[path = "oncall_tests.rs"]
mod tests;
