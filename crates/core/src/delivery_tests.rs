//! Delivery against the real server (the test kit's, in this process), where a test writes the
//! cache as another build or a full disk leaves it.

use std::sync::Arc;

use spartex_testkit::{TestServer, PASSWORD};

use crate::secret_store::{InsecureFileSecretStore, SecretStore};
use crate::{Account, Core, CoreConfig, CoreError, OutcomeResult, Secret};

pub(crate) struct Signed {
    pub(crate) server: TestServer,
    pub(crate) core: Core,
    pub(crate) account: Account,
    /// A project of the demo world, by id.
    pub(crate) project: String,
    /// Where the account's tokens are kept.
    pub(crate) secrets: Arc<dyn SecretStore>,
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
    let secrets: Arc<dyn SecretStore> =
        Arc::new(InsecureFileSecretStore::new(data_dir.join("secrets.json")));
    let core = Core::new(CoreConfig {
        data_dir,
        secrets: secrets.clone(),
    });
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
        core,
        account,
        project,
        secrets,
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
    let status = account.status().await.expect("status");
    assert!(!status.recent_outcomes.is_empty());
    assert_eq!(
        status.actions_for_a_newer_version,
        ["Pause the agents of Spring Sale"],
        "the status names it for the faces"
    );
    assert!(status.outbox.is_empty());
    // Signing out would wipe it: it is named like any action not delivered yet.
    match account.deliver_before_signing_out().await {
        Err(CoreError::Undelivered { actions }) => {
            assert_eq!(actions.len(), 1, "{actions:?}");
            assert!(actions[0].contains("newer version"), "{actions:?}");
        }
        other => panic!("signing out should be refused: {other:?}"),
    }
}

/// Queues a stop of the demo project without trying to send it (as a CLI offline leaves it), and
/// closes the cache: what the tests below then open again.
async fn a_stop_waits_and_the_cache_is_closed(signed: &Signed) -> std::path::PathBuf {
    let store = signed.account.store();
    store
        .queue_a_stop_for_tests(&signed.project, "Spring Sale")
        .await;
    let path = store.path().to_owned();
    store.close().await;
    path
}

/// The page where `table`'s rows start, in the cache of `signed`.
async fn root_page(signed: &Signed, table: &str) -> usize {
    let page: i64 = sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE name = ?")
        .bind(table)
        .fetch_one(signed.account.store().writer_for_tests())
        .await
        .expect("a table of the cache");
    usize::try_from(page).expect("a page number")
}

/// Flips bytes in the middle of page `page` (SQLCipher's 4 KiB pages), which then fails its check.
fn damage_page(path: &std::path::Path, page: usize) {
    let mut bytes = std::fs::read(path).expect("reads the cache");
    let start = (page - 1) * 4096;
    for byte in &mut bytes[start + 100..start + 200] {
        *byte ^= 0x5a;
    }
    std::fs::write(path, bytes).expect("damages the page");
}

/// A page past the first fails its check (`SQLITE_CORRUPT`, not `SQLITE_NOTADB`): the cache is
/// rebuilt from the server as an unreadable one is, and the stop it still had to deliver is
/// carried over and delivered, where the cache could not be opened at all.
#[tokio::test]
async fn a_cache_with_a_damaged_page_is_rebuilt_and_keeps_its_undelivered_stop() {
    let signed = signed_in().await;
    let page = root_page(&signed, "_sqlx_migrations").await;
    assert!(page > 1);
    let path = a_stop_waits_and_the_cache_is_closed(&signed).await;
    damage_page(&path, page);

    let reopened = signed.core.open(None).await.expect("opens a fresh cache");
    assert_eq!(reopened.store().last_seq().await.expect("seq"), 0);
    let waiting = reopened.outbox().await.expect("outbox");
    assert_eq!(
        waiting.iter().map(|e| e.label.as_str()).collect::<Vec<_>>(),
        ["Emergency stop of Spring Sale"]
    );
    let report = reopened.flush_outbox().await.expect("flushes");
    assert_eq!(report.delivered, 1);
    assert_eq!(signed.stops_on_the_server().await, 1);
    reopened.catch_up().await.expect("rebuilds");
    assert_eq!(
        reopened.store().integrity_check().await.expect("check"),
        "ok"
    );
}

