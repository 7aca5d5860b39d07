//! Asking an agent again: a person's `POST /approvals/{id}/ask-again` on an expired request,
//! told to the agent on its control socket at once, and again when it connects, until it has
//! proposed again.

use chrono::{DateTime, Duration, Utc};
use spartex_api::{AgentControl, Approval, ApprovalStatus, DecidedBy, ErrorCode, Role};

use crate::auth::UserPrincipal;
use crate::error::{ApiError, ApiResult};
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
    // Kept, so an agent that was not connected hears the comment when it connects.
    approval.ask_again_comment = comment.clone();
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
/// How many of an agent's latest asked requests, and of its project's latest requests, a
/// connecting agent's unanswered asks are looked for in: the reads stay small however long the
/// project has run.
pub const ASKS_LOOKED_AT: i64 = 50;
pub const RECENT_LOOKED_AT: i64 = 200;

/// The asks on `asked` (requests someone asked `agent_id` to propose again) that are still
/// open, oldest first: on an expired request of the agent's, asked within [`ASK_AGAIN_KEPT`],
/// and not followed by a request of the same kind among `recent` (its new proposal). What a
/// control socket sends at connect, beside a pending stop: an agent that was away when asked
/// still hears it, with the comment.
pub fn unanswered_asks(
    asked: &[Approval],
    recent: &[Approval],
    agent_id: &str,
    now: DateTime<Utc>,
) -> Vec<AgentControl> {
    let mine = |a: &&Approval| a.agent_id.as_deref() == Some(agent_id);
    let proposed_again = |asked: &Approval, at: DateTime<Utc>| {
        recent
            .iter()
            .filter(mine)
            .any(|a| a.kind == asked.kind && a.created_at >= at)
    };
    let mut asks: Vec<(DateTime<Utc>, &Approval)> = asked
        .iter()
        .filter(mine)
        .filter(|a| a.status == ApprovalStatus::Expired)
        .filter_map(|a| a.ask_again_requested_at.map(|at| (at, a)))
        .filter(|(at, asked)| now - *at <= ASK_AGAIN_KEPT && !proposed_again(asked, *at))
        .collect();
    asks.sort_by_key(|(at, _)| *at);
    asks.into_iter()
        .map(|(_, a)| AgentControl::AskAgain {
            approval_id: a.id.clone(),
            comment: a.ask_again_comment.clone(),
        })
        .collect()
}

/// Whether any of `asked` is recent enough to be sent, so the project's requests are worth
/// reading.
pub fn any_ask_kept(asked: &[Approval], now: DateTime<Utc>) -> bool {
    asked
        .iter()
        .filter_map(|a| a.ask_again_requested_at)
        .any(|at| now - at <= ASK_AGAIN_KEPT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(id: &str, agent: &str, kind: &str, created: DateTime<Utc>) -> Approval {
        Approval {
            id: id.into(),
            project_id: "prj_1".into(),
            agent_id: Some(agent.into()),
            task_id: None,
            kind: kind.into(),
            title: "Publish the spring hero ad".into(),
            summary: String::new(),
            payload: serde_json::json!({}),
            preview: None,
            risk: spartex_api::Risk::High,
            status: ApprovalStatus::Pending,
            created_at: created,
            expires_at: created + Duration::minutes(10),
            on_expiry: spartex_api::OnExpiry::Reject,
            decided_by: None,
            decided_at: None,
            comment: None,
            escalation: None,
            ask_again_requested_at: None,
            ask_again_requested_by: None,
            ask_again_comment: None,
            version: 1,
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
    fn an_agent_hears_the_asks_it_has_not_answered_oldest_first_with_their_comments() {
        let noon: DateTime<Utc> = "2027-01-05T12:00:00Z".parse().expect("an instant");
        let recent = vec![
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
            // Another agent's ask, and a pending request, are not Quill's to hear.
            asked(
                request("apr_3", "agt_scout", "publish_ad", noon),
                noon + Duration::hours(1),
                "not yours",
            ),
            request("apr_4", "agt_quill", "publish_ad", noon),
        ];
        let now = noon + Duration::hours(3);
        let a_day_after_the_last_ask =
            noon + Duration::hours(2) + ASK_AGAIN_KEPT + Duration::seconds(1);
        assert!(any_ask_kept(&recent, now));
        assert_eq!(
            asked_ids(&unanswered_asks(&recent, &recent, "agt_quill", now)),
            vec![("apr_1", Some("first")), ("apr_2", Some("second"))]
        );
        assert!(
            unanswered_asks(&recent, &recent, "agt_quill", a_day_after_the_last_ask).is_empty(),
            "a day after the ask, the person asks again if it still matters"
        );
        assert!(!any_ask_kept(&recent, a_day_after_the_last_ask));
    }

    #[test]
    fn a_new_request_of_the_same_kind_answers_an_ask_and_another_kind_does_not() {
        let noon: DateTime<Utc> = "2027-01-05T12:00:00Z".parse().expect("an instant");
        let ask_at = noon + Duration::hours(1);
        let expired = asked(
            request("apr_1", "agt_quill", "publish_ad", noon),
            ask_at,
            "use 20%",
        );
        let unrelated = request(
            "apr_2",
            "agt_quill",
            "raise_bid",
            ask_at + Duration::minutes(1),
        );
        let now = noon + Duration::hours(2);
        assert_eq!(
            asked_ids(&unanswered_asks(
                std::slice::from_ref(&expired),
                &[expired.clone(), unrelated.clone()],
                "agt_quill",
                now
            )),
            vec![("apr_1", Some("use 20%"))]
        );
        let proposed_again = request(
            "apr_3",
            "agt_quill",
            "publish_ad",
            ask_at + Duration::minutes(2),
        );
        assert!(unanswered_asks(
            std::slice::from_ref(&expired),
            &[expired.clone(), unrelated, proposed_again],
            "agt_quill",
            now
        )
        .is_empty());
    }
}
