//! The planner with bursts, batch after batch as the dispatcher runs it: the states one batch
//! remembers are the next one's.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use spartex_api::{Event, NotificationPrefs, PushDetail, PushKind, Role, HELD_SETTLED};

use crate::push::plan::tests::{event, now as start, planner};
use crate::push::plan::{QueuedMessage, Recipient};
use crate::store::push::NewPush;

fn request(n: usize, risk: &str, status: &str) -> Event {
    let data = json!({
        "id": format!("apr_{n}"), "project_id": "prj_1", "agent_id": "agt_1", "task_id": null,
        "kind": "publish_ad", "title": format!("Publish variant {n}"), "summary": "",
        "payload": {}, "preview": null, "risk": risk, "status": status,
        "created_at": start(), "expires_at": start() + Duration::hours(1),
        "on_expiry": "reject", "decided_by": null, "decided_at": null, "comment": null,
        "version": 1
    });
    event(100 + n as i64, "approval.upserted", data)
}

/// The `n`th request as its ladder's first level pages Dana by push.
fn paged(n: usize) -> Event {
    let mut event = request(n, "low", "pending");
    let mut data = serde_json::to_value(&event).expect("json")["data"].clone();
    data["escalation"] = json!({
        "level": 1, "next_at": null, "acked_by": null, "acked_at": null,
        "notified": [{"user_id": "usr_dana", "user_name": "Dana", "at": start(), "level": 1,
                      "channel": "push", "result": "sent"}]
    });
    event = serde_json::from_value(json!({
        "seq": event.seq + 50, "type": "approval.upserted", "at": start(), "project_id": "prj_1",
        "data": data
    }))
    .expect("an event");
    event
}

fn agent(n: usize, status: &str) -> Event {
    let data = json!({
        "id": format!("agt_{n}"), "project_id": "prj_1", "name": format!("Agent {n}"),
        "role": "copywriter", "model": "m", "status": status, "current_task_id": null,
        "last_heartbeat_at": null, "tokens_used": 0, "cost_usd": 0.0, "version": 1
    });
    event(200 + n as i64, "agent.upserted", data)
}

fn oncall_phone() -> Recipient {
    Recipient {
        device_id: "phone".into(),
        user_id: "usr_dana".into(),
        role: Role::Oncall,
        prefs: NotificationPrefs::default(),
        time_zone: chrono_tz::UTC,
    }
}

/// One dispatcher batch over `events` at `now`, from the states an earlier one remembered: the
/// pushes it queues and the states it remembers.
fn batch(
    states: HashMap<String, String>,
    events: &[Event],
    now: DateTime<Utc>,
) -> (Vec<NewPush>, HashMap<String, String>) {
    batch_for(&[oncall_phone()], states, events, now)
}

/// [`batch`], to the devices of `recipients`.
fn batch_for(
    recipients: &[Recipient],
    states: HashMap<String, String>,
    events: &[Event],
    now: DateTime<Utc>,
) -> (Vec<NewPush>, HashMap<String, String>) {
    let names = HashMap::from([("prj_1".to_owned(), "Spring Sale".to_owned())]);
    let mut planner = planner(recipients, &names, PushDetail::Full, states, now);
    for event in events {
        planner.plan(event);
    }
    planner.finish(events.last().map_or(0, |e| e.seq));
    (planner.pushes, planner.states)
}

fn message(push: &NewPush) -> QueuedMessage {
    serde_json::from_str(&push.payload).expect("a queued message")
}

fn kinds(pushes: &[NewPush]) -> Vec<PushKind> {
    pushes.iter().map(|p| message(p).payload.kind).collect()
}

#[test]
fn a_burst_pushes_three_and_counts_the_rest_in_one_notice_that_follows_them() {
    let asked: Vec<Event> = (0..5).map(|n| request(n, "low", "pending")).collect();
    let (pushes, states) = batch(HashMap::new(), &asked, start());
    let requested = PushKind::ApprovalRequested;
    assert_eq!(
        kinds(&pushes),
        [requested, requested, requested, PushKind::RequestsHeld]
    );
    let notice = &pushes[3];
    assert_eq!(notice.collapse_key, "held-back:requests");
    assert_eq!(notice.not_before_ms, None, "the first notice goes at once");
    assert!(!notice.urgent);
    let told = message(notice);
    assert_eq!(told.payload.title, "2 more requests wait for you");
    assert_eq!(told.body, "2 requests\nProject: Spring Sale");

    // Five seconds on, a held one is answered: the phone never showed it, so no resolution; the
    // notice counts one fewer, but not before 20 s after the last one was pushed.
    let later = start() + Duration::seconds(5);
    let (pushes, states) = batch(states, &[request(3, "low", "rejected")], later);
    assert_eq!(kinds(&pushes), [PushKind::RequestsHeld]);
    assert_eq!(
        message(&pushes[0]).payload.title,
        "1 more request waits for you"
    );
    let twenty_on = start() + Duration::seconds(20);
    assert_eq!(pushes[0].not_before_ms, Some(twenty_on.timestamp_millis()));

    // One pushed on its own is answered: its resolution takes it down as ever.
    let (pushes, states) = batch(states, &[request(0, "low", "approved")], later);
    assert_eq!(kinds(&pushes), [PushKind::ApprovalResolved]);

    // The last held one expires: the notice is taken away, after the same wait.
    let (pushes, _) = batch(states, &[request(4, "low", "expired")], later);
    assert_eq!(kinds(&pushes), [PushKind::RequestsHeld]);
    let settled = message(&pushes[0]);
    assert_eq!(settled.payload.status.as_deref(), Some(HELD_SETTLED));
    assert_eq!(pushes[0].not_before_ms, Some(twenty_on.timestamp_millis()));
}

