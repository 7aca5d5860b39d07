//! Push to phones (protocol v1.1): how a device registers, what the server sends it, and the
//! notification settings the server honours when the app is closed.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::resources::wire_enum;
use crate::Risk;

wire_enum!(
    /// The push service a device is reached through.
    Platform { Apns => "apns", Fcm => "fcm", Webpush => "webpush" }
);
wire_enum!(
    /// Which APNs host serves the device: apps from Xcode use the sandbox.
    ApnsEnvironment { Production => "production", Sandbox => "sandbox" }
);

/// `POST /api/v1/devices`: one device per app install. Registering the same token or
/// endpoint again answers the same device, so an app may register on every start.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "platform", rename_all = "snake_case", deny_unknown_fields)]
pub enum RegisterDeviceRequest {
    /// An iPhone: the hex device token APNs gave the app.
    Apns {
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
        push_token: String,
        #[serde(default = "production")]
        environment: ApnsEnvironment,
    },
    /// An Android phone with Google services: its FCM registration token.
    Fcm {
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 4096))]
        push_token: String,
    },
    /// Web Push (RFC 8030/8291/8292), which UnifiedPush distributors also speak: the push
    /// service's endpoint and the subscriber's public key and auth secret (base64url).
    Webpush {
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 2048))]
        endpoint: String,
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
        p256dh: String,
        #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
        auth: String,
    },
}

fn production() -> ApnsEnvironment {
    ApnsEnvironment::Production
}

impl RegisterDeviceRequest {
    pub fn platform(&self) -> Platform {
        match self {
            RegisterDeviceRequest::Apns { .. } => Platform::Apns,
            RegisterDeviceRequest::Fcm { .. } => Platform::Fcm,
            RegisterDeviceRequest::Webpush { .. } => Platform::Webpush,
        }
    }

    /// What makes the install unique on its platform: the token, or the Web Push endpoint.
    pub fn address(&self) -> &str {
        match self {
            RegisterDeviceRequest::Apns { push_token, .. }
            | RegisterDeviceRequest::Fcm { push_token } => push_token,
            RegisterDeviceRequest::Webpush { endpoint, .. } => endpoint,
        }
    }
}

/// Push tokens and keys address one phone: they never reach a log.
impl std::fmt::Debug for RegisterDeviceRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisterDeviceRequest")
            .field("platform", &self.platform())
            .finish_non_exhaustive()
    }
}

/// A registered device, as its owner sees it (`GET /api/v1/devices`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Device {
    pub id: String,
    pub platform: Platform,
    pub created_at: DateTime<Utc>,
    /// When a push last reached the push service.
    #[serde(default)]
    pub last_push_at: Option<DateTime<Utc>>,
    /// The last failed attempt's reason, cleared by the next success.
    #[serde(default)]
    pub last_error: Option<String>,
}

/// What a `DELETE` answers: the id that is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Deleted {
    pub deleted: String,
}

/// `GET /api/v1/push/vapid-public-key`: the key a Web Push subscription is made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VapidPublicKey {
    /// The uncompressed P-256 point, base64url without padding.
    pub key: String,
}

/// What a push is about, spelled like the events that cause it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum PushKind {
    #[serde(rename = "approval.requested")]
    ApprovalRequested,
    #[serde(rename = "approval.resolved")]
    ApprovalResolved,
    /// Someone acknowledged a request this device was told about: they are on it.
    #[serde(rename = "approval.acked")]
    ApprovalAcked,
    #[serde(rename = "agent.error")]
    AgentError,
    #[serde(rename = "stop.completed")]
    StopCompleted,
    #[serde(rename = "stop.partial")]
    StopPartial,
    #[serde(rename = "budget.warning")]
    BudgetWarning,
    #[serde(rename = "budget.exceeded")]
    BudgetExceeded,
    /// How many requests a burst held back from this device: the rest of the burst past the
    /// few pushed one by one, in one notice that replaces itself as they are answered.
    #[serde(rename = "requests.held")]
    RequestsHeld,
    /// How many other alerts (agent errors, budget alerts) a burst held back from this device.
    #[serde(rename = "alerts.held")]
    AlertsHeld,
}

/// The collapse key of the notice of requests held back from a burst ([`PushKind::RequestsHeld`]),
/// and of the desktop's summary of them: opens the list of requests.
pub const REQUESTS_HELD_KEY: &str = "held-back:requests";
/// The collapse key of the notice of other alerts held back ([`PushKind::AlertsHeld`]): opens the
/// dashboard.
pub const ALERTS_HELD_KEY: &str = "held-back:alerts";
/// A held-back notice's `status` while it holds an urgent request (a critical one, or a page).
pub const HELD_URGENT: &str = "urgent";
/// A held-back notice's `status` once nothing it told of is held any more: the app takes it away.
pub const HELD_SETTLED: &str = "settled";

