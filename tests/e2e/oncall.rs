//! On call in the real app, desktop and phone layouts: the On call screen, the escalation trail
//! on a request, "I'm on it", "Ask again" on an expired request, "cover for …", and the policy.

use std::time::Duration;

use serde_json::{json, Value};

use crate::desktop::sign_in;
use crate::support::*;

/// The kit's server on the wall clock, with the demo's on-call schedule and escalation policy
/// and no simulated workers: the requests on screen are this test's own.
async fn oncall_server() -> TestServer {
    TestServer::builder()
        .system_clock()
        .demo_oncall()
        .start()
        .await
}

/// Who the demo schedule puts on call now (it depends on the day and the hour).
async fn on_call_now(server: &TestServer) -> Value {
    let oncall = server.login(MANAGER).await.get_ok("/api/v1/oncall").await;
    oncall["now"][0].clone()
}

/// An agent's request to spend more, with the amount as its preview: what the screenshots show
/// for the requests this test makes.
fn budget_request(
    title: &str,
    network: &str,
    from_usd: Option<f64>,
    to_usd: f64,
    period: &str,
    risk: &str,
    expires_in_s: i64,
) -> Value {
    json!({
        "kind": "set_budget",
        "title": title,
        "summary": format!("The launch weekend's reach on {network} is worth more than the current budget allows."),
        "payload": { "network": network, "budget_usd": to_usd, "period": period },
        "preview": { "type": "amount", "currency": "USD", "old_amount": from_usd, "new_amount": to_usd, "period": period },
        "risk": risk,
        "expires_in_s": expires_in_s,
    })
}

async fn open_approval(app: &App, id: &str) {
    app.click("nav-approvals").await;
    app.wait_for("approvals-page").await;
    let item = format!("[data-testid=\"approval-item\"][data-approval-id=\"{id}\"]");
    app.until("the request in the list", PATIENCE, || async {
        (!app.all(&item).await.is_empty()).then_some(())
    })
    .await;
    app.click_css(&item).await;
    assert!(app.opened_approval(id).await, "the request {id} opens");
}

