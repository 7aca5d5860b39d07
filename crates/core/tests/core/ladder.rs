//! A request on the escalation ladder raises a person's notification when a level names them,
//! and not before, as the server's pushes do; once answered, it is taken back. A request that
//! arrived among a flood of other changes while the app was away is raised all the same.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use spartex_api::Decision;
use spartex_core::alerts::spawn_notifications;
use spartex_core::notify::{
    Notification, NotificationAction, NotificationKind, NotificationPrefs, Notifier, NotifyError,
};
use spartex_core::{Account, AlertsHere, Running};

use crate::support::{eventually, World};

/// Keeps what would have been shown, the keys taken back, and what is on screen (each key with
/// whether its notification has Approve or Reject buttons).
#[derive(Default)]
pub(crate) struct Shown {
    shown: Mutex<Vec<Notification>>,
    withdrawn: Mutex<Vec<String>>,
    on_screen: Mutex<HashMap<String, bool>>,
    /// As when the notification service has gone away.
    unavailable: AtomicBool,
}

impl Shown {
    pub(crate) fn withdrawn(&self) -> Vec<String> {
        self.withdrawn
            .lock()
            .map(|keys| keys.clone())
            .unwrap_or_default()
    }

    pub(crate) fn titles(&self) -> Vec<String> {
        self.shown
            .lock()
            .map(|shown| shown.iter().map(|n| n.title.clone()).collect())
            .unwrap_or_default()
    }

    /// The last notification shown with `key`, if still on screen.
    pub(crate) fn on_screen(&self, key: &str) -> Option<Notification> {
        let on_screen = self.on_screen.lock().ok()?;
        let shown = self.shown.lock().ok()?;
        on_screen.contains_key(key).then(|| {
            let last = shown.iter().rev().find(|n| n.key == key);
            last.cloned().expect("shown before it was on screen")
        })
    }

    pub(crate) fn of_kind(&self, kind: NotificationKind) -> usize {
        self.shown
            .lock()
            .map(|shown| shown.iter().filter(|n| n.kind == kind).count())
            .unwrap_or_default()
    }
}

