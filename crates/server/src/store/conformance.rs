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
use spartex_api::{Device, EventKind, Platform, Role, Tenant, User};

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
            costs_add_up_per_bucket_and_agent,
            devices_register_once_per_push_token,
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
    for (tenant, user) in [(T1, "usr_one"), (T2, "usr_two")] {
        tx.insert_tenant(&Tenant {
            id: tenant.into(),
            name: format!("Tenant {tenant}"),
            slug: tenant.replace('_', "-"),
        })
        .await
        .expect("tenant");
        tx.insert_user(
            tenant,
            &User {
                id: user.into(),
                email: format!("{user}@example.test"),
                name: format!("User {user}"),
                role: Role::Owner,
            },
            "hash",
        )
        .await
        .expect("user");
    }
    commit(tx).await;
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

pub async fn tenants_and_users_read_back(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let tenant = store.tenant(T1).await.expect("read").expect("found");
    assert_eq!((tenant.id.as_str(), tenant.slug.as_str()), (T1, "ten-one"));
    assert!(store.tenant("ten_none").await.expect("read").is_none());
    assert_eq!(
        store.log_bounds(T1).await.expect("read"),
        Some(LogBounds { floor: 0, head: 0 })
    );
    assert_eq!(store.log_bounds("ten_none").await.expect("read"), None);

    let user = store
        .user(T1, "usr_one")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(user.email, "usr_one@example.test");
    assert_eq!(user.role, Role::Owner);
    assert!(
        store.user(T2, "usr_one").await.expect("read").is_none(),
        "a user is found only in its own tenant"
    );
    let credentials = store
        .user_credentials("USR_ONE@Example.Test")
        .await
        .expect("read")
        .expect("emails match whatever their case");
    assert_eq!(credentials.tenant_id, T1);
    assert_eq!(credentials.user.id, "usr_one");
    assert_eq!(credentials.password_hash, "hash");
    assert!(store
        .user_credentials("nobody@example.test")
        .await
        .expect("read")
        .is_none());
}

pub async fn documents_round_trip_and_filter(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    for document in [
        doc(
            DocKind::Agent,
            "agt_c",
            Some("prj_a"),
            Some("idle"),
            "Cedar",
        ),
        doc(
            DocKind::Agent,
            "agt_a",
            Some("prj_a"),
            Some("working"),
            "Atlas",
        ),
        doc(DocKind::Agent, "agt_b", Some("prj_b"), Some("idle"), "Bid"),
        doc(DocKind::Project, "prj_a", None, Some("active"), "Alpha"),
    ] {
        tx.put_doc(T1, &document).await.expect("stored");
    }
    let mut message = doc(DocKind::Message, "msg_1", Some("prj_a"), None, "2027|1");
    message.lookup_key = Some("client-1".into());
    tx.put_doc(T1, &message).await.expect("stored");
    assert_eq!(
        tx.get_doc(T1, DocKind::Agent, "agt_a")
            .await
            .expect("read")
            .expect("its own write is visible to the write")["sort"],
        "Atlas"
    );
    commit(tx).await;

    let agent = store
        .get_doc(T1, DocKind::Agent, "agt_b")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(agent["sort"], "Bid");
    assert!(
        store
            .get_doc(T1, DocKind::Project, "agt_b")
            .await
            .expect("read")
            .is_none(),
        "a document is found only as its own kind"
    );

    let all = store
        .list_docs(T1, DocFilter::all(DocKind::Agent))
        .await
        .expect("listed");
    assert_eq!(ids(&all), ["agt_a", "agt_b", "agt_c"], "by sort key");
    let in_a = store
        .list_docs(T1, DocFilter::in_project(DocKind::Agent, "prj_a"))
        .await
        .expect("listed");
    assert_eq!(ids(&in_a), ["agt_a", "agt_c"]);
    let idle = store
        .list_docs(T1, DocFilter::all(DocKind::Agent).with_status("idle"))
        .await
        .expect("listed");
    assert_eq!(ids(&idle), ["agt_b", "agt_c"]);
    let newest = store
        .list_docs(
            T1,
            DocFilter {
                newest_first: true,
                limit: Some(2),
                ..DocFilter::all(DocKind::Agent)
            },
        )
        .await
        .expect("listed");
    assert_eq!(ids(&newest), ["agt_c", "agt_b"]);
    let before = store
        .list_docs(
            T1,
            DocFilter {
                before: Some("Cedar"),
                ..DocFilter::all(DocKind::Agent)
            },
        )
        .await
        .expect("listed");
    assert_eq!(ids(&before), ["agt_a", "agt_b"]);
    let by_key = store
        .list_docs(
            T1,
            DocFilter {
                lookup_key: Some("client-1"),
                ..DocFilter::all(DocKind::Message)
            },
        )
        .await
        .expect("listed");
    assert_eq!(ids(&by_key), ["msg_1"]);

    // Storing again replaces the document and its columns.
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    tx.put_doc(
        T1,
        &doc(DocKind::Agent, "agt_a", Some("prj_b"), Some("idle"), "Zed"),
    )
    .await
    .expect("replaced");
    let in_tx = tx
        .list_docs(T1, DocFilter::in_project(DocKind::Agent, "prj_b"))
        .await
        .expect("listed");
    assert_eq!(ids(&in_tx), ["agt_b", "agt_a"]);
    commit(tx).await;
    let in_a = store
        .list_docs(T1, DocFilter::in_project(DocKind::Agent, "prj_a"))
        .await
        .expect("listed");
    assert_eq!(ids(&in_a), ["agt_c"]);
}

