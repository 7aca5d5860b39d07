//! Stories of what the server keeps for people and agents: idempotency answers, sessions and
//! refresh tokens, agent tokens, costs and settings.

use super::*;

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

    let until = |session: &'static str| async {
        let live = store.live_session(session).await.expect("read");
        live.map(|live| live.until_ms)
    };
    assert_eq!(
        store.live_session("ses_a").await.expect("read"),
        Some(crate::store::LiveSession {
            until_ms: 10_000,
            user_id: "usr_one".into(),
            tenant_id: T1.into(),
            role: Role::Owner,
            email: "usr_one@example.test".into(),
            name: "User usr_one".into(),
        }),
        "a live session names its person as the database has them"
    );
    assert_eq!(
        until("ses_b").await,
        Some(5_000),
        "a session lasts until its last refresh token expires"
    );
    assert_eq!(until("ses_none").await, None);

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
    assert_eq!(
        until("ses_a").await,
        Some(20_000),
        "a refresh extends the session to its new token's expiry"
    );
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
    tx.revoke_session("ses_b", 5_000).await.expect("revoked");
    commit(tx).await;
    let revoked_since = |since_ms, at_most| store.sessions_revoked_since(since_ms, at_most);
    assert_eq!(
        revoked_since(4_000, 10).await.expect("read"),
        ["ses_a", "ses_b"],
        "revoked when first revoked, earliest first"
    );
    assert_eq!(revoked_since(4_001, 10).await.expect("read"), ["ses_b"]);
    assert_eq!(revoked_since(0, 1).await.expect("read"), ["ses_a"]);
    assert!(revoked_since(5_001, 10).await.expect("read").is_empty());
    assert_eq!(until("ses_a").await, None, "revoked");
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

pub async fn an_agents_tokens_are_deleted_together_and_no_one_elses(store: Arc<dyn Store>) {
    two_tenants(store.as_ref()).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    for (hash, agent) in [
        ("hash_x1", "agt_x"),
        ("hash_x2", "agt_x"),
        ("hash_y", "agt_y"),
    ] {
        tx.insert_agent_token(hash, T2, agent).await.expect("token");
    }
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T1)).await;
    assert_eq!(
        tx.delete_agent_tokens(T1, "agt_x").await.expect("deletes"),
        0,
        "another organisation's agent of the same id keeps its tokens"
    );
    commit(tx).await;
    let mut tx = begin(store.as_ref(), WriteScope::Tenant(T2)).await;
    assert_eq!(
        tx.delete_agent_tokens(T2, "agt_x").await.expect("deletes"),
        2
    );
    tx.insert_agent_token("hash_x3", T2, "agt_x")
        .await
        .expect("a new token");
    assert!(
        store
            .agent_for_token("hash_x1")
            .await
            .expect("read")
            .is_some(),
        "nothing changes before the write commits"
    );
    commit(tx).await;
    for gone in ["hash_x1", "hash_x2"] {
        assert_eq!(store.agent_for_token(gone).await.expect("read"), None);
    }
    for (kept, agent) in [("hash_x3", "agt_x"), ("hash_y", "agt_y")] {
        assert_eq!(
            store.agent_for_token(kept).await.expect("read"),
            Some((T2.to_owned(), agent.to_owned()))
        );
    }
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
