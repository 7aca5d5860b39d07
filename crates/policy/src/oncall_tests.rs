use chrono::{DateTime, Utc};
use spartex_api::{ActiveHours, OnCallConfig, OnCallOverride, Rotation, ScheduleLayer};

use super::*;

fn at(text: &str) -> DateTime<Utc> {
    text.parse().expect("an RFC 3339 instant")
}

fn layer(
    users: &[&str],
    rotation: Rotation,
    handoff: &str,
    zone: &str,
    starts: &str,
) -> ScheduleLayer {
    ScheduleLayer {
        name: String::new(),
        user_ids: users.iter().map(|u| (*u).to_owned()).collect(),
        rotation,
        handoff_at: handoff.into(),
        timezone: zone.into(),
        starts_at: at(starts),
        active_hours: None,
    }
}

fn config(layers: Vec<ScheduleLayer>, overrides: Vec<OnCallOverride>) -> OnCallConfig {
    OnCallConfig {
        layers,
        overrides,
        updated_at: at("2027-01-01T00:00:00Z"),
        version: 1,
    }
}

fn cover(user: &str, starts: &str, ends: &str) -> OnCallOverride {
    OnCallOverride {
        id: format!("ovr_{user}"),
        user_id: user.into(),
        starts_at: at(starts),
        ends_at: at(ends),
        created_by: user.into(),
    }
}

const NOBODY: &[String] = &[];

#[test]
fn the_spring_forward_handoff_happens_once_when_the_clocks_jump() {
    // New York skips 02:00–03:00 on 2027-03-14; a 02:30 handoff that day happens at 03:00 EDT.
    let schedule = config(
        vec![layer(
            &["ana", "ben", "cy"],
            Rotation::Daily,
            "02:30",
            "America/New_York",
            "2027-03-12T17:00:00Z",
        )],
        vec![],
    );
    let rota = Rota::new(&schedule, NOBODY);
    assert_eq!(rota.on_call_at(at("2027-03-13T07:29:00Z")), ["ana"]);
    assert_eq!(
        rota.on_call_at(at("2027-03-13T07:30:00Z")),
        ["ben"],
        "02:30 EST"
    );
    assert_eq!(rota.on_call_at(at("2027-03-14T06:59:00Z")), ["ben"]);
    assert_eq!(
        rota.on_call_at(at("2027-03-14T07:00:00Z")),
        ["cy"],
        "03:00 EDT, when 02:30 is skipped"
    );
    assert_eq!(rota.on_call_at(at("2027-03-15T06:29:00Z")), ["cy"]);
    assert_eq!(
        rota.on_call_at(at("2027-03-15T06:30:00Z")),
        ["ana"],
        "02:30 EDT"
    );
    let day = rota.shifts(at("2027-03-13T12:00:00Z"), at("2027-03-15T00:00:00Z"));
    let handoffs: Vec<_> = day.iter().skip(1).map(|s| s.starts_at).collect();
    assert_eq!(
        handoffs,
        [at("2027-03-14T07:00:00Z")],
        "one handoff that day, none skipped"
    );
}

#[test]
fn the_autumn_handoff_happens_once_though_its_hour_happens_twice() {
    // New York repeats 01:00–02:00 on 2027-11-07; a 01:30 handoff happens at the first 01:30.
    let schedule = config(
        vec![layer(
            &["ana", "ben"],
            Rotation::Daily,
            "01:30",
            "America/New_York",
            "2027-11-05T16:00:00Z",
        )],
        vec![],
    );
    let rota = Rota::new(&schedule, NOBODY);
    assert_eq!(
        rota.on_call_at(at("2027-11-06T05:30:00Z")),
        ["ben"],
        "01:30 EDT"
    );
    assert_eq!(rota.on_call_at(at("2027-11-07T05:29:00Z")), ["ben"]);
    assert_eq!(
        rota.on_call_at(at("2027-11-07T05:30:00Z")),
        ["ana"],
        "the first 01:30 (EDT)"
    );
    assert_eq!(
        rota.on_call_at(at("2027-11-07T06:30:00Z")),
        ["ana"],
        "not again at 01:30 EST"
    );
    assert_eq!(
        rota.on_call_at(at("2027-11-08T06:30:00Z")),
        ["ben"],
        "01:30 EST the next day"
    );
    let shifts = rota.shifts(at("2027-11-06T12:00:00Z"), at("2027-11-08T12:00:00Z"));
    let handoffs: Vec<_> = shifts.iter().skip(1).map(|s| s.starts_at).collect();
    assert_eq!(
        handoffs,
        [at("2027-11-07T05:30:00Z"), at("2027-11-08T06:30:00Z")]
    );
}

