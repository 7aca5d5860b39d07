//! What to push for a run of one tenant's events: the same notification policy the desktop
//! applies (`spartex-policy`), judged for each device's user, their role and settings, at
//! their local time. Pure: the store reads and writes are the dispatcher's.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use spartex_api::{
    Agent, AgentStatus, Approval, ApprovalStatus, BudgetState, Escalation, Event, EventPayload,
    NotificationPrefs, NotifyChannel, PushDetail, PushKind, PushPayload, Role, Stop,
};
use spartex_policy::{plain_text, select_named, Notification, NotificationKind, Transition};

use super::burst::Bursts;
use crate::service::escalation::{trail_is_full, LevelNames};
use crate::store::push::{NewPush, PushTarget};
use bursts::Pushed;

/// A non-approval push older than this is news no longer worth waking a phone for.
const NEWS_LIFETIME: Duration = Duration::hours(1);
/// How long a resolution is worth delivering: a phone offline for a day still takes the
/// request down when it comes back.
const RESOLUTION_LIFETIME: Duration = Duration::hours(24);

/// What a queued push carries: the payload every service gets, and the notification's body
/// for the services that show it without the app (APNs, FCM).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueuedMessage {
    pub payload: PushPayload,
    pub body: String,
}

impl QueuedMessage {
    /// The message with every text an agent or a person wrote (the request's title, the
    /// project's name, the body naming who decided) as plain text: without the direction
    /// overrides, isolates and invisible format characters that make a lock screen show
    /// something other than what was written (an agent's "Pay $", U+202E, "005" shows as
    /// "Pay $500"). The policy's own notifications are already plain; the payload's title
    /// is the request's as written.
    pub fn shown_plainly(self) -> QueuedMessage {
        let QueuedMessage { payload, body } = self;
        QueuedMessage {
            payload: PushPayload {
                title: plain_text(&payload.title, false),
                project_name: payload
                    .project_name
                    .as_deref()
                    .map(|name| plain_text(name, false)),
                ..payload
            },
            body: plain_text(&body, true),
        }
    }
}

/// A device's user as the policy needs them.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub device_id: String,
    pub user_id: String,
    pub role: Role,
    pub prefs: NotificationPrefs,
    pub time_zone: chrono_tz::Tz,
}

impl Recipient {
    /// Damaged or absent settings fall back to the defaults (everything on), never to silence.
    pub fn from_target(target: &PushTarget) -> Self {
        let prefs: NotificationPrefs = target
            .settings
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default();
        let time_zone = prefs
            .time_zone
            .as_deref()
            .and_then(|zone| zone.parse().ok())
            .unwrap_or(chrono_tz::UTC);
        Recipient {
            device_id: target.device_id.clone(),
            user_id: target.user_id.clone(),
            role: target.role,
            prefs,
            time_zone,
        }
    }

    /// Only those who may act are pushed to: viewers get nothing that asks them to act.
    fn may_act(&self) -> bool {
        self.role.at_least(Role::Oncall)
    }

