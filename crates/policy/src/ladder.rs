//! What an approval on an escalation ladder means for one person's own screen: the app tells
//! them when, and only when, the ladder names them, as the server's pushes do.

use spartex_api::{Approval, ApprovalStatus, Risk, Role};

use crate::notifications::{
    approval_body, decision_actions, Notification, NotificationAction, NotificationKind,
};

/// How the ladder decides what an approval's change shows this person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LadderVerdict {
    /// The approval is on no ladder: the usual notification policy decides.
    NotOnLadder,
    /// The ladder named this person at a level fired by this change: page them, whatever their
    /// mutes and quiet hours.
    Page(Notification),
    /// Someone else took a request this person was told about: "Dana is on it".
    TakenBy(Notification),
    /// On a ladder, and nothing in this change is for this person.
    Nothing,
}

/// The verdict for `user_id` (of `role`) on an approval that went from `before` to `after`.
pub fn ladder_verdict(
    before: Option<&Approval>,
    after: &Approval,
    user_id: &str,
    role: Role,
    project_name: &dyn Fn(&str) -> String,
) -> LadderVerdict {
    let Some(ladder) = after.escalation.as_ref().filter(|l| l.level > 0) else {
        return LadderVerdict::NotOnLadder;
    };
    if after.status != ApprovalStatus::Pending || !role.at_least(Role::Oncall) {
        return LadderVerdict::Nothing;
    }
    let earlier = before.and_then(|b| b.escalation.as_ref());
    let fired_before = earlier.map_or(0, |l| l.level);
    let named_now = ladder
        .notified
        .iter()
        .any(|n| n.user_id == user_id && n.level > fired_before && n.channel.is_some());
    let told_before = ladder
        .notified
        .iter()
        .any(|n| n.user_id == user_id && n.channel.is_some());
    let newly_taken = ladder.acked_by.is_some() && earlier.is_none_or(|l| l.acked_by.is_none());
    let key = Notification::approval_key(&after.id);
    match (&ladder.acked_by, newly_taken) {
        (Some(by), true) if by.id != user_id && told_before => {
            return LadderVerdict::TakenBy(Notification {
                key,
                kind: NotificationKind::ApprovalAcked,
                title: format!("{} is on it: {}", by.name, after.title),
                body: format!("Project: {}", project_name(&after.project_id)),
                project_id: Some(after.project_id.clone()),
                approval_id: Some(after.id.clone()),
                urgent: false,
                actions: vec![NotificationAction::Open],
            })
        }
        (Some(_), _) => return LadderVerdict::Nothing,
        (None, _) => {}
    }
    if !named_now {
        return LadderVerdict::Nothing;
    }
    let level = if ladder.level > 1 {
        format!(" (escalated, level {})", ladder.level)
    } else {
        String::new()
    };
    LadderVerdict::Page(Notification {
        key,
        kind: NotificationKind::ApprovalRequested,
        title: format!("Approval needed{level}: {}", after.title),
        body: approval_body(after, project_name),
        project_id: Some(after.project_id.clone()),
        approval_id: Some(after.id.clone()),
        urgent: matches!(after.risk.assumed(), Risk::High | Risk::Critical),
        actions: decision_actions(after, role),
    })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use spartex_api::{DecidedBy, Escalation, Notified, NotifyChannel, NotifyResult};

    use super::*;

    fn told(user: &str, level: i64, channel: Option<NotifyChannel>) -> Notified {
        Notified {
            user_id: user.into(),
            user_name: user.into(),
            at: Utc::now(),
            level,
            channel,
            result: if channel.is_some() {
                NotifyResult::Sent
            } else {
                NotifyResult::SkippedUnreachable
            },
        }
    }

    fn on_ladder(level: i64, notified: Vec<Notified>, acked_by: Option<&str>) -> Approval {
        Approval {
            risk: Risk::Critical,
            expires_at: Utc::now() + chrono::Duration::hours(1),
            escalation: Some(Escalation {
                level,
                next_at: None,
                acked_by: acked_by.map(|id| DecidedBy {
                    id: id.into(),
                    name: "Dana Whitfield".into(),
                    email: None,
                    role: Some(Role::Oncall),
                }),
                acked_at: acked_by.map(|_| Utc::now()),
                notified,
            }),
            ..Approval::example()
        }
    }

    fn verdict(before: Option<&Approval>, after: &Approval, me: &str) -> LadderVerdict {
        ladder_verdict(before, after, me, Role::Manager, &|id| id.to_owned())
    }

    #[test]
    fn only_those_a_level_names_are_paged_and_each_once() {
        let first = on_ladder(1, vec![told("dana", 1, Some(NotifyChannel::Socket))], None);
        assert!(matches!(verdict(None, &first, "dana"), LadderVerdict::Page(n) if n.urgent));
        assert_eq!(
            verdict(None, &first, "marco"),
            LadderVerdict::Nothing,
            "not named yet"
        );

        let second = on_ladder(
            2,
            vec![
                told("dana", 1, Some(NotifyChannel::Socket)),
                told("marco", 2, Some(NotifyChannel::Push)),
            ],
            None,
        );
        assert!(
            matches!(verdict(Some(&first), &second, "marco"), LadderVerdict::Page(n) if n.title.contains("level 2"))
        );
        assert_eq!(
            verdict(Some(&first), &second, "dana"),
            LadderVerdict::Nothing,
            "told once"
        );
    }

    #[test]
    fn a_person_skipped_as_unreachable_is_not_paged() {
        let skipped = on_ladder(
            2,
            vec![
                told("dana", 1, None),
                told("marco", 2, Some(NotifyChannel::Socket)),
            ],
            None,
        );
        assert_eq!(verdict(None, &skipped, "dana"), LadderVerdict::Nothing);
    }

    #[test]
    fn the_others_told_hear_who_took_it() {
        let told_both = vec![
            told("dana", 1, Some(NotifyChannel::Socket)),
            told("marco", 2, Some(NotifyChannel::Push)),
        ];
        let before = on_ladder(2, told_both.clone(), None);
        let taken = on_ladder(2, told_both, Some("dana"));
        assert!(
            matches!(verdict(Some(&before), &taken, "marco"), LadderVerdict::TakenBy(n) if n.kind == NotificationKind::ApprovalAcked)
        );
        assert_eq!(
            verdict(Some(&before), &taken, "dana"),
            LadderVerdict::Nothing,
            "not the one who took it"
        );
        assert_eq!(
            verdict(Some(&before), &taken, "olivia"),
            LadderVerdict::Nothing,
            "never told"
        );
    }

    #[test]
    fn an_approval_on_no_ladder_is_left_to_the_usual_policy() {
        let mut plain = on_ladder(1, vec![], None);
        plain.escalation = None;
        assert_eq!(verdict(None, &plain, "dana"), LadderVerdict::NotOnLadder);
    }
}
