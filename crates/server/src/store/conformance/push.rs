//! Stories of what push keeps: devices, the dispatcher's cursor, and the push queue.

use spartex_api::Platform;

use super::*;
use crate::store::push::{Advance, NewPush, PushOutcome, DEVICES_PER_PERSON};
use crate::store::NewDevice;

fn device<'a>(id: &'a str, address: &'a str) -> NewDevice<'a> {
    NewDevice {
        id,
        platform: Platform::Fcm,
        address,
        registration: r#"{"platform":"fcm","push_token":"t"}"#,
        created_at: at(0),
    }
}

fn push_for(device_id: &str, key: &str, payload: &str) -> NewPush {
    NewPush {
        device_id: device_id.into(),
        collapse_key: key.into(),
        payload: payload.into(),
        urgent: true,
        expires_at_ms: 10_000_000,
        committed_at_ms: 1_000,
    }
}

pub async fn devices_register_once_per_address(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let (first, new) = tx
        .insert_device(T1, "usr_one", &device("dev_1", "token-1"))
        .await
        .expect("registered");
    assert!(new);
    let (again, new) = tx
        .insert_device(T1, "usr_one", &device("dev_2", "token-1"))
        .await
        .expect("registered again");
    assert_eq!(
        (again.id.as_str(), new),
        ("dev_1", false),
        "the same address is the same device"
    );
    assert_eq!(again.created_at, first.created_at);
    commit(tx).await;
    assert_eq!(store.devices(T1, "usr_one").await.expect("read").len(), 1);

    // Registered again a day later (the app does at every start): seen then.
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let next_day = NewDevice {
        created_at: at(86_400),
        ..device("dev_4", "token-1")
    };
    tx.insert_device(T1, "usr_one", &next_day)
        .await
        .expect("registered again");
    commit(tx).await;
    let targets = store.push().targets(T1).await.expect("read");
    assert_eq!(
        (targets[0].created_at, targets[0].seen_at),
        (at(0), Some(at(86_400))),
        "registered once, seen again the next day"
    );
    assert!(targets[0].reachable(at(86_400 + 3_600), chrono::Duration::hours(24)));

    // The same install registered by another user is theirs now.
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    let (taken, new) = tx
        .insert_device(T2, "usr_two", &device("dev_3", "token-1"))
        .await
        .expect("taken over");
    assert!(new);
    assert!(!tx.delete_device(T2, "usr_two", "dev_1").await.expect("ran"));
    commit(tx).await;
    assert!(store.devices(T1, "usr_one").await.expect("read").is_empty());
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    assert!(tx
        .delete_device(T2, "usr_two", &taken.id)
        .await
        .expect("deleted"));
    commit(tx).await;
}

pub async fn a_person_keeps_their_newest_devices_only(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let kept = usize::try_from(DEVICES_PER_PERSON).expect("a count");
    let ids: Vec<String> = (0..=kept).map(|n| format!("dev_{n:02}")).collect();
    for (n, id) in ids.iter().enumerate() {
        let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
        let address = format!("token-{n}");
        let newer = NewDevice {
            created_at: at(i64::try_from(n).expect("small")),
            ..device(id, &address)
        };
        tx.insert_device(T1, "usr_one", &newer)
            .await
            .expect("registered");
        commit(tx).await;
    }
    let devices = store.devices(T1, "usr_one").await.expect("read");
    let left: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(left, ids[1..], "the oldest went to make room");
}

pub async fn the_push_cursor_moves_only_from_where_it_was(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let push = store.push();
    let to = |from, to| Advance {
        from,
        to,
        ..Advance::default()
    };
    assert!(push.advance(T1, &to(0, 5), 0).await.expect("moved"));
    assert!(
        !push.advance(T1, &to(0, 6), 0).await.expect("ran"),
        "a dispatcher that read from an old position commits nothing"
    );
    assert!(push.advance(T1, &to(5, 9), 0).await.expect("moved"));
    let targets = push.targets(T1).await.expect("read");
    assert!(targets.is_empty(), "no devices yet");
}

pub async fn a_newer_push_replaces_a_queued_one_and_settles_only_itself(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    tx.insert_device(T1, "usr_one", &device("dev_1", "token-1"))
        .await
        .expect("registered");
    commit(tx).await;
    let push = store.push();
    let batch = |from, to, payload: &str| Advance {
        from,
        to,
        states: vec![("apr_1".into(), "pending".into())],
        pushes: vec![
            push_for("dev_1", "approval:apr_1", payload),
            push_for("dev_gone", "k", "x"),
        ],
    };
    assert!(push
        .advance(T1, &batch(0, 1, "requested"), 100)
        .await
        .expect("queued"));
    let first = push.due(100, 10, &[]).await.expect("read");
    assert_eq!(first.len(), 1, "a push for an unknown device is not queued");
    assert_eq!(first[0].payload, "requested");
    assert!(
        push.due(100, 10, &[T1]).await.expect("read").is_empty(),
        "a busy tenant's pushes are left out"
    );
    assert_eq!(
        push.states(T1, &["apr_1"]).await.expect("read")["apr_1"],
        "pending"
    );

    assert!(push
        .advance(T1, &batch(1, 2, "resolved"), 200)
        .await
        .expect("queued"));
    let second = push.due(200, 10, &[]).await.expect("read");
    assert_eq!(second.len(), 1, "one push per device and collapse key");
    assert_eq!(second[0].payload, "resolved");

    // The attempt at the replaced push settles nothing of the newer one.
    push.settle(&first[0], &PushOutcome::Sent, 300)
        .await
        .expect("settled");
    assert_eq!(push.due(300, 10, &[]).await.expect("read").len(), 1);
    let retry = PushOutcome::Retry {
        error: "503".into(),
        next_attempt_at_ms: 5_000,
    };
    push.settle(&second[0], &retry, 300).await.expect("settled");
    assert!(
        push.due(300, 10, &[]).await.expect("read").is_empty(),
        "waits out its backoff"
    );
    assert_eq!(push.next_due_at().await.expect("read"), Some(5_000));
    let devices = store.devices(T1, "usr_one").await.expect("read");
    assert_eq!(devices[0].last_error.as_deref(), Some("503"));
    assert!(
        devices[0].last_push_at.is_some(),
        "the replaced push did reach the service"
    );

    let retried = push.due(5_000, 10, &[]).await.expect("read");
    push.settle(
        &retried[0],
        &PushOutcome::Gone {
            error: "410".into(),
        },
        5_000,
    )
    .await
    .expect("settled");
    assert!(store.devices(T1, "usr_one").await.expect("read").is_empty());
    assert!(push.due(i64::MAX, 10, &[]).await.expect("read").is_empty());
}