    fn notification(
        &self,
        transition: &Transition<'_>,
        now: DateTime<Utc>,
        project_name: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Notification> {
        let local = now.with_timezone(&self.time_zone).time();
        select_named(transition, &self.prefs, self.role, local, project_name)
    }

    /// What a person the escalation ladder names is told: their own mutes and quiet hours do
    /// not silence the ladder, which named them because they are the one to answer.
    fn page(
        &self,
        transition: &Transition<'_>,
        now: DateTime<Utc>,
        project_name: &dyn Fn(&str) -> Option<String>,
    ) -> Option<Notification> {
        let local = now.with_timezone(&self.time_zone).time();
        select_named(
            transition,
            &NotificationPrefs::default(),
            self.role,
            local,
            project_name,
        )
    }
}

/// An approval's push-relevant state: its status, and on a ladder its level and whether
/// someone acknowledged it (`pending@2`, `pending@2+ack`).
fn approval_state(approval: &Approval) -> String {
    match &approval.escalation {
        Some(ladder) if approval.status == ApprovalStatus::Pending => format!(
            "pending@{}{}",
            ladder.level,
            if ladder.acked_at.is_some() {
                "+ack"
            } else {
                ""
            }
        ),
        _ => approval.status.as_str().to_owned(),
    }
}

/// The level and acknowledgement a remembered approval state records.
fn ladder_of(state: Option<&str>) -> (i64, bool) {
    let Some(ladder) = state.and_then(|s| s.strip_prefix("pending@")) else {
        return (0, false);
    };
    let (level, acked) = match ladder.strip_suffix("+ack") {
        Some(level) => (level, true),
        None => (ladder, false),
    };
    (level.parse().unwrap_or(0), acked)
}

/// The users a ladder's trail says it told by push, at levels after `after_level`.
fn pushed_to(ladder: &Escalation, after_level: i64) -> HashSet<String> {
    ladder
        .notified
        .iter()
        .filter(|n| n.level > after_level && n.channel == Some(NotifyChannel::Push))
        .map(|n| n.user_id.clone())
        .collect()
}

/// The push-relevant state of a resource, as the dispatcher remembers it between events.
pub fn state_of(payload: &EventPayload) -> Option<(&str, String)> {
    match payload {
        EventPayload::Approval(a) => Some((&a.id, approval_state(a))),
        EventPayload::Agent(a) => Some((&a.id, a.status.as_str().to_owned())),
        EventPayload::Stop(s) => Some((&s.id, s.status.as_str().to_owned())),
        EventPayload::Project(p) => Some((&p.id, p.budget_state().as_str().to_owned())),
        _ => None,
    }
}

/// Plans one tenant's run of events.
pub struct Planner<'a> {
    pub tenant_id: &'a str,
    pub now: DateTime<Utc>,
    pub recipients: &'a [Recipient],
    pub project_names: &'a HashMap<String, String>,
    /// Who the escalation ladder's levels name, read when a ladder is among the events: its
    /// pages go to them, whether or not the trail (which stops growing) lists them.
    pub ladder_names: Option<&'a LevelNames>,
    /// The tenant's choice of what a lock screen may show.
    pub detail: PushDetail,
    /// Remembered states by resource id; updated as events are planned.
    pub states: HashMap<String, String>,
    /// Requests seen settled: no later event of theirs makes a push, so their states need not
    /// be remembered.
    pub settled: HashSet<String>,
    /// Each device's budget for a burst, and what it holds back.
    pub bursts: Bursts,
    pub pushes: Vec<NewPush>,
}

