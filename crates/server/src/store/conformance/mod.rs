//! The store's conformance suite: one story per behaviour the services rely on, written
//! against the [`Store`] and [`WriteTx`] traits only, so that every backend runs the same
//! stories (atuin's `db_story`). A backend joins with one line in its test module,
//!
//! ```ignore
//! crate::store::conformance::store_conformance!(open_in_temp_dir);
//! ```
//!
//! where `open_in_temp_dir` is an `async fn() -> Backend` that opens a fresh, empty store.
//! Each story gets a store of its own.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{json, Value};
use spartex_api::{EventKind, Role, Tenant, User};

use super::{
    DocFilter, DocKind, Document, LogBounds, NewCost, Store, StoreError, StoredResponse,
    WriteScope, WriteTx,
};

/// A fresh store, and whatever must live as long as it (a temporary directory, a schema).
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub _keep: Box<dyn Send + Sync>,
}

/// Runs every story against the backend `$open` opens: one `#[tokio::test]` per story.
macro_rules! store_conformance {
    ($open:path) => {
        $crate::store::conformance::store_conformance!(@stories $open;
            tenants_and_users_read_back,
            documents_round_trip_and_filter,
            documents_are_scoped_to_their_tenant,
            a_write_is_invisible_until_committed_and_gone_when_dropped,
            events_are_numbered_per_tenant_without_gaps,
            a_server_write_cannot_append_events,
            discard_undoes_the_changes_and_keeps_the_write_open,
            writes_of_one_tenant_take_turns_until_the_turn_is_dropped,
            idempotency_answers_are_kept_per_principal_and_pruned,
            sessions_and_refresh_tokens_live_and_end,
            agent_tokens_name_their_tenant_and_agent,
            an_agents_tokens_are_deleted_together_and_no_one_elses,
            costs_add_up_per_bucket_and_agent,
            devices_register_once_per_address,
            an_address_is_one_device_per_organisation,
            two_organisations_register_one_address_at_once,
            a_device_ends_with_its_sign_in,
            a_person_keeps_their_newest_devices_only,
            the_push_cursor_moves_only_from_where_it_was,
            states_are_remembered_until_forgotten_per_tenant,
            a_devices_burst_is_forgotten_with_the_device,
            a_newer_push_replaces_a_queued_one_and_settles_only_itself,
            settings_are_kept_and_replaced,
            due_documents_come_from_every_tenant_in_deadline_order,
            pruning_events_raises_the_floor,
            a_checkpoint_keeps_every_committed_write
        );
    };
    (@stories $open:path; $($story:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $story() {
                let backend = $open().await;
                $crate::store::conformance::$story(backend.store.clone()).await;
            }
        )*
    };
}
pub(crate) use store_conformance;

mod documents;
pub mod migrations;
mod principals;
mod push;
mod writes;

pub use documents::*;
pub use principals::*;
pub use push::*;
pub use writes::*;

const T1: &str = "ten_one";
const T2: &str = "ten_two";

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0)
        .single()
        .expect("a valid time")
}

async fn begin(store: &dyn Store, scope: WriteScope<'_>) -> Box<dyn WriteTx> {
    store.begin(scope).await.expect("a write begins")
}

async fn commit(tx: Box<dyn WriteTx>) {
    drop(tx.commit().await.expect("the write commits"));
}

/// Two tenants, each with an owner (`usr_one`, `usr_two`).
async fn two_tenants(store: &dyn Store) {
    let mut tx = begin(store, WriteScope::Server).await;
    for (tenant, user_id) in [(T1, "usr_one"), (T2, "usr_two")] {
        tx.insert_tenant(&Tenant {
            id: tenant.into(),
            name: format!("Tenant {tenant}"),
            slug: tenant.replace('_', "-"),
        })
        .await
        .expect("tenant");
        tx.insert_user(tenant, &user(user_id, Role::Owner), "hash")
            .await
            .expect("user");
    }
    commit(tx).await;
}

/// A person named after their id, `{id}@example.test`.
fn user(id: &str, role: Role) -> User {
    User {
        id: id.into(),
        email: format!("{id}@example.test"),
        name: format!("User {id}"),
        role,
    }
}

fn doc(
    kind: DocKind,
    id: &str,
    project_id: Option<&str>,
    status: Option<&str>,
    sort_key: &str,
) -> Document {
    Document {
        kind,
        id: id.into(),
        project_id: project_id.map(str::to_owned),
        status: status.map(str::to_owned),
        sort_key: sort_key.into(),
        due_at_ms: None,
        lookup_key: None,
        data: json!({ "id": id, "sort": sort_key, "status": status }),
    }
}

fn ids(values: &[Value]) -> Vec<&str> {
    values
        .iter()
        .map(|v| v["id"].as_str().expect("an id"))
        .collect()
}

async fn append(tx: &mut dyn WriteTx, seconds: i64, n: i64) -> spartex_api::Event {
    tx.append_event(
        EventKind::MessageCreated,
        Some("prj_a"),
        at(seconds),
        &json!({ "n": n }),
    )
    .await
    .expect("appended")
}

fn response(method: &str, status: u16) -> StoredResponse {
    StoredResponse {
        method: method.into(),
        path: "/api/v1/projects".into(),
        request_hash: Some("abc".into()),
        status,
        body: format!("{{\"status\":{status}}}"),
    }
}
