//! A manager's day at a laptop: sign in, watch, decide, chat, stop, lose the link, come back.

use std::time::Duration;

use spartex_server::store::DocKind;

use crate::notify_monitor::NotifyMonitor;
use crate::support::*;

const SPRING: &str = "Spring Sale 2027 — Paid Social";
const NEWSLETTER: &str = "The Weekly Edit — Newsletter";
const REJECTION: &str = "Use the shorter headline and drop the discount claim";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_decides_chats_stops_and_works_offline() {
    if !desktop_session() {
        return;
    }
    let mut server = demo_server().await;
    let notifications = NotifyMonitor::start().await;
    let app = App::launch().await;

    app.wait_for("signin-submit").await;
    app.screenshot("desktop-sign-in").await;
    sign_in(&app, &server, MANAGER).await;
    let rows = app
        .until("three Acme projects on the dashboard", PATIENCE, || async {
            let rows = app.all(&by_test_id("project-row")).await;
            (rows.len() == 3).then_some(rows)
        })
        .await;
    assert_eq!(
        rows.len(),
        3,
        "Acme Ads has three projects; Northwind's stay hidden"
    );
    app.wait_for_attr("status-link", "data-link", "connected")
        .await;
    app.screenshot("desktop-dashboard").await;

    // Two approvals from the agents: one approved, one rejected with a comment.
    app.click("nav-approvals").await;
    app.wait_for("approvals-page").await;
    let approved = decide_first_decidable(&app, Decision::Approve).await;
    app.screenshot("desktop-approval-approved").await;
    let rejected = decide_first_decidable(&app, Decision::Reject).await;

    // The agents act on each: the approved one is done, the rejected one is reworked.
    let tenant = server.tenant_of(MANAGER).await;
    let done = format!("Approved — done: {}", approved.title);
    app.until("the agent acts on the approval", AGENT_PATIENCE, || async {
        (times_said(&server, &tenant, &approved.project_id, &done).await == 1).then_some(())
    })
    .await;
    let reworking = format!("Understood: “{REJECTION}”");
    app.until(
        "the agent reworks after the rejection",
        AGENT_PATIENCE,
        || async {
            (times_said(&server, &tenant, &rejected.project_id, &reworking).await == 1)
                .then_some(())
        },
    )
    .await;

    // A link to the approval, handed to a second launch, opens it in the running app.
    app.click("nav-dashboard").await;
    app.wait_for("dashboard").await;
    open_link_in_second_launch(&format!("spartex://approvals/{}", approved.id)).await;
    app.wait_for_css(&format!(
        "[data-testid=\"approval-detail\"][data-approval-id=\"{}\"]",
        approved.id
    ))
    .await;

    // The project: its agents, and a chat message answered by an agent.
    open_project(&app, SPRING).await;
    app.until("the agents of the project", PATIENCE, || async {
        (app.all(&by_test_id("agent-row")).await.len() >= 3).then_some(())
    })
    .await;
    app.dismiss_toasts().await;
    app.screenshot("desktop-project").await;
    let token = format!("e2e-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let question = format!("Please double-check the CTA wording {token}");
    // Sent with Enter, where the person is typing: the Send button moves while the project's
    // approvals above the chat come and go, and a click aimed at where it was can miss it.
    app.type_into(
        "chat-input",
        &format!("{question}{}", fantoccini::key::Key::Enter),
    )
    .await;
    // A message of the thread by `author_kind` that quotes the token.
    let in_the_thread = |author_kind: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            for message in app.all(&by_test_id("chat-message")).await {
                let kind = message.attr("data-author-kind").await.ok().flatten();
                let text = message.text().await.unwrap_or_default();
                if kind.as_deref() == Some(author_kind) && text.contains(token.as_str()) {
                    return Some(());
                }
            }
            None
        }
    };
    app.until("the manager's message in the thread", PATIENCE, || {
        in_the_thread("user")
    })
    .await;
    app.until("an agent answers the chat", AGENT_PATIENCE, || {
        in_the_thread("agent")
    })
    .await;
    app.screenshot("desktop-chat").await;

    // The emergency stop of the project, confirmed by typing its name; every agent answers.
    app.click("project-stop-button").await;
    app.wait_for("stop-dialog").await;
    let confirm = app.wait_for("stop-confirm-button").await;
    assert!(
        !confirm.is_enabled().await.expect("the button answers"),
        "the stop cannot be confirmed before the name is typed"
    );
    app.type_into("stop-confirm-input", SPRING).await;
    app.type_into("stop-reason", "Wrong landing page in every ad")
        .await;
    app.screenshot("desktop-stop-confirm").await;
    app.click("stop-confirm-button").await;
    let status = app.stop_outcome().await;
    assert_eq!(
        status, "completed",
        "every simulated agent acknowledges within seconds"
    );
    let agents = app.all(&by_test_id("stop-agent")).await;
    assert!(agents.len() >= 3, "each agent of the project is listed");
    for agent in agents {
        assert_eq!(
            agent.attr("data-acked").await.ok().flatten().as_deref(),
            Some("true")
        );
    }
    app.screenshot("desktop-stop-progress").await;
    app.click_css("[data-testid=\"stop-dialog\"] button[aria-label=\"Close\"]")
        .await;

    // The link goes down: cached projects stay readable, a decision waits in the outbox.
    let (offline_pick, offline_version) = server_pending(&server, &tenant, NEWSLETTER)
        .await
        .expect("the newsletter agents asked for something by now");
    let offline_item =
        format!("[data-testid=\"approval-item\"][data-approval-id=\"{offline_pick}\"]");
    app.click("nav-approvals").await;
    app.wait_for_css(&offline_item).await;
    server.shutdown().await;
    app.wait_for_attr("status-link", "data-link", "offline")
        .await;
    open_project(&app, NEWSLETTER).await;
    app.wait_for("agent-row").await;
    app.screenshot("desktop-offline-project").await;
    app.click("nav-approvals").await;
    app.click_css(&offline_item).await;
    app.click("approve-button").await;
    app.wait_for_attr("approval-state", "data-state", "sending")
        .await;
    assert_eq!(
        app.attr(&by_test_id("status-outbox"), "data-count")
            .await
            .as_deref(),
        Some("1")
    );
    app.screenshot("desktop-offline-sending").await;

    // Signing out now would lose the decision: the app names it and asks.
    app.click("nav-settings").await;
    app.wait_for("settings-page").await;
    app.click_css(&by_test_id("sign-out-button")).await;
    let refused = app.wait_for("sign-out-refused").await;
    let said = refused.text().await.expect("the dialog's text");
    assert!(said.contains("not reached the server"), "{said}");
    app.screenshot("desktop-sign-out-refused").await;
    app.click("sign-out-stay").await;
    app.until("the dialog closes", PATIENCE, || async {
        app.all(&by_test_id("sign-out-refused"))
            .await
            .is_empty()
            .then_some(())
    })
    .await;
    assert_eq!(
        app.attr(&by_test_id("status-outbox"), "data-count")
            .await
            .as_deref(),
        Some("1"),
        "still signed in, the decision still waiting"
    );

    // The link returns: the decision is delivered once.
    server.restart().await;
    app.until("the decision is delivered", PATIENCE * 2, || async {
        (app.attr(&by_test_id("status-outbox"), "data-count")
            .await
            .as_deref()
            == Some("0"))
        .then_some(())
    })
    .await;
    let settled = server
        .state()
        .store
        .get_doc(&tenant, DocKind::Approval, &offline_pick)
        .await
        .expect("the store answers")
        .expect("the approval exists");
    assert_eq!(settled["status"], "approved");
    assert_eq!(settled["decided_by"]["email"], MANAGER);
    assert_eq!(
        settled["version"].as_i64(),
        Some(offline_version + 1),
        "one decision reached the server, once"
    );

    app.click("nav-settings").await;
    app.wait_for("settings-page").await;
    app.dismiss_toasts().await;
    app.screenshot("desktop-settings").await;

    // The manager was notified through the real notification daemon: the first requests one
    // by one, with the request's title, its project by name, and Approve / Reject buttons; the
    // rest of the sign-in's burst counted in one summary. Other tests share the bus: only the
    // app's own calls count, found by the requests of this test's server.
    let requests = (server.state().store)
        .list_docs(
            &tenant,
            spartex_server::store::DocFilter::all(DocKind::Approval),
        )
        .await
        .expect("the store answers");
    let requests: Vec<String> = (requests.iter())
        .filter_map(|request| Some(format!("Approval needed: {}", request["title"].as_str()?)))
        .collect();
    let app_sender = notifications.sender_of(&requests).await;
    let seen = notifications.seen_from(Some(&app_sender));
    assert!(
        seen.contains("string \"Spartex Control\""),
        "a Notify call from the app: {seen}"
    );
    assert!(
        seen.contains("string \"approve\""),
        "with an Approve button: {seen}"
    );
    assert!(
        seen.contains("Project: ") && !seen.contains("Project: prj_"),
        "naming the project by its name: {seen}"
    );
    // Answered in the app, each request's notification was taken off the screen, where its
    // buttons would now do nothing; one held back was counted in the summary instead.
    for decided in [&approved, &rejected] {
        let title = format!("Approval needed: {}", decided.title);
        if seen.contains(&title) {
            let id = notifications.id_of_from(Some(&app_sender), &title).await;
            notifications.until_closed(id).await;
        } else {
            let project = (server.state().store)
                .get_doc(&tenant, DocKind::Project, &decided.project_id)
                .await
                .expect("the store answers")
                .expect("the project exists");
            let project = project["name"].as_str().expect("a name");
            let counted = seen
                .split("more request")
                .skip(1)
                .any(|summary| summary.lines().take(3).any(|line| line.contains(project)));
            assert!(counted, "{title:?} was neither shown nor counted: {seen}");
        }
    }

    notifications.stop().await;
    app.quit().await;
    server.stop().await;
    // The agents' chatter after the stop is not this test's business.
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[derive(Clone, Copy, PartialEq)]
pub enum Decision {
    Approve,
    Reject,
}

