//! The payload a phone receives and the buttons it offers, without a phone.

use chrono::{TimeZone, Utc};
use proptest::prelude::*;
use serde_json::json;
use spartex_api::{Approval, ApprovalStatus, Preview, PushPayload, Risk, Role};

use super::*;

fn requested() -> serde_json::Value {
    json!({
        "v": 1, "type": "approval.requested", "tenant_id": "ten_acme", "approval_id": "apr_1",
        "project_id": "prj_spring", "project_name": "Spring Sale", "title": "Publish the hero ad",
        "risk": "high", "expires_at": "2026-12-02T10:30:00Z", "seq": 42
    })
}

fn parse(value: &serde_json::Value) -> Result<PushPayload, PushError> {
    parse_push(value.to_string().as_bytes())
}

fn payload(value: serde_json::Value) -> PushPayload {
    parse(&value).expect("a valid push")
}

fn approval(preview: Option<Preview>, risk: Risk) -> Approval {
    let created = Utc
        .with_ymd_and_hms(2026, 12, 2, 10, 0, 0)
        .single()
        .expect("time");
    Approval {
        project_id: "prj_spring".into(),
        agent_id: None,
        title: "Publish the hero ad".into(),
        preview,
        risk,
        created_at: created,
        expires_at: created + chrono::Duration::minutes(30),
        ..Approval::example()
    }
}

fn amount() -> Option<Preview> {
    Some(Preview::Amount {
        currency: "USD".into(),
        old_amount: Some(100.0),
        new_amount: 150.0,
        period: None,
    })
}

fn view(approval: Approval) -> ApprovalView {
    ApprovalView {
        approval,
        project_name: "Spring Sale".into(),
        agent_name: None,
        sending: None,
        project_stopped: false,
        approve_blocker: None,
        reject_blocker: None,
    }
}

fn shown(action: ShellAction) -> PushNotification {
    match action {
        ShellAction::ShowNotification { notification } => notification,
        other => panic!("expected a notification, got {other:?}"),
    }
}

#[test]
fn each_wrapping_of_the_payload_reads_the_same() {
    let plain = payload(requested());
    let apns =
        json!({"aps": {"alert": {"title": "x"}, "category": "approval"}, "spartex": requested()});
    let mut fcm = serde_json::Map::new();
    for (name, value) in requested().as_object().expect("object") {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        fcm.insert(name.clone(), text.into());
    }
    fcm.insert("payload".into(), requested().to_string().into());
    assert_eq!(payload(apns), plain);
    assert_eq!(payload(serde_json::Value::Object(fcm)), plain);
    assert_eq!(plain.collapse_key(), "approval:apr_1");
}

#[test]
fn a_push_of_another_version_or_type_is_refused_in_words() {
    let mut newer = requested();
    newer["v"] = 2.into();
    assert_eq!(parse(&newer), Err(PushError::UnsupportedVersion(2)));
    assert!(PushError::UnsupportedVersion(2)
        .to_string()
        .contains("Update the app"));

    let mut unknown = requested();
    unknown["type"] = "approval.escalated".into();
    assert_eq!(
        parse(&unknown),
        Err(PushError::UnknownType("approval.escalated".into()))
    );

    let mut unversioned = requested();
    unversioned.as_object_mut().expect("object").remove("v");
    assert!(matches!(parse(&unversioned), Err(PushError::Malformed(_))));

    assert!(matches!(
        parse_push(b"\xff\xfe not json"),
        Err(PushError::NotJson(_))
    ));
    assert!(matches!(
        parse_push(&vec![b' '; MAX_PUSH_BYTES + 1]),
        Err(PushError::TooLarge(_))
    ));
}

#[test]
fn a_push_whose_ids_could_steer_a_route_is_refused() {
    for (field, value) in [
        ("approval_id", json!("../settings")),
        ("approval_id", json!("apr_1?x=1")),
        ("project_id", json!("")),
        ("approval_id", json!(null)),
        ("tenant_id", json!(" ")),
        ("seq", json!("many")),
    ] {
        let mut bad = requested();
        bad[field] = value.clone();
        assert!(
            matches!(parse(&bad), Err(PushError::Malformed(_))),
            "{field} = {value} was accepted"
        );
    }
}