pub async fn documents_are_scoped_to_their_tenant(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    tx.put_doc(
        T1,
        &doc(DocKind::Project, "prj_same", None, Some("active"), "One"),
    )
    .await
    .expect("stored");
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    tx.put_doc(
        T2,
        &doc(DocKind::Project, "prj_same", None, Some("active"), "Two"),
    )
    .await
    .expect("the same id in another tenant is another document");
    commit(tx).await;
    let one = store
        .get_doc(T1, DocKind::Project, "prj_same")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(one["sort"], "One");
    let two = store
        .list_docs(T2, DocFilter::all(DocKind::Project))
        .await
        .expect("listed");
    assert_eq!(two.len(), 1);
    assert_eq!(two[0]["sort"], "Two");
    assert!(store
        .list_docs("ten_none", DocFilter::all(DocKind::Project))
        .await
        .expect("listed")
        .is_empty());
}

pub async fn a_write_is_invisible_until_committed_and_gone_when_dropped(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    tx.put_doc(T1, &doc(DocKind::Project, "prj_a", None, None, "A"))
        .await
        .expect("stored");
    append(tx.as_mut(), 0, 1).await;
    assert!(
        store
            .get_doc(T1, DocKind::Project, "prj_a")
            .await
            .expect("read")
            .is_none(),
        "readers do not see a write before it commits"
    );
    drop(tx);
    let tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    drop(tx);
    assert!(store
        .get_doc(T1, DocKind::Project, "prj_a")
        .await
        .expect("read")
        .is_none());
    assert_eq!(
        store.log_bounds(T1).await.expect("read"),
        Some(LogBounds { floor: 0, head: 0 }),
        "a dropped write's events take no numbers"
    );
}

pub async fn events_are_numbered_per_tenant_without_gaps(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let first = append(tx.as_mut(), 1, 1).await;
    let second = append(tx.as_mut(), 2, 2).await;
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(first.kind, EventKind::MessageCreated.as_str());
    assert_eq!(first.at, at(1));
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    assert_eq!(
        append(tx.as_mut(), 3, 1).await.seq,
        1,
        "each tenant counts on its own"
    );
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    assert_eq!(append(tx.as_mut(), 4, 3).await.seq, 3);
    commit(tx).await;

    let events = store.events_after(T1, 0, 100).await.expect("read");
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(events[0].project_id.as_deref(), Some("prj_a"));
    assert_eq!(events[2].data, json!({ "n": 3 }));
    assert_eq!(events[1].at, at(2), "times come back to the microsecond");
    let page = store.events_after(T1, 1, 1).await.expect("read");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [2]);
    assert!(store
        .events_after(T1, 3, 100)
        .await
        .expect("read")
        .is_empty());
    assert_eq!(
        store.log_bounds(T1).await.expect("read"),
        Some(LogBounds { floor: 0, head: 3 })
    );
    assert_eq!(
        store.log_bounds(T2).await.expect("read"),
        Some(LogBounds { floor: 0, head: 1 })
    );
}

pub async fn a_server_write_cannot_append_events(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    let refused = tx
        .append_event(EventKind::MessageCreated, None, at(0), &json!({}))
        .await;
    assert!(
        matches!(refused, Err(StoreError::WrongTenant)),
        "{refused:?}"
    );
    drop(tx);
    assert_eq!(
        store.log_bounds(T1).await.expect("read"),
        Some(LogBounds { floor: 0, head: 0 })
    );
}

