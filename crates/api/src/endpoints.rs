//! The client endpoints of the contract as types: each names its method, its path, the body it
//! sends and the answer it gets, so a client cannot send a body to the wrong path or read an
//! answer as the wrong type. The core's HTTP client has one method for all of them
//! (`send(&endpoint)`); the outbox stores these values as they will be sent.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{
    Approval, AskAgainRequest, DecisionRequest, Deleted, Device, EscalationPolicy, LoginRequest,
    LogoutRequest, Me, Message, NewOverride, NotificationPrefs, OnCall, PostMessageRequest,
    Project, ProjectDetail, RefreshRequest, RegisterDeviceRequest, Schedule, Stop, StopRequest,
    SyncPage, TenantSettings, TokenPair, VapidPublicKey, API_PREFIX,
};

/// The HTTP methods the contract uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// One endpoint of the contract.
pub trait Endpoint {
    const METHOD: Method;
    /// What the request carries as its JSON body; `()` for none.
    type Body: Serialize;
    /// What a 2xx answer carries; `()` for an empty answer (204).
    type Answer: DeserializeOwned;

    /// The path, with its parameters filled in and escaped.
    fn path(&self) -> String;

    /// Query parameters, escaped by the client.
    fn query(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    fn body(&self) -> Option<&Self::Body> {
        None
    }
}

/// A path segment made safe: an id can never reach another route (`../`, `?`, `#`).
fn segment(id: &str) -> String {
    let mut escaped = String::with_capacity(id.len());
    for byte in id.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                escaped.push(char::from(byte));
            }
            other => escaped.push_str(&format!("%{other:02X}")),
        }
    }
    if escaped == "." || escaped == ".." {
        return escaped.replace('.', "%2E");
    }
    escaped
}

macro_rules! endpoint {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? },
     $method:ident $path:expr, body: $body:tt, answer: $answer:ty $(, query: $query:expr)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize)]
        pub struct $name { $(pub $field: $ty),* }

        impl Endpoint for $name {
            const METHOD: Method = Method::$method;
            type Body = $body;
            type Answer = $answer;

            fn path(&self) -> String {
                let path: fn(&$name) -> String = $path;
                format!("{API_PREFIX}{}", path(self))
            }

            $(fn query(&self) -> Vec<(&'static str, String)> {
                let query: fn(&$name) -> Vec<(&'static str, String)> = $query;
                query(self)
            })?

            endpoint!(@body $body);
        }
    };
    (@body ()) => {};
    (@body $body:ty) => {
        fn body(&self) -> Option<&$body> {
            Some(&self.body)
        }
    };
}

endpoint!(
    /// `POST /auth/login`: a token pair for an email and password.
    Login { body: LoginRequest },
    Post |_| "/auth/login".into(), body: LoginRequest, answer: TokenPair
);

endpoint!(
    /// `POST /auth/refresh`: a fresh pair for a refresh token, which is spent.
    Refresh { body: RefreshRequest },
    Post |_| "/auth/refresh".into(), body: RefreshRequest, answer: TokenPair
);

endpoint!(
    /// `POST /auth/logout`: revokes the refresh token's family.
    Logout { body: LogoutRequest },
    Post |_| "/auth/logout".into(), body: LogoutRequest, answer: ()
);

endpoint!(
    /// `GET /me`
    GetMe {},
    Get |_| "/me".into(), body: (), answer: Me
);

endpoint!(
    /// `GET /projects`
    ListProjects {},
    Get |_| "/projects".into(), body: (), answer: Vec<Project>
);

endpoint!(
    /// `GET /projects/{id}`: the project with its agents and open tasks.
    GetProject { project_id: String },
    Get |e| format!("/projects/{}", segment(&e.project_id)), body: (), answer: ProjectDetail
);

endpoint!(
    /// `GET /projects/{id}/messages`, newest first.
    ListMessages { project_id: String, limit: u32 },
    Get |e| format!("/projects/{}/messages", segment(&e.project_id)), body: (),
    answer: Vec<Message>, query: |e| vec![("limit", e.limit.to_string())]
);

endpoint!(
    /// `POST /projects/{id}/messages`
    PostMessage { project_id: String, body: PostMessageRequest },
    Post |e| format!("/projects/{}/messages", segment(&e.project_id)),
    body: PostMessageRequest, answer: Message
);

endpoint!(
    /// `GET /approvals`, most urgent first.
    ListApprovals {},
    Get |_| "/approvals".into(), body: (), answer: Vec<Approval>
);

endpoint!(
    /// `POST /approvals/{id}/decision`
    Decide { approval_id: String, body: DecisionRequest },
    Post |e| format!("/approvals/{}/decision", segment(&e.approval_id)),
    body: DecisionRequest, answer: Approval
);

endpoint!(
    /// `POST /approvals/{id}/ack`: "I am on it"; stops the escalation ladder.
    AckApproval { approval_id: String },
    Post |e| format!("/approvals/{}/ack", segment(&e.approval_id)), body: (), answer: Approval
);

endpoint!(
    /// `POST /approvals/{id}/ask-again`: asks the agent of an expired approval to propose again.
    AskAgain { approval_id: String, body: AskAgainRequest },
    Post |e| format!("/approvals/{}/ask-again", segment(&e.approval_id)),
    body: AskAgainRequest, answer: Approval
);

endpoint!(
    /// `GET /oncall`: who is on call now and next, the schedule, the week ahead.
    GetOnCall {},
    Get |_| "/oncall".into(), body: (), answer: OnCall
);