impl PushKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PushKind::ApprovalRequested => "approval.requested",
            PushKind::ApprovalResolved => "approval.resolved",
            PushKind::ApprovalAcked => "approval.acked",
            PushKind::AgentError => "agent.error",
            PushKind::StopCompleted => "stop.completed",
            PushKind::StopPartial => "stop.partial",
            PushKind::BudgetWarning => "budget.warning",
            PushKind::BudgetExceeded => "budget.exceeded",
            PushKind::RequestsHeld => "requests.held",
            PushKind::AlertsHeld => "alerts.held",
        }
    }
}

impl PushKind {
    /// A push of this kind asks its person to decide (a request, or the count of those held
    /// back): urgent, it goes on the phone's urgent channel for approvals.
    pub fn asks_for_a_decision(self) -> bool {
        matches!(self, PushKind::ApprovalRequested | PushKind::RequestsHeld)
    }
}

impl std::fmt::Display for PushKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// What a push carries (the plaintext inside Web Push encryption; APNs and FCM carry the same
/// JSON as data). Small and safe on a lock screen: never an approval's payload, preview,
/// comment, or any token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PushPayload {
    /// The payload's version: 1.
    pub v: u32,
    #[serde(rename = "type")]
    pub kind: PushKind,
    pub tenant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_name: Option<String>,
    /// One line for the lock screen.
    pub title: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::open::lenient_option"
    )]
    pub risk: Option<Risk>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// How an approval was resolved (`approved`, `rejected`, `expired`, `cancelled`); of a
    /// held-back notice, [`HELD_URGENT`] or [`HELD_SETTLED`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The tenant event that caused the push.
    pub seq: i64,
}

impl PushPayload {
    pub const VERSION: u32 = 1;

    /// The key a newer push about the same thing replaces an older one under: a request and
    /// its resolution share it, so a phone shows one notice and the resolution takes it down.
    pub fn collapse_key(&self) -> String {
        match (&self.approval_id, self.kind) {
            (
                Some(id),
                PushKind::ApprovalRequested | PushKind::ApprovalResolved | PushKind::ApprovalAcked,
            ) => {
                format!("approval:{id}")
            }
            (_, PushKind::RequestsHeld) => REQUESTS_HELD_KEY.to_owned(),
            (_, PushKind::AlertsHeld) => ALERTS_HELD_KEY.to_owned(),
            (_, kind) => format!("{kind}:{}", self.seq),
        }
    }

    /// Whether the phone should ring through Do Not Disturb's softer settings: high and
    /// critical approvals, stops, and a held-back notice holding an urgent request.
    pub fn urgent(&self) -> bool {
        match self.kind {
            PushKind::RequestsHeld | PushKind::AlertsHeld => {
                self.status.as_deref() == Some(HELD_URGENT)
            }
            PushKind::ApprovalRequested => matches!(
                self.risk.map(Risk::assumed),
                Some(Risk::High | Risk::Critical)
            ),
            PushKind::StopCompleted | PushKind::StopPartial => true,
            _ => false,
        }
    }
}

wire_enum!(
    /// How much a tenant's pushes say on a lock screen.
    PushDetail { Full => "full", Minimal => "minimal" }
);

// `wire_enum!` cannot put `#[default]` on a variant, so the impl is written out.
#[allow(clippy::derivable_impls)]
impl Default for PushDetail {
    fn default() -> Self {
        PushDetail::Full
    }
}

/// The tenant-wide settings an owner keeps (`GET`/`PUT /api/v1/tenant/settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct TenantSettings {
    /// `minimal`: pushes name neither the project nor the request, only its kind and risk
    /// ("Approval needed (critical)"), for tenants that want nothing readable on a lock
    /// screen. The app opens the approval from its cache, or fetches it.
    pub push_detail: PushDetail,
}

/// What the user asked for in Settings (`GET`/`PUT /api/v1/me/notification-settings`): the
/// desktop applies it to its own notifications, the server to pushes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct NotificationPrefs {
    /// Off: no notification at all, urgent ones included.
    pub enabled: bool,
    /// Project ids that only raise urgent notifications (critical approvals, stops). An id sent
    /// twice is kept once.
    // A plain array in the schema: `uniqueItems` would promise a refusal the server never gives.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>, max_items = 1000))]
    #[serde(deserialize_with = "at_most_max_muted_projects")]
    pub muted_projects: BTreeSet<String>,
    /// A daily window in which only urgent notifications are raised.
    pub quiet_hours: Option<QuietHours>,
    /// The IANA time zone quiet hours are read in (`Europe/Berlin`); UTC when absent. The
    /// app fills it in, so the server keeps the user's quiet hours while the app is closed.
    #[cfg_attr(feature = "ts", ts(optional))]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// The most ids `muted_projects` may name, an id sent twice counted twice (the schema's
/// `maxItems`): more projects than any tenant has.
pub const MAX_MUTED_PROJECTS: usize = 1000;

