//! What a person's action sends and what it shows before the server answers: a queued action
//! becomes a typed request (kept in the outbox exactly as it will be sent) and its optimistic
//! effect on the cache. Pure: the store writes both in one transaction.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spartex_api::endpoints::{
    AckApproval, AskAgain, Decide, PostMessage, ResumeProject, StopAll, StopProject,
};
use spartex_api::{
    AskAgainRequest, AuthorKind, Decision, DecisionRequest, Endpoint, Message, PostMessageRequest,
    StopRequest,
};

/// What kind of action waits; the order is the delivery priority (stops first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum OutboxKind {
    Stop,
    Resume,
    Decision,
    /// "I'm on it" on an approval.
    Ack,
    /// Asking an agent to propose an expired request again.
    AskAgain,
    Message,
}

impl OutboxKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Stop => "stop",
            OutboxKind::Resume => "resume",
            OutboxKind::Decision => "decision",
            OutboxKind::Ack => "ack",
            OutboxKind::AskAgain => "ask_again",
            OutboxKind::Message => "message",
        }
    }

    /// Lower goes first; the same, in the order they were taken. A stop and a resume share
    /// theirs: whichever the person said last must be what the project is left in.
    pub(crate) fn priority(self) -> i64 {
        match self {
            OutboxKind::Stop | OutboxKind::Resume => 0,
            OutboxKind::Decision | OutboxKind::Ack => 2,
            OutboxKind::AskAgain | OutboxKind::Message => 3,
        }
    }
}

/// An action a person took, as the faces hand it to the core.
#[derive(Debug, Clone)]
pub enum QueuedAction {
    Decide {
        approval_id: String,
        title: String,
        decision: Decision,
        comment: Option<String>,
        seen_version: i64,
    },
    Message {
        project_id: String,
        agent_id: Option<String>,
        body: String,
        author_name: String,
    },
    StopProject {
        project_id: String,
        project_name: String,
        reason: String,
    },
    StopAll {
        reason: String,
    },
    Resume {
        project_id: String,
        project_name: String,
    },
    Ack {
        approval_id: String,
        title: String,
    },
    AskAgain {
        approval_id: String,
        title: String,
        comment: Option<String>,
    },
}

/// A request waiting in the outbox, stored as the endpoint value it will be sent as.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "endpoint", rename_all = "snake_case")]
pub enum OutboxRequest {
    Decide(Decide),
    PostMessage(PostMessage),
    StopProject(StopProject),
    StopAll(StopAll),
    ResumeProject(ResumeProject),
    AckApproval(AckApproval),
    AskAgain(AskAgain),
}

impl OutboxRequest {
    pub fn kind(&self) -> OutboxKind {
        match self {
            OutboxRequest::Decide(_) => OutboxKind::Decision,
            OutboxRequest::PostMessage(_) => OutboxKind::Message,
            OutboxRequest::StopProject(_) | OutboxRequest::StopAll(_) => OutboxKind::Stop,
            OutboxRequest::ResumeProject(_) => OutboxKind::Resume,
            OutboxRequest::AckApproval(_) => OutboxKind::Ack,
            OutboxRequest::AskAgain(_) => OutboxKind::AskAgain,
        }
    }

    /// `POST /api/v1/…`, for people reading the outbox.
    pub fn route(&self) -> (&'static str, String) {
        fn route<E: Endpoint>(endpoint: &E) -> (&'static str, String) {
            (E::METHOD.as_str(), endpoint.path())
        }
        match self {
            OutboxRequest::Decide(e) => route(e),
            OutboxRequest::PostMessage(e) => route(e),
            OutboxRequest::StopProject(e) => route(e),
            OutboxRequest::StopAll(e) => route(e),
            OutboxRequest::ResumeProject(e) => route(e),
            OutboxRequest::AckApproval(e) => route(e),
            OutboxRequest::AskAgain(e) => route(e),
        }
    }
}

/// What an action shows in the cache before the server answers.
#[derive(Debug, Clone)]
pub enum LocalEffect {
    /// The approval reads "approving…" / "rejecting…".
    Deciding {
        approval_id: String,
        decision: Decision,
    },
    /// The message shows in its thread, marked as sending.
    PendingMessage(Box<Message>),
    /// Stops and resumes show through the outbox itself.
    Nothing,
}