endpoint!(
    /// `PUT /oncall/schedule` (manager, owner).
    PutSchedule { body: Schedule },
    Put |_| "/oncall/schedule".into(), body: Schedule, answer: OnCall
);

endpoint!(
    /// `POST /oncall/overrides`: someone covers for a while ("cover for …").
    CreateOverride { body: NewOverride },
    Post |_| "/oncall/overrides".into(), body: NewOverride, answer: OnCall
);

endpoint!(
    /// `DELETE /oncall/overrides/{id}`
    DeleteOverride { override_id: String },
    Delete |e| format!("/oncall/overrides/{}", segment(&e.override_id)), body: (), answer: OnCall
);

endpoint!(
    /// `GET /escalation-policy`
    GetEscalationPolicy {},
    Get |_| "/escalation-policy".into(), body: (), answer: EscalationPolicy
);

endpoint!(
    /// `PUT /escalation-policy` (manager, owner).
    PutEscalationPolicy { body: EscalationPolicy },
    Put |_| "/escalation-policy".into(), body: EscalationPolicy, answer: EscalationPolicy
);

endpoint!(
    /// `POST /projects/{id}/stop`: the emergency stop of one project's agents.
    StopProject { project_id: String, body: StopRequest },
    Post |e| format!("/projects/{}/stop", segment(&e.project_id)), body: StopRequest, answer: Stop
);

endpoint!(
    /// `POST /stop`: the emergency stop of every agent of the organisation.
    StopAll { body: StopRequest },
    Post |_| "/stop".into(), body: StopRequest, answer: Stop
);

endpoint!(
    /// `POST /projects/{id}/resume`
    ResumeProject { project_id: String },
    Post |e| format!("/projects/{}/resume", segment(&e.project_id)), body: (), answer: Project
);

endpoint!(
    /// `GET /stops`, newest first.
    ListStops {},
    Get |_| "/stops".into(), body: (), answer: Vec<Stop>
);

endpoint!(
    /// `GET /sync`: the log after `since`, at most `limit` events; `since_at` is when the event
    /// at `since` was, as the client applied it (a log restored from a backup answers
    /// `resync_required` when its event there is another).
    Sync { since: i64, since_at: Option<String>, limit: u32 },
    Get |_| "/sync".into(), body: (), answer: SyncPage,
    query: |e| {
        let mut query = vec![("since", e.since.to_string()), ("limit", e.limit.to_string())];
        query.extend(e.since_at.clone().map(|at| ("since_at", at)));
        query
    }
);

endpoint!(
    /// `POST /devices`: this install's push address; the same address again is the same device.
    RegisterDevice { body: RegisterDeviceRequest },
    Post |_| "/devices".into(), body: RegisterDeviceRequest, answer: Device
);

endpoint!(
    /// `GET /devices`: the caller's own devices, with how their last push went.
    ListDevices {},
    Get |_| "/devices".into(), body: (), answer: Vec<Device>
);

endpoint!(
    /// `DELETE /devices/{id}`: this install stops receiving pushes (sign-out).
    UnregisterDevice { device_id: String },
    Delete |e| format!("/devices/{}", segment(&e.device_id)), body: (), answer: Deleted
);

endpoint!(
    /// `GET /push/vapid-public-key`: the server's key a Web Push subscription is made with.
    GetVapidPublicKey {},
    Get |_| "/push/vapid-public-key".into(), body: (), answer: VapidPublicKey
);

endpoint!(
    /// `GET /me/notification-settings`
    GetNotificationSettings {},
    Get |_| "/me/notification-settings".into(), body: (), answer: NotificationPrefs
);

endpoint!(
    /// `PUT /me/notification-settings`: what the phone honours while the app is closed.
    PutNotificationSettings { body: NotificationPrefs },
    Put |_| "/me/notification-settings".into(), body: NotificationPrefs,
    answer: NotificationPrefs
);

endpoint!(
    /// `GET /tenant/settings`
    GetTenantSettings {},
    Get |_| "/tenant/settings".into(), body: (), answer: TenantSettings
);

endpoint!(
    /// `PUT /tenant/settings`: the owner's tenant-wide settings.
    PutTenantSettings { body: TenantSettings },
    Put |_| "/tenant/settings".into(), body: TenantSettings,
    answer: TenantSettings
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_cannot_escape_their_segment() {
        let decide = Decide {
            approval_id: "../../stop?x=1#".into(),
            body: DecisionRequest {
                decision: crate::Decision::Approve,
                comment: None,
                seen_version: 1,
            },
        };
        assert_eq!(
            decide.path(),
            "/api/v1/approvals/..%2F..%2Fstop%3Fx%3D1%23/decision"
        );
        let dots = GetProject {
            project_id: "..".into(),
        };
        assert_eq!(dots.path(), "/api/v1/projects/%2E%2E");
    }

    #[test]
    fn an_endpoint_names_its_method_path_query_and_body() {
        let sync = Sync {
            since: 41,
            since_at: None,
            limit: 500,
        };
        assert_eq!(Sync::METHOD, Method::Get);
        assert_eq!(sync.path(), "/api/v1/sync");
        assert_eq!(
            sync.query(),
            vec![("since", "41".to_owned()), ("limit", "500".to_owned())]
        );
        assert!(sync.body().is_none());
        let stop = StopAll {
            body: StopRequest {
                reason: "runaway spend".into(),
            },
        };
        assert_eq!(StopAll::METHOD, Method::Post);
        assert_eq!(
            stop.body().map(|b| b.reason.as_str()),
            Some("runaway spend")
        );
    }
}
