//! Asking an agent again: a person's `POST /approvals/{id}/ask-again` on an expired request,
//! told to the agent on its control socket at once, and again each time it connects until it
//! answers: the request that names the ask (`answers_ask`), or else its next request of the
//! same kind, is the answer, and the asked request links to it (`ask_again_answered_by`), the
//! answer back to it when it named it (`answers_ask`).

use chrono::{DateTime, Duration, Utc};
use spartex_api::{AgentControl, Approval, ApprovalStatus, DecidedBy, ErrorCode, Role};

use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
use crate::store::{asked_again_key, DocFilter, DocKind};
use crate::write::Write;

/// `POST /approvals/{id}/ask-again`: tells the agent of an expired approval to propose again.
pub async fn ask_again(
    w: &mut Write,
    user: &UserPrincipal,
    id: &str,
    comment: Option<String>,
) -> ApiResult<Approval> {
    user.require(Role::Oncall, "ask an agent again")?;
    if comment.as_deref().is_some_and(|c| c.chars().count() > 4000) {
        return Err(ApiError::invalid(
            "`comment` is longer than 4000 characters.",
        ));
    }
    let comment = comment
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    let mut approval: Approval = w.fetch(&user.tenant_id, id, "approval").await?;
    if approval.status != ApprovalStatus::Expired {
        let message = match approval.status {
            ApprovalStatus::Pending => {
                "This request is still waiting for a decision: decide it instead of asking again."
                    .to_owned()
            }
            _ => format!(
                "{} Only an expired request can be asked again.",
                approval.already_decided_message()
            ),
        };
        return Err(ApiError::Conflict {
            code: ErrorCode::ApprovalNotExpired,
            message,
            details: serde_json::json!({ "approval": approval }),
        });
    }
    let raised_by_server = super::approvals::is_reserved_kind(&approval.kind);
    let Some(agent_id) = approval.agent_id.clone().filter(|_| !raised_by_server) else {
        return Err(ApiError::Conflict {
            code: ErrorCode::ApprovalNotExpired,
            message: "The server raised this request itself; there is no agent to ask again."
                .into(),
            details: serde_json::json!({ "approval": approval }),
        });
    };
    approval.ask_again_requested_at = Some(w.now());
    approval.ask_again_requested_by = Some(DecidedBy {
        id: user.user_id.clone(),
        name: user.name.clone(),
        email: Some(user.email.clone()),
        role: Some(user.role),
    });
    // Kept, so an agent that was not connected hears the comment when it connects; asked
    // again, an answered request is open again.
    approval.ask_again_comment = comment.clone();
    approval.ask_again_answered_by = None;
    w.update(&user.tenant_id, &mut approval).await?;
    w.push_to_agent(
        &agent_id,
        AgentControl::AskAgain {
            approval_id: approval.id.clone(),
            comment,
        },
    );
    Ok(approval)
}

/// How long an ask-again waits for its agent: one that connects later than this after the ask
/// is not told (the person can ask again).
pub const ASK_AGAIN_KEPT: Duration = Duration::hours(24);
/// How many of an agent's open asks of one day are read at a time, newest first: when it
/// connects, and when it makes a request.
pub const OPEN_ASKS_READ: i64 = 20;

/// The lookup keys the asks `agent_id` may still hear at `now` carry: today's and yesterday's
/// (see [`asked_again_key`]). Older ones lapsed and are never read again.
pub fn open_ask_keys(agent_id: &str, now: DateTime<Utc>) -> [String; 2] {
    [
        asked_again_key(agent_id, now.date_naive()),
        asked_again_key(agent_id, (now - ASK_AGAIN_KEPT).date_naive()),
    ]
}

/// The filter for the open asks under `key`.
pub fn open_asks_of(key: &str) -> DocFilter<'_> {
    DocFilter {
        lookup_key: Some(key),
        newest_first: true,
        limit: Some(OPEN_ASKS_READ),
        ..DocFilter::all(DocKind::Approval)
    }
}

/// When `asked` is an ask `agent_id` still has to answer at `now`: on its own expired request,
/// asked within [`ASK_AGAIN_KEPT`] before, not answered.
fn asked_at_if_open(asked: &Approval, agent_id: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    asked_at_if_current(asked, agent_id, now).filter(|_| asked.ask_again_answered_by.is_none())
}

/// When `asked` is an ask `agent_id` may still answer at `now`, answered or not: on its own
/// expired request, asked within [`ASK_AGAIN_KEPT`] before.
fn asked_at_if_current(
    asked: &Approval,
    agent_id: &str,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let at = asked.ask_again_requested_at?;
    let current = asked.agent_id.as_deref() == Some(agent_id)
        && asked.status == ApprovalStatus::Expired
        && at <= now
        && now - at <= ASK_AGAIN_KEPT;
    current.then_some(at)
}

