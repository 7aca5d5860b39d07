//! Stories of what push keeps: devices, the dispatcher's cursor, and the push queue.

use std::collections::HashMap;

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
        session_id: None,
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
        not_before_ms: None,
    }
}

/// Registers `device` for `user`, which it must be (a device of no sign-in always is).
async fn register(
    tx: &mut Box<dyn WriteTx>,
    tenant_id: &str,
    user_id: &str,
    device: &NewDevice<'_>,
) -> (spartex_api::Device, bool) {
    tx.insert_device(tenant_id, user_id, device)
        .await
        .expect("registered")
        .expect("its sign-in is live")
}

pub async fn devices_register_once_per_address(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let (first, new) = register(&mut tx, T1, "usr_one", &device("dev_1", "token-1")).await;
    assert!(new);
    let (again, new) = register(&mut tx, T1, "usr_one", &device("dev_2", "token-1")).await;
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
    register(&mut tx, T1, "usr_one", &next_day).await;
    commit(tx).await;
    let targets = store.push().targets(T1).await.expect("read");
    assert_eq!(
        (targets[0].created_at, targets[0].seen_at),
        (at(0), Some(at(86_400))),
        "registered once, seen again the next day"
    );
    assert!(targets[0].reachable(at(86_400 + 3_600), chrono::Duration::hours(24)));

    // The same install registered by another person of the organisation is theirs now.
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    tx.insert_user(T1, &user("usr_three", Role::Oncall), "hash")
        .await
        .expect("user");
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let (taken, new) = register(&mut tx, T1, "usr_three", &device("dev_3", "token-1")).await;
    assert!(new);
    assert!(!tx
        .delete_device(T1, "usr_three", "dev_1")
        .await
        .expect("ran"));
    commit(tx).await;
    assert!(store.devices(T1, "usr_one").await.expect("read").is_empty());
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    assert!(tx
        .delete_device(T1, "usr_three", &taken.id)
        .await
        .expect("deleted"));
    commit(tx).await;
}

pub async fn an_address_is_one_device_per_organisation(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    register(&mut tx, T1, "usr_one", &device("dev_a", "token-1")).await;
    commit(tx).await;
    // Someone of another organisation who learned the token (or the same phone signed in
    // there too) registers it: a device of theirs, beside the first.
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    let (theirs, new) = register(&mut tx, T2, "usr_two", &device("dev_b", "token-1")).await;
    assert!(new, "another organisation's registration is another device");
    assert!(!tx.delete_device(T2, "usr_two", "dev_a").await.expect("ran"));
    commit(tx).await;
    let ids = |devices: Vec<spartex_api::Device>| -> Vec<String> {
        devices.into_iter().map(|d| d.id).collect()
    };
    assert_eq!(
        ids(store.devices(T1, "usr_one").await.expect("read")),
        ["dev_a"],
        "the first organisation's person is still paged"
    );
    assert_eq!(
        ids(store.devices(T2, "usr_two").await.expect("read")),
        [theirs.id.as_str()]
    );
    let t1 = store.push().targets(T1).await.expect("read");
    assert_eq!(
        t1.iter().map(|t| t.device_id.as_str()).collect::<Vec<_>>(),
        ["dev_a"]
    );
    // Registered again there, each stays its organisation's.
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let (again, new) = register(&mut tx, T1, "usr_one", &device("dev_c", "token-1")).await;
    assert_eq!((again.id.as_str(), new), ("dev_a", false));
    commit(tx).await;
    assert_eq!(store.devices(T2, "usr_two").await.expect("read").len(), 1);
}

