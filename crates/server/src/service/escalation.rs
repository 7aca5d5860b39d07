//! The escalation ladder: an approval the policy covers tells its first level at once, then
//! each next level when its wait is over and nobody has acknowledged or decided. Everyone a
//! level names is paged on every device they have; when none of them is known to be
//! reachable, the next level is told at once as well (up to the ladder's last level: a repeat
//! waits for its time). Its state is the approval's `escalation`, so a restart resumes where
//! it was: the sweeper fires what came due meanwhile, and nothing twice.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use spartex_api::{
    Approval, ApprovalStatus, DecidedBy, ErrorCode, Escalation, EscalationLevel, EscalationPolicy,
    EscalationTarget, Notified, NotifyChannel, NotifyResult, OnCallConfig, Role, User,
};

use super::oncall::{config_or_empty, on_call_now, policy};
use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::store::{decode_one, DocKind, Store, StoreResult, ONCALL_ID, POLICY_ID};
use crate::write::Write;

/// A device that took a push this recently (or was registered, or registered again, this
/// recently) is known to reach its user.
pub const PUSH_REACH_WINDOW: Duration = Duration::hours(24);
/// The shortest time between two runs of the ladder, however its levels are spaced.
const MIN_CYCLE: Duration = Duration::seconds(60);
/// The trail keeps at most this many entries; a huge tenant's `role:` target cannot bloat it.
/// Those a level names past it are paged all the same ([`LevelNames`]), only not listed.
const MAX_TRAIL: usize = 300;

/// When the ladder's `number`th level fires (1-based, counting repeats), if it ever does.
/// Waits count from the approval's creation; a repeat runs the whole ladder again, a cycle
/// later, where a cycle is the last level's wait plus the gap before the last level.
pub fn level_due_at(
    policy: &EscalationPolicy,
    created_at: DateTime<Utc>,
    number: i64,
) -> Option<DateTime<Utc>> {
    let levels = i64::try_from(policy.levels.len()).ok().filter(|n| *n > 0)?;
    if number < 1 || number > levels * (policy.repeat + 1) {
        return None;
    }
    let index = usize::try_from((number - 1) % levels).ok()?;
    let cycle = (number - 1) / levels;
    let last = policy.levels.last()?.after_s;
    let before_last = policy
        .levels
        .len()
        .checked_sub(2)
        .and_then(|i| policy.levels.get(i))
        .map_or(0, |level| level.after_s);
    let period = Duration::seconds(last + (last - before_last)).max(MIN_CYCLE);
    Some(
        created_at
            + period * i32::try_from(cycle).ok()?
            + Duration::seconds(policy.levels.get(index)?.after_s),
    )
}

/// The policy's level that the ladder's `number`th firing (1-based, counting repeats) is.
fn level_of(policy: &EscalationPolicy, number: i64) -> Option<&EscalationLevel> {
    let levels = i64::try_from(policy.levels.len()).ok().filter(|n| *n > 0)?;
    let index = usize::try_from((number - 1).rem_euclid(levels)).ok()?;
    policy.levels.get(index)
}

/// The people `targets` name, once each, only those who may act; `on_call` is who is on call.
fn named<'u>(users: &'u [User], on_call: &[String], targets: &[String]) -> Vec<&'u User> {
    let mut named: Vec<&User> = Vec::new();
    for target in targets
        .iter()
        .filter_map(|t| t.parse::<EscalationTarget>().ok())
    {
        let matching: Vec<&User> = match &target {
            EscalationTarget::OncallNow => {
                users.iter().filter(|u| on_call.contains(&u.id)).collect()
            }
            EscalationTarget::Role(role) => users.iter().filter(|u| u.role == *role).collect(),
            EscalationTarget::User(id) => users.iter().filter(|u| &u.id == id).collect(),
        };
        for user in matching {
            if user.role.at_least(Role::Oncall) && !named.iter().any(|n| n.id == user.id) {
                named.push(user);
            }
        }
    }
    named
}

/// Whether the trail has stopped growing, so that some of those told may not be on it.
pub fn trail_is_full(ladder: &Escalation) -> bool {
    ladder.notified.len() >= MAX_TRAIL
}

/// Who the ladder's levels name, for the push planner, which pages from these and not only from
/// the trail: the trail stops growing at [`MAX_TRAIL`] entries, and a page must not stop with
/// it.
pub struct LevelNames {
    policy: EscalationPolicy,
    users: Vec<User>,
    config: OnCallConfig,
}

