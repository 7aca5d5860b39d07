//! Who is on call: from the server when it answers, else worked out from the schedule last
//! cached (the answer of the last `GET /oncall`, updated by `oncall.updated` events), at this
//! machine's time, so the on-call screen and `spartex oncall` work on a plane too.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use spartex_api::endpoints::{
    CreateOverride, DeleteOverride, GetEscalationPolicy, GetOnCall, PutEscalationPolicy,
};
use spartex_api::{EscalationPolicy, NewOverride, OnCall, OnCallConfig, Role, Schedule};
use spartex_policy::Rota;

use crate::error::{CoreError, CoreResult};
use crate::store::meta;
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
                self.cached_oncall(Utc::now()).await?.ok_or(error)
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

    /// Saves the escalation policy (managers and owners). Online only.
    pub async fn put_escalation_policy(
        &self,
        policy: EscalationPolicy,
    ) -> CoreResult<EscalationPolicy> {
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
        self.cached_oncall(Utc::now())
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
        let mut answer: OnCall = serde_json::from_str(&answer).map_err(|e| {
            CoreError::Local(format!("the cached on-call schedule is unreadable: {e}"))
        })?;
        // A schedule change heard on the event stream since is newer than the answer.
        let heard = self.store().meta(meta::ONCALL).await?;
        if let Some(config) =
            heard.and_then(|json| serde_json::from_str::<OnCallConfig>(&json).ok())
        {
            if config.version > answer.version {
                answer.schedule = Schedule {
                    layers: config.layers,
                };
                answer.overrides = config.overrides;
                answer.version = config.version;
            }
        }
        Ok(Some(OnCallView {
            oncall: worked_out(answer, now),
            live: false,
        }))
    }
}

/// The answer recomputed at `now` from its own schedule, overrides and people.
pub fn worked_out(mut answer: OnCall, now: DateTime<Utc>) -> OnCall {
    let config = OnCallConfig {
        layers: answer.schedule.layers.clone(),
        overrides: answer.overrides.clone(),
        updated_at: now,
        version: answer.version,
    };
    let fallback: Vec<String> = answer
        .people
        .iter()
        .filter(|u| u.role == Role::Oncall)
        .map(|u| u.id.clone())
        .collect();
    let rota = Rota::new(&config, &fallback);
    answer.now = rota
        .on_call_at(now)
        .iter()
        .filter_map(|id| answer.people.iter().find(|u| &u.id == id).cloned())
        .collect();
    answer.next_handoff_at = rota.next_change_after(now);
    answer.week = rota.shifts(now, now + Duration::days(7));
    answer.overrides.retain(|o| o.ends_at > now);
    answer
}
