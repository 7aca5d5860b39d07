//! Stories of tenants, users and stored documents: they read back as written, filter, sort,
//! stay inside their tenant, and come due in deadline order.

use super::*;

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
    let everyone = store.users(T1).await.expect("read");
    assert_eq!(
        everyone.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["usr_one"],
        "a tenant's users, and no other tenant's"
    );
    assert!(store.users("ten_none").await.expect("read").is_empty());
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
