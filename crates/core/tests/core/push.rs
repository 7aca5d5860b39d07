//! The phone's side of push against the real server: registering the device, sending the
//! notification settings, and acting on what a push shows.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use spartex_api::{Decision, Device, NotificationPrefs, QuietHours, RegisterDeviceRequest};
use spartex_core::notify::NotificationAction;
use spartex_core::push::{
    DecidedFromNotification, ShellAction, CATEGORY_APPROVAL_UNLOCK, REJECTED_FROM_NOTIFICATION,
};
use spartex_core::settings::{local_time_zone, SettingsSent};
use spartex_core::Account;

use crate::support::{eventually, World};

const SETTINGS: &str = "/api/v1/me/notification-settings";
const ONCALL: &str = "oncall@acme.test";

fn fcm(token: &str) -> RegisterDeviceRequest {
    RegisterDeviceRequest::Fcm {
        push_token: token.into(),
    }
}

fn ids(devices: &[Device]) -> Vec<String> {
    devices.iter().map(|d| d.id.clone()).collect()
}

async fn devices_on_server(world: &World, email: &str) -> Vec<String> {
    let token = world.server_token(email).await;
    world
        .get(&token, "/api/v1/devices")
        .await
        .as_array()
        .expect("a list of devices")
        .iter()
        .map(|d| d["id"].as_str().expect("an id").to_owned())
        .collect()
}

#[tokio::test]
async fn a_phone_registers_once_per_token_and_a_new_token_replaces_the_old() {
    let mut world = World::start().await;
    let core = world.core("phone");
    let dana = world.login(&core, ONCALL).await;

    let first = dana
        .register_push_device(fcm("fcm-token-one"))
        .await
        .expect("registers");
    assert_eq!(dana.push_device(), Some(first.clone()));
    assert_eq!(
        ids(&dana.push_devices().await.expect("lists")),
        std::slice::from_ref(&first.id)
    );

    // The app registers on every start: the same token again is answered from what this
    // install remembers, without the server.
    world.stop_server().await;
    let again = dana
        .register_push_device(fcm("fcm-token-one"))
        .await
        .expect("answered without the server");
    assert_eq!(again.id, first.id);
    world.restart_server().await;

    // The push service rotated the token: the new one is registered, the old one is gone.
    let second = dana
        .register_push_device(fcm("fcm-token-two"))
        .await
        .expect("registers the new token");
    assert_ne!(second.id, first.id);
    assert_eq!(dana.push_device().map(|d| d.id), Some(second.id.clone()));
    assert_eq!(
        devices_on_server(&world, ONCALL).await,
        std::slice::from_ref(&second.id)
    );

    // Pushes can be turned off on this phone without signing out.
    assert!(dana.unregister_push_device().await.expect("unregisters"));
    assert_eq!(dana.push_device(), None);
    assert!(devices_on_server(&world, ONCALL).await.is_empty());
}

/// A phone whose notifications were turned off is taken off the push list of every
/// organisation signed in on it, not only the one shown: the ladder would count on it there.
/// Turned on again, it is put back on every list.
#[tokio::test]
async fn a_phone_that_may_no_longer_notify_leaves_every_organisations_push_list() {
    let mut world = World::start().await;
    let core = world.core("phone");
    let acme = world.login(&core, ONCALL).await;
    let northwind = world
        .login(&core, spartex_testkit::demo::NORTHWIND_ONCALL)
        .await;
    for account in [&acme, &northwind] {
        account
            .register_push_device(fcm("fcm-token-of-this-phone"))
            .await
            .expect("registers");
    }

    // Offline: nothing is forgotten, and each organisation says why.
    world.stop_server().await;
    let not_reached = core
        .unregister_push_devices_of_every_account()
        .await
        .expect("the accounts are listed");
    assert_eq!(not_reached.len(), 2, "{not_reached:?}");
    assert!(acme.push_device().is_some(), "kept to try again");
    world.restart_server().await;

    let not_reached = core
        .unregister_push_devices_of_every_account()
        .await
        .expect("the accounts are listed");
    assert!(not_reached.is_empty(), "{not_reached:?}");
    for (account, email) in [
        (&acme, ONCALL),
        (&northwind, spartex_testkit::demo::NORTHWIND_ONCALL),
    ] {
        assert_eq!(account.push_device(), None, "{email}");
        assert!(
            devices_on_server(&world, email).await.is_empty(),
            "{email}'s organisation no longer pages this phone"
        );
    }

    // Notifications on again: registered for the organisation shown, then for every other.
    acme.register_push_device(fcm("fcm-token-of-this-phone"))
        .await
        .expect("registers");
    let not_reached = core
        .register_push_device_for_every_account(&fcm("fcm-token-of-this-phone"), &acme.info().id)
        .await
        .expect("the accounts are listed");
    assert!(not_reached.is_empty(), "{not_reached:?}");
    for (account, email) in [
        (&acme, ONCALL),
        (&northwind, spartex_testkit::demo::NORTHWIND_ONCALL),
    ] {
        let device = account.push_device().expect("registered");
        assert_eq!(
            devices_on_server(&world, email).await,
            [device.id],
            "{email}'s organisation pages this phone again, once"
        );
    }
}

