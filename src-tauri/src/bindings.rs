//! `ui/src/bindings.ts`: the TypeScript declarations of everything the commands send and take,
//! generated from the Rust types with ts-rs. The test fails when the committed file is stale;
//! `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings` rewrites it.

use std::path::PathBuf;

use ts_rs::TS;

macro_rules! declarations {
    ($($ty:ty),+ $(,)?) => {
        vec![$(<$ty as TS>::decl()),+]
    };
}

fn generate() -> String {
    use spartex_api::*;
    use spartex_core::notify::*;
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
        Preview,
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
        LinkState,
        Change,
        ProjectSummary,
        ProjectView,
        ApprovalView,
        MessageView,
        SpendPoint,
        SearchHit,
        TimelineEntry,
        NotificationPrefs,
        QuietHours,
        // The shell's own.
        crate::state::AppState,
        crate::error::CommandError,
    ];
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs). Do not edit:\n\
         // run `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings`.\n\
         // Integers travel as JSON numbers and stay below 2^53, so they are `number` here.\n\n",
    );
    for declaration in declarations {
        out.push_str("export ");
        out.push_str(&declaration.replace("bigint", "number"));
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/bindings.ts")
}

#[test]
fn bindings_ts_matches_the_rust_types() {
    let generated = generate();
    let path = committed_path();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write ui/src/bindings.ts");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "ui/src/bindings.ts is stale: the Rust types changed. Regenerate it with \
         `UPDATE_BINDINGS=1 cargo nextest run -p spartex-desktop bindings` and commit it."
    );
}