#[test]
fn lanes_keep_their_own_budgets_and_an_urgent_notice_rings_through() {
    let critical: Vec<Event> = (0..4).map(|n| request(n, "critical", "pending")).collect();
    let failing: Vec<Event> = (0..4).map(|n| agent(n, "error")).collect();
    let ordinary = request(9, "low", "pending");
    let events: Vec<Event> = (critical.into_iter())
        .chain(failing)
        .chain([ordinary])
        .collect();
    let (pushes, states) = batch(HashMap::new(), &events, start());
    let count = |kind| kinds(&pushes).iter().filter(|k| **k == kind).count();
    assert_eq!(
        count(PushKind::ApprovalRequested),
        4,
        "three critical, one low"
    );
    assert_eq!(count(PushKind::AgentError), 3);
    let notice = |key| {
        (pushes.iter())
            .find(|p| p.collapse_key == key)
            .unwrap_or_else(|| panic!("a notice {key}"))
    };
    let requests = notice("held-back:requests");
    assert!(requests.urgent, "it holds a critical request");
    assert_eq!(message(requests).payload.status.as_deref(), Some("urgent"));
    let alerts = notice("held-back:alerts");
    assert_eq!(
        message(alerts).payload.title,
        "1 more agent stopped on an error"
    );

    // The held agent is at work again (its error was never pushed): its notice is taken away.
    let (pushes, _) = batch(states, &[agent(3, "working")], start());
    assert_eq!(kinds(&pushes), [PushKind::AlertsHeld]);
    let settled = message(&pushes[0]);
    assert_eq!(settled.payload.status.as_deref(), Some(HELD_SETTLED));
}

#[test]
fn a_budget_kept_in_the_states_refills_with_time_and_a_damaged_one_starts_afresh() {
    let first: Vec<Event> = (0..4).map(|n| request(n, "low", "pending")).collect();
    let (_, mut states) = batch(HashMap::new(), &first, start());
    let a_minute_on = start() + Duration::seconds(60);
    let (pushes, _) = batch(states.clone(), &[request(7, "low", "pending")], a_minute_on);
    assert_eq!(
        kinds(&pushes),
        [PushKind::ApprovalRequested],
        "a minute earned it a place on its own"
    );
    let (pushes, _) = batch(states.clone(), &[request(7, "low", "pending")], start());
    assert_eq!(
        kinds(&pushes),
        [PushKind::RequestsHeld],
        "at once, the spent budget holds it back"
    );
    states.insert("burst:phone".into(), "{not json".into());
    let (pushes, _) = batch(states, &[request(7, "low", "pending")], start());
    assert_eq!(kinds(&pushes), [PushKind::ApprovalRequested]);
}

#[test]
fn a_page_is_pushed_whatever_the_budget_and_its_end_follows_it() {
    let asked: Vec<Event> = (0..5).map(|n| request(n, "low", "pending")).collect();
    let (_, states) = batch(HashMap::new(), &asked, start());
    // Held request 4 climbs the ladder to Dana: a page goes out on its own, the budget spent or
    // not, and leaves the notice.
    let (pushes, states) = batch(states, &[paged(4)], start());
    assert_eq!(
        kinds(&pushes),
        [PushKind::ApprovalRequested, PushKind::RequestsHeld]
    );
    assert_eq!(
        message(&pushes[1]).payload.title,
        "1 more request waits for you"
    );
    // Shown now, its end is pushed in its place.
    let (pushes, _) = batch(states, &[request(4, "low", "approved")], start());
    assert_eq!(kinds(&pushes), [PushKind::ApprovalResolved]);
}

#[test]
fn a_held_request_leaves_the_notice_even_when_its_end_is_not_pushed() {
    let asked: Vec<Event> = (0..4).map(|n| request(n, "low", "pending")).collect();
    let (_, states) = batch(HashMap::new(), &asked, start());
    // Dana turned her notifications off meanwhile: no resolution is pushed to her, yet the
    // request held for her leaves her notice, which is taken away.
    let mut muted = oncall_phone();
    muted.prefs.enabled = false;
    let later = start() + Duration::seconds(30);
    let (pushes, _) = batch_for(&[muted], states, &[request(3, "low", "rejected")], later);
    assert_eq!(kinds(&pushes), [PushKind::RequestsHeld]);
    assert_eq!(
        message(&pushes[0]).payload.status.as_deref(),
        Some(HELD_SETTLED)
    );
}

#[test]
fn a_new_burst_soon_after_the_notice_was_taken_away_waits_its_turn() {
    let asked: Vec<Event> = (0..4).map(|n| request(n, "low", "pending")).collect();
    let (_, states) = batch(HashMap::new(), &asked, start());
    let later = start() + Duration::seconds(30);
    let (pushes, states) = batch(states, &[request(3, "low", "rejected")], later);
    assert_eq!(
        message(&pushes[0]).payload.status.as_deref(),
        Some(HELD_SETTLED)
    );
    // Five seconds after it was taken away, two more come: one spends what 30 s earned, the
    // other is held, and its notice waits until 20 s after the last push, rather than buzzing
    // twice in a few seconds.
    let soon = later + Duration::seconds(5);
    let two_more = [request(8, "low", "pending"), request(9, "low", "pending")];
    let (pushes, _) = batch(states, &two_more, soon);
    assert_eq!(
        kinds(&pushes),
        [PushKind::ApprovalRequested, PushKind::RequestsHeld]
    );
    let turn = later + Duration::seconds(20);
    assert_eq!(pushes[1].not_before_ms, Some(turn.timestamp_millis()));
    assert_eq!(pushes[1].committed_at_ms, turn.timestamp_millis());
}
