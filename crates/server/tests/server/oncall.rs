//! Who is on call over the API: the demo schedule, an override that covers, roles, tenants,
//! and the escalation policy's validation.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::TestServer;

/// Wednesday noon in London, in Dana's week of the demo rotation.
const DANAS_DAY: &str = "2026-12-02T12:00:00Z";

async fn oncall_server() -> TestServer {
    TestServer::builder()
        .manual_clock(DANAS_DAY.parse().expect("an instant"))
        .demo_oncall()
        .start()
        .await
}

fn names(users: &Value) -> Vec<&str> {
    users
        .as_array()
        .expect("a list")
        .iter()
        .map(|u| u["name"].as_str().expect("a name"))
        .collect()
}

fn id_of<'a>(oncall: &'a Value, name: &str) -> &'a str {
    oncall["people"]
        .as_array()
        .expect("people")
        .iter()
        .find(|u| u["name"] == name)
        .and_then(|u| u["id"].as_str())
        .unwrap_or_else(|| panic!("{name} may be on call"))
}

#[tokio::test]
async fn the_demo_schedule_says_who_is_on_call_now_and_next() {
    let server = oncall_server().await;
    let viewer = server.login("viewer@acme.test").await;
    let oncall = viewer.get_ok("/api/v1/oncall").await;
    assert_eq!(names(&oncall["now"]), ["Dana Whitfield"]);
    assert_eq!(
        oncall["next_handoff_at"], "2026-12-02T20:00:00Z",
        "the night layer takes over at 20:00 London time"
    );
    assert_eq!(
        oncall["schedule"]["layers"].as_array().map(Vec::len),
        Some(2)
    );
    let people = names(&oncall["people"]);
    assert!(people.contains(&"Priya Raman") && people.contains(&"Marco Rossi"));
    assert!(!people.contains(&"Vic Chen"), "viewers cannot be on call");
    let week = oncall["week"].as_array().expect("the week ahead");
    assert_eq!(week[0]["starts_at"], DANAS_DAY);
    assert_eq!(week[1]["user_ids"], json!([id_of(&oncall, "Priya Raman")]));
    assert!(
        week.len() >= 14,
        "days and nights for seven days: {}",
        week.len()
    );

    let northwind = server.login("oncall@northwind.test").await;
    let theirs = northwind.get_ok("/api/v1/oncall").await;
    assert_eq!(
        names(&theirs["now"]),
        ["Sam Ortiz"],
        "without a schedule, everyone with role oncall; and only their own organisation"
    );
    assert!(theirs["next_handoff_at"].is_null());
}

