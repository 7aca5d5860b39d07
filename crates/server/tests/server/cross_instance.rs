//! Two instances on one PostgreSQL database, as a load balancer would put them: what is written
//! through one is heard live on the other, stops reach agents wherever their control socket is,
//! Idempotency-Keys hold across both, and one instance at a time runs the once-only jobs.
//! PostgreSQL only: `bash scripts/test.sh` runs this module with `SPARTEX_TEST_DATABASE=postgres`.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use spartex_api::SESSION_ENDED_CLOSE_CODE;
use spartex_testkit::port_in_front::PortInFront;
use spartex_testkit::{eventually, Socket};

use crate::support::{ask, project_id, Api, TestServer, NEWSLETTER, PATIENCE, SPRING};

mod agent_tokens;
mod locks;
mod relay;
mod rewound;

/// Messages each instance writes at once in the gapless test.
const MESSAGES_EACH: usize = 15;

async fn two_instances() -> (TestServer, TestServer) {
    let a = TestServer::start().await;
    let b = a.another_instance().await;
    (a, b)
}

/// Reads events until `count` messages have arrived, checking every `seq` follows the last.
async fn read_messages(
    socket: &mut spartex_testkit::Socket,
    mut last: i64,
    count: usize,
) -> Vec<Value> {
    let mut frames = Vec::new();
    let mut messages = 0;
    while messages < count {
        let frame = socket.next().await;
        let seq = frame["seq"]
            .as_i64()
            .unwrap_or_else(|| panic!("an event: {frame}"));
        assert_eq!(seq, last + 1, "events arrive gapless and once: {frame}");
        last = seq;
        messages += usize::from(frame["type"] == "message.created");
        frames.push(frame);
    }
    frames
}

#[tokio::test]
async fn writes_through_either_instance_reach_sockets_on_both_in_seq_order() {
    let (a, b) = two_instances().await;
    let on_a = a.login("oncall@acme.test").await;
    let on_b = b.api(on_a.token());
    let spring = project_id(&on_a, SPRING).await;
    let head = on_a.head().await;
    let mut socket_a = a.events(on_a.token(), Some(head)).await;
    let mut socket_b = b.events(on_a.token(), Some(head)).await;
    for socket in [&mut socket_a, &mut socket_b] {
        assert_eq!(socket.next().await, json!({"type": "hello", "head": head}));
    }

    let path = format!("/api/v1/projects/{spring}/messages");
    let write_through = |api: spartex_testkit::Api, instance: &'static str| {
        let path = path.clone();
        async move {
            for n in 0..MESSAGES_EACH {
                let (status, body) = api
                    .post(&path, json!({"body": format!("{instance} {n}")}))
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
            }
        }
    };
    tokio::join!(write_through(on_a.clone(), "a"), write_through(on_b, "b"));

    let heard_on_a = read_messages(&mut socket_a, head, 2 * MESSAGES_EACH).await;
    let heard_on_b = read_messages(&mut socket_b, head, 2 * MESSAGES_EACH).await;
    assert_eq!(heard_on_a, heard_on_b, "both instances tell the same story");
    let bodies: BTreeSet<&str> = heard_on_a
        .iter()
        .filter(|f| f["type"] == "message.created")
        .map(|f| f["data"]["body"].as_str().expect("a body"))
        .collect();
    assert_eq!(bodies.len(), 2 * MESSAGES_EACH, "every message, from both");
    assert_eq!(
        on_a.all_events().await.last().map(|e| e["seq"].clone()),
        heard_on_a.last().map(|e| e["seq"].clone()),
        "what the sockets heard is the log"
    );
}