#[tokio::test]
async fn sign_out_unregisters_the_device_and_offline_it_signs_out_anyway() {
    let mut world = World::start().await;
    let core = world.core("phone");
    let dana = world.login(&core, ONCALL).await;
    dana.register_push_device(fcm("fcm-token-signed-out"))
        .await
        .expect("registers");
    let id = dana.info().id.clone();
    dana.store().close().await;
    core.logout(Some(&id), spartex_core::Undelivered::Keep)
        .await
        .expect("signs out");
    assert!(
        devices_on_server(&world, ONCALL).await.is_empty(),
        "the server no longer pushes to a signed-out phone"
    );

    let core = world.core("offline-phone");
    let dana = world.login(&core, ONCALL).await;
    let device = dana
        .register_push_device(fcm("fcm-token-offline"))
        .await
        .expect("registers");
    let id = dana.info().id.clone();
    dana.store().close().await;
    world.stop_server().await;
    let started = Instant::now();
    core.logout(Some(&id), spartex_core::Undelivered::Keep)
        .await
        .expect("signs out offline");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "sign-out waited {:?} for a server that is gone",
        started.elapsed()
    );
    assert!(core.accounts().expect("accounts").is_empty());
    world.restart_server().await;
    assert_eq!(
        devices_on_server(&world, ONCALL).await,
        [device.id],
        "offline, the server could not be told"
    );
}

fn muted(project: &str) -> NotificationPrefs {
    NotificationPrefs {
        muted_projects: BTreeSet::from([project.to_owned()]),
        quiet_hours: Some(QuietHours {
            start: chrono::NaiveTime::from_hms_opt(22, 0, 0).expect("time"),
            end: chrono::NaiveTime::from_hms_opt(7, 0, 0).expect("time"),
        }),
        ..NotificationPrefs::default()
    }
}

async fn settings_on_server(world: &World, token: &str) -> NotificationPrefs {
    serde_json::from_value(world.get(token, SETTINGS).await).expect("settings")
}

#[tokio::test]
async fn saved_settings_reach_the_server_and_wait_out_an_outage() {
    let mut world = World::start().await;
    let core = world.core("desk");
    let dana = world.login(&core, ONCALL).await;
    let running = dana.start();
    let token = world.server_token(ONCALL).await;

    core.set_notification_prefs(&dana.info().id, &muted("prj_spring"))
        .expect("saves");
    eventually("the server has the settings", || async {
        settings_on_server(&world, &token).await.muted_projects
            == BTreeSet::from(["prj_spring".to_owned()])
    })
    .await;
    let on_server = settings_on_server(&world, &token).await;
    assert_eq!(on_server.quiet_hours, muted("prj_spring").quiet_hours);
    assert_eq!(
        on_server.time_zone,
        local_time_zone(),
        "read in this machine's zone"
    );
    assert!(!dana.notification_settings_waiting());

    world.stop_server().await;
    let off = NotificationPrefs {
        enabled: false,
        ..muted("prj_spring")
    };
    core.set_notification_prefs(&dana.info().id, &off)
        .expect("saves offline");
    assert!(
        !core
            .notification_prefs(&dana.info().id)
            .expect("reads")
            .enabled,
        "applied here at once"
    );
    assert!(dana.notification_settings_waiting());
    world.restart_server().await;
    eventually("the settings saved offline reach the server", || async {
        !settings_on_server(&world, &token).await.enabled
    })
    .await;
    eventually("nothing waits any more", || async {
        !dana.notification_settings_waiting()
    })
    .await;
    running.stop().await;
}

