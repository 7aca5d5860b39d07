//! Who is on call: from the server when it answers, else read from the shifts of the last
//! answer (the server sends the week ahead) at this machine's time, so the on-call screen and
//! `spartex oncall` work on a plane too. The app does not work the schedule out itself: that
//! takes the IANA time zone database, which it leaves out (see `spartex-policy`'s `rota`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use spartex_api::endpoints::{
    CreateOverride, DeleteOverride, GetEscalationPolicy, GetOnCall, PutEscalationPolicy,
};
use spartex_api::{Endpoint, ErrorCode, EscalationPolicy, Method, NewOverride, OnCall, Risk};

use crate::error::{CoreError, CoreResult};
use crate::Account;

/// The last `GET /oncall` answer, as the cache keeps it.
const CACHED_ANSWER: &str = "oncall_answer";

/// Who is on call, and whether the server said so just now or the cache worked it out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OnCallView {
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub oncall: OnCall,
    /// False when worked out offline from the cached schedule.
    pub live: bool,
}

impl Account {
    /// Who is on call now and next, the schedule, the overrides and the week ahead.
    pub async fn oncall(&self) -> CoreResult<OnCallView> {
        match self.session().call(&GetOnCall {}, None).await {
            Ok(answer) => self.keep_answer(answer).await,
            Err(error) if error.is_transient() => {
                self.cached_oncall(self.server_now()).await?.ok_or(error)
            }
            Err(error) => Err(error),
        }
    }

    /// Someone covers for a while ("cover for …"): an oncall user as themselves, a manager
    /// anyone. Online only: who is on call tonight must be settled, not queued.
    pub async fn cover(&self, cover: NewOverride) -> CoreResult<OnCallView> {
        let key = uuid::Uuid::new_v4().to_string();
        let answer = self
            .session()
            .call(&CreateOverride { body: cover }, Some(&key))
            .await?;
        self.keep_answer(answer).await
    }

    /// Removes an override (its person or author, or a manager). Online only.
    pub async fn remove_override(&self, override_id: &str) -> CoreResult<OnCallView> {
        let key = uuid::Uuid::new_v4().to_string();
        let delete = DeleteOverride {
            override_id: override_id.to_owned(),
        };
        let answer = self.session().call(&delete, Some(&key)).await?;
        self.keep_answer(answer).await
    }

    /// The escalation policy: who is told of a high-risk request, and when.
    pub async fn escalation_policy(&self) -> CoreResult<EscalationPolicy> {
        self.session().call(&GetEscalationPolicy {}, None).await
    }

    /// Saves the escalation policy (managers and owners). Online only. Refused while the policy
    /// on the server holds what this version cannot read (a newer server's setting or risk):
    /// saving would drop it without a word.
    pub async fn put_escalation_policy(
        &self,
        policy: EscalationPolicy,
    ) -> CoreResult<EscalationPolicy> {
        let as_written = self.session().call(&PolicyAsWritten, None).await?;
        if let Some(unknown) = beyond_this_version(as_written) {
            return Err(CoreError::Invalid {
                code: ErrorCode::ValidationFailed,
                message: format!(
                    "The escalation policy has {unknown}, which this version of Spartex Control \
                     does not know and saving from it would drop. Update the app to change it."
                ),
            });
        }
        let key = uuid::Uuid::new_v4().to_string();
        self.session()
            .call(&PutEscalationPolicy { body: policy }, Some(&key))
            .await
    }

    async fn keep_answer(&self, answer: OnCall) -> CoreResult<OnCallView> {
        if let Ok(json) = serde_json::to_string(&answer) {
            self.store().set_meta(CACHED_ANSWER, &json).await?;
        }
        Ok(OnCallView {
            oncall: answer,
            live: true,
        })
    }

    /// Who is on call, from the cache alone; an error when nothing was ever cached.
    pub async fn cached_oncall_now(&self) -> CoreResult<OnCallView> {
        self.cached_oncall(self.server_now())
            .await?
            .ok_or_else(|| CoreError::NotCached {
                what: "on-call schedule",
                id: "oncall".into(),
            })
    }

    async fn cached_oncall(&self, now: DateTime<Utc>) -> CoreResult<Option<OnCallView>> {
        let Some(answer) = self.store().meta(CACHED_ANSWER).await? else {
            return Ok(None);
        };
        let answer: OnCall = serde_json::from_str(&answer).map_err(|e| {
            CoreError::Local(format!("the cached on-call schedule is unreadable: {e}"))
        })?;
        Ok(Some(OnCallView {
            oncall: worked_out(answer, now),
            live: false,
        }))
    }
}

/// `GET /escalation-policy` as the server wrote it, to see what this version cannot read.
struct PolicyAsWritten;

