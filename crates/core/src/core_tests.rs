//! [`Core`] over the data folder an older build, another process or a damaged disk left.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::*;
use crate::delivery::with_a_server::{signed_in, Signed};
use crate::secret_store::InsecureFileSecretStore;
use crate::store::in_use::{InUse, OpenHere, Sharing, IN_USE_FILE};
use crate::test_support;

/// The permission bits of `path`.
#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// A data folder as a build before private files left it: the folders 0755, the account list
/// and an account's settings 0644.
#[cfg(unix)]
fn as_an_older_build_left_it(data: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let account = data.join("accounts").join("acme-dana");
    std::fs::create_dir_all(&account).expect("folders");
    std::fs::write(data.join("accounts.json"), "[]").expect("the account list");
    std::fs::write(account.join("notifications.json"), "{}").expect("settings");
    std::fs::write(account.join("cache-key-store"), "the OS keyring").expect("the record");
    for folder in [data, &data.join("accounts"), &account] {
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o755)).expect("0755");
    }
    for file in [
        data.join("accounts.json"),
        account.join("notifications.json"),
        account.join("cache-key-store"),
    ] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).expect("0644");
    }
    account
}

fn core_over(data_dir: PathBuf) -> Core {
    let secrets = Arc::new(InsecureFileSecretStore::new(data_dir.join("secrets.json")));
    Core::new(CoreConfig { data_dir, secrets })
}

/// After an upgrade the account list and an account's settings, readable by everyone as an
/// older build wrote them, are made readable by their owner alone as soon as the core starts,
/// where they stayed so until rewritten. A folder the person chose (`SPARTEX_HOME`) keeps its
/// own mode: it may hold other things.
#[cfg(unix)]
#[test]
fn an_older_builds_files_are_made_private_at_start_and_a_chosen_folder_is_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("chosen");
    let account = as_an_older_build_left_it(&data);

    let _core = core_over(data.clone());

    assert_eq!(mode(&data), 0o755, "the chosen folder is the person's");
    for folder in [data.join("accounts"), account.clone()] {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    }
    for file in [
        data.join("accounts.json"),
        account.join("notifications.json"),
        account.join("cache-key-store"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// The app's own folder in the platform's data folder (here under a temporary
/// `XDG_DATA_HOME`, in a process of its own) is made readable by its owner alone too.
#[cfg(target_os = "linux")]
#[test]
fn the_apps_own_data_folder_is_made_private_at_start() {
    let name = "core::tests::the_apps_own_data_folder_is_made_private_at_start";
    if !test_support::in_child() {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().to_str().expect("a UTF-8 path");
        test_support::rerun_in_child(name, &[("XDG_DATA_HOME", home)]);
        return;
    }
    assert!(
        std::env::var_os("SPARTEX_HOME").is_none(),
        "run without SPARTEX_HOME"
    );
    let data = default_data_dir().expect("the platform's");
    assert!(
        data.starts_with(std::env::var_os("XDG_DATA_HOME").expect("set")),
        "{}",
        data.display()
    );
    as_an_older_build_left_it(&data);

    let _core = core_over(data.clone());

    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("accounts.json")), 0o600);
}

/// The caches, by path, whose disk fills as soon as they are started afresh, before what the
/// old one still had to deliver is carried over.
static DISK_FULL_ON_REBUILD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn disk_full_on_rebuild() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    DISK_FULL_ON_REBUILD
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Called by [`opened_with`] on the cache it started afresh: when a test asked, its file may
/// grow no more (SQLite's page limit, as `store::disk_full_tests` and the delivery tests fill
/// the disk), and every write that needs a new page fails as on a full disk.
pub(super) async fn as_the_disk_fills(store: &Store) {
    if !disk_full_on_rebuild()
        .iter()
        .any(|path| path == store.path())
    {
        return;
    }
    store.fill_the_disk_for_tests().await;
}

/// Queues a stop of the demo project named `name` without trying to send it (as a CLI offline
/// leaves it), damages the page where the cache's migrations are kept, and closes the cache:
/// opened again, it must be rebuilt. Its path, its bytes as damaged, and the stop's label.
async fn a_stop_waits_in_a_damaged_cache(
    signed: &Signed,
    name: &str,
) -> (PathBuf, Vec<u8>, String) {
    let store = signed.account.store();
    let page: i64 = sqlx::query_scalar("SELECT rootpage FROM sqlite_master WHERE name = ?")
        .bind("_sqlx_migrations")
        .fetch_one(store.writer_for_tests())
        .await
        .expect("a table of the cache");
    let entry = store.queue_a_stop_for_tests(&signed.project, name).await;
    let path = store.path().to_owned();
    store.close().await;
    // Bytes flipped in the middle of the page (SQLCipher's 4 KiB pages), which then fails its
    // check.
    let mut bytes = std::fs::read(&path).expect("reads the cache");
    let start = (usize::try_from(page).expect("a page number") - 1) * 4096;
    for byte in &mut bytes[start + 100..start + 200] {
        *byte ^= 0x5a;
    }
    std::fs::write(&path, &bytes).expect("damages the page");
    (path, bytes, entry.label)
}