#[tokio::test]
async fn an_instance_that_lost_its_database_connection_catches_up_from_the_log() {
    let (a, b) = two_instances().await;
    let on_a = a.login("oncall@acme.test").await;
    let spring = project_id(&on_a, SPRING).await;
    let head = on_a.head().await;
    let mut socket_a = a.events(on_a.token(), Some(head)).await;
    assert_eq!(socket_a.next().await["type"], "hello");

    // Every connection that listens for announcements is cut, as a network blip would.
    cut_listeners(&a).await;
    let (status, body) = b
        .api(on_a.token())
        .post(
            &format!("/api/v1/projects/{spring}/messages"),
            json!({"body": "said while A was not listening"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let heard = read_messages(&mut socket_a, head, 1).await;
    assert_eq!(
        heard.last().expect("the message")["data"]["body"],
        "said while A was not listening"
    );
}

#[tokio::test]
async fn a_stop_requested_on_one_instance_completes_with_agents_connected_to_the_other() {
    let (a, b) = two_instances().await;
    let oncall_b = b.login("oncall@acme.test").await;
    let newsletter = project_id(&oncall_b, NEWSLETTER).await;
    let mut events_a = a.events(oncall_b.token(), None).await;
    let mut controls = connect_newsletter_agents(&a).await;
    let stop_id = stop(&oncall_b, &newsletter).await;

    // Each agent hears it on instance A, and acknowledges through either instance.
    for (n, (name, control)) in controls.iter_mut().enumerate() {
        assert_eq!(
            control.next().await,
            json!({"type": "stop", "stop_id": stop_id}),
            "{name}, connected to A, is told of the stop made on B"
        );
        let through = if n % 2 == 0 { &a } else { &b };
        let (status, body) = through
            .agent(name)
            .post("/api/v1/agent/stop-ack", json!({"stop_id": stop_id}))
            .await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    let done = events_a
        .next_where("the stop's completion", |f| {
            f["type"] == "stop.upserted" && f["data"]["status"] != "pending"
        })
        .await;
    assert_eq!(done["data"]["status"], "completed");
    assert_eq!(done["data"]["agents_stopped"], 3);
}

#[tokio::test]
async fn an_instance_that_listens_again_resends_its_agents_the_stop_they_have_not_acknowledged() {
    let (a, b) = two_instances().await;
    let oncall_b = b.login("oncall@acme.test").await;
    let newsletter = project_id(&oncall_b, NEWSLETTER).await;
    let mut controls = connect_newsletter_agents(&a).await;
    let stop_frame = json!({"type": "stop", "stop_id": stop(&oncall_b, &newsletter).await});
    for (name, control) in &mut controls {
        assert_eq!(control.next().await, stop_frame, "{name} hears the stop");
    }

    // Whatever was said while A's listener was down is lost, a stop included: once A listens
    // again, each agent connected to it is sent the stop it has not acknowledged.
    cut_listeners(&a).await;
    for (name, control) in &mut controls {
        assert_eq!(control.next().await, stop_frame, "{name} is told again");
    }
}

/// The newsletter's three agents, each with its control socket on `instance`.
async fn connect_newsletter_agents(instance: &TestServer) -> Vec<(&'static str, Socket)> {
    let mut controls = Vec::new();
    for name in ["Ink", "Tally", "Guard"] {
        controls.push((name, instance.control(name).await));
    }
    controls
}

/// Stops `project` as `by`; the stop's id.
async fn stop(by: &Api, project: &str) -> String {
    let (status, stop) = by
        .post(
            &format!("/api/v1/projects/{project}/stop"),
            json!({"reason": "Wrong list"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");
    stop["id"].as_str().expect("an id").to_owned()
}

/// Waits until `instance` listens for the others' announcements, and so keeps sessions.
async fn hears_every_end(instance: &TestServer) {
    until_hearing(instance, true, PATIENCE).await;
}

/// Waits until `instance` knows whether it hears the others' announcements (`hears`).
async fn until_hearing(instance: &TestServer, hears: bool, patience: Duration) {
    let known = async || (instance.state().sessions.hears_every_end() == hears).then_some(());
    let what = if hears {
        "listens"
    } else {
        "knows it no longer hears"
    };
    eventually(&format!("the instance {what}"), patience, known).await;
}

/// Cuts the connections this test's instances listen for announcements on, as a network blip
/// would (only this test's database: the cluster is shared by tests running beside it).
async fn cut_listeners(instance: &TestServer) {
    instance
        .execute_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE query LIKE 'LISTEN%' AND datname = current_database() \
             AND pid <> pg_backend_pid()",
        )
        .await;
}

#[tokio::test]
async fn a_long_message_reaches_an_agent_connected_to_the_other_instance() {
    let (a, b) = two_instances().await;
    let manager_b = b.login("manager@acme.test").await;
    let newsletter = project_id(&manager_b, NEWSLETTER).await;
    let ink = a.agent_named("Ink").agent.id.clone();
    let mut control = a.control("Ink").await;
    // Longer than PostgreSQL carries in one notification: it is read from the database.
    let body = "Use the March list, not the February one.".repeat(300);

    let (status, sent) = manager_b
        .post(
            &format!("/api/v1/projects/{newsletter}/messages"),
            json!({"body": body, "agent_id": ink}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{sent}");
    let frame = control
        .next_where("the message", |f| f["type"] == "message")
        .await;
    assert_eq!(frame["message"]["id"], sent["id"]);
    assert!(
        frame["message"]["body"].as_str() == Some(body.as_str()),
        "the whole message arrives, {} bytes",
        body.len()
    );
}

#[tokio::test]
async fn a_long_ask_again_reaches_an_agent_connected_to_the_other_instance() {
    let (a, b) = two_instances().await;
    let mut control = a.control("Quill").await;
    let approval = ask(&a.agent("Quill"), "high", 60).await;
    let id = approval["id"].as_str().expect("id");
    for instance in [&a, &b] {
        instance.advance(chrono::Duration::seconds(61));
    }
    let dana_on_b = b.login("oncall@acme.test").await;
    eventually("the request expires", PATIENCE, async || {
        let seen = dana_on_b.get_ok(&format!("/api/v1/approvals/{id}")).await;
        (seen["status"] == "expired").then_some(())
    })
    .await;

    // 4,000 characters of two bytes each: more than PostgreSQL carries in one notification.
    let comment = "é".repeat(4000);
    let (status, asked) = dana_on_b
        .post(
            &format!("/api/v1/approvals/{id}/ask-again"),
            json!({ "comment": comment }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{asked}");
    let frame = control
        .next_where("the ask", |f| f["type"] == "ask_again")
        .await;
    assert_eq!(frame["approval_id"], approval["id"]);
    assert!(
        frame["comment"].as_str() == Some(comment.as_str()),
        "the whole comment arrives"
    );
}

#[tokio::test]
async fn signing_out_on_one_instance_ends_that_sign_in_on_the_other_at_once() {
    let (a, b) = two_instances().await;
    let oncall = a.login("oncall@acme.test").await;
    let mut events_a = a.events(oncall.token(), None).await;
    assert_eq!(events_a.next().await["type"], "hello");
    let on_a = a.api(oncall.token());
    // Used on A before, so A knows the session as live when B signs it out.
    hears_every_end(&a).await;
    assert_eq!(on_a.get("/api/v1/projects").await.0, StatusCode::OK);

    let (status, _) = b
        .api(oncall.token())
        .post("/api/v1/auth/logout", json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(events_a.close_code().await, Some(SESSION_ENDED_CLOSE_CODE));
    assert_eq!(
        on_a.get("/api/v1/projects").await.0,
        StatusCode::UNAUTHORIZED,
        "A heard the sign-out: its requests are refused as its sockets are closed"
    );
}

#[tokio::test]
async fn a_sign_out_said_while_an_instance_could_not_hear_ends_that_sign_in_there_too() {
    // Kept answers do not lapse during the test: only not hearing may end them.
    let a = TestServer::start_with(|settings| {
        settings.session_recheck_after = Duration::from_secs(3600);
    })
    .await;
    let mut port = PortInFront::open(a.database_url()).await;
    let b = a.another_instance_on(&port.url).await;
    hears_every_end(&b).await;
    let oncall = b.login("oncall@acme.test").await;
    assert_eq!(oncall.get("/api/v1/projects").await.0, StatusCode::OK);
    let mut oncall_on_b = b.events(oncall.token(), None).await;
    assert_eq!(oncall_on_b.next().await["type"], "hello");

    // B loses its database, and with it the connection announcements arrive on.
    port.refuse().await;
    until_hearing(&b, false, PATIENCE).await;
    let (status, _) = a
        .api(oncall.token())
        .post("/api/v1/auth/logout", json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "signed out through A");
    port.open_again().await;

    assert_eq!(
        oncall_on_b.close_code().await,
        Some(SESSION_ENDED_CLOSE_CODE),
        "once it hears again B reads the sign-outs said meanwhile and closes their sockets"
    );
    let refused = async || match oncall.get("/api/v1/projects").await.0 {
        StatusCode::SERVICE_UNAVAILABLE => None, // B's pool is still waiting for the database
        status => Some(status),
    };
    assert_eq!(
        eventually("B reaches its database again", PATIENCE, refused).await,
        StatusCode::UNAUTHORIZED,
        "B did not answer from what it knew before it stopped hearing"
    );
}

#[tokio::test]
async fn an_instance_whose_connection_dies_without_a_word_notices_and_listens_again() {
    let a = TestServer::start().await;
    let mut port = PortInFront::open(a.database_url()).await;
    let b = a.another_instance_on(&port.url).await;
    hears_every_end(&b).await;
    let manager = a.login("manager@acme.test").await;
    let spring = project_id(&manager, SPRING).await;
    let head = manager.head().await;
    let mut on_b = b.events(manager.token(), Some(head)).await;
    assert_eq!(on_b.next().await["type"], "hello");

    // Nothing closes: the listener's connection just stops carrying anything.
    port.stall();
    let (status, body) = manager
        .post(
            &format!("/api/v1/projects/{spring}/messages"),
            json!({"body": "written on A while B heard nothing"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Five quiet seconds before the connection is checked, five for its answer.
    until_hearing(&b, false, Duration::from_secs(20)).await;

    port.open_again().await;
    let heard = read_messages(&mut on_b, head, 1).await;
    assert_eq!(
        heard.last().expect("the message")["data"]["body"],
        "written on A while B heard nothing",
        "B read what it missed once it listened again"
    );
}

#[tokio::test]
async fn a_decision_retried_on_the_other_instance_gets_the_stored_answer_and_is_made_once() {
    let (a, b) = two_instances().await;
    let approval = ask(&a.agent("Quill"), "high", 600).await;
    let manager_a = a.login("manager@acme.test").await;
    let manager_b = b.api(manager_a.token());
    let path = format!(
        "/api/v1/approvals/{}/decision",
        approval["id"].as_str().expect("an id")
    );
    let decision = json!({"decision": "approve", "seen_version": approval["version"]});

    let first = manager_a
        .post_with_key(&path, decision.clone(), "retry-across-instances")
        .await;
    let retried = manager_b
        .post_with_key(&path, decision, "retry-across-instances")
        .await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_eq!(retried, first, "the retry on B gets A's answer");
    let decided = manager_b
        .all_events()
        .await
        .into_iter()
        .filter(|e| e["type"] == "approval.upserted" && e["data"]["id"] == approval["id"])
        .filter(|e| e["data"]["status"] == "approved")
        .count();
    assert_eq!(decided, 1, "the decision is made once");
}

#[tokio::test]
async fn failed_sign_ins_through_both_instances_are_counted_together() {
    let (a, b) = two_instances().await;
    let guess = json!({"email": "viewer@acme.test", "password": "guess"});
    for n in 0..5 {
        let through = if n % 2 == 0 { &a } else { &b };
        let (status, body) = through
            .anonymous()
            .post("/api/v1/auth/login", guess.clone())
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    for instance in [&a, &b] {
        let (status, body) = instance
            .anonymous()
            .post("/api/v1/auth/login", guess.clone())
            .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    }
}

#[tokio::test]
async fn one_instance_runs_the_once_only_jobs_and_another_takes_over_when_it_ends() {
    let (mut a, mut b) = two_instances().await;
    let a_leads = eventually("an instance leads", PATIENCE, async || {
        match (a.leads(), b.leads()) {
            (true, true) => panic!("both instances lead"),
            (false, false) => None,
            (a_leads, _) => Some(a_leads),
        }
    })
    .await;
    let (leader, following) = if a_leads { (&mut a, &b) } else { (&mut b, &a) };

    leader.shutdown().await;
    eventually("the other instance takes over", PATIENCE, async || {
        following.leads().then_some(())
    })
    .await;

    // The new leader's sweeper runs: an approval past its deadline expires.
    let approval = ask(&following.agent("Quill"), "high", 60).await;
    following.advance(chrono::Duration::seconds(61));
    let manager = following.login("manager@acme.test").await;
    let path = format!(
        "/api/v1/approvals/{}",
        approval["id"].as_str().expect("an id")
    );
    eventually("the approval expires", PATIENCE, async || {
        let (_, now) = manager.get(&path).await;
        (now["status"] == "expired").then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_person_whose_app_is_connected_to_the_other_instance_is_reached_not_skipped() {
    let a = TestServer::builder().demo_oncall().start().await;
    let b = a.another_instance().await;
    let oncall = a
        .login("manager@acme.test")
        .await
        .get_ok("/api/v1/oncall")
        .await;
    let person = &oncall["now"][0];
    let email = person["email"].as_str().expect("someone is on call");
    let name = person["name"].as_str().expect("a name");
    let at_their_desk = b.login(email).await;
    let tenant_id = at_their_desk.get_ok("/api/v1/me").await["tenant"]["id"]
        .as_str()
        .expect("a tenant")
        .to_owned();
    let mut socket = b.events(at_their_desk.token(), None).await;
    socket.next().await;

    let shared = a
        .state()
        .store
        .shared_presence()
        .expect("shared on PostgreSQL");
    let user_id = person["id"].as_str().expect("an id");
    let connected = async || {
        shared
            .online_users(&tenant_id, spartex_server::presence::SHARED_FOR)
            .await
            .expect("reads")
            .iter()
            .any(|u| u == user_id)
    };
    eventually(
        "the other instance hears who is connected",
        PATIENCE,
        async || connected().await.then_some(()),
    )
    .await;

    // The request is made through A, whose ladder finds them connected through B.
    let approval = ask(&a.agent("Quill"), "critical", 3600).await;
    let first = &approval["escalation"]["notified"][0];
    assert_eq!(first["user_name"], name, "{approval}");
    assert_eq!(first["channel"], "socket", "{approval}");
    assert_eq!(first["result"], "sent", "{approval}");
    assert_eq!(
        approval["escalation"]["level"], 1,
        "nobody else is told yet"
    );

    drop(socket);
    eventually("a closed app stops counting", PATIENCE, async || {
        (!connected().await).then_some(())
    })
    .await;
}
