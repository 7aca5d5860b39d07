//! The commands the UI calls: each one a thin adapter over `spartex-core`. Reads come from the
//! cache and work offline; actions go through the outbox.

use spartex_api::{Decision, Stop};
use spartex_core::notify::NotificationPrefs;
use spartex_core::store::views::{
    ApprovalView, MessageView, ProjectSummary, ProjectView, SearchHit,
};
use spartex_core::store::OutboxEntry;
use spartex_core::{AccountInfo, Queued, Secret, Status};
use tauri::{AppHandle, State};

use crate::error::{CommandError, CommandResult};
use crate::state::{AppState, Shell};

const MESSAGE_PAGE: i64 = 200;
const SEARCH_LIMIT: i64 = 20;

#[tauri::command]
pub async fn app_state(shell: State<'_, Shell>) -> CommandResult<AppState> {
    shell.app_state().await
}

#[tauri::command]
pub async fn sign_in(
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

#[tauri::command]
pub async fn switch_account(
    app: AppHandle,
    shell: State<'_, Shell>,
    account_id: String,
) -> CommandResult<AccountInfo> {
    let account = shell.core().open(Some(&account_id)).await?;
    shell.activate(&app, account).await
}

#[tauri::command]
pub async fn sign_out(shell: State<'_, Shell>, account_id: String) -> CommandResult<()> {
    shell.sign_out(&account_id).await
}

#[tauri::command]
pub async fn status(shell: State<'_, Shell>) -> CommandResult<Status> {
    Ok(shell.account().await?.status().await?)
}

#[tauri::command]
pub async fn dashboard(shell: State<'_, Shell>) -> CommandResult<Vec<ProjectSummary>> {
    Ok(shell.account().await?.dashboard().await?)
}

#[tauri::command]
pub async fn project(shell: State<'_, Shell>, project_id: String) -> CommandResult<ProjectView> {
    Ok(shell.account().await?.project(&project_id).await?)
}

#[tauri::command]
pub async fn approvals(
    shell: State<'_, Shell>,
    pending_only: bool,
) -> CommandResult<Vec<ApprovalView>> {
    Ok(shell.account().await?.approvals(pending_only).await?)
}

#[tauri::command]
pub async fn approval(shell: State<'_, Shell>, approval_id: String) -> CommandResult<ApprovalView> {
    Ok(shell.account().await?.approval(&approval_id).await?)
}

#[tauri::command]
pub async fn messages(
    shell: State<'_, Shell>,
    project_id: String,
    agent_id: Option<String>,
    limit: Option<i64>,
) -> CommandResult<Vec<MessageView>> {
    let limit = limit.unwrap_or(MESSAGE_PAGE).clamp(1, 1000);
    Ok(shell
        .account()
        .await?
        .messages(&project_id, agent_id.as_deref(), limit)
        .await?)
}

#[tauri::command]
pub async fn decide(
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

#[tauri::command]
pub async fn send_message(
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

#[tauri::command]
pub async fn stop_project(
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

#[tauri::command]
pub async fn stop_all(shell: State<'_, Shell>, reason: String) -> CommandResult<Queued> {
    Ok(shell
        .account()
        .await?
        .stop_all(&stop_reason(reason))
        .await?)
}

#[tauri::command]
pub async fn resume(shell: State<'_, Shell>, project_id: String) -> CommandResult<Queued> {
    Ok(shell.account().await?.resume(&project_id).await?)
}

#[tauri::command]
pub async fn latest_stop(
    shell: State<'_, Shell>,
    project_id: Option<String>,
) -> CommandResult<Option<Stop>> {
    Ok(shell
        .account()
        .await?
        .latest_stop(project_id.as_deref())
        .await?)
}

#[tauri::command]
pub async fn outbox(shell: State<'_, Shell>) -> CommandResult<Vec<OutboxEntry>> {
    Ok(shell.account().await?.outbox().await?)
}

#[tauri::command]
pub async fn search(shell: State<'_, Shell>, text: String) -> CommandResult<Vec<SearchHit>> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(shell.account().await?.search(&text, SEARCH_LIMIT).await?)
}

#[tauri::command]
pub async fn notification_prefs(shell: State<'_, Shell>) -> CommandResult<NotificationPrefs> {
    let account = shell.account().await?;
    Ok(shell.core().notification_prefs(&account.info().id)?)
}

#[tauri::command]
pub async fn set_notification_prefs(
    shell: State<'_, Shell>,
    prefs: NotificationPrefs,
) -> CommandResult<()> {
    shell.set_prefs(prefs).await
}

#[tauri::command]
pub async fn sync_now(shell: State<'_, Shell>) -> CommandResult<()> {
    shell.account().await?.sync_now().await?;
    Ok(())
}

#[tauri::command]
pub fn take_navigation(shell: State<'_, Shell>) -> Option<String> {
    shell.take_route()
}

/// The UI says when a screen first painted with its data: the startup benchmark reads this line.
#[tauri::command]
pub fn report_painted(
    launched: State<'_, crate::Launched>,
    screen: String,
    items: u32,
    page_ms: Option<f64>,
) {
    let since_launch = launched.0.elapsed();
    tracing::info!(
        target: "spartex::startup",
        screen,
        items,
        ms = since_launch.as_millis() as u64,
        page_ms = page_ms.unwrap_or_default() as u64,
        "painted"
    );
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