/// What `agent_id`'s control socket sends it for its open asks among `asked`, oldest first,
/// each with the person's comment.
pub fn ask_frames(asked: &[Approval], agent_id: &str, now: DateTime<Utc>) -> Vec<AgentControl> {
    let mut open: Vec<(DateTime<Utc>, &Approval)> = asked
        .iter()
        .filter_map(|a| asked_at_if_open(a, agent_id, now).map(|at| (at, a)))
        .collect();
    open.sort_by_key(|(at, _)| *at);
    open.into_iter()
        .map(|(_, a)| AgentControl::AskAgain {
            approval_id: a.id.clone(),
            comment: a.ask_again_comment.clone(),
        })
        .collect()
}

/// The open ask that `proposal`, a new request, answers: its agent's oldest open ask of the
/// same kind.
pub fn answered_by<'a>(asked: &'a [Approval], proposal: &Approval) -> Option<&'a Approval> {
    let agent_id = proposal.agent_id.as_deref()?;
    asked
        .iter()
        .filter(|a| a.id != proposal.id && a.kind == proposal.kind)
        .filter_map(|a| asked_at_if_open(a, agent_id, proposal.created_at).map(|at| (at, a)))
        .min_by_key(|(at, _)| *at)
        .map(|(_, a)| a)
}

/// The ask that `proposal`, a new request not yet stored, answers: the one the agent named
/// (`answers_ask`), or else its oldest open ask of the same kind.
///
/// A named ask must be one of the agent's own, asked in the last day, and not answered by a
/// request that named it too (else 422). An unnamed request of its kind may have taken it, which
/// the agent did not mean as the answer: the named request takes it over. Its kind may differ:
/// a person's comment can turn one kind of request into another.
pub async fn answered_ask(
    w: &mut Write,
    tenant_id: &str,
    proposal: &Approval,
) -> ApiResult<Option<Approval>> {
    let Some(agent_id) = proposal.agent_id.as_deref() else {
        return Ok(None);
    };
    let Some(named) = proposal.answers_ask.as_deref() else {
        let mut asked: Vec<Approval> = Vec::new();
        for key in open_ask_keys(agent_id, proposal.created_at) {
            asked.extend(w.list::<Approval>(tenant_id, open_asks_of(&key)).await?);
        }
        return Ok(answered_by(&asked, proposal).cloned());
    };
    let no_such_ask = || {
        ApiError::invalid(
            "`answers_ask` names no ask-again of this agent: it must be the `approval_id` of an \
             `ask_again` frame it was sent, on one of its own expired requests, asked again in \
             the last 24 hours. Leave it out otherwise.",
        )
    };
    if !looks_like_an_id(named) {
        return Err(no_such_ask());
    }
    let asked = w
        .get::<Approval>(tenant_id, named)
        .await?
        .filter(|a| asked_at_if_current(a, agent_id, proposal.created_at).is_some())
        .ok_or_else(no_such_ask)?;
    if let Some(answer_id) = &asked.ask_again_answered_by {
        let answer = w.get::<Approval>(tenant_id, answer_id).await?;
        if answer.is_some_and(|answer| answer.answers_ask.as_deref() == Some(named)) {
            return Err(ApiError::invalid(format!(
                "`answers_ask`: that ask was answered already, by `{answer_id}`, which named it. \
                 An ask is answered once; leave `answers_ask` out of a further request."
            )));
        }
    }
    Ok(Some(asked))
}