/// The files beside the cache that a rebuild sets aside.
/// The damaged cache at `path` is as it was, in its place, and nothing was set aside beside it.
fn assert_kept_in_place(path: &Path, damaged: &[u8]) {
    assert_eq!(
        std::fs::read(path).expect("reads"),
        damaged,
        "kept as it was"
    );
    assert!(set_aside_beside(path).is_empty(), "kept in its place");
}

fn set_aside_beside(path: &Path) -> Vec<String> {
    std::fs::read_dir(path.parent().expect("its folder"))
        .expect("lists")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".damaged-"))
        .collect()
}

/// The CLI meets a damaged cache while the app has the account open: it does not move the
/// cache from under the app, and says to quit it first, where it deleted the files the app
/// was using. Once nothing else has it open, it is rebuilt and the stop still waits.
#[tokio::test]
async fn a_damaged_cache_is_not_rebuilt_while_another_process_has_it_open() {
    let signed = signed_in().await;
    let (path, damaged, label) = a_stop_waits_in_a_damaged_cache(&signed, "Spring Sale").await;
    // Another process's mark that it has the account open: its own lock on the file.
    let Ok(the_app) = InUse::take(
        &path.with_file_name(IN_USE_FILE),
        Sharing::Shared,
        &OpenHere::default(),
    ) else {
        panic!("the app marks the account open");
    };

    let refused = signed.core.open(None).await.err().expect("refused");
    let said = refused.to_string();
    assert!(
        said.contains("another Spartex Control process") && said.contains("Quit Spartex Control"),
        "{said}"
    );
    assert_kept_in_place(&path, &damaged);

    drop(the_app);
    let reopened = signed.core.open(None).await.expect("rebuilt");
    let waiting = reopened.outbox().await.expect("outbox");
    assert_eq!(
        waiting.iter().map(|e| e.label.as_str()).collect::<Vec<_>>(),
        [label.as_str()]
    );
    assert!(set_aside_beside(&path).is_empty(), "the old cache is gone");
}

/// The disk fills as the damaged cache is rebuilt, before its undelivered stop is carried
/// over: the old cache is kept as it was, and the error names the stop, where the stop was
/// dropped without a word (the old cache deleted, the failure only logged). Signing out asks
/// first; once there is room, the next open rebuilds it with the stop.
#[tokio::test]
async fn a_rebuild_that_cannot_carry_over_keeps_the_old_cache_and_names_what_waits() {
    let signed = signed_in().await;
    // Its label is long: carrying it over needs more pages than the new cache can grow by.
    let name = "Spring Sale ".repeat(1000);
    let (path, damaged, label) = a_stop_waits_in_a_damaged_cache(&signed, &name).await;
    disk_full_on_rebuild().push(path.clone());

    let refused = signed.core.open(None).await.err().expect("not rebuilt");
    match &refused {
        CoreError::Store(StoreError::NotRebuilt {
            kept, undelivered, ..
        }) => {
            assert_eq!(kept, &path);
            assert_eq!(undelivered.as_deref(), Some(std::slice::from_ref(&label)));
        }
        other => panic!("{other:?}"),
    }
    let said = refused.to_string();
    assert!(
        said.contains("could not be rebuilt") && said.contains("with 1 action still to deliver"),
        "{said}"
    );
    assert_kept_in_place(&path, &damaged);
    match signed.core.logout(None, Undelivered::Keep).await {
        Err(CoreError::Undelivered { actions }) => assert_eq!(actions, [label.as_str()]),
        other => panic!("signing out should ask first: {other:?}"),
    }

    disk_full_on_rebuild().clear();
    let reopened = signed.core.open(None).await.expect("rebuilt");
    let waiting = reopened.outbox().await.expect("outbox");
    assert_eq!(
        waiting.iter().map(|e| e.label.as_str()).collect::<Vec<_>>(),
        [label.as_str()]
    );
    assert!(set_aside_beside(&path).is_empty(), "the old cache is gone");
}