pub struct Decided {
    pub id: String,
    pub title: String,
    pub project_id: String,
}

/// Launches the app a second time with `link`, as the desktop does for a clicked link; the
/// second launch hands it to the running app and exits.
async fn open_link_in_second_launch(link: &str) {
    let status = tokio::time::timeout(
        PATIENCE,
        tokio::process::Command::new(app_binary())
            .arg(link)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status(),
    )
    .await
    .expect("the second launch hands the link over and exits")
    .expect("the app binary starts");
    assert!(
        status.success(),
        "the second launch exits cleanly: {status}"
    );
}

/// Runs an app command as the UI would, and gives back its answer (or its error, as JSON).
async fn invoke(app: &App, command: &str, args: serde_json::Value) -> serde_json::Value {
    app.client
        .execute_async(
            "const [command, args, done] = arguments;
             window.__TAURI_INTERNALS__.invoke(command, args)
               .then(done, (error) => done({ error }));",
            vec![command.into(), args],
        )
        .await
        .unwrap_or_else(|e| panic!("{command}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_taken_offline_is_delivered_while_another_organisation_is_shown() {
    if !desktop_session() {
        return;
    }
    let mut server = demo_server().await;
    let app = App::launch().await;
    sign_in(&app, &server, MANAGER).await;
    let tenant = server.tenant_of(MANAGER).await;
    let (pick, version) = server_pending(&server, &tenant, NEWSLETTER)
        .await
        .expect("the newsletter agents asked for something by now");
    // The same person on call for a second organisation, signed in beside the first.
    app.click("account-menu").await;
    app.click("add-account").await;
    sign_in(&app, &server, "owner@northwind.test").await;
    let accounts = invoke(&app, "app_state", serde_json::json!({})).await;
    let acme = accounts["accounts"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["tenant"]["id"] == tenant.as_str()))
        .and_then(|a| a["id"].as_str())
        .expect("the Acme account")
        .to_owned();
    let northwind = accounts["active"]["id"].as_str().expect("shown").to_owned();
    switch_to(&app, &acme).await;

    server.shutdown().await;
    let queued = invoke(
        &app,
        "decide",
        serde_json::json!({ "approvalId": pick, "decision": "approve", "comment": null }),
    )
    .await;
    assert_eq!(queued["delivered"], false, "offline: {queued}");
    let dashboard = invoke(&app, "dashboard", serde_json::json!({})).await;
    let spring = dashboard
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["project"]["name"] == SPRING))
        .and_then(|row| row["project"]["id"].as_str())
        .expect("Spring Sale is cached")
        .to_owned();
    let stopped = invoke(
        &app,
        "stop_project",
        serde_json::json!({ "projectId": spring, "reason": "Wrong audience list" }),
    )
    .await;
    assert_eq!(stopped["delivered"], false, "offline: {stopped}");
    // Northwind's page comes in (switched to as a person does, from the account menu): Acme's
    // decision and stop still wait for the link, and the banner says so, naming Acme.
    switch_to(&app, &northwind).await;
    let acme_name = accounts["accounts"]
        .as_array()
        .and_then(|all| all.iter().find(|a| a["id"] == acme.as_str()))
        .and_then(|a| a["tenant"]["name"].as_str())
        .expect("Acme's name")
        .to_owned();
    app.until("the stop banner names Acme", PATIENCE, || async {
        app.text(&by_test_id("stop-not-delivered-banner"))
            .await
            .filter(|said| said.contains(&acme_name))
    })
    .await;
    app.screenshot("desktop-stop-elsewhere-banner").await;
    server.restart().await;
    app.until(
        "the decision is delivered, Northwind still shown",
        PATIENCE * 3,
        || async {
            let approval = server
                .state()
                .store
                .get_doc(&tenant, DocKind::Approval, &pick)
                .await
                .expect("the store answers")?;
            (approval["status"] == "approved").then_some(approval)
        },
    )
    .await;
    let shown = invoke(&app, "app_state", serde_json::json!({})).await;
    assert_eq!(shown["active"]["id"], northwind.as_str());
    app.until(
        "the banner goes once Acme's stop is delivered",
        PATIENCE * 3,
        || async {
            let banners = app.all(&by_test_id("stop-not-delivered-banner")).await;
            banners.is_empty().then_some(())
        },
    )
    .await;
    let settled = server
        .state()
        .store
        .get_doc(&tenant, DocKind::Approval, &pick)
        .await
        .expect("the store answers")
        .expect("the approval");
    assert_eq!(
        settled["version"].as_i64(),
        Some(version + 1),
        "decided once"
    );
    app.quit().await;
    server.stop().await;
}