/// Opens a request that expires in seconds, and waits until the app shows it expired.
async fn open_until_expired(app: &App, id: &str) {
    open_approval(app, id).await;
    app.until("the request expires", Duration::from_secs(30), || async {
        let status = app
            .attr(&by_test_id("approval-detail"), "data-status")
            .await;
        (status.as_deref() == Some("expired")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oncall_person_sees_the_schedule_takes_a_request_and_asks_again() {
    if !desktop_session() {
        return;
    }
    let server = oncall_server().await;
    let person = on_call_now(&server).await;
    let email = person["email"].as_str().expect("an email").to_owned();
    let name = person["name"].as_str().expect("a name").to_owned();
    let app = App::launch().await;
    sign_in(&app, &server, &email).await;

    app.click("nav-oncall").await;
    app.wait_for("oncall-page").await;
    app.wait_for_attr("oncall-page", "data-live", "true").await;
    let now = app
        .text(&by_test_id("oncall-now"))
        .await
        .unwrap_or_default();
    assert_eq!(now, "You", "{name} is on call now, and sees it is them");
    assert!(
        app.all(&by_test_id("oncall-shift")).await.len() >= 14,
        "the week ahead, days and nights"
    );
    app.screenshot("desktop-oncall").await;

    // A critical request: the on-call person (online in the app) is told first.
    let critical = server
        .agent("Quill")
        .ask_with(budget_request(
            "Raise the Meta daily cap to $900 for the launch weekend",
            "Meta",
            Some(600.0),
            900.0,
            "day",
            "critical",
            3600,
        ))
        .await;
    let critical_id = critical["id"].as_str().expect("an id");
    open_approval(&app, critical_id).await;
    let trail = app.wait_for("escalation-trail").await;
    let told = trail.text().await.unwrap_or_default();
    assert!(
        told.contains(&name) && told.contains("told in the app"),
        "{told}"
    );
    app.screenshot("desktop-approval-escalation").await;
    app.click("ack-button").await;
    let acked = app.wait_for("escalation-acked").await;
    assert!(acked.text().await.unwrap_or_default().contains(&name));
    let on_server = server
        .login(MANAGER)
        .await
        .get_ok(&format!("/api/v1/approvals/{critical_id}"))
        .await;
    assert_eq!(on_server["escalation"]["acked_by"]["name"], name.as_str());

    // A request nobody decides in time, asked again with a comment.
    let mut control = server.control("Iris").await;
    let expiring = server
        .agent("Iris")
        .ask_with(budget_request(
            "Raise the TikTok hero ad to $250 a day",
            "TikTok",
            Some(80.0),
            250.0,
            "day",
            "high",
            10,
        ))
        .await;
    let expiring_id = expiring["id"].as_str().expect("an id");
    open_until_expired(&app, expiring_id).await;
    app.type_into("ask-again-comment", "Keep it under $100 a day")
        .await;
    app.screenshot("desktop-ask-again").await;
    app.click("ask-again-button").await;
    // Once the server has it, the request says who asked and what they said.
    app.until("the ask's comment on the request", PATIENCE, || async {
        let said = app.text("[data-testid='asked-again']").await?;
        said.contains("saying “Keep it under $100 a day”")
            .then_some(())
    })
    .await;
    let frame = control
        .next_where("ask_again", |f| f["type"] == "ask_again")
        .await;
    assert_eq!(frame["approval_id"], expiring_id);
    assert_eq!(frame["comment"], "Keep it under $100 a day");

    // Iris proposes again, naming the ask: the expired request links to the new one, which
    // opens from there and links back.
    let again = server
        .agent("Iris")
        .ask_with({
            let mut reworked = budget_request(
                "Raise the TikTok hero ad to $100 a day",
                "TikTok",
                Some(80.0),
                100.0,
                "day",
                "high",
                600,
            );
            reworked["summary"] = json!("Reworked as asked: $100 a day instead of $250.");
            reworked["answers_ask"] = json!(expiring_id);
            reworked
        })
        .await;
    let again_id = again["id"].as_str().expect("an id");
    app.wait_for("asked-again-answer").await;
    app.screenshot("desktop-asked-again-answered").await;
    app.click("asked-again-answer").await;
    assert!(
        app.opened_approval(again_id).await,
        "the link opens the new request"
    );
    app.wait_for("answers-ask").await;
    app.screenshot("desktop-answers-ask").await;
    app.click("answers-ask-link").await;
    assert!(
        app.opened_approval(expiring_id).await,
        "the answer links back to the request asked again"
    );

    app.quit().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_on_a_phone_covers_a_shift_takes_a_request_asks_again_and_sees_the_policy() {
    if !desktop_session() {
        return;
    }
    let server = oncall_server().await;
    let app = App::launch().await;
    app.resize(390, 844).await;
    sign_in(&app, &server, MANAGER).await;

    app.click("nav-oncall").await;
    app.wait_for("oncall-page").await;
    app.wait_for_attr("oncall-page", "data-live", "true").await;
    app.screenshot("phone-oncall").await;
    // The manager covers from the next full hour for four hours (the form's default).
    app.click("cover-button").await;
    app.until("the override", PATIENCE, || async {
        (app.all(&by_test_id("oncall-override")).await.len() == 1).then_some(())
    })
    .await;
    let shifts = app
        .all("[data-testid=\"oncall-shift\"][data-mine=\"true\"]")
        .await;
    assert_eq!(shifts.len(), 1, "the manager's cover is in the week ahead");
    app.dismiss_toasts().await;

    let critical = server
        .agent("Ledger")
        .ask_with(budget_request(
            "Raise the TikTok weekend budget to $400",
            "TikTok",
            None,
            400.0,
            "for the weekend",
            "critical",
            3600,
        ))
        .await;
    let critical_id = critical["id"].as_str().expect("an id");
    open_approval(&app, critical_id).await;
    app.wait_for("ack-button").await;
    app.dismiss_toasts().await;
    app.screenshot("phone-approval-escalation").await;
    app.click("ack-button").await;
    app.wait_for("escalation-acked").await;

    // Ask again, with thumbs: an expired request, its agent asked with a comment.
    let expiring = server
        .agent("Pixel")
        .ask("Swap the hero image for the linen set", "high", 10)
        .await;
    let expiring_id = expiring["id"].as_str().expect("an id");
    open_until_expired(&app, expiring_id).await;
    app.type_into("ask-again-comment", "Use the sand-coloured set")
        .await;
    app.click("ask-again-button").await;
    app.wait_for("asked-again").await;
    let asked = server
        .login(MANAGER)
        .await
        .get_ok(&format!("/api/v1/approvals/{expiring_id}"))
        .await;
    assert_eq!(asked["ask_again_requested_by"]["name"], "Marco Rossi");

    app.click("nav-settings").await;
    app.wait_for("escalation-policy").await;
    let levels = app.all(&by_test_id("policy-level")).await.len();
    assert_eq!(
        levels, 3,
        "the demo policy: on call, then the managers, then the owners"
    );
    app.dismiss_toasts().await;
    app.scroll_to("escalation-policy").await;
    app.screenshot("phone-settings-escalation").await;

    app.quit().await;
    server.stop().await;
}
