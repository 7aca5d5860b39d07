//! A project's activity timeline: what happened and who did it, newest first, composed from the
//! cached tasks, approvals, stops and messages (the cache keeps resources, not the event log).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use spartex_api::{
    Agent, Approval, ApprovalStatus, AuthorKind, Stop, StopStatus, Task, TaskStatus,
};

use super::views::MessageView;

/// How many entries a project's timeline keeps.
pub const TIMELINE_LIMIT: usize = 100;
const MESSAGE_EXCERPT_CHARS: usize = 140;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    /// `task`, `approval`, `stop` or `message`
    pub kind: String,
    /// Who acted: an agent's or a person's name; `None` for the server.
    pub actor: Option<String>,
    pub text: String,
    pub approval_id: Option<String>,
}

impl TimelineEntry {
    fn new(at: DateTime<Utc>, kind: &str, actor: Option<String>, text: String) -> Self {
        TimelineEntry {
            at,
            kind: kind.to_owned(),
            actor,
            text,
            approval_id: None,
        }
    }
}

pub fn timeline(
    agents: &[Agent],
    tasks: &[Task],
    approvals: &[Approval],
    stops: &[Stop],
    messages: &[MessageView],
) -> Vec<TimelineEntry> {
    let names: HashMap<&str, &str> = agents
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let agent_name = |id: &Option<String>| {
        id.as_deref()
            .and_then(|id| names.get(id))
            .map(|n| (*n).to_owned())
    };
    let mut entries = Vec::new();
    for task in tasks {
        let text = match task.status {
            TaskStatus::Done => format!("finished “{}”", task.title),
            TaskStatus::Failed => format!("failed “{}”", task.title),
            TaskStatus::Cancelled => format!("cancelled “{}”", task.title),
            TaskStatus::Blocked => format!("is blocked on “{}”", task.title),
            TaskStatus::Running => format!("is working on “{}” ({} %)", task.title, task.progress),
            TaskStatus::Queued => format!("queued “{}”", task.title),
            TaskStatus::Unknown => format!("updated “{}”", task.title),
        };
        entries.push(TimelineEntry::new(
            task.updated_at,
            "task",
            agent_name(&task.agent_id),
            text,
        ));
    }
    for approval in approvals {
        entries.push(approval_entry(
            approval.created_at,
            agent_name(&approval.agent_id),
            format!(
                "asked to approve “{}” ({} risk)",
                approval.title, approval.risk
            ),
            approval,
        ));
        if let Some(at) = approval.decided_at {
            let by = approval.decided_by.as_ref().map(|d| d.name.clone());
            let text = match approval.status {
                ApprovalStatus::Expired => format!(
                    "“{}” expired and was {} automatically",
                    approval.title,
                    if approval.on_expiry == spartex_api::OnExpiry::Approve {
                        "approved"
                    } else {
                        "rejected"
                    }
                ),
                status => {
                    let status = match status {
                        ApprovalStatus::Unknown => "settled",
                        known => known.as_str(),
                    };
                    match &approval.comment {
                        Some(comment) => format!("{status} “{}”: {comment}", approval.title),
                        None => format!("{status} “{}”", approval.title),
                    }
                }
            };
            entries.push(approval_entry(at, by, text, approval));
        }
    }
    for stop in stops {
        let scope = if stop.project_id.is_some() {
            "this project"
        } else {
            "every project"
        };
        entries.push(TimelineEntry::new(
            stop.requested_at,
            "stop",
            Some(stop.requested_by.clone()),
            format!("pulled the emergency stop of {scope}: {}", stop.reason),
        ));
        if let Some(at) = stop.completed_at {
            let text = match stop.status {
                StopStatus::Partial => format!(
                    "Stop ended partial: {} of {} agents acknowledged",
                    stop.agents.iter().filter(|a| !a.forced).count(),
                    stop.agents_total
                ),
                StopStatus::Unknown => format!(
                    "Stop ended: {} of {} agents acknowledged",
                    stop.agents_stopped, stop.agents_total
                ),
                StopStatus::Completed | StopStatus::Pending => {
                    format!("Stop completed: all {} agents stopped", stop.agents_total)
                }
            };
            entries.push(TimelineEntry::new(at, "stop", None, text));
        }
    }
    for view in messages {
        let message = &view.message;
        let actor = match message.author_kind {
            AuthorKind::System => None,
            _ => Some(message.author_name.clone()),
        };
        entries.push(TimelineEntry::new(
            message.created_at,
            "message",
            actor,
            excerpt(&message.body),
        ));
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.at));
    entries.truncate(TIMELINE_LIMIT);
    entries
}

fn approval_entry(
    at: DateTime<Utc>,
    actor: Option<String>,
    text: String,
    approval: &Approval,
) -> TimelineEntry {
    TimelineEntry {
        approval_id: Some(approval.id.clone()),
        ..TimelineEntry::new(at, "approval", actor, text)
    }
}

fn excerpt(body: &str) -> String {
    let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MESSAGE_EXCERPT_CHARS {
        return flat;
    }
    let cut: String = flat.chars().take(MESSAGE_EXCERPT_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use spartex_api::AgentStatus;

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, minute, 0).unwrap()
    }

    fn agent() -> Agent {
        Agent {
            id: "ag1".into(),
            project_id: "p1".into(),
            name: "Mara (Copywriter)".into(),
            role: "copywriter".into(),
            model: "m".into(),
            status: AgentStatus::Working,
            current_task_id: None,
            last_heartbeat_at: None,
            tokens_used: 0,
            cost_usd: 0.0,
            version: 1,
        }
    }

    fn approval(status: ApprovalStatus, decided: Option<u32>) -> Approval {
        Approval {
            id: "ap1".into(),
            project_id: "p1".into(),
            agent_id: Some("ag1".into()),
            payload: serde_json::Value::Null,
            status,
            created_at: at(1),
            expires_at: at(30),
            decided_by: decided.map(|_| spartex_api::DecidedBy {
                id: "u1".into(),
                name: "Dana Whitfield".into(),
                email: None,
                role: None,
            }),
            decided_at: decided.map(at),
            comment: decided.map(|_| "Use the shorter headline".into()),
            ..Approval::example()
        }
    }

    #[test]
    fn entries_are_newest_first_and_name_who_acted() {
        let entries = timeline(
            &[agent()],
            &[],
            &[approval(ApprovalStatus::Rejected, Some(5))],
            &[],
            &[],
        );
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].actor.as_deref(), Some("Dana Whitfield"));
        assert_eq!(
            entries[0].text,
            "rejected “Publish the spring hero ad”: Use the shorter headline"
        );
        assert_eq!(entries[1].actor.as_deref(), Some("Mara (Copywriter)"));
        assert!(entries[1].text.contains("high risk"));
        assert_eq!(entries[1].approval_id.as_deref(), Some("ap1"));
    }

    #[test]
    fn an_expiry_says_what_the_server_did() {
        let entries = timeline(
            &[],
            &[],
            &[approval(ApprovalStatus::Expired, Some(30))],
            &[],
            &[],
        );
        assert_eq!(
            entries[0].text,
            "“Publish the spring hero ad” expired and was rejected automatically"
        );
    }

    #[test]
    fn long_messages_are_cut_to_one_line() {
        let long = "word ".repeat(100);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), MESSAGE_EXCERPT_CHARS);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt("two\nlines"), "two lines");
    }
}
