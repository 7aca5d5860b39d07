use crate::support::World;

#[tokio::test]
async fn a_cache_whose_key_is_gone_is_rebuilt_from_the_server() {
    let world = World::start().await;
    let core = world.core("dana");
    let account = world.login(&core, "oncall@acme.test").await;
    let before = account.catch_up().await.expect("sync").last_seq;
    let id = account.info().id.clone();
    account.store().close().await;
    drop(account);
    let secrets = spartex_core::secret_store::InsecureFileSecretStore::new(
        world.dir.path().join("dana").join("secrets.json"),
    );
    spartex_core::SecretStore::delete(&secrets, &format!("{id}/cache-key"))
        .expect("deletes the key");

    let reopened = core.open(None).await.expect("no dead end: a new cache");
    assert_eq!(reopened.store().last_seq().await.expect("seq"), 0);
    assert_eq!(
        reopened.catch_up().await.expect("rebuilds").last_seq,
        before
    );
    assert_eq!(reopened.dashboard().await.expect("dashboard").len(), 3);
}

/// Signed in with one secret store (the OS keyring), run with another (the CLI's
/// `--insecure-file-secrets`, as the keyring's own error suggests over SSH): the cache, and
/// the stop it still has to deliver, is kept, and the error names where its key is.
#[tokio::test]
async fn a_cache_whose_key_another_secret_store_holds_is_kept_and_the_error_names_that_store() {
    let mut world = World::start().await;
    let core = world.core("dana");
    let account = world.login(&core, "oncall@acme.test").await;
    account.catch_up().await.expect("sync");
    let project = account.dashboard().await.expect("dashboard")[0]
        .project
        .id
        .clone();
    world.stop_server().await;
    account
        .stop_project(&project, "Wrong audience list")
        .await
        .expect("kept to send later");
    let cache = account.store().path().to_owned();
    account.store().close().await;
    drop(account);

    let elsewhere = world
        .dir
        .path()
        .join("dana-other-store")
        .join("secrets.json");
    let other = spartex_core::Core::new(spartex_core::CoreConfig {
        data_dir: world.dir.path().join("dana"),
        secrets: std::sync::Arc::new(spartex_core::secret_store::InsecureFileSecretStore::new(
            &elsewhere,
        )),
    });
    let refused = other.open(None).await.err().expect("refused");
    let said = refused.to_string();
    assert!(
        said.contains("dana/secrets.json"),
        "names where the key is: {said}"
    );
    assert!(said.contains("--discard-undelivered"), "{said}");
    assert!(cache.exists(), "the cache is kept");
    // Signing in again that way is refused the same, before anything is kept there.
    world.restart_server().await;
    let again = other
        .login(
            &world.url,
            "oncall@acme.test",
            &spartex_core::Secret::new(spartex_testkit::PASSWORD),
        )
        .await
        .err()
        .expect("refused");
    assert!(
        again.to_string().contains("--discard-undelivered"),
        "{again}"
    );
    assert!(
        !elsewhere.exists(),
        "no secret was written to the other store"
    );

    let reopened = core.open(None).await.expect("opens where it was made");
    assert_eq!(
        reopened.outbox().await.expect("outbox").len(),
        1,
        "the stop still waits"
    );
}

#[tokio::test]
async fn a_damaged_cache_file_is_rebuilt() {
    let world = World::start().await;
    let core = world.core("dana");
    let account = world.login(&core, "oncall@acme.test").await;
    account.catch_up().await.expect("sync");
    let path = account.store().path().to_owned();
    account.store().close().await;
    drop(account);
    std::fs::write(&path, vec![0x5a; 64 * 1024]).expect("damages the file");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let reopened = core.open(None).await.expect("opens a fresh cache");
    reopened.catch_up().await.expect("rebuilds");
    assert_eq!(reopened.dashboard().await.expect("dashboard").len(), 3);
    assert_eq!(
        reopened.store().integrity_check().await.expect("check"),
        "ok"
    );
}

#[tokio::test]
async fn logout_revokes_the_session_and_wipes_cache_and_key() {
    let world = World::start().await;
    let core = world.core("dana");
    let account = world.login(&core, "oncall@acme.test").await;
    account.catch_up().await.expect("sync");
    let dir = account.store().path().parent().expect("dir").to_owned();
    let id = account.info().id.clone();
    account.store().close().await;
    drop(account);
    core.logout(None, spartex_core::Undelivered::Keep)
        .await
        .expect("signs out");
    assert!(!dir.exists(), "the cache is wiped");
    assert!(core.accounts().expect("list").is_empty());
    let secrets = spartex_core::secret_store::InsecureFileSecretStore::new(
        world.dir.path().join("dana").join("secrets.json"),
    );
    assert!(
        spartex_core::SecretStore::get(&secrets, &format!("{id}/cache-key"))
            .expect("reads")
            .is_none()
    );
    assert!(
        spartex_core::SecretStore::get(&secrets, &format!("{id}/tokens"))
            .expect("reads")
            .is_none()
    );
    assert!(matches!(
        core.open(None).await,
        Err(spartex_core::CoreError::NoAccount)
    ));
}
