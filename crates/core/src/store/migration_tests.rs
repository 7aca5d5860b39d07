//! The cache's migrations as builds applied them: sqlx refuses a cache whose applied migration's
//! text changed since (it keeps a checksum of each), so a committed migration is never edited.

use sha2::{Digest, Sha384};

use super::tests::cache_migrated_before;
use super::{new_cache_key, Store};

/// Every migration committed, by file, with the SHA-384 of its bytes (what sqlx keeps as its
/// checksum in each cache that applied it).
const COMMITTED: &[(&str, &str)] = &[
    ("20261128000000_cache.sql", "d71a066f949ae95999dbe55b6ec73e7458148f828dfd64735e2df3054f67e05d365dcd9bf6fbb8a773d7157a1ad45685"),
    ("20261128000001_fts_merge.sql", "d436b3e5caca724c77370ad0267bfc6de722bd8a2678be4d29cdf1a994a6e8635745aa253e07bcbea3ba2b7cca803b3c"),
    ("20261202000000_typed_outbox.sql", "ff0b548e072222ac69b4f4d0009296448fa95322fb03e5fa3960c0188ac5408b503c11ddbc83a578b2b90e48d78461fe"),
    ("20261203000000_fts_reindex_on_change.sql", "016a408bdbc74002a34972f700509f9588c321c29f4dbb1c6909be432a99a5702a44c36321d7efe6579bbb562fa6b753"),
    ("20261206000000_agent_counts.sql", "6482a4bb8165023366f6e231b24feb26ec6d071e0fd64345bcf030e679ae5b088343dd565a3c934381b3001253950329"),
    ("20261206000001_search_index_at_commit.sql", "c75453efb44d4b3e1fb3ed9a5b2de3d640939c986bcd8112db5607d17c3c7b78601bb66ad61fb3160e5cf9d23cc02d83"),
    ("20261206000002_messages_as_columns.sql", "72111403745feee24ffd58c0770e3402d0169bac74d89169fe556642540a39c6ddd313557803fc19c7f50bb32c1aa0af"),
    ("20261207000000_project_thread_index.sql", "86989f0db234ac5e15adb36d413f2f49cc5c20c243a62d53573b5541b2aaca5480e3e81b6099a33f00a736e2087e0039"),
    ("20261207000001_spend_days.sql", "41a4306b64f641f897c0a70336b30599265fb39113e6d42c2e77f384ed8f11ab199b2962f7a0bd6b58e2da76c9ffb9f7"),
    ("20261207000002_resumes_beside_stops.sql", "46e756da9bd4049d011959a6f2aad9b024ff6065c8bb88bf50288f54ac226b3fb378921f9cf3f5d944969d4c9a0d076b"),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An edit of a committed migration, a comment's included, changes its checksum: every cache
/// that applied the earlier text would refuse to open (`VersionMismatch`). A new migration is
/// pinned here once committed.
#[test]
fn every_migration_is_as_it_was_committed() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files: Vec<String> = std::fs::read_dir(&folder)
        .expect("the migrations folder")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sql"))
        .collect();
    files.sort();
    let pinned: Vec<&str> = COMMITTED.iter().map(|(file, _)| *file).collect();
    for file in &files {
        assert!(
            pinned.contains(&file.as_str()),
            "{file} is not pinned: once it is committed, add it to COMMITTED in {} with the \
             SHA-384 of its bytes (`sha384sum crates/core/migrations/{file}`)",
            file!()
        );
    }
    let migrator = sqlx::migrate!("./migrations");
    for (file, checksum) in COMMITTED {
        let bytes = std::fs::read(folder.join(file)).unwrap_or_else(|error| {
            panic!("{file}, a migration caches have applied, is gone ({error}): put it back")
        });
        assert_eq!(
            hex(&Sha384::digest(&bytes)),
            *checksum,
            "{file} was edited after it was committed. Caches that applied it keep the checksum \
             of its earlier text and would refuse to open: put the file back as it was, and make \
             the change in a new migration instead"
        );
        let version: i64 = file
            .split('_')
            .next()
            .and_then(|v| v.parse().ok())
            .expect("a version");
        let built = migrator
            .iter()
            .find(|m| m.version == version)
            .expect("built into the binary");
        assert_eq!(hex(&built.checksum), *checksum, "sqlx's checksum of {file}");
    }
}

/// A cache that applied the two migrations edited after they were committed (comments only),
/// as the builds of then wrote them, opens and is migrated on, where it was refused.
#[tokio::test]
async fn a_cache_that_applied_an_edited_migrations_earlier_text_opens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cache.db");
    let key = new_cache_key();
    let older = cache_migrated_before(&path, &key, 20261207000000).await;
    for (version, earlier) in super::EDITED_MIGRATIONS {
        sqlx::query("UPDATE _sqlx_migrations SET checksum = ? WHERE version = ?")
            .bind(super::hex_bytes(earlier).expect("hex"))
            .bind(version)
            .execute(&older)
            .await
            .expect("as that build recorded it");
    }
    older.close().await;

    let store = Store::open(&path, &key).await.expect("opens");
    let applied: i64 = sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations")
        .fetch_one(store.writer_for_tests())
        .await
        .expect("reads");
    let newest = (sqlx::migrate!("./migrations").iter())
        .map(|m| m.version)
        .max();
    assert_eq!(Some(applied), newest, "and is migrated on");
}