#[tokio::test]
async fn a_new_sign_in_takes_the_servers_settings_or_gives_its_own() {
    let world = World::start().await;
    let token = world.server_token(ONCALL).await;
    assert_eq!(
        settings_on_server(&world, &token).await,
        NotificationPrefs::default(),
        "nothing saved yet"
    );

    // The first sign-in finds none on the server and gives this machine's.
    let desk_core = world.core("desk");
    let desk = world.login(&desk_core, ONCALL).await;
    assert_eq!(
        settings_on_server(&world, &token).await.time_zone,
        local_time_zone()
    );
    assert!(!desk.notification_settings_waiting());

    desk_core
        .set_notification_prefs(&desk.info().id, &muted("prj_weekly"))
        .expect("saves");
    assert_eq!(
        desk.send_notification_settings().await.expect("sends"),
        SettingsSent::Sent
    );

    // A phone signing in later takes what the person set on the desk.
    let phone_core = world.core("phone");
    let phone = world.login(&phone_core, ONCALL).await;
    let on_phone = phone_core
        .notification_prefs(&phone.info().id)
        .expect("reads");
    assert_eq!(on_phone.muted_projects, muted("prj_weekly").muted_projects);
    assert!(!phone.notification_settings_waiting());
}

/// What the server's dispatcher would push for `approval` (protocol v1.1).
async fn push_for(world: &World, account: &Account, approval: &Value) -> Vec<u8> {
    let token = world.server_token(ONCALL).await;
    let head = world.get(&token, "/api/v1/sync?since=0&limit=1").await["head"].clone();
    json!({
        "v": 1, "type": "approval.requested", "tenant_id": account.info().tenant.id,
        "approval_id": approval["id"], "project_id": approval["project_id"],
        "project_name": "Spring Sale", "title": approval["title"], "risk": approval["risk"],
        "expires_at": approval["expires_at"], "seq": head
    })
    .to_string()
    .into_bytes()
}

async fn status_on_server(world: &World, id: &str) -> Value {
    let token = world.server_token(ONCALL).await;
    world.get(&token, &format!("/api/v1/approvals/{id}")).await
}

#[tokio::test]
async fn a_push_ahead_of_the_cache_catches_up_and_approve_goes_through_the_outbox() {
    let world = World::start().await;
    let approval = world.ask("Quill", "Publish the spring hero ad").await;
    let id = approval["id"].as_str().expect("id");
    let dana = world.login(&world.core("phone"), ONCALL).await;
    assert_eq!(
        dana.store().last_seq().await.expect("seq"),
        0,
        "nothing cached yet"
    );

    let push = push_for(&world, &dana, &approval).await;
    let ShellAction::ShowNotification { notification } = dana.on_push(&push).await else {
        panic!("the request is shown");
    };
    assert_eq!(
        notification.notification.actions,
        [
            NotificationAction::Approve,
            NotificationAction::Reject,
            NotificationAction::Open
        ],
        "cached with its preview after catching up, it may be approved"
    );
    assert_eq!(
        notification.category.as_deref(),
        Some(CATEGORY_APPROVAL_UNLOCK)
    );

    let done = dana
        .act_on_notification(&notification.notification, NotificationAction::Approve)
        .await;
    assert_eq!(
        done,
        ShellAction::Dismiss {
            key: format!("approval:{id}")
        }
    );
    assert_eq!(status_on_server(&world, id).await["status"], "approved");
    assert!(dana.outbox().await.expect("outbox").is_empty());

    // The resolution that follows takes the notification down.
    let mut resolved: Value = serde_json::from_slice(&push).expect("json");
    resolved["type"] = "approval.resolved".into();
    assert_eq!(
        dana.on_push(resolved.to_string().as_bytes()).await,
        ShellAction::Dismiss {
            key: format!("approval:{id}")
        }
    );
}

#[tokio::test]
async fn a_decision_pressed_offline_says_it_is_not_sent_yet_in_place_of_the_request() {
    let mut world = World::start().await;
    let approval = world.ask("Quill", "Publish the offline hero ad").await;
    let id = approval["id"].as_str().expect("id").to_owned();
    let dana = world.login(&world.core("phone"), ONCALL).await;
    let push = push_for(&world, &dana, &approval).await;
    let ShellAction::ShowNotification { notification } = dana.on_push(&push).await else {
        panic!("the request is shown");
    };
    world.stop_server().await;

    let pressed = dana
        .act_on_notification(&notification.notification, NotificationAction::Approve)
        .await;
    let ShellAction::ShowNotification { notification: said } = pressed else {
        panic!("the person is told the approval waits, not shown it as done: {pressed:?}");
    };
    assert_eq!(
        said.notification.key,
        format!("approval:{id}"),
        "in place of the request"
    );
    assert_eq!(said.notification.title, "Your approval is not sent yet");
    assert!(
        said.notification
            .body
            .starts_with("Publish the offline hero ad: it is sent"),
        "{}",
        said.notification.body
    );
    assert_eq!(said.notification.actions, [NotificationAction::Open]);
    assert_eq!(said.open, format!("/approvals/{id}"));
    assert_eq!(dana.outbox().await.expect("outbox").len(), 1, "queued once");

    world.restart_server().await;
    dana.flush_outbox().await.expect("flushes");
    assert_eq!(status_on_server(&world, &id).await["status"], "approved");
}