#[test]
fn a_request_not_in_the_cache_offers_open_only_on_the_urgent_channel() {
    let push = payload(requested());
    let shown = shown(effect_of_push(&push, None, Role::Oncall));
    let n = &shown.notification;
    assert_eq!(n.key, "approval:apr_1");
    assert_eq!(n.title, "Approval needed: Publish the hero ad");
    assert_eq!(
        n.body,
        "high risk · expires 10:30 UTC\nProject: Spring Sale"
    );
    assert_eq!(n.actions, [NotificationAction::Open]);
    assert!(n.urgent);
    assert_eq!(shown.channel, CHANNEL_URGENT_APPROVALS);
    assert_eq!(shown.category, None);
    assert_eq!(shown.open, "/approvals/apr_1");
}

#[test]
fn a_cached_request_with_a_preview_offers_approve_behind_the_unlock() {
    let push = payload(requested());
    let cached = view(approval(amount(), Risk::High));
    let shown = shown(effect_of_push(&push, Some(&cached), Role::Oncall));
    assert_eq!(
        shown.notification.actions,
        [
            NotificationAction::Approve,
            NotificationAction::Reject,
            NotificationAction::Open
        ]
    );
    assert_eq!(shown.category.as_deref(), Some(CATEGORY_APPROVAL_UNLOCK));

    let mut low = requested();
    low["risk"] = "low".into();
    let cached = view(approval(amount(), Risk::Low));
    let shown_low = self::shown(effect_of_push(&payload(low), Some(&cached), Role::Oncall));
    assert!(!shown_low.notification.urgent);
    assert_eq!(shown_low.channel, CHANNEL_DEFAULT);
    assert_eq!(shown_low.category.as_deref(), Some(CATEGORY_APPROVAL));
}

#[test]
fn a_cached_request_without_a_preview_is_never_approved_from_the_notification() {
    let push = payload(requested());
    let cached = view(approval(None, Risk::High));
    let shown = shown(effect_of_push(&push, Some(&cached), Role::Oncall));
    assert_eq!(
        shown.notification.actions,
        [NotificationAction::Reject, NotificationAction::Open]
    );
    assert_eq!(shown.category.as_deref(), Some(CATEGORY_APPROVAL_REJECT));
}

#[test]
fn a_viewer_a_request_being_sent_and_a_stopped_project_offer_open_only() {
    let push = payload(requested());
    let cached = view(approval(amount(), Risk::High));
    let viewer = shown(effect_of_push(&push, Some(&cached), Role::Viewer));
    assert_eq!(viewer.notification.actions, [NotificationAction::Open]);
    let sending = ApprovalView {
        sending: Some(Decision::Approve),
        ..cached.clone()
    };
    assert_eq!(
        shown(effect_of_push(&push, Some(&sending), Role::Owner))
            .notification
            .actions,
        [NotificationAction::Open]
    );
    let stopped = ApprovalView {
        project_stopped: true,
        ..cached
    };
    assert_eq!(
        shown(effect_of_push(&push, Some(&stopped), Role::Owner))
            .notification
            .actions,
        [NotificationAction::Open]
    );
}

#[test]
fn a_request_already_decided_in_the_cache_is_taken_down_not_shown() {
    let push = payload(requested());
    let mut decided = approval(amount(), Risk::High);
    decided.status = ApprovalStatus::Approved;
    assert_eq!(
        effect_of_push(&push, Some(&view(decided)), Role::Oncall),
        ShellAction::Dismiss {
            key: "approval:apr_1".into()
        }
    );
}

#[test]
fn a_resolution_takes_the_request_down() {
    let mut resolved = requested();
    resolved["type"] = "approval.resolved".into();
    resolved["status"] = "approved".into();
    assert_eq!(
        effect_of_push(&payload(resolved), None, Role::Oncall),
        ShellAction::Dismiss {
            key: "approval:apr_1".into()
        }
    );
}

#[test]
fn a_minimal_push_says_its_words_once() {
    let mut minimal = requested();
    minimal["title"] = "Approval needed (critical)".into();
    minimal["project_name"] = "Approval needed (critical)".into();
    minimal["risk"] = "critical".into();
    let shown = shown(effect_of_push(&payload(minimal), None, Role::Oncall));
    assert_eq!(shown.notification.title, "Approval needed (critical)");
    assert_eq!(shown.notification.body, "critical risk · expires 10:30 UTC");
}

