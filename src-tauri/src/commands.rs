//! The commands the UI calls: each one a thin adapter over `spartex-core`. Reads come from the
//! cache and work offline; actions go through the outbox.
//!
//! They are written once, in the `commands!` list below, which registers them with Tauri
//! ([`handler`]) and describes them to the test that writes `ui/src/ipc.ts`
//! (`bindings/ipc.rs`). Their doc comments become the TypeScript functions' documentation.

use spartex_api::{Decision, EscalationPolicy, NewOverride, Stop, TenantSettings};
use spartex_core::notify::NotificationPrefs;
use spartex_core::oncall::OnCallView;
use spartex_core::store::views::{
    ApprovalView, DashboardJson, MessageView, ProjectView, SearchHit, Thread,
};
use spartex_core::store::{KeptFrame, OutboxEntry};
use spartex_core::{AccountInfo, Queued, Secret, Status};
use tauri::{AppHandle, Manager, State};

use crate::error::{CommandError, CommandResult};
use crate::state::{AppState, Shell};

const MESSAGE_PAGE: i64 = 200;
const SEARCH_LIMIT: i64 = 20;

commands! {
    /// The accounts signed in and the one shown; waits for the last one to open again.
    async fn app_state(shell: State<'_, Shell>) -> CommandResult<AppState> {
        shell.app_state().await
    }

    /// Signs in and makes the account the active one.
    async fn sign_in(
        app: AppHandle,
        shell: State<'_, Shell>,
        server_url: String,
        email: String,
        password: String,
    ) -> CommandResult<AccountInfo> {
        if server_url.trim().is_empty() || email.trim().is_empty() || password.is_empty() {
            return Err(CommandError {
                code: spartex_core::ErrorKind::Invalid,
                message: "Enter the server URL, your email and your password.".into(),
            });
        }
        let password = Secret::new(password);
        let account = shell
            .core()
            .login(server_url.trim(), &email, &password)
            .await?;
        shell.activate(&app, account).await
    }

    /// Makes another signed-in account the active one.
    async fn switch_account(
        app: AppHandle,
        shell: State<'_, Shell>,
        account_id: String,
    ) -> CommandResult<AccountInfo> {
        let account = shell.core().open(Some(&account_id)).await?;
        shell.activate(&app, account).await
    }

    /// Signs the account out and wipes its cache; refused with `undelivered` while actions wait
    /// to reach the server, unless `discard_undelivered`.
    async fn sign_out(
        app: AppHandle,
        shell: State<'_, Shell>,
        account_id: String,
        discard_undelivered: bool,
    ) -> CommandResult<()> {
        shell.sign_out(&app, &account_id, discard_undelivered).await
    }

    /// Emergency stops still on their way from accounts not shown (another organisation).
    async fn stops_elsewhere(shell: State<'_, Shell>) -> CommandResult<Vec<crate::state::StopElsewhere>> {
        Ok(shell.stops_elsewhere().await)
    }

    /// The link, the last sync, the outbox and the recent outcomes.
    async fn status(shell: State<'_, Shell>) -> CommandResult<Status> {
        Ok(shell.account().await?.status().await?)
    }

    /// One row per project, by name, from the cache.
    async fn dashboard(
        shell: State<'_, Shell>,
        launched: State<'_, crate::Launched>,
    ) -> CommandResult<DashboardJson> {
        let timed = launched.first_dashboard_read();
        if timed {
            launched.reached("dashboard read started");
        }
        let rows = shell.account().await?.dashboard_json().await?;
        if timed {
            launched.reached("dashboard read done");
        }
        Ok(rows)
    }

    /// One project with its agents, tasks, approvals, chat, stops, spend and timeline.
    async fn project(shell: State<'_, Shell>, project_id: String) -> CommandResult<ProjectView> {
        Ok(shell.account().await?.project(&project_id).await?)
    }

    /// The approval requests, with the core's words for what may not be decided now.
    async fn approvals(
        shell: State<'_, Shell>,
        pending_only: bool,
    ) -> CommandResult<Vec<ApprovalView>> {
        Ok(shell.account().await?.approvals(pending_only).await?)
    }

    /// One approval request, with the core's words for what may not be decided now.
    async fn approval(shell: State<'_, Shell>, approval_id: String) -> CommandResult<ApprovalView> {
        Ok(shell.account().await?.approval(&approval_id).await?)
    }

    /// One of a project's conversations; `limit` defaults to 200 messages.
    async fn messages(
        shell: State<'_, Shell>,
        project_id: String,
        thread: Thread,
        limit: Option<i64>,
    ) -> CommandResult<Vec<MessageView>> {
        let limit = limit.unwrap_or(MESSAGE_PAGE).clamp(1, 1000);
        Ok(shell
            .account()
            .await?
            .messages(&project_id, &thread, limit)
            .await?)
    }

    /// Approves or rejects through the outbox; the core refuses what may not be decided.
    async fn decide(
        shell: State<'_, Shell>,
        approval_id: String,
        decision: Decision,
        comment: Option<String>,
    ) -> CommandResult<Queued> {
        Ok(shell
            .account()
            .await?
            .decide(&approval_id, decision, comment)
            .await?)
    }

    /// "I'm on it": stops the request's escalation ladder; through the outbox.
    async fn ack_approval(shell: State<'_, Shell>, approval_id: String) -> CommandResult<Queued> {
        Ok(shell.account().await?.ack(&approval_id).await?)
    }

    /// Asks the agent of an expired request to propose it again; through the outbox.
    async fn ask_again(
        shell: State<'_, Shell>,
        approval_id: String,
        comment: Option<String>,
    ) -> CommandResult<Queued> {
        Ok(shell
            .account()
            .await?
            .ask_again(&approval_id, comment)
            .await?)
    }

    /// Who is on call now and next, and the week ahead; worked out from the cache offline.
    async fn oncall(shell: State<'_, Shell>) -> CommandResult<OnCallView> {
        Ok(shell.account().await?.oncall().await?)
    }

    /// Someone covers a stretch of time ("cover for …"). Online only.
    async fn cover_shift(
        shell: State<'_, Shell>,
        user_id: String,
        starts_at: String,
        ends_at: String,
    ) -> CommandResult<OnCallView> {
        let instant = |text: &str, field: &str| {
            text.parse::<chrono::DateTime<chrono::Utc>>().map_err(|_| CommandError {
                code: spartex_core::ErrorKind::Invalid,
                message: format!("The {field} time is not a date and time."),
            })
        };
        let cover = NewOverride {
            user_id,
            starts_at: instant(&starts_at, "start")?,
            ends_at: instant(&ends_at, "end")?,
        };
        Ok(shell.account().await?.cover(cover).await?)
    }

    /// Removes an override. Online only.
    async fn remove_override(
        shell: State<'_, Shell>,
        override_id: String,
    ) -> CommandResult<OnCallView> {
        Ok(shell.account().await?.remove_override(&override_id).await?)
    }

    /// The escalation policy.
    async fn escalation_policy(shell: State<'_, Shell>) -> CommandResult<EscalationPolicy> {
        Ok(shell.account().await?.escalation_policy().await?)
    }

    /// Saves the escalation policy (managers and owners). Online only.
    async fn put_escalation_policy(
        shell: State<'_, Shell>,
        policy: EscalationPolicy,
    ) -> CommandResult<EscalationPolicy> {
        Ok(shell.account().await?.put_escalation_policy(policy).await?)
    }

    /// Sends a message to the project, or to one agent, through the outbox.
    async fn send_message(
        shell: State<'_, Shell>,
        project_id: String,
        agent_id: Option<String>,
        body: String,
    ) -> CommandResult<Queued> {
        Ok(shell
            .account()
            .await?
            .send_message(&project_id, agent_id.as_deref(), &body)
            .await?)
    }

    /// The emergency stop of one project, first in the outbox; an empty reason gets a default.
    async fn stop_project(
        shell: State<'_, Shell>,
        project_id: String,
        reason: String,
    ) -> CommandResult<Queued> {
        Ok(shell
            .account()
            .await?
            .stop_project(&project_id, &stop_reason(reason))
            .await?)
    }

    /// The emergency stop of every project, first in the outbox.
    async fn stop_all(shell: State<'_, Shell>, reason: String) -> CommandResult<Queued> {
        Ok(shell
            .account()
            .await?
            .stop_all(&stop_reason(reason))
            .await?)
    }

    /// Resumes a stopped project through the outbox.
    async fn resume(shell: State<'_, Shell>, project_id: String) -> CommandResult<Queued> {
        Ok(shell.account().await?.resume(&project_id).await?)
    }

    /// The newest stop of a project, or of any project with `null`, from the cache.
    async fn latest_stop(
        shell: State<'_, Shell>,
        project_id: Option<String>,
    ) -> CommandResult<Option<Stop>> {
        Ok(shell
            .account()
            .await?
            .latest_stop(project_id.as_deref())
            .await?)
    }

    /// What waits to be sent, in the order it goes: stops first, then the oldest.
    async fn outbox(shell: State<'_, Shell>) -> CommandResult<Vec<OutboxEntry>> {
        Ok(shell.account().await?.outbox().await?)
    }

    /// Projects, tasks, approvals and messages matching `text`, from the cache.
    async fn search(shell: State<'_, Shell>, text: String) -> CommandResult<Vec<SearchHit>> {
        if text.trim().is_empty() {
            return Ok(Vec::new());
        }
        Ok(shell.account().await?.search(&text, SEARCH_LIMIT).await?)
    }

    /// The shown account's notification settings.
    async fn notification_prefs(shell: State<'_, Shell>) -> CommandResult<NotificationPrefs> {
        let account = shell.account().await?;
        Ok(shell.core().notification_prefs(&account.info().id)?)
    }

    /// Saves the shown account's notification settings; they apply at once.
    async fn set_notification_prefs(
        shell: State<'_, Shell>,
        prefs: NotificationPrefs,
    ) -> CommandResult<()> {
        shell.set_prefs(prefs).await
    }

    /// The shown account's organisation settings (what pushes show on a lock screen).
    async fn tenant_settings(shell: State<'_, Shell>) -> CommandResult<TenantSettings> {
        Ok(shell.account().await?.tenant_settings().await?)
    }

    /// Saves the organisation's settings; owners only, online only.
    async fn set_tenant_settings(
        shell: State<'_, Shell>,
        settings: TenantSettings,
    ) -> CommandResult<TenantSettings> {
        Ok(shell.account().await?.put_tenant_settings(settings).await?)
    }

    /// Syncs with the server now instead of waiting.
    async fn sync_now(shell: State<'_, Shell>) -> CommandResult<()> {
        shell.account().await?.sync_now().await?;
        Ok(())
    }

    /// A phone's push token changed (the notification plugin's `push-token` event): registers
    /// it with the server again; the core forgets the device registered before.
    async fn push_token_changed(
        app: AppHandle,
        shell: State<'_, Shell>,
        token: String,
    ) -> CommandResult<()> {
        let account = shell.account().await?;
        #[cfg(mobile)]
        return crate::paging::register(&app, &account, Some(token)).await;
        #[cfg(desktop)]
        {
            let _ = (app, account, token);
            Err(CommandError {
                code: spartex_core::ErrorKind::Invalid,
                message: "Only the phone app registers for pushes.".into(),
            })
        }
    }

    /// A push arrived while the app runs (`push-message`, the event's JSON): the core says
    /// whether to show a notification, take one down, or nothing.
    async fn push_received(
        app: AppHandle,
        shell: State<'_, Shell>,
        event: String,
    ) -> CommandResult<()> {
        let account = shell.account().await?;
        let raw = crate::push::raw_push(&parse_event(&event)?);
        let mut action = account.on_push(&raw).await;
        if let spartex_core::push::ShellAction::Ignore { .. } = action {
            let accounts = shell.core().accounts()?;
            if let Some(elsewhere) = spartex_core::push::for_another_account(&raw, &accounts) {
                action = elsewhere;
            }
        }
        crate::push::perform(&app, action).await;
        Ok(())
    }

    /// Why this phone will not be paged for the account shown (notifications turned off, no
    /// push token, the server refused it), or why this desktop alerts nobody (notifications
    /// on, but no notification service answers); nothing when they will be.
    async fn paging_problem(
        app: AppHandle,
        shell: State<'_, Shell>,
    ) -> CommandResult<Option<String>> {
        if let Some(problem) = app.state::<crate::paging::Paging>().problem() {
            return Ok(Some(problem));
        }
        if !cfg!(desktop) {
            return Ok(None);
        }
        Ok(match shell.account().await {
            Ok(account) => crate::paging::desktop_problem(account.alerts_here()),
            Err(_) => None,
        })
    }

    /// The UI listens to the notification plugin's events now: a tap that started the app,
    /// held until someone listens, is passed on.
    fn listening_to_pushes(app: AppHandle) -> CommandResult<()> {
        #[cfg(mobile)]
        crate::paging::listening(&app);
        #[cfg(desktop)]
        let _ = app;
        Ok(())
    }

    /// A button or the body pressed on a notification the app showed (`actionPerformed`, the
    /// event's JSON): Approve and Reject go through the outbox; anything else opens a screen.
    async fn notification_action(
        app: AppHandle,
        shell: State<'_, Shell>,
        event: String,
    ) -> CommandResult<()> {
        let shown_here = app.state::<crate::push::ShownHere>();
        let pressed = crate::push::pressed(
            &parse_event(&event)?,
            &shown_here,
            crate::push::PRESSES_CARRY_EXTRAS,
        );
        let Some((notification, action)) = pressed else {
            return Ok(());
        };
        let account = shell.account().await?;
        let action = account.act_on_notification(&notification, action).await;
        crate::push::perform(&app, action).await;
        Ok(())
    }

    /// A tap on a notification the OS showed from a push (`notificationClicked`, the event's
    /// JSON): opens what it is about (a stop's opens the hold-to-stop screen, never a stop).
    async fn notification_clicked(
        app: AppHandle,
        shell: State<'_, Shell>,
        event: String,
    ) -> CommandResult<()> {
        let event = parse_event(&event)?;
        let shown_here = app.state::<crate::push::ShownHere>();
        if let Some(own) = crate::push::own_tapped(&event, &shown_here) {
            crate::window::open_route(&app, spartex_core::push::tap_route(&own));
            return Ok(());
        }
        let Some(raw) = crate::push::tapped_push(&event) else {
            return Ok(());
        };
        let payload = match spartex_core::push::parse_push(&raw) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(%error, "ignored a tap on a push");
                return Ok(());
            }
        };
        let account = shell.account().await?;
        let route = crate::push::route_for_tapped(&payload, account.info().user.role);
        crate::window::open_route(&app, route);
        Ok(())
    }

    /// Where a deep link or a notification click asked to go before the UI listened, once.
    fn take_navigation(shell: State<'_, Shell>) -> CommandResult<Option<String>> {
        Ok(shell.take_route())
    }

    /// The UI's first screen is ready to be drawn: the window, hidden until now, shows itself.
    fn show_window(app: AppHandle) -> CommandResult<()> {
        crate::window::reveal(&app);
        Ok(())
    }

    /// Quits the app. Refused with `undelivered`, naming them, while actions wait for the
    /// server (they would wait for the next launch), unless `anyway`.
    async fn quit(app: AppHandle, anyway: bool) -> CommandResult<()> {
        crate::background::quit(&app, anyway).await
    }

    /// The UI shows the question a Quit from the tray asked (`onQuitRefused`): the tray's
    /// Quit, which quits anyway when nobody asks, leaves it to the person.
    fn quit_asked(app: AppHandle) -> CommandResult<()> {
        app.state::<crate::background::QuitAsked>().asked();
        Ok(())
    }

    /// Keeps the markup of the dashboard as shown to `account_id`, and whether in the dark
    /// theme, for that account's next launch to paint first.
    async fn keep_first_frame(
        shell: State<'_, Shell>,
        first_frame: State<'_, crate::first_frame::FirstFrame>,
        account_id: String,
        html: String,
        dark: bool,
    ) -> CommandResult<()> {
        let html = crate::first_frame::keepable(&html)?;
        let account = shell.account().await?;
        // A switch between the screen's drawing and this: the markup is another account's.
        if account.info().id != account_id {
            return Err(CommandError {
                code: spartex_core::ErrorKind::Conflict,
                message: "That screen was another account's; it is not kept for this one.".into(),
            });
        }
        let frame = KeptFrame { html, dark };
        account
            .store()
            .keep_first_frame(first_frame.ui_build(), &frame)
            .await
            .map_err(spartex_core::CoreError::from)?;
        tracing::debug!(target: "spartex::first_frame", bytes = frame.html.len(), "kept");
        Ok(())
    }

    /// The UI says when a screen first painted with its data: the startup benchmark reads this
    /// line. `page_ms` is the time since the page started loading, to tell the webview's share
    /// from the shell's.
    fn report_painted(
        launched: State<'_, crate::Launched>,
        screen: String,
        items: u32,
        page_ms: Option<f64>,
    ) -> CommandResult<()> {
        let since_launch = launched.elapsed();
        tracing::info!(
            target: "spartex::startup",
            screen,
            items,
            ms = since_launch.as_millis() as u64,
            page_ms = page_ms.unwrap_or_default() as u64,
            "painted"
        );
        Ok(())
    }
}

/// A stop without a reason still tells the agents and the log who pulled it from where.
fn stop_reason(reason: String) -> String {
    let reason = reason.trim();
    if reason.is_empty() {
        "Emergency stop from Spartex Control".into()
    } else {
        reason.to_owned()
    }
}

/// The JSON of a plugin event the UI passed on.
fn parse_event(event: &str) -> CommandResult<serde_json::Value> {
    serde_json::from_str(event).map_err(|e| CommandError {
        code: spartex_core::ErrorKind::Invalid,
        message: format!("The notification event is not JSON: {e}"),
    })
}