pub async fn two_organisations_register_one_address_at_once(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut first = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    register(&mut first, T1, "usr_one", &device("dev_a", "token-1")).await;
    // Another organisation's write runs beside it where the store lets it (PostgreSQL), and
    // registers the same address before the first commits: it neither waits for it nor fails.
    let second = tokio::spawn({
        let store = store.clone();
        async move {
            let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
            let (device, new) = register(&mut tx, T2, "usr_two", &device("dev_b", "token-1")).await;
            commit(tx).await;
            (device.id, new)
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    commit(first).await;
    let (id, new) = tokio::time::timeout(Duration::from_secs(10), second)
        .await
        .expect("the second registration ends")
        .expect("and holds");
    assert_eq!((id.as_str(), new), ("dev_b", true));
    assert_eq!(store.devices(T1, "usr_one").await.expect("read").len(), 1);
    assert_eq!(store.devices(T2, "usr_two").await.expect("read").len(), 1);
}

pub async fn a_device_ends_with_its_sign_in(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    for (session, expires_at_ms) in [("ses_a", 50_000), ("ses_b", 50_000), ("ses_c", 5_000)] {
        tx.insert_session(session, T1, "usr_one", 1_000)
            .await
            .expect("session");
        let hash = format!("hash_{session}");
        tx.insert_refresh_token(&hash, session, expires_at_ms)
            .await
            .expect("token");
    }
    commit(tx).await;
    let under = |id, address, session| NewDevice {
        session_id: Some(session),
        ..device(id, address)
    };
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    register(&mut tx, T1, "usr_one", &under("dev_a", "token-a", "ses_a")).await;
    register(&mut tx, T1, "usr_one", &under("dev_b", "token-b", "ses_b")).await;
    register(&mut tx, T1, "usr_one", &under("dev_c", "token-c", "ses_c")).await;
    // Registered before devices had a sign-in: of none, until registered again.
    register(&mut tx, T1, "usr_one", &device("dev_old", "token-old")).await;
    commit(tx).await;
    let queued = Advance {
        from: 0,
        to: 1,
        states: Vec::new(),
        forget: Vec::new(),
        pushes: vec![push_for("dev_a", "approval:apr_1", "requested")],
    };
    assert!(store
        .push()
        .advance(T1, &queued, 100)
        .await
        .expect("queued"));

    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    tx.revoke_session("ses_a", 2_000).await.expect("signed out");
    commit(tx).await;
    let device_ids = || async {
        let targets = store.push().targets(T1).await.expect("read");
        targets.into_iter().map(|t| t.device_id).collect::<Vec<_>>()
    };
    assert_eq!(
        device_ids().await,
        ["dev_b", "dev_c", "dev_old"],
        "signed out, its device takes no more pushes"
    );
    assert!(
        store
            .push()
            .due(i64::MAX, 10, &[])
            .await
            .expect("read")
            .is_empty(),
        "nor those queued for it"
    );

    // A registration under a sign-in that has ended registers nothing.
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let late = under("dev_late", "token-late", "ses_a");
    assert!(tx
        .insert_device(T1, "usr_one", &late)
        .await
        .expect("ran")
        .is_none());
    // The old device registered again belongs to the sign-in that registered it.
    let old_again = under("dev_x", "token-old", "ses_b");
    let (old, new) = register(&mut tx, T1, "usr_one", &old_again).await;
    assert_eq!((old.id.as_str(), new), ("dev_old", false));
    commit(tx).await;

    // Past its last refresh token's expiry the sign-in is pruned, its device with it.
    store.prune_sessions(6_000).await.expect("pruned");
    assert_eq!(device_ids().await, ["dev_b", "dev_old"]);
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    tx.revoke_session("ses_b", 7_000).await.expect("revoked");
    commit(tx).await;
    assert!(device_ids().await.is_empty());
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
        register(&mut tx, T1, "usr_one", &newer).await;
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

pub async fn states_are_remembered_until_forgotten_per_tenant(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let push = store.push();
    let remember = Advance {
        from: 0,
        to: 1,
        states: vec![
            ("apr_1".into(), "pending".into()),
            ("agt_1".into(), "error".into()),
        ],
        ..Advance::default()
    };
    assert!(push.advance(T1, &remember, 0).await.expect("moved"));
    assert!(push.advance(T2, &remember, 0).await.expect("moved"));
    let forget = Advance {
        from: 1,
        to: 2,
        forget: vec!["apr_1".into(), "apr_never_seen".into()],
        ..Advance::default()
    };
    assert!(push.advance(T1, &forget, 0).await.expect("moved"));
    let ids = ["apr_1", "agt_1"];
    let left = |states: HashMap<String, String>| {
        let mut ids: Vec<String> = states.into_keys().collect();
        ids.sort();
        ids
    };
    assert_eq!(
        left(push.states(T1, &ids).await.expect("read")),
        ["agt_1"],
        "the settled request is forgotten, the rest kept"
    );
    assert_eq!(
        left(push.states(T2, &ids).await.expect("read")),
        ["agt_1", "apr_1"],
        "another tenant's states are its own"
    );
}

pub async fn a_devices_burst_is_forgotten_with_the_device(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    tx.insert_session("ses_a", T1, "usr_one", 1_000)
        .await
        .expect("session");
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    let signed_in = NewDevice {
        session_id: Some("ses_a"),
        ..device("dev_a", "token-a")
    };
    register(&mut tx, T1, "usr_one", &signed_in).await;
    register(&mut tx, T1, "usr_one", &device("dev_b", "token-b")).await;
    commit(tx).await;
    let push = store.push();
    let remember = Advance {
        from: 0,
        to: 1,
        states: vec![
            ("burst:dev_a".into(), "{}".into()),
            ("burst:dev_b".into(), "{}".into()),
            ("apr_1".into(), "pending".into()),
        ],
        ..Advance::default()
    };
    assert!(push.advance(T1, &remember, 0).await.expect("moved"));

    // Signing out ends the device with its sign-in, and its burst with it.
    let mut tx = begin(store.as_ref(), WriteScope::Server).await;
    tx.revoke_session("ses_a", 2_000).await.expect("signed out");
    commit(tx).await;
    let ids = ["burst:dev_a", "burst:dev_b", "apr_1"];
    let mut left: Vec<String> = (push.states(T1, &ids).await.expect("read"))
        .into_keys()
        .collect();
    left.sort();
    assert_eq!(left, ["apr_1", "burst:dev_b"]);
}

pub async fn a_newer_push_replaces_a_queued_one_and_settles_only_itself(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    register(&mut tx, T1, "usr_one", &device("dev_1", "token-1")).await;
    commit(tx).await;
    let push = store.push();
    let batch = |from, to, payload: &str| Advance {
        from,
        to,
        states: vec![("apr_1".into(), "pending".into())],
        forget: Vec::new(),
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
