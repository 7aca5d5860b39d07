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