#[test]
fn a_weekly_rotation_keeps_its_local_hour_across_daylight_saving() {
    // Berlin moves to CEST on 2027-03-28: Monday 09:00 is 08:00Z before, 07:00Z after.
    let schedule = config(
        vec![layer(
            &["ana", "ben"],
            Rotation::Weekly,
            "09:00",
            "Europe/Berlin",
            "2027-03-22T08:00:00Z",
        )],
        vec![],
    );
    let rota = Rota::new(&schedule, NOBODY);
    assert_eq!(rota.on_call_at(at("2027-03-22T08:00:00Z")), ["ana"]);
    assert_eq!(
        rota.next_change_after(at("2027-03-23T00:00:00Z")),
        Some(at("2027-03-29T07:00:00Z"))
    );
    assert_eq!(rota.on_call_at(at("2027-03-29T07:00:00Z")), ["ben"]);
    assert_eq!(rota.on_call_at(at("2027-04-05T07:00:00Z")), ["ana"]);
}

#[test]
fn a_night_layer_wins_in_its_hours_and_the_rotation_elsewhere() {
    let mut night = layer(
        &["nia"],
        Rotation::Weekly,
        "09:00",
        "Europe/London",
        "2027-01-04T09:00:00Z",
    );
    night.active_hours = Some(ActiveHours {
        from: "18:00".into(),
        to: "09:00".into(),
    });
    let schedule = config(
        vec![
            layer(
                &["ana", "ben"],
                Rotation::Weekly,
                "09:00",
                "Europe/London",
                "2027-01-04T09:00:00Z",
            ),
            night,
        ],
        vec![],
    );
    let rota = Rota::new(&schedule, NOBODY);
    assert_eq!(rota.on_call_at(at("2027-01-05T12:00:00Z")), ["ana"]);
    assert_eq!(rota.on_call_at(at("2027-01-05T18:00:00Z")), ["nia"]);
    assert_eq!(rota.on_call_at(at("2027-01-06T08:59:00Z")), ["nia"]);
    assert_eq!(rota.on_call_at(at("2027-01-06T09:00:00Z")), ["ana"]);
    assert_eq!(
        rota.next_change_after(at("2027-01-05T12:00:00Z")),
        Some(at("2027-01-05T18:00:00Z"))
    );
}

#[test]
fn an_override_covers_for_the_schedule_and_then_hands_back() {
    let schedule = config(
        vec![layer(
            &["ana", "ben"],
            Rotation::Weekly,
            "09:00",
            "UTC",
            "2027-01-04T09:00:00Z",
        )],
        vec![cover("cy", "2027-01-05T20:00:00Z", "2027-01-06T06:00:00Z")],
    );
    let rota = Rota::new(&schedule, NOBODY);
    assert_eq!(rota.on_call_at(at("2027-01-05T19:59:00Z")), ["ana"]);
    assert_eq!(rota.on_call_at(at("2027-01-05T20:00:00Z")), ["cy"]);
    assert_eq!(rota.on_call_at(at("2027-01-06T06:00:00Z")), ["ana"]);
    assert_eq!(
        rota.next_change_after(at("2027-01-05T20:00:00Z")),
        Some(at("2027-01-06T06:00:00Z"))
    );
}

#[test]
fn without_a_schedule_everyone_with_role_oncall_is_on_call_and_nothing_changes() {
    let oncall = vec!["dana".to_owned(), "sam".to_owned()];
    let schedule = config(vec![], vec![]);
    let rota = Rota::new(&schedule, &oncall);
    assert_eq!(rota.on_call_at(at("2027-01-05T12:00:00Z")), oncall);
    assert_eq!(rota.next_change_after(at("2027-01-05T12:00:00Z")), None);
    let week = rota.shifts(at("2027-01-05T12:00:00Z"), at("2027-01-12T12:00:00Z"));
    assert_eq!(week.len(), 1);
    assert_eq!(week[0].ends_at, at("2027-01-12T12:00:00Z"));
}

#[test]
fn the_week_ahead_is_consecutive_shifts_without_gaps() {
    let schedule = config(
        vec![layer(
            &["ana", "ben", "cy"],
            Rotation::Daily,
            "09:00",
            "Asia/Tokyo",
            "2027-01-01T00:00:00Z",
        )],
        vec![],
    );
    let rota = Rota::new(&schedule, NOBODY);
    let from = at("2027-02-01T03:00:00Z");
    let until = from + chrono::Duration::days(7);
    let week = rota.shifts(from, until);
    assert_eq!(week.first().map(|s| s.starts_at), Some(from));
    assert_eq!(week.last().map(|s| s.ends_at), Some(until));
    for pair in week.windows(2) {
        assert_eq!(pair[0].ends_at, pair[1].starts_at);
        assert_ne!(pair[0].user_ids, pair[1].user_ids);
    }
    assert_eq!(
        week.len(),
        8,
        "seven 09:00 JST handoffs split the week in eight"
    );
}

#[test]
fn local_times_are_strict_hh_mm() {
    assert!(parse_local_time("09:00").is_some());
    assert!(parse_local_time("23:59").is_some());
    for bad in ["9:00", "24:00", "09:60", "0900", "09:00:00", "", "ab:cd"] {
        assert!(parse_local_time(bad).is_none(), "{bad}");
    }
}