#[test]
fn stop_pushes_open_the_stop_screen_and_carry_no_button_but_open() {
    let stop = payload(json!({
        "v": 1, "type": "stop.partial", "tenant_id": "ten_acme", "project_id": "prj_spring",
        "project_name": "Spring Sale", "title": "Emergency stop partial: 1 agent never answered", "seq": 9
    }));
    let shown = shown(effect_of_push(&stop, None, Role::Oncall));
    assert_eq!(shown.notification.kind, NotificationKind::StopPartial);
    assert_eq!(shown.notification.actions, [NotificationAction::Open]);
    assert!(shown.notification.urgent);
    assert_eq!(shown.channel, CHANNEL_DEFAULT);
    assert_eq!(shown.open, "/projects/prj_spring?stop=project");
    for action in [
        NotificationAction::Open,
        NotificationAction::Approve,
        NotificationAction::Reject,
    ] {
        assert_eq!(
            route_action(&shown.notification, action),
            Routed::Navigate {
                route: "/projects/prj_spring?stop=project".into()
            },
            "{action:?}"
        );
    }
    let everything = payload(json!({
        "v": 1, "type": "stop.completed", "tenant_id": "ten_acme", "title": "Emergency stop completed", "seq": 10
    }));
    assert_eq!(
        self::shown(effect_of_push(&everything, None, Role::Owner)).open,
        "/projects?stop=all"
    );
}

#[test]
fn agent_errors_and_budgets_open_their_project() {
    for kind in ["agent.error", "budget.warning", "budget.exceeded"] {
        let push = payload(json!({
            "v": 1, "type": kind, "tenant_id": "ten_acme", "project_id": "prj_spring",
            "project_name": "Spring Sale", "title": "Agent error: Quill", "seq": 3
        }));
        let shown = shown(effect_of_push(&push, None, Role::Oncall));
        assert_eq!(shown.open, "/projects/prj_spring", "{kind}");
        assert_eq!(shown.notification.key, format!("{kind}:3"));
        assert!(!shown.notification.urgent, "{kind}");
        assert_eq!(shown.notification.body, "Project: Spring Sale");
    }
}

#[test]
fn a_notice_of_held_requests_replaces_itself_opens_the_list_and_goes_once_settled() {
    let held = |status: Option<&str>| {
        let mut push = json!({
            "v": 1, "type": "requests.held", "tenant_id": "ten_acme",
            "title": "5 more requests wait for you", "seq": 40
        });
        if let Some(status) = status {
            push["status"] = status.into();
        }
        payload(push)
    };
    let urgent = shown(effect_of_push(&held(Some("urgent")), None, Role::Oncall));
    assert_eq!(
        urgent.notification.key, "held-back:requests",
        "one, replaced"
    );
    assert_eq!(urgent.notification.title, "5 more requests wait for you");
    assert_eq!(urgent.open, "/approvals");
    assert!(urgent.notification.urgent);
    assert_eq!(urgent.channel, CHANNEL_URGENT_APPROVALS);
    assert_eq!(urgent.category, None, "no buttons: it decides nothing");
    let ordinary = shown(effect_of_push(&held(None), None, Role::Oncall));
    assert!(!ordinary.notification.urgent);
    assert_eq!(ordinary.channel, CHANNEL_DEFAULT);
    assert_eq!(
        effect_of_push(&held(Some("settled")), None, Role::Oncall),
        ShellAction::Dismiss {
            key: "held-back:requests".into()
        }
    );

    let alerts = payload(json!({
        "v": 1, "type": "alerts.held", "tenant_id": "ten_acme",
        "title": "3 more agents stopped on an error", "seq": 41
    }));
    let other = shown(effect_of_push(&alerts, None, Role::Oncall));
    assert_eq!(other.notification.key, "held-back:alerts");
    assert_eq!(other.open, "/");
}

#[test]
fn approve_and_reject_decide_and_a_tap_opens_the_approval() {
    let push = payload(requested());
    let n = shown(effect_of_push(&push, None, Role::Oncall)).notification;
    assert_eq!(
        route_action(&n, NotificationAction::Approve),
        Routed::Decide {
            approval_id: "apr_1".into(),
            decision: Decision::Approve
        }
    );
    assert_eq!(
        route_action(&n, NotificationAction::Reject),
        Routed::Decide {
            approval_id: "apr_1".into(),
            decision: Decision::Reject
        }
    );
    assert_eq!(
        route_action(&n, NotificationAction::Open),
        Routed::Navigate {
            route: "/approvals/apr_1".into()
        }
    );
}

