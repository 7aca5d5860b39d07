//! `ui/src/bindings.ts`: the TypeScript declarations of everything the commands send and take,
//! generated from the Rust types with ts-rs; and `ui/src/ipc.ts`, the typed functions that call
//! the commands (`ipc.rs`). The tests fail when a committed file is stale;
//! `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings` rewrites both.

mod ipc;

use std::path::PathBuf;

use ts_rs::TS;

macro_rules! declarations {
    ($($ty:ty),+ $(,)?) => {
        vec![$(<$ty as TS>::decl()),+]
    };
}

/// Every declaration of `bindings.ts`, in order.
fn declarations() -> Vec<String> {
    use spartex_api::*;
    use spartex_core::store::timeline::TimelineEntry;
    use spartex_core::store::views::*;
    use spartex_core::store::{OutboxEntry, OutboxKind};
    use spartex_core::*;

    let declarations = declarations![
        serde_json::Value,
        // The wire contract's resources (crates/api).
        Role,
        ProjectStatus,
        AgentStatus,
        TaskStatus,
        Risk,
        ApprovalStatus,
        OnExpiry,
        AuthorKind,
        StopScope,
        StopStatus,
        BudgetState,
        Decision,
        Tenant,
        User,
        Project,
        Agent,
        Task,
        Approval,
        DecidedBy,
        Escalation,
        Notified,
        NotifyChannel,
        NotifyResult,
        Preview,
        Rotation,
        ActiveHours,
        ScheduleLayer,
        Schedule,
        OnCallOverride,
        OnCallShift,
        OnCall,
        EscalationLevel,
        EscalationPolicy,
        Message,
        CostRecord,
        Stop,
        StopAgent,
        // What the core hands to a face (crates/core).
        AccountInfo,
        Status,
        Queued,
        OutboxEntry,
        OutboxKind,
        Outcome,
        OutcomeResult,
        LinkState,
        Change,
        ProjectSummary,
        DashboardJson,
        ProjectView,
        ApprovalView,
        MessageView,
        Thread,
        SpendPoint,
        SearchHit,
        SearchHitKind,
        TimelineEntry,
        NotificationPrefs,
        PushDetail,
        TenantSettings,
        QuietHours,
        ErrorKind,
        spartex_core::oncall::OnCallView,
        // The shell's own.
        crate::state::AppState,
        crate::state::StopElsewhere,
        crate::error::CommandError,
        crate::window::Navigate,
        crate::background::QuitRefused,
    ];
    declarations
        .into_iter()
        .map(|declaration| declaration.replace("bigint", "number"))
        .collect()
}

/// The names `bindings.ts` declares, for `ipc.ts` to import.
fn declared_names() -> Vec<String> {
    declarations()
        .iter()
        .filter_map(|declaration| {
            let rest = declaration.strip_prefix("type ")?;
            let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
            Some(rest[..end].to_owned())
        })
        .collect()
}

fn generate() -> String {
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs). Do not edit:\n\
         // run `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings`.\n\
         // Integers travel as JSON numbers and stay below 2^53, so they are `number` here.\n\n",
    );
    for declaration in declarations() {
        out.push_str("export ");
        out.push_str(&declaration);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// Compares `generated` with the committed `ui/src/{file}`, or rewrites it with `UPDATE_BINDINGS`.
fn check_committed(file: &str, generated: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("ui/src")
        .join(file);
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, generated).unwrap_or_else(|e| panic!("write ui/src/{file}: {e}"));
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/{file} is stale: the Rust side changed. Regenerate it with \
         `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings` and commit it."
    );
}

#[test]
fn bindings_ts_matches_the_rust_types() {
    check_committed("bindings.ts", &generate());
}