pub async fn discard_undoes_the_changes_and_keeps_the_write_open(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    tx.put_doc(T1, &doc(DocKind::Project, "prj_a", None, None, "A"))
        .await
        .expect("stored");
    append(tx.as_mut(), 0, 1).await;
    tx.discard().await.expect("discarded");
    assert!(tx
        .get_doc(T1, DocKind::Project, "prj_a")
        .await
        .expect("read")
        .is_none());
    tx.store_response(
        "usr_one",
        "key-1",
        &response("POST", 409),
        at(0).timestamp_millis(),
    )
    .await
    .expect("kept after the discard");
    assert_eq!(
        append(tx.as_mut(), 1, 2).await.seq,
        1,
        "discarded events gave their numbers back"
    );
    commit(tx).await;
    assert!(store
        .get_doc(T1, DocKind::Project, "prj_a")
        .await
        .expect("read")
        .is_none());
    assert_eq!(store.events_after(T1, 0, 10).await.expect("read").len(), 1);
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let kept = tx
        .stored_response("usr_one", "key-1")
        .await
        .expect("read")
        .expect("the answer kept after the discard committed");
    assert_eq!(kept.status, 409);
}

pub async fn writes_of_one_tenant_take_turns_until_the_turn_is_dropped(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut first = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    append(first.as_mut(), 0, 1).await;
    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
            let event = append(tx.as_mut(), 1, 2).await;
            commit(tx).await;
            event.seq
        }
    });
    let waits = Duration::from_millis(200);
    tokio::time::sleep(waits).await;
    assert!(!second.is_finished(), "a second write waits for the first");
    let turn = first.commit().await.expect("committed");
    tokio::time::sleep(waits).await;
    assert!(
        !second.is_finished(),
        "the turn outlives the commit until its events are published"
    );
    drop(turn);
    let seq = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("the second write goes once the turn is dropped")
        .expect("it did not panic");
    assert_eq!(seq, 2);
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

pub async fn idempotency_answers_are_kept_per_principal_and_pruned(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    assert!(tx
        .stored_response("usr_one", "key-1")
        .await
        .expect("read")
        .is_none());
    tx.store_response("usr_one", "key-1", &response("POST", 201), 1_000)
        .await
        .expect("kept");
    let mut unhashed = response("PATCH", 200);
    unhashed.request_hash = None;
    tx.store_response("usr_one", "key-old", &unhashed, 1_000)
        .await
        .expect("kept");
    tx.store_response("usr_one", "key-1", &response("POST", 500), 2_000)
        .await
        .expect("a second answer for the same key is ignored, not an error");
    tx.store_response("usr_two", "key-1", &response("PATCH", 200), 5_000)
        .await
        .expect("another principal's key is another answer");
    commit(tx).await;

    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let kept = tx
        .stored_response("usr_one", "key-1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        (
            kept.method.as_str(),
            kept.path.as_str(),
            kept.request_hash.as_deref(),
            kept.status,
            kept.body.as_str()
        ),
        (
            "POST",
            "/api/v1/projects",
            Some("abc"),
            201,
            "{\"status\":201}"
        ),
        "the first answer stays"
    );
    let old = tx
        .stored_response("usr_one", "key-old")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(old.request_hash, None);
    let theirs = tx
        .stored_response("usr_two", "key-1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(theirs.method, "PATCH");
    drop(tx);

    assert_eq!(
        store.prune_idempotency_keys(3_000).await.expect("pruned"),
        2
    );
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    assert!(tx
        .stored_response("usr_one", "key-1")
        .await
        .expect("read")
        .is_none());
    assert!(tx
        .stored_response("usr_two", "key-1")
        .await
        .expect("read")
        .is_some());
}

