//! SQLite's "database or disk is full" told in words a person can act on. The whole path, the
//! binary on a real file system that fills up, is `tests/cli/disk_full.rs`; here SQLite's own page
//! limit (`max_page_count`) gives the same error where a file system cannot be mounted.

use sqlx::migrate::Migrator;
use sqlx::Connection;

use super::{connect_options, new_cache_key, StoreError};

/// Runs one migration, `sql`, on a fresh cache file that may hold at most 32 pages.
async fn migrate_into_a_small_file(sql: &str) -> StoreError {
    let dir = tempfile::tempdir().expect("temp dir");
    let migrations = dir.path().join("migrations");
    std::fs::create_dir(&migrations).expect("a folder");
    std::fs::write(migrations.join("1_upgrade.sql"), sql).expect("written");
    let migrator = Migrator::new(migrations.as_path())
        .await
        .expect("reads the folder");
    let options = connect_options(&dir.path().join("cache.db"), &new_cache_key())
        .expect("options")
        .pragma("max_page_count", "32");
    let mut connection = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("opens");
    let error = migrator
        .run(&mut connection)
        .await
        .expect_err("the migration fails");
    StoreError::from(error)
}

#[tokio::test]
async fn a_migration_that_runs_out_of_disk_is_told_as_a_full_disk() {
    let error = migrate_into_a_small_file(
        "CREATE TABLE filler (bytes BLOB); INSERT INTO filler VALUES (zeroblob(1000000));",
    )
    .await;
    assert!(matches!(error, StoreError::DiskFull), "{error:?}");
    assert!(error.to_string().contains("free some space"), "{error}");
}

#[tokio::test]
async fn any_other_failed_migration_is_told_as_a_migration_error() {
    let error = migrate_into_a_small_file("CREATE TABLE filler (bytes BLOB").await;
    assert!(matches!(error, StoreError::Migration(_)), "{error:?}");
}

/// A cache another process keeps to itself (one that opened it on a full disk does) is named
/// as such after the wait, and the wait, which sqlx reports as a slow statement, never writes
/// the key (`PRAGMA key = "x'…'"` is every connection's first statement) to the log.
#[tokio::test]
async fn a_cache_held_by_another_process_is_named_and_the_wait_logs_no_key() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("the log").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    super::Store::open(&path, &key)
        .await
        .expect("opens")
        .close()
        .await;
    let options = connect_options(&path, &key)
        .expect("options")
        .locking_mode(sqlx::sqlite::SqliteLockingMode::Exclusive);
    let mut holder = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("the other process opens it");
    sqlx::query("SELECT count(*) FROM sqlite_master")
        .execute(&mut holder)
        .await
        .expect("and takes its lock");

    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer({
            let log = log.clone();
            move || log.clone()
        })
        .finish();
    // Global: sqlx logs from its SQLite worker thread (nextest runs each test in a process).
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let error = super::Store::open(&path, &key)
        .await
        .err()
        .expect("the cache is held");
    assert!(matches!(error, StoreError::Locked), "{error:?}");
    let logged = String::from_utf8(log.0.lock().expect("the log").clone()).expect("text");
    assert!(
        !logged.contains(key.expose()),
        "the key was logged:\n{logged}"
    );
    drop(holder);
}