#[test]
fn a_notification_handed_back_by_the_shell_reads_back_whole() {
    let shown = shown(effect_of_push(&payload(requested()), None, Role::Oncall));
    let json = serde_json::to_string(&shown).expect("serializes");
    let back: PushNotification = serde_json::from_str(&json).expect("reads back");
    assert_eq!(back, shown);
    let action = serde_json::to_value(ShellAction::Dismiss {
        key: "approval:a".into(),
    })
    .expect("serializes");
    assert_eq!(action, json!({"do": "dismiss", "key": "approval:a"}));
}

#[test]
fn long_or_multiline_titles_become_one_short_line() {
    let mut long = requested();
    long["title"] = format!("Line one\nline two\t{}", "x".repeat(400)).into();
    let shown = shown(effect_of_push(&payload(long), None, Role::Oncall));
    let title = &shown.notification.title;
    assert!(!title.contains('\n') && !title.contains('\t'), "{title}");
    assert!(title.chars().count() <= 220, "{}", title.len());
    assert!(title.ends_with('…'));
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or_default()),
        "[a-z._/ -]{0,12}".prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "approval.requested",
            "approval.resolved",
            "stop.partial",
            "apr_1",
            "high",
            "2026-12-02T10:30:00Z",
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "v",
                    "type",
                    "tenant_id",
                    "approval_id",
                    "project_id",
                    "project_name",
                    "title",
                    "risk",
                    "expires_at",
                    "status",
                    "seq",
                    "spartex",
                    "payload",
                    "aps",
                ])
                .prop_map(str::to_owned),
                inner,
                0..10
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Whatever bytes arrive, reading them answers (a payload or a reason) and never panics.
    #[test]
    fn any_bytes_are_read_or_refused(raw in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_push(&raw);
    }

    /// Any JSON, with the payload's field names and values mixed at random: refused in words,
    /// or read into a payload whose notification is sound.
    #[test]
    fn any_json_is_refused_or_shown_soundly(value in json_value(), role in prop::sample::select(Role::ALL.to_vec())) {
        let raw = value.to_string();
        match parse_push(raw.as_bytes()) {
            Err(error) => prop_assert!(!error.to_string().is_empty()),
            Ok(push) => {
                prop_assert_eq!(push.v, 1);
                match effect_of_push(&push, None, role) {
                    ShellAction::ShowNotification { notification } => {
                        prop_assert!(notification.open.starts_with('/'));
                        prop_assert!(!notification.notification.actions.contains(&NotificationAction::Approve));
                        prop_assert_eq!(notification.notification.key, push.collapse_key());
                    }
                    ShellAction::Dismiss { key } => prop_assert_eq!(key, push.collapse_key()),
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
    }
}

fn signed_in(tenant_id: &str, tenant_name: &str, role: spartex_api::Role) -> crate::AccountInfo {
    crate::AccountInfo {
        id: format!("{tenant_id}-dana"),
        server_url: "https://spartex.example".into(),
        user: spartex_api::User {
            id: "usr_dana".into(),
            email: "dana@example.test".into(),
            name: "Dana".into(),
            role,
        },
        tenant: spartex_api::Tenant {
            id: tenant_id.into(),
            name: tenant_name.into(),
            slug: tenant_id.into(),
        },
        added_at: Utc::now(),
    }
}

#[test]
fn a_push_for_another_organisation_signed_in_here_is_shown_naming_it_without_buttons() {
    let accounts = [
        signed_in("ten_acme", "Acme Ads", spartex_api::Role::Oncall),
        signed_in("ten_north", "Northwind", spartex_api::Role::Manager),
    ];
    let mut push = requested();
    push["tenant_id"] = "ten_north".into();
    let Some(ShellAction::ShowNotification {
        notification: shown,
    }) = for_another_account(push.to_string().as_bytes(), &accounts)
    else {
        panic!("shown, naming its organisation");
    };
    assert!(
        shown.notification.title.starts_with("Northwind: "),
        "{}",
        shown.notification.title
    );
    assert_eq!(shown.notification.actions, [NotificationAction::Open]);
    assert_eq!(shown.category, None);
    assert_eq!(
        shown.open, "/approvals",
        "never the other organisation's id"
    );

    push["type"] = "approval.resolved".into();
    push["status"] = "approved".into();
    assert_eq!(
        for_another_account(push.to_string().as_bytes(), &accounts),
        Some(ShellAction::Dismiss {
            key: shown.notification.key.clone()
        }),
        "its resolution takes it down"
    );

    push["tenant_id"] = "ten_unknown".into();
    assert_eq!(
        for_another_account(push.to_string().as_bytes(), &accounts),
        None
    );
    assert_eq!(for_another_account(b"not json", &accounts), None);
}