/// An action made ready for the outbox: its request, its effect, and how it reads.
#[derive(Debug, Clone)]
pub struct PreparedAction {
    pub request: OutboxRequest,
    pub effect: LocalEffect,
    /// What it is, in words: "Approve “Publish the spring hero ad”".
    pub label: String,
    pub approval_id: Option<String>,
    pub project_id: Option<String>,
    pub client_msg_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl QueuedAction {
    /// The request this action sends and the effect it shows at `now`.
    pub fn prepare(self, now: DateTime<Utc>) -> PreparedAction {
        let prepared = |request, effect, label, approval_id, project_id| PreparedAction {
            request,
            effect,
            label,
            approval_id,
            project_id,
            client_msg_id: None,
            created_at: now,
        };
        match self {
            QueuedAction::Decide {
                approval_id,
                title,
                decision,
                comment,
                seen_version,
            } => {
                let verb = match decision {
                    Decision::Approve => "Approve",
                    Decision::Reject => "Reject",
                };
                prepared(
                    OutboxRequest::Decide(Decide {
                        approval_id: approval_id.clone(),
                        body: DecisionRequest {
                            decision,
                            comment,
                            seen_version,
                        },
                    }),
                    LocalEffect::Deciding {
                        approval_id: approval_id.clone(),
                        decision,
                    },
                    format!("{verb} “{title}”"),
                    Some(approval_id),
                    None,
                )
            }
            QueuedAction::Message {
                project_id,
                agent_id,
                body,
                author_name,
            } => {
                let client_msg_id = uuid::Uuid::new_v4().to_string();
                let preview: String = body.chars().take(40).collect();
                let local = Message {
                    id: format!("local:{client_msg_id}"),
                    project_id: project_id.clone(),
                    agent_id: agent_id.clone(),
                    author_kind: AuthorKind::User,
                    author_id: None,
                    author_name,
                    body: body.clone(),
                    created_at: now,
                    client_msg_id: Some(client_msg_id.clone()),
                };
                PreparedAction {
                    client_msg_id: Some(client_msg_id.clone()),
                    ..prepared(
                        OutboxRequest::PostMessage(PostMessage {
                            project_id: project_id.clone(),
                            body: PostMessageRequest {
                                body,
                                agent_id,
                                client_msg_id: Some(client_msg_id),
                            },
                        }),
                        LocalEffect::PendingMessage(Box::new(local)),
                        format!("Message “{preview}”"),
                        None,
                        Some(project_id),
                    )
                }
            }
            QueuedAction::StopProject {
                project_id,
                project_name,
                reason,
            } => prepared(
                OutboxRequest::StopProject(StopProject {
                    project_id: project_id.clone(),
                    body: StopRequest { reason },
                }),
                LocalEffect::Nothing,
                format!("Emergency stop of {project_name}"),
                None,
                Some(project_id),
            ),
            QueuedAction::StopAll { reason } => prepared(
                OutboxRequest::StopAll(StopAll {
                    body: StopRequest { reason },
                }),
                LocalEffect::Nothing,
                "Emergency stop of every project".to_owned(),
                None,
                None,
            ),
            QueuedAction::Resume {
                project_id,
                project_name,
            } => prepared(
                OutboxRequest::ResumeProject(ResumeProject {
                    project_id: project_id.clone(),
                }),
                LocalEffect::Nothing,
                format!("Resume {project_name}"),
                None,
                Some(project_id),
            ),
            QueuedAction::Ack { approval_id, title } => prepared(
                OutboxRequest::AckApproval(AckApproval {
                    approval_id: approval_id.clone(),
                }),
                LocalEffect::Nothing,
                format!("On it: “{title}”"),
                Some(approval_id),
                None,
            ),
            QueuedAction::AskAgain {
                approval_id,
                title,
                comment,
            } => prepared(
                OutboxRequest::AskAgain(AskAgain {
                    approval_id: approval_id.clone(),
                    body: AskAgainRequest { comment },
                }),
                LocalEffect::Nothing,
                format!("Ask again for “{title}”"),
                Some(approval_id),
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_is_stored_as_the_request_it_sends() {
        let prepared = QueuedAction::Decide {
            approval_id: "apr_7".into(),
            title: "Raise the budget".into(),
            decision: Decision::Reject,
            comment: Some("not this week".into()),
            seen_version: 3,
        }
        .prepare(Utc::now());
        assert_eq!(prepared.label, "Reject “Raise the budget”");
        assert_eq!(prepared.request.kind(), OutboxKind::Decision);
        assert_eq!(
            prepared.request.route(),
            ("POST", "/api/v1/approvals/apr_7/decision".to_owned())
        );
        let stored = serde_json::to_value(&prepared.request).expect("serializes");
        assert_eq!(stored["endpoint"], "decide");
        assert_eq!(stored["body"]["seen_version"], 3);
        let back: OutboxRequest = serde_json::from_value(stored).expect("reads back");
        assert!(
            matches!(back, OutboxRequest::Decide(d) if d.body.comment.as_deref() == Some("not this week"))
        );
    }

    #[test]
    fn ack_and_ask_again_are_stored_as_the_requests_they_send() {
        let ack = QueuedAction::Ack {
            approval_id: "apr_7".into(),
            title: "Raise the budget".into(),
        }
        .prepare(Utc::now());
        assert_eq!(ack.request.kind(), OutboxKind::Ack);
        assert_eq!(
            ack.request.route(),
            ("POST", "/api/v1/approvals/apr_7/ack".to_owned())
        );
        let again = QueuedAction::AskAgain {
            approval_id: "apr_7".into(),
            title: "Raise the budget".into(),
            comment: Some("Ask for 20% less".into()),
        }
        .prepare(Utc::now());
        assert_eq!(again.label, "Ask again for “Raise the budget”");
        let stored = serde_json::to_value(&again.request).expect("serializes");
        assert_eq!(stored["endpoint"], "ask_again");
        let back: OutboxRequest = serde_json::from_value(stored).expect("reads back");
        assert!(
            matches!(back, OutboxRequest::AskAgain(a) if a.body.comment.as_deref() == Some("Ask for 20% less"))
        );
    }

    #[test]
    fn a_message_shows_at_once_under_the_id_it_is_sent_with() {
        let prepared = QueuedAction::Message {
            project_id: "prj_1".into(),
            agent_id: None,
            body: "Pause the Meta campaign".into(),
            author_name: "Dana".into(),
        }
        .prepare(Utc::now());
        let LocalEffect::PendingMessage(local) = &prepared.effect else {
            panic!("a message shows before it is sent");
        };
        let OutboxRequest::PostMessage(post) = &prepared.request else {
            panic!("a message posts");
        };
        assert_eq!(local.client_msg_id, post.body.client_msg_id);
        assert_eq!(prepared.client_msg_id, post.body.client_msg_id);
    }
}
