//! Delivery against the real server (the test kit's, in this process), where a test writes the
//! cache as another build or a full disk leaves it.

use std::sync::Arc;

use spartex_testkit::{TestServer, PASSWORD};

use crate::secret_store::InsecureFileSecretStore;
use crate::{Account, Core, CoreConfig, CoreError, OutcomeResult, Secret};

pub(crate) struct Signed {
    pub(crate) server: TestServer,
    pub(crate) account: Account,
    /// A project of the demo world, by id.
    pub(crate) project: String,
    _dir: tempfile::TempDir,
}

/// The on-call engineer signed in to a fresh server, the cache caught up.
pub(crate) async fn signed_in() -> Signed {
    let server = TestServer::builder()
        .manual_clock(chrono::Utc::now())
        .start()
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("dana");
    let secrets = Arc::new(InsecureFileSecretStore::new(data_dir.join("secrets.json")));
    let core = Core::new(CoreConfig { data_dir, secrets });
    let account = core
        .login(&server.url(), "oncall@acme.test", &Secret::new(PASSWORD))
        .await
        .expect("signs in");
    account.catch_up().await.expect("sync");
    let project = account.dashboard().await.expect("dashboard")[0]
        .project
        .id
        .clone();
    Signed {
        server,
        account,
        project,
        _dir: dir,
    }
}

impl Signed {
    /// The stops the server has, as a viewer reads them.
    pub(crate) async fn stops_on_the_server(&self) -> usize {
        let viewer = self.server.login("viewer@acme.test").await;
        let (_, stops) = viewer.get("/api/v1/stops").await;
        stops.as_array().map_or(0, Vec::len)
    }
}

/// A newer CLI queued a kind of action this build does not know, and left an outcome of a kind
/// it does not know either: a stop taken here still goes, and the newer action is kept and
/// named as waiting for a newer version, where the whole outbox failed to read.
#[tokio::test]
async fn an_action_only_a_newer_build_can_read_holds_back_no_stop() {
    let signed = signed_in().await;
    let account = &signed.account;
    let writer = account.store().writer_for_tests();
    sqlx::query(
        "INSERT INTO outbox (kind, priority, idempotency_key, method, path, body, request, label, created_at) \
         VALUES ('future_kind', 0, 'key-from-the-future', 'POST', '/api/v2/future', '{}', \
                 '{\"endpoint\":\"future_kind\"}', 'Pause the agents of Spring Sale', '2026-12-07T10:00:00Z')",
    )
    .execute(writer)
    .await
    .expect("queued as a newer build would");
    sqlx::query("INSERT INTO outcomes (at, data) VALUES (?, ?)")
        .bind(chrono::Utc::now().to_rfc3339())
        .bind(
            serde_json::json!({"at": chrono::Utc::now(), "result": "future_result",
                "action": "Something newer", "message": "It did a newer thing.",
                "approval_id": null, "project_id": null})
            .to_string(),
        )
        .execute(writer)
        .await
        .expect("an outcome as a newer build would keep it");

    let stopped = account
        .stop_project(&signed.project, "Wrong audience list")
        .await
        .expect("queued and tried");
    assert!(stopped.delivered, "{stopped:?}");
    assert_eq!(
        stopped.outcome.map(|o| o.result),
        Some(OutcomeResult::Delivered)
    );
    assert_eq!(signed.stops_on_the_server().await, 1);

    assert!(account.outbox().await.expect("outbox").is_empty());
    let kept = account.outbox_for_newer_version().await.expect("reads");
    assert_eq!(
        kept.iter().map(|k| k.label.as_str()).collect::<Vec<_>>(),
        ["Pause the agents of Spring Sale"]
    );
    let report = account.flush_outbox().await.expect("flushes");
    assert_eq!((report.delivered, report.waiting), (0, 0));
    assert_eq!(
        report.for_a_newer_version,
        ["Pause the agents of Spring Sale (waits for a newer version of Spartex Control to send it)"]
    );
    assert!(!account
        .status()
        .await
        .expect("status")
        .recent_outcomes
        .is_empty());
    // Signing out would wipe it: it is named like any action not delivered yet.
    match account.deliver_before_signing_out().await {
        Err(CoreError::Undelivered { actions }) => {
            assert_eq!(actions.len(), 1, "{actions:?}");
            assert!(actions[0].contains("newer version"), "{actions:?}");
        }
        other => panic!("signing out should be refused: {other:?}"),
    }
}