/// The damaged page is the outbox's own: what it had not delivered cannot be read, and the
/// person is told it was lost, where the cache was started afresh without a word.
#[tokio::test]
async fn a_cache_whose_outbox_is_damaged_is_rebuilt_and_says_what_was_lost() {
    let signed = signed_in().await;
    let page = root_page(&signed, "outbox").await;
    let path = a_stop_waits_and_the_cache_is_closed(&signed).await;
    damage_page(&path, page);

    let reopened = signed.core.open(None).await.expect("opens a fresh cache");
    assert!(reopened.outbox().await.expect("outbox").is_empty());
    let told = reopened.outcomes(10).await.expect("outcomes");
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].result, OutcomeResult::Refused);
    assert!(
        told[0].message.contains("were lost") && told[0].message.contains("rebuilt"),
        "{}",
        told[0].message
    );
}

/// A newer build migrated the cache further than this one knows: it is kept as it is, the error
/// says to update (or sign out, losing the stop it names), and signing out asks first.
#[tokio::test]
async fn a_cache_a_newer_build_wrote_is_kept_and_the_error_says_to_update() {
    let signed = signed_in().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (29991231000000, 'from a newer build', 1, x'00', 0)",
    )
    .execute(signed.account.store().writer_for_tests())
    .await
    .expect("migrated as a newer build would");
    let path = a_stop_waits_and_the_cache_is_closed(&signed).await;
    let before = std::fs::read(&path).expect("reads");

    let refused = signed.core.open(None).await.err().expect("refused");
    let said = refused.to_string();
    assert!(
        said.contains("was written by a newer Spartex Control; update the app"),
        "{said}"
    );
    assert!(
        said.contains("losing 1 undelivered action: Emergency stop of Spring Sale"),
        "{said}"
    );
    match signed.core.logout(None, crate::Undelivered::Keep).await {
        Err(CoreError::Undelivered { actions }) => {
            assert_eq!(actions, ["Emergency stop of Spring Sale"]);
        }
        other => panic!("signing out should ask first: {other:?}"),
    }
    assert_eq!(
        std::fs::read(&path).expect("reads"),
        before,
        "kept as it was"
    );
}

/// The disk fills between a stop's delivery and its record (here SQLite's own page limit, as in
/// `store::disk_full_tests`): the stop is told delivered at once and not sent again, nor shown as
/// waiting, where it stayed in the outbox, was sent again every second and no outcome was told;
/// once there is room, its end is recorded.
#[tokio::test]
async fn a_stop_delivered_as_the_disk_fills_is_told_and_not_sent_again() {
    let signed = signed_in().await;
    let account = &signed.account;
    let store = account.store();
    // Its label is long: recording its outcome needs more pages than the cache can grow by.
    let name = "Spring Sale ".repeat(1000);
    let entry = store.queue_a_stop_for_tests(&signed.project, &name).await;
    store.fill_the_disk_for_tests().await;
    let mut changes = account.subscribe();

    let report = account
        .flush_outbox()
        .await
        .expect("delivered, though not recorded");
    assert_eq!((report.delivered, report.waiting), (1, 0));
    assert_eq!(report.outcomes.len(), 1);
    assert_eq!(report.outcomes[0].result, OutcomeResult::Delivered);
    let mut told = false;
    while let Ok(change) = changes.try_recv() {
        told |= matches!(change, crate::Change::Outcome { .. });
    }
    assert!(told, "the faces were told it was delivered");
    assert!(
        account.outbox().await.expect("outbox").is_empty(),
        "not shown as waiting"
    );
    assert_eq!(signed.stops_on_the_server().await, 1);

    // The writer's connection was made anew after the failed write: the limit is set again.
    store.fill_the_disk_for_tests().await;
    let again = account.flush_outbox().await.expect("flushes");
    assert_eq!(
        (again.delivered, again.waiting, again.outcomes.len()),
        (0, 0, 0),
        "not sent again"
    );
    assert_eq!(
        store.outbox().await.expect("outbox").len(),
        1,
        "still not recorded"
    );

    sqlx::query("PRAGMA max_page_count = 1073741823")
        .execute(store.writer_for_tests())
        .await
        .expect("room again");
    account.flush_outbox().await.expect("flushes");
    assert!(store.outbox().await.expect("outbox").is_empty(), "recorded");
    let outcomes = account.outcomes(10).await.expect("outcomes");
    assert_eq!(outcomes.len(), 1, "{outcomes:?}");
    assert_eq!(outcomes[0].action, entry.label);
}

