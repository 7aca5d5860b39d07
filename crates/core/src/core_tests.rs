//! [`Core`] over the data folder an older build, another process or a damaged disk left.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::secret_store::InsecureFileSecretStore;
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