pub async fn sessions_and_refresh_tokens_live_and_end(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    tx.insert_session("ses_a", T1, "usr_one", 1_000)
        .await
        .expect("session");
    tx.insert_refresh_token("hash_a1", "ses_a", 10_000)
        .await
        .expect("token");
    tx.insert_session("ses_b", T2, "usr_two", 1_000)
        .await
        .expect("session");
    tx.insert_refresh_token("hash_b1", "ses_b", 5_000)
        .await
        .expect("token");
    commit(tx).await;

    assert!(store.session_active("ses_a", 2_000).await.expect("read"));
    assert!(
        !store.session_active("ses_b", 5_000).await.expect("read"),
        "a session ends with its last refresh token"
    );
    assert!(!store.session_active("ses_none", 2_000).await.expect("read"));

    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    let row = tx
        .refresh_token("hash_a1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        (
            row.session_id.as_str(),
            row.tenant_id.as_str(),
            row.user_id.as_str(),
            row.expires_at_ms,
            row.used_at_ms,
            row.session_revoked
        ),
        ("ses_a", T1, "usr_one", 10_000, None, false)
    );
    tx.mark_refresh_token_used("hash_a1", 3_000)
        .await
        .expect("marked");
    tx.insert_refresh_token("hash_a2", "ses_a", 20_000)
        .await
        .expect("successor");
    assert!(tx.refresh_token("hash_none").await.expect("read").is_none());
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    let used = tx
        .refresh_token("hash_a1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(used.used_at_ms, Some(3_000));
    tx.revoke_session("ses_a", 4_000).await.expect("revoked");
    tx.revoke_session("ses_a", 6_000)
        .await
        .expect("revoking twice is harmless");
    commit(tx).await;
    assert!(!store.session_active("ses_a", 4_500).await.expect("read"));
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    assert!(
        tx.refresh_token("hash_a2")
            .await
            .expect("read")
            .expect("found")
            .session_revoked
    );
    drop(tx);

    assert_eq!(
        store.prune_sessions(12_000).await.expect("pruned"),
        2,
        "tokens past their expiry go"
    );
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    assert!(tx.refresh_token("hash_a1").await.expect("read").is_none());
    assert!(tx.refresh_token("hash_b1").await.expect("read").is_none());
    assert!(tx.refresh_token("hash_a2").await.expect("read").is_some());
    // `ses_b` had no token left, so it went too: a new token for it has no session to join.
    assert!(tx
        .insert_refresh_token("hash_b2", "ses_b", 50_000)
        .await
        .is_err());
}

pub async fn agent_tokens_name_their_tenant_and_agent(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    tx.insert_agent_token("hash_agent", T2, "agt_x")
        .await
        .expect("token");
    commit(tx).await;
    assert_eq!(
        store.agent_for_token("hash_agent").await.expect("read"),
        Some((T2.to_owned(), "agt_x".to_owned()))
    );
    assert_eq!(
        store.agent_for_token("hash_none").await.expect("read"),
        None
    );
}