impl LevelNames {
    /// The tenant's policy, people and on-call schedule as stored now.
    pub async fn read(store: &dyn Store, tenant_id: &str) -> StoreResult<LevelNames> {
        let policy = store
            .get_doc(tenant_id, DocKind::EscalationPolicy, POLICY_ID)
            .await?
            .and_then(|doc| decode_one(tenant_id, doc).ok())
            .unwrap_or_else(EscalationPolicy::none);
        let stored = store
            .get_doc(tenant_id, DocKind::OnCall, ONCALL_ID)
            .await?
            .and_then(|doc| decode_one(tenant_id, doc).ok());
        Ok(LevelNames {
            policy,
            users: store.users(tenant_id).await?,
            // An empty schedule's time of change is never read.
            config: config_or_empty(stored, DateTime::<Utc>::default()),
        })
    }

    /// The ids of those the ladder's firings `numbers` (counting repeats) name, with who was on
    /// call at `at`: everyone on those levels who may act.
    pub fn named(
        &self,
        numbers: std::ops::RangeInclusive<i64>,
        at: DateTime<Utc>,
    ) -> HashSet<String> {
        let levels = i64::try_from(self.policy.levels.len()).unwrap_or(0);
        // A repeat names whom the level it repeats names: one run of the ladder at most.
        let first = (*numbers.start()).max(1);
        let last = (*numbers.end()).min(first + levels - 1);
        let on_call: Vec<String> = on_call_now(&self.config, &self.users, at)
            .into_iter()
            .map(|u| u.id.clone())
            .collect();
        (first..=last)
            .filter_map(|number| level_of(&self.policy, number))
            .flat_map(|level| named(&self.users, &on_call, &level.targets))
            .map(|user| user.id.clone())
            .collect()
    }
}

/// What the ladder knows about the people it may tell.
struct Reach {
    users: Vec<User>,
    on_call: Vec<String>,
    /// Those with a device to page, whether or not it took a push lately.
    with_a_device: HashSet<String>,
    /// Those with a device known to reach them ([`PUSH_REACH_WINDOW`]).
    by_push: HashSet<String>,
    online: HashSet<String>,
}

impl Reach {
    async fn read(w: &mut Write, tenant_id: &str) -> ApiResult<Reach> {
        let now = w.now();
        // Read in the write, as everything a write reads is: not through the pool.
        let users = w.tx().users(tenant_id).await?;
        let stored = w.get::<OnCallConfig>(tenant_id, ONCALL_ID).await?;
        let config = config_or_empty(stored, now);
        let on_call = on_call_now(&config, &users, now)
            .into_iter()
            .map(|u| u.id.clone())
            .collect();
        let devices = w.tx().push_targets(tenant_id).await?;
        let with_a_device = devices.iter().map(|d| d.user_id.clone()).collect();
        let by_push = devices
            .into_iter()
            .filter(|device| device.reachable(now, PUSH_REACH_WINDOW))
            .map(|device| device.user_id)
            .collect();
        let elsewhere: HashSet<String> = w
            .tx()
            .online_users(tenant_id, crate::presence::SHARED_FOR)
            .await?
            .into_iter()
            .collect();
        let here = &w.state().presence;
        let online = users
            .iter()
            .filter(|u| here.is_online(tenant_id, &u.id) || elsewhere.contains(&u.id))
            .map(|u| u.id.clone())
            .collect();
        Ok(Reach {
            users,
            on_call,
            with_a_device,
            by_push,
            online,
        })
    }

    /// The people a level names, once each, only those who may act.
    fn targets(&self, targets: &[String]) -> Vec<&User> {
        named(&self.users, &self.on_call, targets)
    }

    /// How a person named is told: paged on their devices if they have any (whether or not
    /// a device took a push lately: a quiet day must not silence the ladder), else on their
    /// open app; `None` when there is no way at all.
    fn channel(&self, user_id: &str) -> Option<NotifyChannel> {
        if self.with_a_device.contains(user_id) {
            Some(NotifyChannel::Push)
        } else if self.online.contains(user_id) {
            Some(NotifyChannel::Socket)
        } else {
            None
        }
    }

    /// Whether a person is known to be reachable now: a device of theirs took a push lately
    /// (or was registered lately) without failing since, or an app of theirs that can alert
    /// them is open. A level
    /// nobody reachable is on is told all the same, and the next level at once as well.
    fn reachable(&self, user_id: &str) -> bool {
        self.by_push.contains(user_id) || self.online.contains(user_id)
    }
}

