//! The planner's part in bursts ([`crate::push::burst`]): a push held back or queued, what
//! ended leaving the notices, and the notices queued as a run of events ends.

use chrono::{DateTime, Utc};
use spartex_api::{PushKind, PushPayload, HELD_SETTLED, HELD_URGENT};
use spartex_policy::Notification;

use super::{Planner, RESOLUTION_LIFETIME};
use crate::push::burst::Notice;

impl Planner<'_> {
    /// Queues the push of `alert` unless a burst holds it back from this device.
    pub(super) fn enqueue_unless_held(
        &mut self,
        device_id: &str,
        payload: PushPayload,
        body: String,
        pushed: Pushed,
        alert: &Notification,
    ) {
        let project = payload.project_name.clone();
        if self
            .bursts
            .admit(&self.states, device_id, alert, project, self.now)
        {
            let Pushed {
                urgent,
                expires,
                committed,
            } = pushed;
            self.enqueue(device_id, payload, body, urgent, expires, committed);
        }
    }

    /// What `key` told of is over (a request settled, an agent at work again, a project back
    /// within budget) on every device: returns those that held it back.
    pub(super) fn over_everywhere(&mut self, key: &str) -> std::collections::BTreeSet<String> {
        let devices = self.recipients.iter().map(|r| r.device_id.as_str());
        self.bursts.over(&self.states, devices, key)
    }

    /// Ends the run: queues the notices of what bursts hold back as it is now, after event
    /// `seq`, and remembers each device's burst.
    pub fn finish(&mut self, seq: i64) {
        let (notices, states) = std::mem::take(&mut self.bursts).finish(self.now);
        self.states.extend(states);
        for notice in notices {
            self.notice(notice, seq);
        }
    }

    fn notice(&mut self, notice: Notice, seq: i64) {
        let Notice {
            device_id,
            kind,
            summary,
            not_before_ms,
        } = notice;
        let (title, body, status) = match summary {
            Some(summary) => {
                let status = summary.urgent.then(|| HELD_URGENT.to_owned());
                (summary.title, summary.body, status)
            }
            None => (
                settled_title(kind).to_owned(),
                "Open Spartex Control to see what waits now.".to_owned(),
                Some(HELD_SETTLED.to_owned()),
            ),
        };
        let payload = PushPayload {
            v: PushPayload::VERSION,
            kind,
            tenant_id: self.tenant_id.to_owned(),
            approval_id: None,
            project_id: None,
            project_name: None,
            title,
            risk: None,
            expires_at: None,
            status,
            seq,
        };
        let urgent = payload.urgent();
        let expires = self.now + RESOLUTION_LIFETIME;
        // Counted from when it may go, so the delivery figures leave its wait out.
        let due = not_before_ms
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or(self.now);
        let before = self.pushes.len();
        self.enqueue(&device_id, payload, body, urgent, expires, due);
        if let Some(queued) = self.pushes.get_mut(before) {
            queued.not_before_ms = not_before_ms;
        }
    }
}

/// How a queued push is sent: whether it rings through, until when it is worth sending, and
/// when the event that caused it committed.
pub(super) struct Pushed {
    pub urgent: bool,
    pub expires: DateTime<Utc>,
    pub committed: DateTime<Utc>,
}

/// What a notice of held alerts says once nothing it told of is held any more.
fn settled_title(kind: PushKind) -> &'static str {
    match kind {
        PushKind::RequestsHeld => "The held requests wait no more",
        _ => "The held alerts are over",
    }
}