#[tokio::test]
async fn approve_on_a_request_without_a_preview_opens_it_and_reject_goes_through() {
    let world = World::start().await;
    let (status, approval) = world
        .post(
            &world.agent_token("Quill"),
            "/api/v1/agent/approvals",
            json!({"kind": "publish_ad", "title": "Publish blind", "payload": {}, "risk": "critical", "expires_in_s": 600}),
        )
        .await;
    assert_eq!(status, 201, "{approval}");
    let id = approval["id"].as_str().expect("id");
    let dana = world.login(&world.core("phone"), ONCALL).await;
    let push = push_for(&world, &dana, &approval).await;
    let ShellAction::ShowNotification { notification } = dana.on_push(&push).await else {
        panic!("the request is shown");
    };
    assert_eq!(
        notification.notification.actions,
        [NotificationAction::Reject, NotificationAction::Open]
    );

    // An Approve button the OS showed anyway (the server's category) opens the request.
    assert_eq!(
        dana.act_on_notification(&notification.notification, NotificationAction::Approve)
            .await,
        ShellAction::Navigate {
            route: format!("/approvals/{id}")
        }
    );
    assert!(
        dana.outbox().await.expect("outbox").is_empty(),
        "nothing queued"
    );
    assert_eq!(status_on_server(&world, id).await["status"], "pending");

    assert_eq!(
        dana.act_on_notification(&notification.notification, NotificationAction::Reject)
            .await,
        ShellAction::Dismiss {
            key: format!("approval:{id}")
        }
    );
    let on_server = status_on_server(&world, id).await;
    assert_eq!(on_server["status"], "rejected");
    assert_eq!(on_server["comment"], REJECTED_FROM_NOTIFICATION);
}

#[tokio::test]
async fn a_stop_push_opens_the_stop_screen_and_stops_nothing() {
    let world = World::start().await;
    let dana = world.login(&world.core("phone"), ONCALL).await;
    dana.catch_up().await.expect("sync");
    let project = dana.project("Spring Sale").await.expect("cached").project;
    let push = json!({
        "v": 1, "type": "stop.partial", "tenant_id": dana.info().tenant.id,
        "project_id": project.id, "project_name": project.name,
        "title": "Emergency stop partial: 1 agent never answered", "seq": 1
    });
    let ShellAction::ShowNotification { notification } =
        dana.on_push(push.to_string().as_bytes()).await
    else {
        panic!("the stop's result is shown");
    };
    assert_eq!(
        notification.notification.actions,
        [NotificationAction::Open]
    );
    for action in [NotificationAction::Open, NotificationAction::Approve] {
        assert_eq!(
            dana.act_on_notification(&notification.notification, action)
                .await,
            ShellAction::Navigate {
                route: format!("/projects/{}?stop=project", project.id)
            }
        );
    }
    assert!(
        dana.outbox().await.expect("outbox").is_empty(),
        "no stop was queued"
    );

    // A push for another organisation, or not a Spartex push, is dropped.
    let mut elsewhere = push.clone();
    elsewhere["tenant_id"] = "ten_other".into();
    assert!(matches!(
        dana.on_push(elsewhere.to_string().as_bytes()).await,
        ShellAction::Ignore { .. }
    ));
    assert!(matches!(
        dana.on_push(b"{\"v\": 7}").await,
        ShellAction::Ignore { reason } if reason.contains("version 7")
    ));
}

/// The desktop's notification buttons decide through the same path as a phone's.
#[tokio::test]
async fn approve_on_a_notification_for_a_request_someone_else_decided_opens_it() {
    let world = World::start().await;
    let approval = world.ask("Quill", "Publish the spring hero ad").await;
    let id = approval["id"].as_str().expect("id");
    let dana = world.login(&world.core("desktop"), ONCALL).await;
    dana.sync_now().await.expect("cached");

    let manager = world.server_token("manager@acme.test").await;
    let (status, decided) = world
        .post(
            &manager,
            &format!("/api/v1/approvals/{id}/decision"),
            json!({"decision": "reject", "comment": "Lead with free returns", "seen_version": approval["version"]}),
        )
        .await;
    assert_eq!(status, 200, "{decided}");

    assert_eq!(
        dana.decide_from_notification(id, Decision::Approve).await,
        DecidedFromNotification::OpenInstead {
            route: format!("/approvals/{id}")
        },
        "shown as it is now, not taken down as if approved"
    );
    assert_eq!(status_on_server(&world, id).await["status"], "rejected");
}