impl Planner<'_> {
    pub fn plan(&mut self, event: &Event) {
        let Ok(payload) = event.payload() else {
            return;
        };
        let Some((id, state)) = state_of(&payload) else {
            return;
        };
        if let EventPayload::Approval(approval) = &payload {
            if approval.status == ApprovalStatus::Pending {
                self.settled.remove(id);
            } else {
                self.settled.insert(id.to_owned());
            }
        }
        let was = self.states.insert(id.to_owned(), state.clone());
        if was.as_deref() == Some(state.as_str()) {
            return;
        }
        let at = event.at;
        match &payload {
            EventPayload::Approval(after) => self.approval(was.as_deref(), after, event.seq, at),
            EventPayload::Agent(after) => {
                let before = was.and_then(|s| s.parse().ok()).map(|status| Agent {
                    status,
                    ..after.clone()
                });
                let transition = Transition::Agent {
                    before: before.as_ref(),
                    after,
                };
                self.news(&transition, event.seq, at, Some(&after.project_id), None);
                if after.status != AgentStatus::Error {
                    self.over_everywhere(&Notification::agent_error_key(&after.id));
                }
            }
            EventPayload::Stop(after) => {
                let before = was.and_then(|s| s.parse().ok()).map(|status| Stop {
                    status,
                    ..after.clone()
                });
                let transition = Transition::Stop {
                    before: before.as_ref(),
                    after,
                };
                self.news(
                    &transition,
                    event.seq,
                    at,
                    after.project_id.as_deref(),
                    None,
                );
            }
            EventPayload::Project(after) => {
                if let Some(was) = was.and_then(|s| s.parse::<BudgetState>().ok()) {
                    let transition = Transition::Budget { was, after };
                    self.news(&transition, event.seq, at, Some(&after.id), None);
                }
                if after.budget_state() == BudgetState::Ok {
                    self.over_everywhere(&Notification::budget_key(&after.id));
                }
            }
            _ => {}
        }
    }

    fn name(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |id: &str| self.project_names.get(id).cloned()
    }

    /// Those the ladder paged at its levels after `after_level` up to its current one: whom
    /// the trail lists, and whom those levels name (judged at `at`), so that a page goes out
    /// even past the trail's end. With `named_only_past_a_full_trail`, the levels' names are
    /// added only when the trail has stopped growing (for who to tell that a request was
    /// taken or answered: the trail says it exactly while it has room).
    fn paged(
        &self,
        ladder: &Escalation,
        after_level: i64,
        at: DateTime<Utc>,
        named_only_past_a_full_trail: bool,
    ) -> HashSet<String> {
        let mut users = pushed_to(ladder, after_level);
        if let Some(names) = self.ladder_names {
            if !named_only_past_a_full_trail || trail_is_full(ladder) {
                users.extend(names.named(after_level + 1..=ladder.level, at));
            }
        }
        users
    }

    fn approval(&mut self, was: Option<&str>, after: &Approval, seq: i64, at: DateTime<Utc>) {
        let was_pending = was.is_some_and(|w| w.starts_with(ApprovalStatus::Pending.as_str()));
        let ladder = after
            .escalation
            .as_ref()
            .filter(|_| after.status == ApprovalStatus::Pending);
        if let Some(ladder) = ladder {
            let (was_level, was_acked) = ladder_of(was);
            if after.expires_at <= self.now {
                return;
            }
            if ladder.acked_at.is_some() && !was_acked {
                self.acked(after, ladder, seq, at);
                return;
            }
            if ladder.level > was_level {
                let paged = self.paged(ladder, was_level, at, false);
                self.escalated(after, &paged, seq, at);
                return;
            }
            if ladder.level > 0 || was_pending {
                return;
            }
        }
        if after.status == ApprovalStatus::Pending && !was_pending {
            if after.expires_at <= self.now {
                return;
            }
            let transition = Transition::Approval {
                before: None,
                after,
            };
            self.news(
                &transition,
                seq,
                at,
                Some(&after.project_id),
                Some(after.expires_at),
            );
        } else if after.status != ApprovalStatus::Pending && was_pending {
            // The resolution goes where the request went: to whoever the request would be
            // shown to now, under the same collapse key, so it takes the request down.
            let as_requested = Approval {
                status: ApprovalStatus::Pending,
                ..after.clone()
            };
            let transition = Transition::Approval {
                before: None,
                after: &as_requested,
            };
            let expires = at + RESOLUTION_LIFETIME;
            // A request that climbed a ladder was pushed only to those it named.
            let told = after
                .escalation
                .as_ref()
                .filter(|ladder| ladder.level > 0)
                .map(|ladder| self.paged(ladder, 0, at, true));
            let was_told = |r: &&Recipient| told.as_ref().is_none_or(|t| t.contains(&r.user_id));
            // Over wherever it was held back, whether or not its end is pushed (quiet hours
            // begun since, a role changed): a held request never stays counted.
            let held_on = self.over_everywhere(&Notification::approval_key(&after.id));
            for recipient in self
                .recipients
                .iter()
                .filter(|r| r.may_act())
                .filter(was_told)
            {
                if recipient
                    .notification(&transition, self.now, &self.name())
                    .is_none()
                {
                    continue;
                }
                if held_on.contains(&recipient.device_id) {
                    // Held back in a burst: the phone never showed it; its notice counts one
                    // fewer instead.
                    continue;
                }
                let payload = self.approval_payload(
                    PushKind::ApprovalResolved,
                    after,
                    seq,
                    Some(after.status.as_str()),
                );
                let body = after.resolution_sentence();
                self.enqueue(
                    &recipient.device_id.clone(),
                    payload,
                    body,
                    false,
                    expires,
                    at,
                );
            }
        }
    }

    /// The ladder fired: the request goes to the devices of those it told by push, whatever
    /// their own notification settings.
    fn escalated(
        &mut self,
        after: &Approval,
        users: &HashSet<String>,
        seq: i64,
        at: DateTime<Utc>,
    ) {
        let transition = Transition::Approval {
            before: None,
            after,
        };
        let mut planned = Vec::new();
        for recipient in self
            .recipients
            .iter()
            .filter(|r| r.may_act() && users.contains(&r.user_id))
        {
            let Some(notification) = recipient.page(&transition, self.now, &self.name()) else {
                continue;
            };
            let payload = self.approval_payload(PushKind::ApprovalRequested, after, seq, None);
            let urgent = payload.urgent();
            planned.push((recipient.device_id.clone(), payload, notification, urgent));
        }
        for (device_id, payload, notification, urgent) in planned {
            // A page is never held back: the ladder counts on it, and learns from its bounce.
            (self.bursts).push_anyway(&self.states, &device_id, &notification, self.now);
            let body = notification.body;
            self.enqueue(&device_id, payload, body, urgent, after.expires_at, at);
        }
    }

    /// Someone took it: everyone else the request was pushed to hears so, under the same
    /// collapse key, so the request on their lock screen gives way to "X is on it".
    fn acked(&mut self, after: &Approval, ladder: &Escalation, seq: i64, at: DateTime<Utc>) {
        let acker = ladder.acked_by.as_ref();
        let told = (ladder.level > 0).then(|| self.paged(ladder, 0, at, true));
        let transition = Transition::Approval {
            before: None,
            after,
        };
        let mut planned = Vec::new();
        for recipient in self.recipients.iter().filter(|r| r.may_act()) {
            if acker.is_some_and(|a| a.id == recipient.user_id) {
                continue;
            }
            let reached = match &told {
                Some(told) => told.contains(&recipient.user_id),
                None => recipient
                    .notification(&transition, self.now, &self.name())
                    .is_some(),
            };
            // Held back, it stays counted (it still waits), with no word of who took it.
            let key = Notification::approval_key(&after.id);
            if reached && !self.bursts.holds(&self.states, &recipient.device_id, &key) {
                planned.push(recipient.device_id.clone());
            }
        }
        let who = acker.map_or_else(|| "Someone".to_owned(), |a| a.name.clone());
        for device_id in planned {
            let payload =
                self.approval_payload(PushKind::ApprovalAcked, after, seq, Some("pending"));
            self.enqueue(
                &device_id,
                payload,
                format!("{who} is on it"),
                false,
                after.expires_at,
                at,
            );
        }
    }

    fn approval_payload(
        &self,
        kind: PushKind,
        approval: &Approval,
        seq: i64,
        status: Option<&str>,
    ) -> PushPayload {
        PushPayload {
            v: PushPayload::VERSION,
            kind,
            tenant_id: self.tenant_id.to_owned(),
            approval_id: Some(approval.id.clone()),
            project_id: Some(approval.project_id.clone()),
            project_name: self.project_names.get(&approval.project_id).cloned(),
            title: approval.title.clone(),
            risk: Some(approval.risk),
            expires_at: Some(approval.expires_at),
            status: status.map(str::to_owned),
            seq,
        }
    }

    /// Pushes what the policy would show each recipient for this transition.
    fn news(
        &mut self,
        transition: &Transition<'_>,
        seq: i64,
        at: DateTime<Utc>,
        project_id: Option<&str>,
        approval_expires: Option<DateTime<Utc>>,
    ) {
        let expires = approval_expires.unwrap_or(at + NEWS_LIFETIME);
        if expires <= self.now {
            return;
        }
        let mut planned: Vec<(String, PushPayload, Notification, bool)> = Vec::new();
        for recipient in self.recipients.iter().filter(|r| r.may_act()) {
            let Some((notification, kind)) = recipient
                .notification(transition, self.now, &self.name())
                .and_then(|n| push_kind(n.kind).map(|kind| (n, kind)))
            else {
                continue;
            };
            let (title, risk) = match transition {
                Transition::Approval { after, .. } => (after.title.clone(), Some(after.risk)),
                _ => (notification.title.clone(), None),
            };
            let payload = PushPayload {
                v: PushPayload::VERSION,
                kind,
                tenant_id: self.tenant_id.to_owned(),
                approval_id: notification.approval_id.clone(),
                project_id: project_id.map(str::to_owned),
                project_name: project_id.and_then(|id| self.project_names.get(id).cloned()),
                title,
                risk,
                expires_at: approval_expires,
                status: None,
                seq,
            };
            let urgent = payload.urgent();
            planned.push((recipient.device_id.clone(), payload, notification, urgent));
        }
        for (device_id, payload, notification, urgent) in planned {
            let body = notification.body.clone();
            let pushed = Pushed {
                urgent,
                expires,
                committed: at,
            };
            self.enqueue_unless_held(&device_id, payload, body, pushed, &notification);
        }
    }

    fn enqueue(
        &mut self,
        device_id: &str,
        payload: PushPayload,
        body: String,
        urgent: bool,
        expires: DateTime<Utc>,
        committed: DateTime<Utc>,
    ) {
        let (payload, body) = match self.detail {
            PushDetail::Full => (payload, body),
            PushDetail::Minimal => minimal(payload),
        };
        let collapse_key = payload.collapse_key();
        let message = QueuedMessage { payload, body }.shown_plainly();
        let Ok(json) = serde_json::to_string(&message) else {
            return;
        };
        self.pushes.push(NewPush {
            device_id: device_id.to_owned(),
            collapse_key,
            payload: json,
            urgent,
            expires_at_ms: expires.timestamp_millis(),
            committed_at_ms: committed.timestamp_millis(),
            not_before_ms: None,
        });
    }
}

