//! Stories of the write transaction: isolation until commit, gapless per-tenant numbering,
//! discard, turns, pruning and checkpoints.

use super::*;

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
    let floors = store.log_floors().await.expect("read");
    assert!(floors.contains(&(T1.to_owned(), 0)), "{floors:?}");
    let batch = store
        .prune_log_batch(T1, 0, cut_off, 1)
        .await
        .expect("pruned")
        .expect("one was old");
    assert_eq!(
        (batch.floor, batch.deleted, batch.more),
        (1, 1, true),
        "one at most"
    );
    assert_eq!(
        crate::store::prune_log(store.as_ref(), cut_off, 1)
            .await
            .expect("pruned"),
        1,
        "then the rest, batch after batch, up to the first event to keep"
    );
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
    assert_eq!(
        crate::store::prune_log(store.as_ref(), cut_off, 10)
            .await
            .expect("pruned"),
        0
    );

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