/// Puts a new approval on the ladder when the tenant's policy covers its risk, telling the
/// first level at once.
pub async fn start(w: &mut Write, tenant_id: &str, approval: &mut Approval) -> ApiResult<()> {
    let policy = policy(w, tenant_id).await?;
    if !policy.covers(approval.risk) {
        return Ok(());
    }
    approval.escalation = Some(Escalation::default());
    let reach = Reach::read(w, tenant_id).await?;
    climb(w.now(), &policy, &reach, approval, Wait::Due);
    Ok(())
}

/// Fires the levels of a pending approval that have come due; the sweeper calls it.
pub async fn advance(w: &mut Write, tenant_id: &str, approval_id: &str) -> ApiResult<()> {
    let Some(mut approval) = w.get::<Approval>(tenant_id, approval_id).await? else {
        return Ok(());
    };
    let due = approval
        .escalation
        .as_ref()
        .and_then(|e| e.next_at)
        .is_some_and(|next| next <= w.now());
    if approval.status != ApprovalStatus::Pending || !due {
        return Ok(());
    }
    let policy = policy(w, tenant_id).await?;
    let reach = Reach::read(w, tenant_id).await?;
    climb(w.now(), &policy, &reach, &mut approval, Wait::Due);
    w.update(tenant_id, &mut approval).await
}

/// Whether pages to `user_ids` bouncing can matter to `approval`'s ladder: it is still climbing
/// and told one of them by push. A cheap look before taking the tenant's write turn.
pub fn bounce_matters(approval: &Approval, user_ids: &[String], now: DateTime<Utc>) -> bool {
    approval.status == ApprovalStatus::Pending
        && approval.expires_at > now
        && approval.escalation.as_ref().is_some_and(|e| {
            e.acked_at.is_none()
                && e.notified
                    .iter()
                    .any(|n| user_ids.contains(&n.user_id) && paged(n))
        })
}

fn paged(told: &Notified) -> bool {
    told.channel == Some(NotifyChannel::Push) && told.result == NotifyResult::Sent
}

/// Pages to `user_ids` on `approval_id`'s ladder will not arrive: their push service said the
/// device is gone or refused the page, this server cannot push to the device's platform, or
/// the page keeps failing (the push sender's `will_not_arrive`). Each of them with no other
/// way in now (another phone that took a push lately, an open app) has their latest page on
/// the trail turned `failed`; and when nobody on the current level is still known to be
/// reachable, the next level is told at once, as for a level nobody could be reached on,
/// instead of after its wait.
pub async fn pages_bounced(
    w: &mut Write,
    tenant_id: &str,
    approval_id: &str,
    user_ids: &[String],
) -> ApiResult<()> {
    let Some(mut approval) = w.get::<Approval>(tenant_id, approval_id).await? else {
        return Ok(());
    };
    if !bounce_matters(&approval, user_ids, w.now()) {
        return Ok(());
    }
    let reach = Reach::read(w, tenant_id).await?;
    let Some(escalation) = approval.escalation.as_mut() else {
        return Ok(());
    };
    let mut failed_on_this_level = false;
    let mut failed_any = false;
    for user_id in user_ids.iter().filter(|id| !reach.reachable(id)) {
        let latest_page = escalation
            .notified
            .iter_mut()
            .rev()
            .find(|n| &n.user_id == user_id && paged(n));
        if let Some(told) = latest_page {
            told.result = NotifyResult::Failed;
            failed_any = true;
            failed_on_this_level |= told.level == escalation.level;
        }
    }
    if !failed_any {
        return Ok(());
    }
    let level = escalation.level;
    let nobody_reached = escalation
        .notified
        .iter()
        .filter(|n| n.level == level)
        .all(|n| n.result != NotifyResult::Sent || !reach.reachable(&n.user_id));
    if failed_on_this_level && nobody_reached {
        let policy = policy(w, tenant_id).await?;
        climb(w.now(), &policy, &reach, &mut approval, Wait::Skip);
    }
    w.update(tenant_id, &mut approval).await
}

/// Whether the next level waits for its time.
#[derive(PartialEq)]
enum Wait {
    Due,
    /// Nobody on the level before was reached: the next is told now (unless it starts the
    /// ladder's next run, which waits for its time).
    Skip,
}