impl Endpoint for PolicyAsWritten {
    const METHOD: Method = Method::Get;
    type Body = ();
    type Answer = serde_json::Value;

    fn path(&self) -> String {
        GetEscalationPolicy {}.path()
    }
}

/// What of a policy this version cannot read, in words: fields it does not know, or a risk it
/// reads as unknown; `None` when it reads it whole (or not at all: then the server judges).
fn beyond_this_version(as_written: serde_json::Value) -> Option<String> {
    let mut unknown_fields = Vec::new();
    let policy: EscalationPolicy =
        serde_ignored::deserialize(as_written, |path| unknown_fields.push(path.to_string()))
            .ok()?;
    if !unknown_fields.is_empty() {
        return Some(format!("settings named {}", unknown_fields.join(", ")));
    }
    policy
        .applies_to
        .contains(&Risk::Unknown)
        .then(|| "a risk".to_owned())
}

/// The last answer as it reads at `now`: who the shift covering `now` names, when it ends, and
/// what is still ahead. Past the last shift (a week after the last answer) nobody is named.
pub fn worked_out(mut answer: OnCall, now: DateTime<Utc>) -> OnCall {
    answer.week.retain(|shift| shift.ends_at > now);
    let current = answer.week.first().filter(|shift| shift.starts_at <= now);
    answer.now = current
        .map(|shift| {
            shift
                .user_ids
                .iter()
                .filter_map(|id| answer.people.iter().find(|u| &u.id == id).cloned())
                .collect()
        })
        .unwrap_or_default();
    answer.next_handoff_at = current.map(|shift| shift.ends_at);
    if let Some(shift) = answer.week.first_mut() {
        shift.starts_at = shift.starts_at.max(now);
    }
    answer.overrides.retain(|o| o.ends_at > now);
    answer
}

#[cfg(test)]
mod tests {
    use spartex_api::{OnCallShift, Role, Schedule, User};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an instant")
    }

    #[test]
    fn a_policy_with_what_this_version_cannot_read_is_told_apart() {
        let policy = |extra: serde_json::Value| {
            let mut policy = serde_json::json!({"applies_to": ["high", "critical"],
                "levels": [{"after_s": 0, "targets": ["oncall_now"]}], "repeat": 1, "version": 3});
            if let (Some(policy), Some(extra)) = (policy.as_object_mut(), extra.as_object()) {
                policy.extend(extra.clone());
            }
            policy
        };
        assert_eq!(beyond_this_version(policy(serde_json::json!({}))), None);
        let newer_setting =
            beyond_this_version(policy(serde_json::json!({"quiet_weekends": true})));
        assert_eq!(
            newer_setting.as_deref(),
            Some("settings named quiet_weekends")
        );
        let newer_risk =
            beyond_this_version(policy(serde_json::json!({"applies_to": ["catastrophic"]})));
        assert_eq!(newer_risk.as_deref(), Some("a risk"));
    }

    fn person(id: &str) -> User {
        User {
            id: id.into(),
            email: format!("{id}@acme.test"),
            name: id.to_uppercase(),
            role: Role::Oncall,
        }
    }

    fn answer() -> OnCall {
        let shift = |from: &str, to: &str, who: &str| OnCallShift {
            starts_at: at(from),
            ends_at: at(to),
            user_ids: vec![who.into()],
        };
        OnCall {
            now: vec![person("dana")],
            next_handoff_at: Some(at("2027-01-05T20:00:00Z")),
            schedule: Schedule {
                layers: Vec::new(),
                version: None,
            },
            overrides: Vec::new(),
            week: vec![
                shift("2027-01-05T12:00:00Z", "2027-01-05T20:00:00Z", "dana"),
                shift("2027-01-05T20:00:00Z", "2027-01-06T08:00:00Z", "priya"),
            ],
            people: vec![person("dana"), person("priya")],
            version: 2,
        }
    }

    #[test]
    fn offline_the_shift_covering_now_says_who_is_on_call() {
        let later = worked_out(answer(), at("2027-01-05T23:00:00Z"));
        assert_eq!(later.now, vec![person("priya")]);
        assert_eq!(later.next_handoff_at, Some(at("2027-01-06T08:00:00Z")));
        assert_eq!(later.week.len(), 1);
        assert_eq!(later.week[0].starts_at, at("2027-01-05T23:00:00Z"));
    }

    #[test]
    fn past_the_last_shift_nobody_is_named() {
        let stale = worked_out(answer(), at("2027-01-07T00:00:00Z"));
        assert!(stale.now.is_empty());
        assert_eq!(stale.next_handoff_at, None);
        assert!(stale.week.is_empty());
    }
}