/// What a server-made id can be: checked before it is looked up, so that every store answers
/// a malformed one alike (PostgreSQL refuses a NUL in text outright).
fn looks_like_an_id(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Notes on `asked` that `proposal` answers it: the ask is no longer sent, and the asked
/// request links to the new one.
pub async fn note_answer(
    w: &mut Write,
    tenant_id: &str,
    mut asked: Approval,
    proposal: &Approval,
) -> ApiResult<()> {
    asked.ask_again_answered_by = Some(proposal.id.clone());
    w.update(tenant_id, &mut asked).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str, agent: &str, kind: &str, created: DateTime<Utc>) -> Approval {
        Approval {
            id: id.into(),
            agent_id: Some(agent.into()),
            kind: kind.into(),
            created_at: created,
            expires_at: created + Duration::minutes(10),
            ..Approval::example()
        }
    }

    fn asked(mut approval: Approval, at: DateTime<Utc>, comment: &str) -> Approval {
        approval.status = ApprovalStatus::Expired;
        approval.ask_again_requested_at = Some(at);
        approval.ask_again_comment = Some(comment.into());
        approval
    }

    fn asked_ids(frames: &[AgentControl]) -> Vec<(&str, Option<&str>)> {
        frames
            .iter()
            .map(|frame| match frame {
                AgentControl::AskAgain {
                    approval_id,
                    comment,
                } => (approval_id.as_str(), comment.as_deref()),
                other => panic!("not an ask-again: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn an_agent_hears_its_open_asks_oldest_first_with_their_comments() {
        let noon: DateTime<Utc> = "2027-01-05T12:00:00Z".parse().expect("an instant");
        let mut answered = asked(
            request("apr_5", "agt_quill", "publish_ad", noon),
            noon + Duration::minutes(30),
            "answered",
        );
        answered.ask_again_answered_by = Some("apr_6".into());
        let asks = vec![
            asked(
                request("apr_2", "agt_quill", "publish_ad", noon),
                noon + Duration::hours(2),
                "second",
            ),
            asked(
                request("apr_1", "agt_quill", "publish_ad", noon),
                noon + Duration::hours(1),
                "first",
            ),
            // Another agent's ask, a pending request and an answered ask are not to be heard.
            asked(
                request("apr_3", "agt_scout", "publish_ad", noon),
                noon + Duration::hours(1),
                "not yours",
            ),
            request("apr_4", "agt_quill", "publish_ad", noon),
            answered,
        ];
        let now = noon + Duration::hours(3);
        assert_eq!(
            asked_ids(&ask_frames(&asks, "agt_quill", now)),
            vec![("apr_1", Some("first")), ("apr_2", Some("second"))]
        );
        let a_day_after_the_last_ask =
            noon + Duration::hours(2) + ASK_AGAIN_KEPT + Duration::seconds(1);
        assert!(
            ask_frames(&asks, "agt_quill", a_day_after_the_last_ask).is_empty(),
            "a day after the ask, the person asks again if it still matters"
        );
    }

    #[test]
    fn a_new_request_answers_its_agents_oldest_open_ask_of_the_same_kind() {
        let noon: DateTime<Utc> = "2027-01-05T12:00:00Z".parse().expect("an instant");
        let first = asked(
            request("apr_1", "agt_quill", "publish_ad", noon),
            noon + Duration::hours(1),
            "use 20%",
        );
        let second = asked(
            request("apr_2", "agt_quill", "publish_ad", noon),
            noon + Duration::hours(2),
            "use 30%",
        );
        let asks = [second.clone(), first.clone()];
        let later = noon + Duration::hours(3);
        let proposal = request("apr_9", "agt_quill", "publish_ad", later);
        assert_eq!(
            answered_by(&asks, &proposal).map(|a| a.id.as_str()),
            Some("apr_1")
        );
        let another_kind = request("apr_9", "agt_quill", "raise_bid", later);
        assert!(answered_by(&asks, &another_kind).is_none());
        let another_agent = request("apr_9", "agt_scout", "publish_ad", later);
        assert!(answered_by(&asks, &another_agent).is_none());
        let before_the_ask = request("apr_9", "agt_quill", "publish_ad", noon);
        assert!(
            answered_by(&asks, &before_the_ask).is_none(),
            "a request made before the ask does not answer it"
        );
    }

    #[test]
    fn a_lapsed_ask_is_not_the_one_answered() {
        let noon: DateTime<Utc> = "2027-01-05T12:00:00Z".parse().expect("an instant");
        let lapsed = asked(
            request("apr_1", "agt_quill", "publish_ad", noon),
            noon,
            "last week's",
        );
        let today = noon + ASK_AGAIN_KEPT + Duration::hours(1);
        let fresh = asked(
            request("apr_2", "agt_quill", "publish_ad", noon),
            today,
            "today's",
        );
        let proposal = request(
            "apr_9",
            "agt_quill",
            "publish_ad",
            today + Duration::minutes(5),
        );
        assert_eq!(
            answered_by(&[lapsed, fresh], &proposal).map(|a| a.id.as_str()),
            Some("apr_2")
        );
    }

    #[test]
    fn the_keys_read_cover_the_last_day_of_asks() {
        let late: DateTime<Utc> = "2027-01-05T23:30:00Z".parse().expect("an instant");
        let early: DateTime<Utc> = "2027-01-06T00:10:00Z".parse().expect("an instant");
        assert_eq!(
            open_ask_keys("agt_quill", early),
            [
                "asked_again:agt_quill:2027-01-06".to_owned(),
                "asked_again:agt_quill:2027-01-05".to_owned()
            ]
        );
        assert!(open_ask_keys("agt_quill", early)
            .contains(&asked_again_key("agt_quill", late.date_naive())));
    }
}