/// Fires every level due by now, and each level after one nobody is known to be reachable on
/// (every person named is told all the same); then sets when the next is due. Moving on at
/// once stops at the ladder's last level: a repeat is a later try, for people whose phones may
/// be back by then, so it waits for its time rather than running at once.
fn climb(
    now: DateTime<Utc>,
    policy: &EscalationPolicy,
    reach: &Reach,
    approval: &mut Approval,
    wait: Wait,
) {
    let created_at = approval.created_at;
    let Some(escalation) = approval.escalation.as_mut() else {
        return;
    };
    let levels = i64::try_from(policy.levels.len()).unwrap_or(1).max(1);
    let mut skip_wait = wait == Wait::Skip;
    escalation.next_at = None;
    while escalation.acked_at.is_none() {
        let number = escalation.level + 1;
        let Some(due) = level_due_at(policy, created_at, number) else {
            break;
        };
        let starts_a_repeat = number > levels && (number - 1) % levels == 0;
        if due > now && (!skip_wait || starts_a_repeat) {
            escalation.next_at = Some(due);
            break;
        }
        let targets = level_of(policy, number)
            .map(|level| reach.targets(&level.targets))
            .unwrap_or_default();
        let mut reached = false;
        for user in targets {
            let channel = reach.channel(&user.id);
            reached |= reach.reachable(&user.id);
            if escalation.notified.len() < MAX_TRAIL {
                escalation.notified.push(Notified {
                    user_id: user.id.clone(),
                    user_name: user.name.clone(),
                    at: now,
                    level: number,
                    channel,
                    result: match channel {
                        Some(_) => NotifyResult::Sent,
                        None => NotifyResult::SkippedUnreachable,
                    },
                });
            }
        }
        escalation.level = number;
        skip_wait = !reached;
    }
}

/// The ladder stops when the approval is settled.
pub fn settle(approval: &mut Approval) {
    if let Some(escalation) = approval.escalation.as_mut() {
        escalation.next_at = None;
    }
}

/// `POST /approvals/{id}/ack`: "I am on it". Stops the ladder; the approval stays pending.
pub async fn ack(w: &mut Write, user: &UserPrincipal, id: &str) -> ApiResult<Approval> {
    user.require(Role::Oncall, "acknowledge approvals")?;
    let mut approval: Approval = w.fetch(&user.tenant_id, id, "approval").await?;
    if approval.status != ApprovalStatus::Pending || approval.expires_at <= w.now() {
        return Err(ApiError::Conflict {
            code: ErrorCode::ApprovalAlreadyDecided,
            message: format!(
                "{} There is nothing left to acknowledge.",
                approval.already_decided_message()
            ),
            details: serde_json::json!({ "approval": approval }),
        });
    }
    let escalation = approval.escalation.get_or_insert_with(Escalation::default);
    if escalation.acked_at.is_some() {
        return Ok(approval);
    }
    escalation.acked_by = Some(DecidedBy {
        id: user.user_id.clone(),
        name: user.name.clone(),
        email: Some(user.email.clone()),
        role: Some(user.role),
    });
    escalation.acked_at = Some(w.now());
    escalation.next_at = None;
    w.update(&user.tenant_id, &mut approval).await?;
    Ok(approval)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder(waits: &[i64], repeat: i64) -> EscalationPolicy {
        EscalationPolicy {
            applies_to: vec![spartex_api::Risk::Critical],
            levels: waits
                .iter()
                .map(|after_s| EscalationLevel {
                    after_s: *after_s,
                    targets: vec!["oncall_now".into()],
                })
                .collect(),
            repeat,
            version: None,
        }
    }

    #[test]
    fn levels_fire_at_their_waits_then_the_ladder_runs_again_a_cycle_later() {
        let created: DateTime<Utc> = "2027-01-05T12:00:00Z".parse().expect("an instant");
        let policy = ladder(&[0, 300, 900], 1);
        let at = |n| level_due_at(&policy, created, n).map(|t| (t - created).num_seconds());
        assert_eq!(at(1), Some(0));
        assert_eq!(at(2), Some(300));
        assert_eq!(at(3), Some(900));
        // A cycle is the last wait plus the gap before it: 900 + 600.
        assert_eq!(at(4), Some(1500));
        assert_eq!(at(6), Some(2400));
        assert_eq!(
            at(7),
            None,
            "one repeat, then the approval waits for its expiry"
        );
        assert_eq!(at(0), None);
    }

    #[test]
    fn a_one_level_ladder_repeats_no_faster_than_once_a_minute() {
        let created: DateTime<Utc> = "2027-01-05T12:00:00Z".parse().expect("an instant");
        let policy = ladder(&[0], 2);
        let at = |n| level_due_at(&policy, created, n).map(|t| (t - created).num_seconds());
        assert_eq!(at(1), Some(0));
        assert_eq!(at(2), Some(60));
        assert_eq!(at(3), Some(120));
        assert_eq!(at(4), None);
    }
}