/// Switches accounts as a person does, from the account menu, and waits for the switch.
async fn switch_to(app: &App, account_id: &str) {
    app.click("account-menu").await;
    app.click_css(&format!(
        "[data-testid=\"switch-account\"][data-account-id=\"{account_id}\"]"
    ))
    .await;
    app.until("the switch", PATIENCE, || async {
        let shown = invoke(app, "app_state", serde_json::json!({})).await;
        (shown["active"]["id"] == account_id).then_some(())
    })
    .await;
}

pub async fn sign_in(app: &App, server: &TestServer, email: &str) {
    app.wait_for("signin-submit").await;
    app.type_into("signin-server", &server.url()).await;
    app.type_into("signin-email", email).await;
    app.type_into("signin-password", PASSWORD).await;
    app.click("signin-submit").await;
    app.wait_for("dashboard").await;
}

async fn open_project(app: &App, name: &str) {
    app.click("nav-dashboard").await;
    app.click_css(&format!(
        "[data-testid=\"project-row\"][data-project-name=\"{name}\"]"
    ))
    .await;
    app.wait_for("project-page").await;
}

/// Opens the first pending approval that can be decided (it has its preview) and decides it.
pub async fn decide_first_decidable(app: &App, decision: Decision) -> Decided {
    let (id, project_id) = app
        .until(
            "a pending approval with its preview",
            AGENT_PATIENCE,
            || async {
                for item in app
                    .all("[data-testid=\"approval-item\"][data-status=\"pending\"]")
                    .await
                {
                    let Ok(Some(id)) = item.attr("data-approval-id").await else {
                        continue;
                    };
                    let Ok(Some(project_id)) = item.attr("data-project-id").await else {
                        continue;
                    };
                    if item.click().await.is_err() {
                        continue;
                    }
                    // The agents keep asking and the list keeps its order by urgency, so a row
                    // can move under the click: go on only with the request that opened.
                    if !app.opened_approval(&id).await {
                        app.back_to_approval_list().await;
                        break;
                    }
                    let approve = app.wait_for("approve-button").await;
                    if approve.is_enabled().await.unwrap_or(false) {
                        return Some((id, project_id));
                    }
                    app.back_to_approval_list().await;
                }
                None
            },
        )
        .await;
    let title = app
        .text("[data-testid=\"approval-detail\"] h2")
        .await
        .unwrap_or_default();
    match decision {
        Decision::Approve => app.click("approve-button").await,
        Decision::Reject => {
            app.click("reject-button").await;
            app.type_into("reject-comment", REJECTION).await;
            app.click("reject-confirm").await;
        }
    }
    let expected = if decision == Decision::Approve {
        "approved"
    } else {
        "rejected"
    };
    app.wait_for_attr("approval-state", "data-state", expected)
        .await;
    Decided {
        id,
        title,
        project_id,
    }
}

