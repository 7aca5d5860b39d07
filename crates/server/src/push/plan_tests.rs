use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{NaiveTime, TimeZone, Utc};
use serde_json::{json, Value};
use spartex_api::{Event, NotificationPrefs, PushDetail, PushKind, QuietHours, Role};

use super::{Planner, QueuedMessage, Recipient};

pub(crate) fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0)
        .single()
        .expect("a time")
}

pub(crate) fn event(seq: i64, kind: &str, data: Value) -> Event {
    serde_json::from_value(json!({
        "seq": seq, "type": kind, "at": now(), "project_id": "prj_1", "data": data
    }))
    .expect("an event")
}

fn approval(status: &str, risk: &str) -> Value {
    json!({
        "id": "apr_1", "project_id": "prj_1", "agent_id": "agt_1", "task_id": null,
        "kind": "publish_ad", "title": "Publish the hero ad", "summary": "secret summary",
        "payload": {"budget": 1}, "preview": null, "risk": risk, "status": status,
        "created_at": now(), "expires_at": now() + chrono::Duration::minutes(10),
        "on_expiry": "reject", "decided_by": null, "decided_at": null, "comment": null,
        "version": 1
    })
}

fn recipient(device: &str, role: Role, prefs: NotificationPrefs) -> Recipient {
    let time_zone = prefs
        .time_zone
        .as_deref()
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    Recipient {
        device_id: device.into(),
        user_id: format!("usr_{device}"),
        role,
        prefs,
        time_zone,
    }
}

/// A planner for tenant `ten_1` at `now`, from the states an earlier run remembered.
pub(crate) fn planner<'a>(
    recipients: &'a [Recipient],
    project_names: &'a HashMap<String, String>,
    detail: PushDetail,
    states: HashMap<String, String>,
    now: chrono::DateTime<Utc>,
) -> Planner<'a> {
    Planner {
        tenant_id: "ten_1",
        now,
        recipients,
        project_names,
        ladder_names: None,
        detail,
        states,
        settled: HashSet::new(),
        bursts: Default::default(),
        pushes: Vec::new(),
    }
}

fn plan(
    recipients: &[Recipient],
    states: HashMap<String, String>,
    events: &[Event],
) -> Vec<(String, QueuedMessage)> {
    plan_with(PushDetail::Full, recipients, states, events)
}

fn plan_with(
    detail: PushDetail,
    recipients: &[Recipient],
    states: HashMap<String, String>,
    events: &[Event],
) -> Vec<(String, QueuedMessage)> {
    let names = HashMap::from([("prj_1".to_owned(), "Spring Sale".to_owned())]);
    let mut planner = planner(recipients, &names, detail, states, now());
    for event in events {
        planner.plan(event);
    }
    planner
        .pushes
        .into_iter()
        .map(|p| {
            (
                p.device_id,
                serde_json::from_str(&p.payload).expect("a queued message"),
            )
        })
        .collect()
}

#[test]
fn a_new_approval_goes_to_those_who_may_act_and_never_to_a_viewer() {
    let recipients = [
        recipient("phone-oncall", Role::Oncall, NotificationPrefs::default()),
        recipient("phone-viewer", Role::Viewer, NotificationPrefs::default()),
    ];
    let pushes = plan(
        &recipients,
        HashMap::new(),
        &[event(7, "approval.upserted", approval("pending", "high"))],
    );
    assert_eq!(pushes.len(), 1);
    let (device, message) = &pushes[0];
    assert_eq!(device, "phone-oncall");
    assert_eq!(message.payload.project_name.as_deref(), Some("Spring Sale"));
    assert_eq!(message.payload.seq, 7);
    let json = serde_json::to_string(&message.payload).expect("json");
    assert!(
        !json.contains("secret summary") && !json.contains("budget"),
        "{json}"
    );
}

#[test]
fn a_resolution_is_pushed_only_for_a_request_that_was_seen_pending() {
    let recipients = [recipient(
        "phone",
        Role::Manager,
        NotificationPrefs::default(),
    )];
    let seen_pending = HashMap::from([("apr_1".to_owned(), "pending".to_owned())]);
    let pushes = plan(
        &recipients,
        seen_pending,
        &[event(8, "approval.upserted", approval("approved", "high"))],
    );
    assert_eq!(pushes.len(), 1);
    assert_eq!(
        pushes[0].1.payload.kind,
        spartex_api::PushKind::ApprovalResolved
    );
    assert!(!pushes[0].1.payload.urgent(), "a resolution never rings");

    let never_seen = plan(
        &recipients,
        HashMap::new(),
        &[event(8, "approval.upserted", approval("approved", "high"))],
    );
    assert!(never_seen.is_empty());
}