/// What the data folder holds (who is signed in, to which server, their caches and settings) is
/// readable by its owner alone, where the folder was made 0755 and its files 0644; the account
/// list is saved through a temporary file of its own, none left behind.
#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_and_its_files_are_readable_by_their_owner_alone() {
    use std::os::unix::fs::PermissionsExt;
    let signed = signed_in().await;
    signed
        .core
        .set_notification_prefs(
            &signed.account.info().id,
            &crate::notify::NotificationPrefs::default(),
        )
        .expect("saves");
    let data = signed.core.data_dir().to_owned();
    let account = signed.account.store().path().parent().expect("its folder");
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    for folder in [data.as_path(), &data.join("accounts"), account] {
        assert_eq!(mode(folder), 0o700, "{}", folder.display());
    }
    for file in [
        data.join("accounts.json"),
        account.join("notifications.json"),
        account.join("notifications.unsent.json"),
        account.join("cache-key-store"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let left = crate::test_support::temporary_files_in(&data);
    assert!(left.is_empty(), "{left:?}");
}

/// `spartex watch` beside the open app applies a new request to the cache they share before the
/// app's own link does, which then skips it as already kept: the app's idle worker notices
/// within seconds, the app reads everything again and raises the request, where it showed and
/// raised nothing. (The app's link is not run here, so the CLI is first every time.)
#[tokio::test]
async fn a_request_another_process_applied_first_is_read_again_and_raised() {
    use std::sync::RwLock;

    use crate::alerts::spawn_notifications;
    use crate::notify::{Notification, NotificationPrefs, Notifier, NotifyError};
    use crate::Change;

    #[derive(Default)]
    struct Titles(std::sync::Mutex<Vec<String>>);

    #[async_trait::async_trait]
    impl Notifier for Titles {
        async fn notify(&self, notification: &Notification) -> Result<(), NotifyError> {
            if let Ok(mut titles) = self.0.lock() {
                titles.push(notification.title.clone());
            }
            Ok(())
        }
        async fn withdraw(&self, _key: &str) -> Result<(), NotifyError> {
            Ok(())
        }
        async fn replace_if_shown(&self, _: &Notification) -> Result<bool, NotifyError> {
            Ok(false)
        }
    }

    let signed = signed_in().await;
    let app = &signed.account;
    let shown = Arc::new(Titles::default());
    let prefs = Arc::new(RwLock::new(NotificationPrefs::default()));
    spawn_notifications(app, shown.clone(), prefs);
    let mut changes = app.subscribe();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn({
        let delivery = app.delivery().clone();
        async move { delivery.run(stopped).await }
    });
    let cli = Core::new(CoreConfig {
        data_dir: signed.core.data_dir().to_owned(),
        secrets: signed.secrets.clone(),
    })
    .open(None)
    .await
    .expect("the CLI opens the account too");
    // The worker notes where the cache stands as it starts: what follows at once is news.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;

    signed
        .server
        .agent("Quill")
        .ask("Publish the winter teaser", "high", 3600)
        .await;
    cli.catch_up().await.expect("the CLI applies it");
    let resynced = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            if let Ok(Change::Resynced) = changes.recv().await {
                return;
            }
        }
    })
    .await;
    assert!(
        resynced.is_ok(),
        "the app was told to read everything again"
    );
    let raised = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            let titles = shown.0.lock().map(|t| t.clone()).unwrap_or_default();
            if titles
                .iter()
                .any(|t| t.contains("Publish the winter teaser"))
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(raised.is_ok(), "the request was raised by the app");
    stop.send_replace(true);
    worker.await.expect("the worker stops");
    cli.store().close().await;
}