#[async_trait::async_trait]
impl Notifier for Shown {
    async fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
        let asks = notification.asks_for_a_decision();
        if let (Ok(mut shown), Ok(mut on_screen)) = (self.shown.lock(), self.on_screen.lock()) {
            shown.push(notification.clone());
            on_screen.insert(notification.key.clone(), asks);
        }
        Ok(())
    }

    async fn withdraw(&self, key: &str) -> Result<(), NotifyError> {
        if let (Ok(mut withdrawn), Ok(mut on_screen)) =
            (self.withdrawn.lock(), self.on_screen.lock())
        {
            withdrawn.push(key.to_owned());
            on_screen.remove(key);
        }
        Ok(())
    }

    async fn replace_if_shown(&self, notification: &Notification) -> Result<bool, NotifyError> {
        let on_screen = self
            .on_screen
            .lock()
            .is_ok_and(|on_screen| on_screen.contains_key(&notification.key));
        if on_screen {
            self.notify(notification).await?;
        }
        Ok(on_screen)
    }

    async fn available(&self) -> bool {
        !self.unavailable.load(Ordering::SeqCst)
    }

    fn asking(&self) -> Vec<String> {
        self.on_screen
            .lock()
            .map(|on_screen| {
                on_screen
                    .iter()
                    .filter(|(_, asks)| **asks)
                    .map(|(key, _)| key.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub(crate) async fn online(
    world: &World,
    email: &str,
    name: &str,
) -> (Account, Running, Arc<Shown>) {
    let account = world.login(&world.core(name), email).await;
    let shown = Arc::new(Shown::default());
    let prefs = Arc::new(RwLock::new(NotificationPrefs::default()));
    spawn_notifications(&account, shown.clone(), prefs);
    let running = account.start();
    reached_through_the_app(world, &account, true).await;
    (account, running, shown)
}

/// Quill asks for a critical spend, which the demo's policy puts on the ladder.
async fn ask_for_a_critical_cap_raise(world: &World) -> serde_json::Value {
    let (status, approval) = world
        .post(
            &world.agent_token("Quill"),
            "/api/v1/agent/approvals",
            serde_json::json!({"kind": "spend_budget", "title": "Raise the Meta daily cap to $900",
                               "payload": {}, "risk": "critical", "expires_in_s": 3600}),
        )
        .await;
    assert_eq!(status, 201, "{approval}");
    approval
}

/// Waits until the server counts the account's open app as a way to reach its person, or no
/// longer does.
async fn reached_through_the_app(world: &World, account: &Account, reached: bool) {
    let (tenant, user) = (
        account.info().tenant.id.clone(),
        account.info().user.id.clone(),
    );
    let presence = world.server.state().presence.clone();
    eventually("the server hears whether the app alerts", || {
        let online = presence.is_online(&tenant, &user);
        async move { online == reached }
    })
    .await;
}

/// An open app that cannot alert its person (the notification service went away, or they
/// turned notifications off) is no way to reach them: the ladder skips them at once, where it
/// waited a level's time on an app that showed nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_app_that_cannot_alert_is_no_way_to_reach_its_person() {
    let world = World::start_with_oncall().await;
    let marco = world.login(&world.core("marco"), "manager@acme.test").await;
    let shown = Arc::new(Shown::default());
    let prefs = Arc::new(RwLock::new(NotificationPrefs::default()));
    spawn_notifications(&marco, shown.clone(), prefs.clone());
    let running = marco.start();
    reached_through_the_app(&world, &marco, true).await;

    shown.unavailable.store(true, Ordering::SeqCst);
    reached_through_the_app(&world, &marco, false).await;
    assert_eq!(
        marco.alerts_here(),
        AlertsHere::NoService,
        "the shell says so"
    );
    let approval = ask_for_a_critical_cap_raise(&world).await;
    let marco_on_the_trail = approval["escalation"]["notified"]
        .as_array()
        .expect("a trail")
        .iter()
        .find(|entry| entry["user_name"] == "Marco Rossi")
        .cloned()
        .expect("the manager's level fired");
    assert_eq!(
        marco_on_the_trail["result"], "skipped_unreachable",
        "{approval}"
    );

    // The service back: reached again. Notifications turned off: not reached.
    shown.unavailable.store(false, Ordering::SeqCst);
    reached_through_the_app(&world, &marco, true).await;
    assert_eq!(marco.alerts_here(), AlertsHere::Raised);
    prefs.write().expect("the settings").enabled = false;
    reached_through_the_app(&world, &marco, false).await;
    assert_eq!(marco.alerts_here(), AlertsHere::TurnedOff);
    running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_shows_a_request_on_a_ladder_to_the_people_it_names_when_it_names_them() {
    let world = World::start_with_oncall().await;
    let (_marco, marco_running, marco_saw) = online(&world, "manager@acme.test", "marco").await;
    let (_olivia, olivia_running, olivia_saw) = online(&world, "owner@acme.test", "olivia").await;

    // Neither on-call person has the app open or a phone: level 1 is skipped, the managers'
    // level is told at once, the owners' waits for its 15 minutes.
    let approval = ask_for_a_critical_cap_raise(&world).await;
    eventually("the manager is paged", || {
        let paged = marco_saw.of_kind(NotificationKind::ApprovalRequested) == 1;
        async move { paged }
    })
    .await;
    assert!(
        marco_saw.titles()[0].contains("level 2"),
        "{:?}",
        marco_saw.titles()
    );
    assert_eq!(
        olivia_saw.titles(),
        Vec::<String>::new(),
        "the owner is not told yet"
    );

    world.clock.advance(chrono::Duration::seconds(900));
    eventually("the owner is paged at her level", || {
        let paged = olivia_saw.of_kind(NotificationKind::ApprovalRequested) == 1;
        async move { paged }
    })
    .await;

    // Olivia takes it: Marco, who was told, hears so; she is not told about herself.
    let id = approval["id"].as_str().expect("an id");
    let owner = world
        .login(&world.core("olivia-cli"), "owner@acme.test")
        .await;
    owner.catch_up().await.expect("catches up");
    owner.ack(id).await.expect("acknowledged");
    eventually("the manager hears who took it", || {
        let heard = marco_saw.of_kind(NotificationKind::ApprovalAcked) == 1;
        async move { heard }
    })
    .await;
    assert_eq!(olivia_saw.of_kind(NotificationKind::ApprovalAcked), 0);
    assert_eq!(
        marco_saw.of_kind(NotificationKind::ApprovalRequested),
        1,
        "nobody is paged twice for one level"
    );
    assert_eq!(marco_saw.withdrawn(), Vec::<String>::new(), "still open");

    // She rejects it: her request is taken off her screen, where its buttons would now do
    // nothing; his says in its place what became of it.
    owner.catch_up().await.expect("catches up with her own ack");
    let rejected = owner
        .decide(id, Decision::Reject, Some("not this week".into()))
        .await
        .expect("rejected");
    assert!(rejected.delivered, "{rejected:?}");
    let key = Notification::approval_key(id);
    eventually("the owner's notification is taken back", || {
        let taken_back = olivia_saw.withdrawn() == [key.clone()];
        async move { taken_back }
    })
    .await;
    eventually("the manager reads what became of it", || {
        let told = marco_saw.of_kind(NotificationKind::ApprovalResolved) == 1;
        async move { told }
    })
    .await;
    let resolved = marco_saw.titles().pop().expect("the resolution");
    assert_eq!(
        resolved, "Rejected by Olivia Park: Raise the Meta daily cap to $900",
        "in the request's place"
    );
    assert_eq!(marco_saw.withdrawn(), Vec::<String>::new());
    assert_eq!(olivia_saw.of_kind(NotificationKind::ApprovalResolved), 0);
    marco_running.stop().await;
    olivia_running.stop().await;
}

/// A request that settled while this app missed its changes (the channel fell behind, or the
/// cache was rebuilt from snapshots) is settled on screen all the same once it is read again,
/// instead of keeping buttons that would do nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_settled_unseen_is_settled_on_screen_after_a_resync() {
    let world = World::start().await;
    let core = world.core("marco");
    let marco = world.login(&core, "manager@acme.test").await;
    let asked = world.ask("Quill", "Publish the autumn teaser").await;
    marco.catch_up().await.expect("catches up");
    let request = marco
        .approval(asked["id"].as_str().expect("an id"))
        .await
        .expect("cached")
        .approval;
    // Shown before this notifier's task heard anything, as by an earlier run of it.
    let shown = Arc::new(Shown::default());
    shown
        .notify(&Notification {
            key: Notification::approval_key(&request.id),
            kind: NotificationKind::ApprovalRequested,
            title: format!("Approval needed: {}", request.title),
            body: String::new(),
            project_id: Some(request.project_id.clone()),
            approval_id: Some(request.id.clone()),
            urgent: false,
            actions: vec![NotificationAction::Approve, NotificationAction::Reject],
        })
        .await
        .expect("kept");

    let owner = world.login(&world.core("olivia"), "owner@acme.test").await;
    owner.catch_up().await.expect("catches up");
    let rejected = owner
        .decide(&request.id, Decision::Reject, Some("not now".into()))
        .await
        .expect("rejected");
    assert!(rejected.delivered, "{rejected:?}");

    // A month away: the log no longer holds what Marco's cache missed, so it is rebuilt.
    world.clock.advance(chrono::Duration::days(31));
    spartex_server::service::sweep::prune(world.server.state())
        .await
        .expect("prunes");
    let marco = world.login(&core, "manager@acme.test").await;
    let prefs = Arc::new(RwLock::new(NotificationPrefs::default()));
    spawn_notifications(&marco, shown.clone(), prefs);
    let report = marco.catch_up().await.expect("catches up");
    assert!(report.resynced, "the cache was rebuilt from snapshots");
    eventually("the request is settled on screen", || {
        let settled = shown.of_kind(NotificationKind::ApprovalResolved) == 1;
        async move { settled }
    })
    .await;
    let told = shown.titles().pop().expect("the resolution");
    assert_eq!(told, format!("Rejected by Olivia Park: {}", request.title));
}

/// A request that arrived while this app could not follow the log (a month away, or a server
/// that lost its last writes) comes in the snapshots the cache is rebuilt from, and is raised
/// as if heard, where a rebuilt cache raised nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_arrived_in_a_resync_is_raised() {
    // The server's clock a day behind this machine's once the month has passed: a request it
    // asks for ten minutes has expired here, and is not raised.
    let world = World::start_at(chrono::Utc::now() - chrono::Duration::days(32)).await;
    let core = world.core("marco");
    world
        .login(&core, "manager@acme.test")
        .await
        .catch_up()
        .await
        .expect("catches up");
    // What the app then misses, and the log forgets within the month.
    let (status, _) = world
        .post(
            &world.agent_token("Iris"),
            "/api/v1/agent/messages",
            serde_json::json!({"body": "Drafted three winter headlines."}),
        )
        .await;
    assert_eq!(status, 201);

    world.clock.advance(chrono::Duration::days(31));
    spartex_server::service::sweep::prune(world.server.state())
        .await
        .expect("prunes");
    world.ask("Iris", "Reply publicly to a complaint").await;
    let (status, asked) = world
        .post(
            &world.agent_token("Quill"),
            "/api/v1/agent/approvals",
            serde_json::json!({"kind": "publish_ad", "title": "Publish the winter teaser",
                "payload": {}, "risk": "high", "expires_in_s": 2 * 24 * 3600}),
        )
        .await;
    assert_eq!(status, 201, "{asked}");
    // Signed in again (a month outlives the sign-in) on the same cache.
    let marco = world.login(&core, "manager@acme.test").await;
    let shown = Arc::new(Shown::default());
    let prefs = Arc::new(RwLock::new(NotificationPrefs::default()));
    spawn_notifications(&marco, shown.clone(), prefs);
    let report = marco.catch_up().await.expect("catches up");
    assert!(report.resynced, "the cache was rebuilt from snapshots");
    eventually("the request is raised", || {
        let raised = shown.of_kind(NotificationKind::ApprovalRequested) == 1;
        async move { raised }
    })
    .await;
    let told = shown.titles().pop().expect("the request");
    assert!(told.contains("Publish the winter teaser"), "{told}");

    // Read again after another rebuild, it is not raised twice.
    marco.catch_up().await.expect("catches up");
    let again = marco
        .approval(asked["id"].as_str().expect("an id"))
        .await
        .expect("cached");
    assert_eq!(again.approval.title, "Publish the winter teaser");
    assert_eq!(shown.of_kind(NotificationKind::ApprovalRequested), 1);
}

/// `count` chat messages (an event and a change each), from five agents at once.
async fn flood_of_messages(world: &World, count: usize) {
    let agents = ["Quill", "Iris", "Ledger", "Verse", "Ink"];
    let mut sending = tokio::task::JoinSet::new();
    for name in agents {
        let (http, url, token) = (
            world.http.clone(),
            world.url.clone(),
            world.agent_token(name),
        );
        sending.spawn(async move {
            for n in 0..count / agents.len() {
                let sent = http
                    .post(format!("{url}/api/v1/agent/messages"))
                    .bearer_auth(&token)
                    .json(&serde_json::json!({"body": format!("progress note {n}")}))
                    .send()
                    .await
                    .expect("sent");
                assert!(sent.status().is_success(), "{}", sent.status());
            }
        });
    }
    while let Some(done) = sending.join_next().await {
        done.expect("the agent's messages");
    }
}

// One thread: the notifier runs only once the catch-up yields, after the whole batch was
// published, as when the app's threads are busy.
#[tokio::test]
async fn a_request_that_arrived_with_a_flood_while_away_is_raised_all_the_same() {
    // Agents that may write as fast as they send: the flood is the point here.
    let world = World::start_with(|s| {
        s.agent_writes_per_second = u32::MAX;
        s.agent_write_burst = u32::MAX;
    })
    .await;
    let account = world.login(&world.core("dana"), "oncall@acme.test").await;
    account.catch_up().await.expect("sync");
    // Away: a request, then more messages than the notifier's channel keeps changes (4,096).
    let approval = world.ask("Quill", "Publish the flood-season ad").await;
    let id = approval["id"].as_str().expect("id").to_owned();
    flood_of_messages(&world, 5_000).await;

    let shown = Arc::new(Shown::default());
    let prefs = Arc::new(RwLock::new(NotificationPrefs::default()));
    spawn_notifications(&account, shown.clone(), prefs);
    // Caught up over HTTP, as on waking: the whole gap in one transaction.
    account.catch_up().await.expect("catches up");
    eventually("the request is raised", || {
        let raised = shown.shown.lock().is_ok_and(|shown| {
            shown
                .iter()
                .any(|n| n.approval_id.as_deref() == Some(id.as_str()))
        });
        async move { raised }
    })
    .await;
}

/// A ladder that reached this person while the app missed its changes (a flood while away)
/// pages them all the same, where a request the app had already considered was taken as seen.
// One thread, as in the test above: the notifier falls behind the catch-up's batch.
#[tokio::test]
async fn an_escalation_that_reached_a_person_among_missed_changes_pages_them() {
    let world = World::around(
        spartex_testkit::TestServer::builder()
            .manual_clock(chrono::Utc::now())
            .demo_oncall()
            .settings(|s| {
                s.agent_writes_per_second = u32::MAX;
                s.agent_write_burst = u32::MAX;
            }),
    )
    .await;
    // The manager's app is open, so the ladder stops at his level until the owners' comes;
    // the owner's laptop is open, so that level reaches her. This app is her other device,
    // which catches up when it wakes.
    let (_marco, marco_running, _) = online(&world, "manager@acme.test", "marco").await;
    let (_laptop, laptop_running, _) = online(&world, "owner@acme.test", "olivia-laptop").await;
    let olivia = world.login(&world.core("olivia"), "owner@acme.test").await;
    let approval = ask_for_a_critical_cap_raise(&world).await;
    let id = approval["id"].as_str().expect("an id").to_owned();
    olivia.catch_up().await.expect("catches up");
    let shown = Arc::new(Shown::default());
    let prefs = Arc::new(RwLock::new(NotificationPrefs::default()));
    spawn_notifications(&olivia, shown.clone(), prefs);

    // Away: the owners' level comes, then more changes than the notifier's channel keeps.
    world.clock.advance(chrono::Duration::seconds(900));
    let owner = world.server_token("owner@acme.test").await;
    eventually("the ladder reaches the owners", || async {
        world.get(&owner, &format!("/api/v1/approvals/{id}")).await["escalation"]["level"] == 3
    })
    .await;
    flood_of_messages(&world, 5_000).await;
    olivia.catch_up().await.expect("catches up");
    eventually("she is paged at her level", || {
        let paged = shown.of_kind(NotificationKind::ApprovalRequested) == 1;
        async move { paged }
    })
    .await;
    // A request asked after it is raised once the notifier has read every change before it.
    let (status, _) = world
        .post(
            &world.agent_token("Iris"),
            "/api/v1/agent/approvals",
            serde_json::json!({"kind": "reply_publicly", "title": "Reply to a review",
                               "payload": {}, "risk": "low", "expires_in_s": 3600}),
        )
        .await;
    assert_eq!(status, 201);
    olivia.catch_up().await.expect("catches up");
    eventually("the later request is raised", || {
        let raised = shown.of_kind(NotificationKind::ApprovalRequested) == 2;
        async move { raised }
    })
    .await;
    let titles = shown.titles();
    assert!(titles[0].contains("level 3"), "{titles:?}");
    assert!(
        titles[1].contains("Reply to a review"),
        "paged once, not again as the changes heard after the gap were read: {titles:?}"
    );
    marco_running.stop().await;
    laptop_running.stop().await;
}