/// How many messages of the project contain `words`.
async fn times_said(server: &TestServer, tenant: &str, project_id: &str, words: &str) -> usize {
    let filter = spartex_server::store::DocFilter {
        project_id: Some(project_id),
        ..spartex_server::store::DocFilter::all(DocKind::Message)
    };
    let messages = server
        .state()
        .store
        .list_docs(tenant, filter)
        .await
        .expect("the store answers");
    messages
        .iter()
        .filter(|m| m["body"].as_str().is_some_and(|b| b.contains(words)))
        .count()
}

/// A pending approval of `project_name` on the server, waiting for the agents to ask one.
async fn server_pending(
    server: &TestServer,
    tenant: &str,
    project_name: &str,
) -> Option<(String, i64)> {
    let deadline = tokio::time::Instant::now() + AGENT_PATIENCE;
    loop {
        let projects = server
            .state()
            .store
            .list_docs(
                tenant,
                spartex_server::store::DocFilter::all(DocKind::Project),
            )
            .await
            .expect("the store answers");
        let project_id = projects
            .iter()
            .find(|p| p["name"] == project_name)
            .and_then(|p| p["id"].as_str())?
            .to_owned();
        let approvals = server
            .state()
            .store
            .list_docs(
                tenant,
                spartex_server::store::DocFilter {
                    project_id: Some(&project_id),
                    ..spartex_server::store::DocFilter::all(DocKind::Approval)
                },
            )
            .await
            .expect("the store answers");
        if let Some(pending) = approvals
            .iter()
            .find(|a| a["status"] == "pending" && !a["preview"].is_null())
        {
            return Some((
                pending["id"].as_str()?.to_owned(),
                pending["version"].as_i64()?,
            ));
        }
        if tokio::time::Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