#[tokio::test]
async fn an_override_covers_and_only_its_person_or_a_manager_removes_it() {
    let server = oncall_server().await;
    let priya = server.login("priya@acme.test").await;
    let dana = server.login("oncall@acme.test").await;
    let mut socket = server.events(dana.token(), None).await;
    let oncall = priya.get_ok("/api/v1/oncall").await;
    let priya_id = id_of(&oncall, "Priya Raman").to_owned();
    let dana_id = id_of(&oncall, "Dana Whitfield").to_owned();

    let (status, body) = priya
        .post(
            "/api/v1/oncall/overrides",
            json!({"user_id": dana_id, "starts_at": DANAS_DAY, "ends_at": "2026-12-02T14:00:00Z"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an oncall user covers only as themselves: {body}"
    );

    let (status, covered) = priya
        .post(
            "/api/v1/oncall/overrides",
            json!({"user_id": priya_id, "starts_at": DANAS_DAY, "ends_at": "2026-12-02T14:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{covered}");
    assert_eq!(names(&covered["now"]), ["Priya Raman"]);
    assert_eq!(covered["next_handoff_at"], "2026-12-02T14:00:00Z");
    let event = socket
        .next_where("oncall.updated", |f| f["type"] == "oncall.updated")
        .await;
    assert_eq!(event["data"]["overrides"][0]["user_id"], json!(priya_id));
    let override_id = covered["overrides"][0]["id"]
        .as_str()
        .expect("an id")
        .to_owned();

    let (status, _) = dana
        .delete(&format!("/api/v1/oncall/overrides/{override_id}"))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "Dana cannot remove Priya's cover"
    );
    let (status, after) = server
        .login("manager@acme.test")
        .await
        .delete(&format!("/api/v1/oncall/overrides/{override_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    assert_eq!(names(&after["now"]), ["Dana Whitfield"]);

    let (status, body) = priya
        .post(
            "/api/v1/oncall/overrides",
            json!({"user_id": priya_id, "starts_at": "2026-12-01T10:00:00Z", "ends_at": "2026-12-01T12:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .expect("a message")
        .contains("past"));
}

#[tokio::test]
async fn only_managers_change_the_schedule_and_bad_layers_say_what_to_fix() {
    let server = oncall_server().await;
    let manager = server.login("manager@acme.test").await;
    let oncall = manager.get_ok("/api/v1/oncall").await;
    let dana = id_of(&oncall, "Dana Whitfield").to_owned();
    let layer = |timezone: &str, handoff: &str| {
        json!({"layers": [{"user_ids": [dana], "rotation": "daily", "handoff_at": handoff,
                           "timezone": timezone, "starts_at": "2026-12-01T09:00:00Z"}]})
    };
    let (status, _) = server
        .login("oncall@acme.test")
        .await
        .put("/api/v1/oncall/schedule", layer("UTC", "09:00"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    for (schedule, says) in [
        (layer("Mars/Olympus", "09:00"), "IANA time zone"),
        (layer("UTC", "9am"), "HH:MM"),
        (
            json!({"layers": [{"user_ids": ["usr_nobody"], "rotation": "weekly", "handoff_at": "09:00",
                               "timezone": "UTC", "starts_at": "2026-12-01T09:00:00Z"}]}),
            "not a user of your organisation",
        ),
    ] {
        let (status, body) = manager.put("/api/v1/oncall/schedule", schedule).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let message = body["error"]["message"].as_str().expect("a message");
        assert!(message.contains(says), "{message}");
    }

    let (status, saved) = manager
        .put(
            "/api/v1/oncall/schedule",
            layer("America/New_York", "09:00"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(names(&saved["now"]), ["Dana Whitfield"]);
    let (status, cleared) = manager
        .put("/api/v1/oncall/schedule", json!({"layers": []}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        names(&cleared["now"]),
        ["Dana Whitfield", "Priya Raman"],
        "no schedule: everyone with role oncall"
    );
}

/// The schedule and the policy are read leniently by older clients (a newer server's field or
/// value is kept as unknown there); the server still takes from a request only what it knows.
#[tokio::test]
async fn a_schedule_or_policy_with_a_field_or_value_the_server_does_not_know_is_refused() {
    let server = oncall_server().await;
    let manager = server.login("manager@acme.test").await;
    let dana = id_of(&manager.get_ok("/api/v1/oncall").await, "Dana Whitfield").to_owned();
    let layer = json!({"user_ids": [dana], "rotation": "daily", "handoff_at": "09:00",
                       "timezone": "UTC", "starts_at": "2026-12-01T09:00:00Z"});
    let mut with_colour = layer.clone();
    with_colour["colour"] = json!("teal");
    let mut fortnightly = layer.clone();
    fortnightly["rotation"] = json!("fortnightly");
    let mut unknown = layer.clone();
    unknown["rotation"] = json!("unknown");
    let level = json!({"after_s": 0, "targets": ["oncall_now"]});
    for (path, body, says) in [
        (
            "/api/v1/oncall/schedule",
            json!({"layers": [with_colour]}),
            "`layers.0.colour`",
        ),
        (
            "/api/v1/oncall/schedule",
            json!({"layers": [fortnightly]}),
            "`fortnightly` is not a known Rotation: use daily, weekly",
        ),
        (
            "/api/v1/oncall/schedule",
            json!({"layers": [unknown]}),
            "`unknown` is not a known",
        ),
        (
            "/api/v1/escalation-policy",
            json!({"applies_to": ["catastrophic"], "levels": [level], "repeat": 0}),
            "`catastrophic` is not a known Risk",
        ),
        (
            "/api/v1/escalation-policy",
            json!({"applies_to": ["high"], "levels": [{"after_s": 0, "targets": ["oncall_now"], "sms": true}]}),
            "`levels.0.sms`",
        ),
    ] {
        let before = manager.get_ok(path.trim_end_matches("/schedule")).await;
        let (status, answer) = manager.put(path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        let message = answer["error"]["message"].as_str().expect("a message");
        assert!(message.contains(says), "{message}");
        assert_eq!(
            manager.get_ok(path.trim_end_matches("/schedule")).await,
            before,
            "nothing changed"
        );
    }
}

#[tokio::test]
async fn the_escalation_policy_is_the_managers_and_is_checked() {
    let server = oncall_server().await;
    let manager = server.login("manager@acme.test").await;
    let policy = manager.get_ok("/api/v1/escalation-policy").await;
    assert_eq!(
        policy["applies_to"],
        json!(["high", "critical"]),
        "the demo's"
    );
    assert_eq!(policy["levels"][1]["targets"], json!(["role:manager"]));

    let northwind_user = server
        .login("oncall@northwind.test")
        .await
        .get_ok("/api/v1/me")
        .await["user"]["id"]
        .clone();
    let level = |after_s: i64, target: &str| json!({"after_s": after_s, "targets": [target]});
    for (levels, says) in [
        (json!([level(60, "oncall_now")]), "must be 0"),
        (
            json!([level(0, "oncall_now"), level(300, "role:viewer")]),
            "viewers cannot act",
        ),
        (json!([level(0, "role:boss")]), "names no role"),
        (
            json!([
                level(0, "oncall_now"),
                level(30, "role:owner"),
                level(10, "role:manager")
            ]),
            "at least the level before",
        ),
        (
            json!([level(
                0,
                &format!("user:{}", northwind_user.as_str().unwrap_or_default())
            )]),
            "not a user of your organisation",
        ),
    ] {
        let (status, body) = manager
            .put(
                "/api/v1/escalation-policy",
                json!({"applies_to": ["critical"], "levels": levels, "repeat": 0}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let message = body["error"]["message"].as_str().expect("a message");
        assert!(message.contains(says), "{message}");
    }

    let (status, _) = server
        .login("oncall@acme.test")
        .await
        .put(
            "/api/v1/escalation-policy",
            json!({"applies_to": [], "levels": [], "repeat": 0}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, saved) = manager
        .put(
            "/api/v1/escalation-policy",
            json!({"applies_to": ["critical", "critical"], "levels": [level(0, "role:manager")], "repeat": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["applies_to"], json!(["critical"]));
    assert_eq!(manager.get_ok("/api/v1/escalation-policy").await, saved);
}

/// Two managers editing the policy at once: the second, made from the version the first
/// changed, is refused with the policy as it is now, and lands once made again from it.
#[tokio::test]
async fn a_policy_change_made_from_an_older_version_is_refused_not_lost() {
    let server = oncall_server().await;
    let marco = server.login("manager@acme.test").await;
    let owner = server.login("owner@acme.test").await;
    let seen = marco.get_ok("/api/v1/escalation-policy").await;
    assert_eq!(seen["version"], 0, "the demo's, as seeded: {seen}");
    assert_eq!(owner.get_ok("/api/v1/escalation-policy").await, seen);

    let mut marcos = seen.clone();
    marcos["repeat"] = json!(2);
    let (status, saved) = marco.put("/api/v1/escalation-policy", marcos).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 1);

    let mut owners = seen.clone();
    owners["applies_to"] = json!(["critical"]);
    let (status, refused) = owner.put("/api/v1/escalation-policy", owners.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "policy_changed");
    assert_eq!(refused["error"]["details"]["policy"], saved, "as it is now");
    assert_eq!(
        marco.get_ok("/api/v1/escalation-policy").await["repeat"],
        2,
        "Marco's change kept"
    );

    owners["repeat"] = json!(2);
    owners["version"] = json!(1);
    let (status, both) = owner.put("/api/v1/escalation-policy", owners).await;
    assert_eq!(status, StatusCode::OK, "{both}");
    assert_eq!(
        (&both["applies_to"], &both["repeat"], &both["version"]),
        (&json!(["critical"]), &json!(2), &json!(2))
    );

    // A client that sends no version replaces whatever is there, as before.
    let mut blind = both.clone();
    blind.as_object_mut().expect("a policy").remove("version");
    let (status, replaced) = marco.put("/api/v1/escalation-policy", blind).await;
    assert_eq!((status, &replaced["version"]), (StatusCode::OK, &json!(3)));
}

/// Two managers editing the schedule at once: the second, made from the version the first
/// changed, is refused with who is on call as it is now, and lands once made again from it.
#[tokio::test]
async fn a_schedule_change_made_from_an_older_version_is_refused_not_lost() {
    let server = oncall_server().await;
    let marco = server.login("manager@acme.test").await;
    let owner = server.login("owner@acme.test").await;
    let seen = marco.get_ok("/api/v1/oncall").await;
    let version = seen["version"].as_i64().expect("a version");
    let dana = id_of(&seen, "Dana Whitfield").to_owned();
    let priya = id_of(&seen, "Priya Raman").to_owned();
    let layer_of = |who: &str, version: Option<i64>| {
        let mut schedule = json!({"layers": [{"user_ids": [who], "rotation": "daily",
            "handoff_at": "09:00", "timezone": "UTC", "starts_at": "2026-12-01T09:00:00Z"}]});
        if let Some(version) = version {
            schedule["version"] = json!(version);
        }
        schedule
    };

    let (status, owners) = owner
        .put("/api/v1/oncall/schedule", layer_of(&dana, Some(version)))
        .await;
    assert_eq!(status, StatusCode::OK, "{owners}");
    assert_eq!(owners["version"], version + 1);
    assert!(owners["schedule"].get("version").is_none(), "{owners}");

    let (status, refused) = marco
        .put("/api/v1/oncall/schedule", layer_of(&priya, Some(version)))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert_eq!(refused["error"]["code"], "schedule_changed");
    let now = &refused["error"]["details"]["oncall"];
    assert_eq!(
        (names(&now["now"]), &now["version"]),
        (vec!["Dana Whitfield"], &json!(version + 1)),
        "as it is now: {now}"
    );
    assert_eq!(
        names(&marco.get_ok("/api/v1/oncall").await["now"]),
        ["Dana Whitfield"],
        "the owner's change kept"
    );

    let (status, again) = marco
        .put(
            "/api/v1/oncall/schedule",
            layer_of(&priya, Some(version + 1)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(names(&again["now"]), ["Priya Raman"]);

    let (status, invalid) = marco
        .put("/api/v1/oncall/schedule", layer_of(&dana, Some(-1)))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{invalid}");

    // A client that sends no version replaces the layers whatever is there, as before.
    let (status, blind) = marco
        .put("/api/v1/oncall/schedule", layer_of(&dana, None))
        .await;
    assert_eq!(
        (status, &blind["version"]),
        (StatusCode::OK, &json!(version + 3))
    );
}