/// The push with nothing a lock screen could leak: no project name, no request title, no
/// person's name; only what kind of thing happened and, for a request, its risk.
fn minimal(payload: PushPayload) -> (PushPayload, String) {
    let title = match (payload.kind, payload.risk) {
        (PushKind::ApprovalRequested, Some(risk)) => format!("Approval needed ({risk})"),
        (PushKind::ApprovalRequested, None) => "Approval needed".to_owned(),
        (PushKind::ApprovalResolved, _) => "Approval no longer waiting".to_owned(),
        (PushKind::ApprovalAcked, _) => "Someone is on an approval".to_owned(),
        (PushKind::AgentError, _) => "An agent stopped with an error".to_owned(),
        (PushKind::StopCompleted, _) => "Emergency stop completed".to_owned(),
        (PushKind::StopPartial, _) => "Emergency stop incomplete".to_owned(),
        (PushKind::BudgetWarning, _) => "Budget warning".to_owned(),
        (PushKind::BudgetExceeded, _) => "Budget exceeded".to_owned(),
        // Counts only: no name in them.
        (PushKind::RequestsHeld | PushKind::AlertsHeld, _) => payload.title.clone(),
    };
    let body = "Open Spartex Control to see it.".to_owned();
    let payload = PushPayload {
        title,
        project_name: None,
        ..payload
    };
    (payload, body)
}

/// The push for a kind the policy selects; `None` for a client's notice about itself.
fn push_kind(kind: NotificationKind) -> Option<PushKind> {
    Some(match kind {
        NotificationKind::ApprovalRequested => PushKind::ApprovalRequested,
        NotificationKind::ApprovalAcked => PushKind::ApprovalAcked,
        NotificationKind::AgentError => PushKind::AgentError,
        NotificationKind::StopCompleted => PushKind::StopCompleted,
        NotificationKind::StopPartial => PushKind::StopPartial,
        NotificationKind::BudgetWarning => PushKind::BudgetWarning,
        NotificationKind::BudgetExceeded => PushKind::BudgetExceeded,
        NotificationKind::ApprovalResolved => PushKind::ApprovalResolved,
        NotificationKind::DiskFull | NotificationKind::StillRunning | NotificationKind::Summary => {
            return None
        }
    })
}

#[path = "plan_bursts.rs"]
mod bursts;

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;