/// Reads `muted_projects` as the list it was sent, so its length is checked before duplicates
/// are folded: a thousand and one copies of one id are refused, as the schema says.
fn at_most_max_muted_projects<'de, D>(deserializer: D) -> Result<BTreeSet<String>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let ids = Vec::<String>::deserialize(deserializer)?;
    if ids.len() > MAX_MUTED_PROJECTS {
        return Err(serde::de::Error::custom(format!(
            "`muted_projects` names {} projects; at most {MAX_MUTED_PROJECTS} may be muted",
            ids.len()
        )));
    }
    Ok(ids.into_iter().collect())
}

impl Default for NotificationPrefs {
    fn default() -> Self {
        NotificationPrefs {
            enabled: true,
            muted_projects: BTreeSet::new(),
            quiet_hours: None,
            time_zone: None,
        }
    }
}

/// A daily window of local time, from `start` (included) to `end` (excluded). It wraps
/// midnight when `end` is before `start` (22:00–07:00); `start == end` is an empty window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct QuietHours {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "22:00:00"))]
    pub start: NaiveTime,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "07:00:00"))]
    pub end: NaiveTime,
}

impl QuietHours {
    pub fn contains(&self, now: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= now && now < self.end
        } else {
            now >= self.start || now < self.end
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_platform_registers_in_its_own_form() {
        let apns: RegisterDeviceRequest =
            serde_json::from_str(r#"{"platform":"apns","push_token":"ab12"}"#).expect("apns");
        assert_eq!(
            apns,
            RegisterDeviceRequest::Apns {
                push_token: "ab12".into(),
                environment: ApnsEnvironment::Production
            }
        );
        let web: RegisterDeviceRequest = serde_json::from_str(
            r#"{"platform":"webpush","endpoint":"https://push.example/x","p256dh":"BA","auth":"AA"}"#,
        )
        .expect("webpush");
        assert_eq!(web.platform(), Platform::Webpush);
        assert_eq!(web.address(), "https://push.example/x");
    }

    #[test]
    fn a_registration_with_a_stray_field_or_another_platform_is_refused() {
        for body in [
            r#"{"platform":"fcm","push_token":"t","endpoint":"https://x"}"#,
            r#"{"platform":"ios","push_token":"t"}"#,
            r#"{"platform":"webpush","endpoint":"https://x","p256dh":"BA"}"#,
        ] {
            assert!(
                serde_json::from_str::<RegisterDeviceRequest>(body).is_err(),
                "{body} was accepted"
            );
        }
    }

    #[test]
    fn a_registration_never_shows_its_token_in_debug() {
        let fcm = RegisterDeviceRequest::Fcm {
            push_token: "secret-token".into(),
        };
        assert!(!format!("{fcm:?}").contains("secret-token"));
    }

    #[test]
    fn a_request_and_its_resolution_share_a_collapse_key() {
        let requested: PushPayload = serde_json::from_value(serde_json::json!({
            "v": 1, "type": "approval.requested", "tenant_id": "t", "approval_id": "a1",
            "project_id": "p", "project_name": "Spring", "title": "Launch", "risk": "high",
            "expires_at": "2026-12-02T10:00:00Z", "seq": 7
        }))
        .expect("payload");
        let resolved = PushPayload {
            kind: PushKind::ApprovalResolved,
            status: Some("approved".into()),
            seq: 9,
            ..requested.clone()
        };
        assert_eq!(requested.collapse_key(), resolved.collapse_key());
        assert!(requested.urgent());
        assert!(!resolved.urgent());
        let json = serde_json::to_value(&resolved).expect("serializes");
        assert_eq!(json["type"], "approval.resolved");
        assert!(json.get("project_name").is_some() && json.get("preview").is_none());
    }

    #[test]
    fn a_notice_of_held_alerts_has_one_key_per_kind_and_rings_only_when_urgent() {
        let notice = |kind: &str, status: Option<&str>| -> PushPayload {
            serde_json::from_value(serde_json::json!({
                "v": 1, "type": kind, "tenant_id": "t", "title": "2 more requests wait for you",
                "status": status, "seq": 7
            }))
            .expect("payload")
        };
        let requests = notice("requests.held", Some(HELD_URGENT));
        assert_eq!(requests.collapse_key(), REQUESTS_HELD_KEY);
        assert!(requests.urgent());
        let later = PushPayload {
            seq: 9,
            status: None,
            ..requests
        };
        assert_eq!(
            later.collapse_key(),
            REQUESTS_HELD_KEY,
            "it replaces itself"
        );
        assert!(!later.urgent());
        let alerts = notice("alerts.held", Some(HELD_SETTLED));
        assert_eq!(alerts.collapse_key(), ALERTS_HELD_KEY);
        assert!(!alerts.urgent());
        assert_eq!(alerts.kind.to_string(), "alerts.held");
    }

    #[test]
    fn quiet_hours_wrap_midnight() {
        let at = |h| NaiveTime::from_hms_opt(h, 0, 0).expect("time");
        let night = QuietHours {
            start: at(22),
            end: at(7),
        };
        assert!(night.contains(at(23)) && night.contains(at(3)));
        assert!(!night.contains(at(7)) && !night.contains(at(12)));
    }
}