#[test]
fn a_minimal_tenant_pushes_no_names_titles_or_deciders() {
    let recipients = [recipient(
        "phone",
        Role::Oncall,
        NotificationPrefs::default(),
    )];
    let mut decided = approval("approved", "critical");
    decided["decided_by"] = json!({"id": "usr_1", "name": "Dana Whitfield"});
    let pushes = plan_with(
        PushDetail::Minimal,
        &recipients,
        HashMap::new(),
        &[
            event(7, "approval.upserted", approval("pending", "critical")),
            event(8, "approval.upserted", decided),
        ],
    );
    let kinds: Vec<_> = pushes.iter().map(|(_, m)| m.payload.kind).collect();
    assert_eq!(
        kinds,
        [PushKind::ApprovalRequested, PushKind::ApprovalResolved]
    );
    let requested = &pushes[0].1;
    assert_eq!(requested.payload.title, "Approval needed (critical)");
    assert_eq!(requested.payload.approval_id.as_deref(), Some("apr_1"));
    assert!(requested.payload.urgent(), "the risk still rings the phone");
    for (_, message) in &pushes {
        let shown = serde_json::to_string(message).expect("json");
        for secret in ["Spring Sale", "Publish the hero ad", "Dana"] {
            assert!(!shown.contains(secret), "{secret} leaked into {shown}");
        }
        assert_eq!(message.payload.project_name, None);
    }
}

#[test]
fn the_same_state_twice_is_pushed_once() {
    let recipients = [recipient(
        "phone",
        Role::Oncall,
        NotificationPrefs::default(),
    )];
    let pending = approval("pending", "medium");
    let pushes = plan(
        &recipients,
        HashMap::new(),
        &[
            event(1, "approval.upserted", pending.clone()),
            event(2, "approval.upserted", pending),
        ],
    );
    assert_eq!(pushes.len(), 1);
}

#[test]
fn mutes_and_quiet_hours_in_the_users_zone_hold_back_all_but_critical() {
    // Noon UTC is 21:00 in Tokyo: inside 20:00–07:00 there.
    let quiet = NotificationPrefs {
        quiet_hours: Some(QuietHours {
            start: NaiveTime::from_hms_opt(20, 0, 0).expect("time"),
            end: NaiveTime::from_hms_opt(7, 0, 0).expect("time"),
        }),
        time_zone: Some("Asia/Tokyo".into()),
        ..NotificationPrefs::default()
    };
    let muted = NotificationPrefs {
        muted_projects: BTreeSet::from(["prj_1".to_owned()]),
        ..NotificationPrefs::default()
    };
    let recipients = [
        recipient("quiet", Role::Oncall, quiet),
        recipient("muted", Role::Oncall, muted),
    ];
    let medium = plan(
        &recipients,
        HashMap::new(),
        &[event(1, "approval.upserted", approval("pending", "medium"))],
    );
    assert!(medium.is_empty(), "{medium:?}");
    let critical = plan(
        &recipients,
        HashMap::new(),
        &[event(
            1,
            "approval.upserted",
            approval("pending", "critical"),
        )],
    );
    assert_eq!(critical.len(), 2, "critical passes both");
}

#[test]
fn an_expired_request_read_late_is_not_pushed() {
    let recipients = [recipient(
        "phone",
        Role::Oncall,
        NotificationPrefs::default(),
    )];
    let mut late = approval("pending", "high");
    late["expires_at"] = json!(now() - chrono::Duration::seconds(1));
    assert!(plan(
        &recipients,
        HashMap::new(),
        &[event(1, "approval.upserted", late)]
    )
    .is_empty());
}

#[test]
fn what_an_agent_or_a_person_wrote_is_pushed_as_plain_text() {
    // "Pay $", U+202E, "005" shows as "Pay $500"; isolates and a zero-width space hide too.
    let mut requested = approval("pending", "high");
    requested["title"] = json!("Pay $\u{202E}005 to \u{2066}ads\u{2069}\u{200B}");
    let mut decided = requested.clone();
    decided["status"] = json!("approved");
    decided["decided_by"] = json!({"id": "usr_1", "name": "Da\u{202E}na\u{200B}"});
    let names = HashMap::from([(
        "prj_1".to_owned(),
        "Spring\u{2066} Sale\u{2069}\u{202E}".to_owned(),
    )]);
    let recipients = [recipient(
        "phone",
        Role::Oncall,
        NotificationPrefs::default(),
    )];
    let mut planner = planner(&recipients, &names, PushDetail::Full, HashMap::new(), now());
    planner.plan(&event(7, "approval.upserted", requested));
    planner.plan(&event(8, "approval.upserted", decided));
    let pushes: Vec<QueuedMessage> = planner
        .pushes
        .iter()
        .map(|p| serde_json::from_str(&p.payload).expect("a queued message"))
        .collect();
    let kinds: Vec<_> = pushes.iter().map(|m| m.payload.kind).collect();
    assert_eq!(
        kinds,
        [PushKind::ApprovalRequested, PushKind::ApprovalResolved]
    );
    for message in &pushes {
        assert_eq!(message.payload.title, "Pay $005 to ads");
        assert_eq!(message.payload.project_name.as_deref(), Some("Spring Sale"));
    }
    assert!(
        pushes[0].body.ends_with("Project: Spring Sale"),
        "{}",
        pushes[0].body
    );
    assert_eq!(pushes[1].body, "Approved by Dana");
    for message in &pushes {
        let shown = format!(
            "{} {}",
            serde_json::to_string(message).expect("json"),
            message.body
        );
        for hidden in ['\u{202E}', '\u{2066}', '\u{2069}', '\u{200B}'] {
            assert!(!shown.contains(hidden), "{hidden:?} pushed in {shown:?}");
        }
    }
}