pub async fn costs_add_up_per_bucket_and_agent(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let day = 86_400;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    for (project_id, agent_id, at_s, cost_usd) in [
        ("prj_a", "agt_b", 10 * day + 100, 1.25),
        ("prj_a", "agt_a", 10 * day + 200, 2.0),
        ("prj_a", "agt_a", 10 * day + 7_300, 0.5),
        ("prj_a", "agt_a", 11 * day + 5, 4.0),
        ("prj_b", "agt_c", 10 * day, 100.0),
    ] {
        tx.insert_cost(
            T1,
            &NewCost {
                project_id,
                agent_id,
                at_s,
                model: "gpt-5",
                tokens_in: 100,
                tokens_out: 10,
                cost_usd,
            },
        )
        .await
        .expect("cost");
    }
    commit(tx).await;

    let daily = store.cost_buckets(T1, "prj_a", day).await.expect("read");
    let rows: Vec<_> = daily
        .iter()
        .map(|b| {
            (
                b.at.timestamp(),
                b.agent_id.as_str(),
                b.tokens_in,
                b.tokens_out,
                b.cost_usd,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (10 * day, "agt_a", 200, 20, 2.5),
            (10 * day, "agt_b", 100, 10, 1.25),
            (11 * day, "agt_a", 100, 10, 4.0),
        ]
    );
    let hourly = store.cost_buckets(T1, "prj_a", 3_600).await.expect("read");
    assert_eq!(hourly.len(), 4);
    assert!(store
        .cost_buckets(T2, "prj_a", day)
        .await
        .expect("read")
        .is_empty());
}

pub async fn devices_register_once_per_push_token(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let device = Device {
        id: "dev_1".into(),
        platform: Platform::Ios,
        created_at: at(0),
    };
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let stored = tx
        .insert_device(T1, "usr_one", &device, "push-1")
        .await
        .expect("registered");
    assert_eq!(stored, device);
    let again = tx
        .insert_device(
            T1,
            "usr_one",
            &Device {
                id: "dev_2".into(),
                platform: Platform::Ios,
                created_at: at(60),
            },
            "push-1",
        )
        .await
        .expect("registered again");
    assert_eq!(
        (again.id.as_str(), again.created_at),
        ("dev_1", at(0)),
        "the same push token is the same device"
    );
    commit(tx).await;

    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    assert!(
        !tx.delete_device(T2, "usr_two", "dev_1").await.expect("ran"),
        "another user's device is not theirs to delete"
    );
    drop(tx);
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    assert!(tx
        .delete_device(T1, "usr_one", "dev_1")
        .await
        .expect("deleted"));
    assert!(!tx.delete_device(T1, "usr_one", "dev_1").await.expect("ran"));
    commit(tx).await;
}

pub async fn settings_are_kept_and_replaced(store: Arc<dyn Store>) {
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    assert_eq!(tx.setting("jwt_secret").await.expect("read"), None);
    tx.put_setting("jwt_secret", "first").await.expect("kept");
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    assert_eq!(
        tx.setting("jwt_secret").await.expect("read").as_deref(),
        Some("first")
    );
    tx.put_setting("jwt_secret", "second")
        .await
        .expect("replaced");
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    assert_eq!(
        tx.setting("jwt_secret").await.expect("read").as_deref(),
        Some("second")
    );
}

pub async fn due_documents_come_from_every_tenant_in_deadline_order(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    for (tenant, id, status, due_at_ms) in [
        (T1, "apr_late", "pending", 3_000),
        (T2, "apr_early", "pending", 1_000),
        (T1, "apr_decided", "approved", 500),
        (T1, "apr_future", "pending", 9_000),
    ] {
        let mut tx = begin(store.as_ref(), WriteScope::Tenant(tenant)).await;
        let mut document = doc(DocKind::Approval, id, Some("prj_a"), Some(status), id);
        document.due_at_ms = Some(due_at_ms);
        tx.put_doc(tenant, &document).await.expect("stored");
        commit(tx).await;
    }
    let due = store
        .due_docs(DocKind::Approval, "pending", 3_000)
        .await
        .expect("read");
    let due: Vec<_> = due
        .iter()
        .map(|(tenant, value)| (tenant.as_str(), value["id"].as_str().expect("id")))
        .collect();
    assert_eq!(due, [(T2, "apr_early"), (T1, "apr_late")]);
    assert!(store
        .due_docs(DocKind::Stop, "pending", 10_000)
        .await
        .expect("read")
        .is_empty());
}

pub async fn pruning_events_raises_the_floor(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    for n in 1..=4 {
        append(tx.as_mut(), n * 10, n).await;
    }
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    append(tx.as_mut(), 100, 1).await;
    commit(tx).await;

    let cut_off = at(25).timestamp_millis();
    assert_eq!(store.prune_events(cut_off).await.expect("pruned"), 2);
    assert_eq!(
        store.log_bounds(T1).await.expect("read"),
        Some(LogBounds { floor: 2, head: 4 })
    );
    assert_eq!(
        store.log_bounds(T2).await.expect("read"),
        Some(LogBounds { floor: 0, head: 1 }),
        "a tenant with nothing that old keeps its floor"
    );
    let left = store.events_after(T1, 0, 10).await.expect("read");
    assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(store.prune_events(cut_off).await.expect("pruned"), 0);

    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    assert_eq!(
        append(tx.as_mut(), 50, 5).await.seq,
        5,
        "numbering goes on above the floor"
    );
    commit(tx).await;
}

pub async fn a_checkpoint_keeps_every_committed_write(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    for n in 0..20 {
        let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
        tx.put_doc(
            T1,
            &doc(
                DocKind::Task,
                &format!("tsk_{n:02}"),
                Some("prj_a"),
                Some("queued"),
                &format!("{n:02}"),
            ),
        )
        .await
        .expect("stored");
        append(tx.as_mut(), n, n).await;
        commit(tx).await;
    }
    let busy = store.checkpoint().await.expect("checkpointed");
    assert!(busy.moved_frames <= busy.wal_frames);
    let idle = store.checkpoint().await.expect("checkpointed");
    assert!(idle.moved_frames <= idle.wal_frames);
    assert_eq!(
        store
            .list_docs(T1, DocFilter::all(DocKind::Task))
            .await
            .expect("listed")
            .len(),
        20
    );
    assert_eq!(
        store.log_bounds(T1).await.expect("read"),
        Some(LogBounds { floor: 0, head: 20 })
    );
}
