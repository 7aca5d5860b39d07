//! Where session tokens and the cache key live: the OS secret store (Secret Service on Linux,
//! Keychain on macOS, Credential Manager on Windows), or, only when the user opts in with
//! `--insecure-file-secrets`, a plain file. Nothing falls back to the file by itself.
//!
//! The calls block (D-Bus round trips, file I/O): async callers wrap them in
//! `tokio::task::spawn_blocking`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use spartex_api::Secret;

/// The service name entries are filed under in the OS secret store.
pub const DEFAULT_SERVICE: &str = "spartex-control";

/// A store of secrets by key (e.g. `session:<account>`, `cache-key:<account>`).
pub trait SecretStore: Send + Sync {
    /// The secret under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> Result<Option<Secret>, SecretError>;
    /// Stores `value` under `key`, replacing what was there.
    fn set(&self, key: &str, value: &Secret) -> Result<(), SecretError>;
    /// Removes `key`; removing a key that is not there succeeds.
    fn delete(&self, key: &str) -> Result<(), SecretError>;
    /// Which store this is, in words a person can act on ("the OS keyring (service
    /// `spartex-control`)", "the file ~/.local/share/…/secrets.json"): two stores that name
    /// themselves alike hold the same secrets.
    fn name(&self) -> String;
}

/// Why a secret could not be read or written. No variant ever holds a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No secret store answers: no Secret Service on the session bus, or no session bus.
    #[error("cannot reach the OS secret store: {hint}")]
    Unavailable { hint: String },
    /// The store is there but locked (or has no unlocked default keyring).
    #[error(
        "the OS keyring is locked: unlock it (log in to your desktop session, or open Passwords \
         and Keys, KWallet Manager or Keychain Access) and try again"
    )]
    Locked,
    /// The `--insecure-file-secrets` file cannot be read or written.
    #[error(
        "cannot use the secrets file {}: {reason}; fix or remove that file, or leave out \
         --insecure-file-secrets to use the OS keyring",
        path.display()
    )]
    File { path: PathBuf, reason: String },
    #[error("the OS secret store failed: {0}")]
    Other(String),
}

const START_KEYRING: &str = "start or unlock your keyring (on Linux gnome-keyring, or KWallet \
    with its Secret Service interface turned on; Keychain on macOS) and try again; the spartex \
    command can instead keep secrets unencrypted in a file with --insecure-file-secrets";

/// The OS secret store through the `keyring` crate: each key is an entry of `service`.
#[derive(Debug, Clone)]
pub struct OsSecretStore {
    service: String,
}

impl OsSecretStore {
    /// A store whose entries are filed under `service`; the app uses [`DEFAULT_SERVICE`],
    /// tests a name of their own.
    pub fn new(service: impl Into<String>) -> Self {
        OsSecretStore {
            service: service.into(),
        }
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, key).map_err(from_keyring)
    }
}

impl Default for OsSecretStore {
    fn default() -> Self {
        OsSecretStore::new(DEFAULT_SERVICE)
    }
}

impl SecretStore for OsSecretStore {
    fn name(&self) -> String {
        format!("the OS keyring (service `{}`)", self.service)
    }

    fn get(&self, key: &str) -> Result<Option<Secret>, SecretError> {
        match self.entry(key)?.get_password() {
            Ok(value) => Ok(Some(Secret::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(from_keyring(err)),
        }
    }

    fn set(&self, key: &str, value: &Secret) -> Result<(), SecretError> {
        self.entry(key)?
            .set_password(value.expose())
            .map_err(from_keyring)
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(err) => Err(from_keyring(err)),
        }
    }
}

/// Maps a `keyring` error to what the user can do about it. The platform's error text says
/// which situation it is (the Secret Service backend reports D-Bus errors only as text); it
/// never holds a secret, and it is logged at debug level.
fn from_keyring(err: keyring::Error) -> SecretError {
    const NO_SERVICE: &[&str] = &[
        "ServiceUnknown",
        "NameHasNoOwner",
        "was not provided by any .service files",
        "No DBus session or Secret Service provider found",
        // The bus tried to start a Secret Service and it failed.
        "Process org.freedesktop.secrets",
    ];
    const NO_BUS: &[&str] = &[
        "Failed to connect to socket",
        "autolaunch",
        "DBUS_SESSION_BUS_ADDRESS",
        "Connection refused",
        "No such file or directory",
    ];
    tracing::debug!(error = %err, "secret store error");
    match err {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner)
            if NO_BUS.iter().any(|sign| inner.to_string().contains(sign)) =>
        {
            SecretError::Unavailable {
                hint: format!(
                    "there is no D-Bus session bus ({inner}): run from a desktop session, \
                     {START_KEYRING}"
                ),
            }
        }
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner)
            if NO_SERVICE
                .iter()
                .any(|sign| inner.to_string().contains(sign)) =>
        {
            SecretError::Unavailable {
                hint: format!(
                    "no Secret Service answers on the D-Bus session bus ({inner}): \
                     {START_KEYRING}"
                ),
            }
        }
        keyring::Error::NoStorageAccess(_) => SecretError::Locked,
        keyring::Error::PlatformFailure(inner) if inner.to_string().contains("locked") => {
            SecretError::Locked
        }
        keyring::Error::BadEncoding(_) => SecretError::Other(
            "a stored value is not UTF-8 text; sign out and in again to replace it".into(),
        ),
        keyring::Error::Ambiguous(matches) => SecretError::Other(format!(
            "{} entries match one key; remove the duplicates in your keyring manager",
            matches.len()
        )),
        other => SecretError::Other(other.to_string()),
    }
}

/// Secrets in a plain JSON file, readable by the owner only (0600 on unix), replaced
/// atomically on each change. Unencrypted: only for the explicit `--insecure-file-secrets`
/// opt-in on machines without a keyring. Writers in one process are serialised; two processes
/// writing at once may lose one change.
#[derive(Debug)]
pub struct InsecureFileSecretStore {
    path: PathBuf,
    lock: Mutex<()>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SecretsFile {
    secrets: BTreeMap<String, Secret>,
}

impl InsecureFileSecretStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        tracing::warn!(
            path = %path.display(),
            "secrets are stored unencrypted at {} (--insecure-file-secrets)",
            path.display()
        );
        InsecureFileSecretStore {
            path,
            lock: Mutex::new(()),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file_error(&self, reason: impl Into<String>) -> SecretError {
        SecretError::File {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn read(&self) -> Result<SecretsFile, SecretError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(SecretsFile::default())
            }
            Err(err) => return Err(self.file_error(err.to_string())),
        };
        // serde_json quotes the offending value in some messages: report the position only.
        serde_json::from_str(&text).map_err(|err| {
            self.file_error(format!(
                "it is not a secrets file (bad JSON at line {} column {})",
                err.line(),
                err.column()
            ))
        })
    }

    /// Writes `file` to a temporary file beside the target, then renames it over the target.
    fn write(&self, file: &SecretsFile) -> Result<(), SecretError> {
        let io = |err: std::io::Error| self.file_error(err.to_string());
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        crate::store::in_use::create_private_dir(dir).map_err(io)?;
        let name = self
            .path
            .file_name()
            .ok_or_else(|| self.file_error("the path names no file"))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{}.tmp", std::process::id()));
        let temp = dir.join(temp_name);
        let json = serde_json::to_vec_pretty(file)
            .map_err(|err| self.file_error(format!("cannot encode the file: {err}")))?;
        let written = (|| {
            let mut out = open_private(&temp)?;
            out.write_all(&json)?;
            out.sync_all()?;
            std::fs::rename(&temp, &self.path)
        })();
        if let Err(err) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(io(err));
        }
        Ok(())
    }

    fn change(&self, apply: impl FnOnce(&mut SecretsFile) -> bool) -> Result<(), SecretError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| self.file_error("an earlier write panicked"))?;
        let mut file = self.read()?;
        if apply(&mut file) {
            self.write(&file)?;
        }
        Ok(())
    }
}

impl SecretStore for InsecureFileSecretStore {
    fn name(&self) -> String {
        format!("the file {} (--insecure-file-secrets)", self.path.display())
    }

    fn get(&self, key: &str) -> Result<Option<Secret>, SecretError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| self.file_error("an earlier write panicked"))?;
        Ok(self.read()?.secrets.remove(key))
    }

    fn set(&self, key: &str, value: &Secret) -> Result<(), SecretError> {
        self.change(|file| {
            file.secrets.insert(key.to_owned(), value.clone());
            true
        })
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.change(|file| file.secrets.remove(key).is_some())
    }
}

/// A new file readable by its owner alone (0600 on Unix), refused if one is there.
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    crate::store::in_use::private_file_options()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support;

    fn io_error(message: &str) -> Box<dyn std::error::Error + Send + Sync> {
        Box::new(std::io::Error::other(message.to_owned()))
    }

    #[test]
    fn the_file_store_round_trips_and_deletes() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("config").join("secrets.json");
        let store = InsecureFileSecretStore::new(&path);
        assert_eq!(store.get("session").expect("an absent file reads"), None);
        store
            .delete("session")
            .expect("deleting from an absent file");

        store
            .set("session", &Secret::new("tok-1"))
            .expect("set session");
        store
            .set("cache-key", &Secret::new("key-1"))
            .expect("set cache key");
        store
            .set("session", &Secret::new("tok-2"))
            .expect("replace session");

        let reopened = InsecureFileSecretStore::new(&path);
        assert_eq!(
            reopened.get("session").expect("get session"),
            Some(Secret::new("tok-2"))
        );
        assert_eq!(
            reopened.get("cache-key").expect("get cache key"),
            Some(Secret::new("key-1"))
        );

        reopened.delete("session").expect("delete session");
        reopened.delete("session").expect("delete it again");
        assert_eq!(store.get("session").expect("get deleted"), None);
        assert_eq!(
            store.get("cache-key").expect("the other key stays"),
            Some(Secret::new("key-1"))
        );

        let names: Vec<_> = std::fs::read_dir(path.parent().expect("a parent"))
            .expect("list the directory")
            .map(|entry| entry.expect("an entry").file_name())
            .collect();
        assert_eq!(names, ["secrets.json"], "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_store_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("new").join("secrets.json");
        let store = InsecureFileSecretStore::new(&path);
        store.set("session", &Secret::new("tok")).expect("set");
        let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().expect("a parent")), 0o700);
        store.set("other", &Secret::new("tok")).expect("set again");
        assert_eq!(mode(&path), 0o600, "still private after a rewrite");
    }

    #[test]
    fn a_broken_file_is_reported_without_its_contents() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, r#"{"secrets": "hunter2"}"#).expect("write a broken file");
        let err = InsecureFileSecretStore::new(&path)
            .get("session")
            .expect_err("a broken file does not read");
        assert!(matches!(err, SecretError::File { .. }), "{err:?}");
        let message = err.to_string();
        assert!(!message.contains("hunter2"), "{message}");
        assert!(message.contains("secrets.json"), "{message}");
    }

    #[test]
    fn no_secret_service_is_unavailable_with_a_hint() {
        let err = from_keyring(keyring::Error::PlatformFailure(io_error(
            "DBus error: The name org.freedesktop.secrets was not provided by any .service files",
        )));
        let SecretError::Unavailable { hint } = &err else {
            panic!("expected Unavailable, got {err:?}");
        };
        for words in [
            "gnome-keyring",
            "KWallet",
            "Keychain",
            "--insecure-file-secrets",
        ] {
            assert!(hint.contains(words), "{words} missing from: {hint}");
        }
        let no_bus = from_keyring(keyring::Error::PlatformFailure(io_error(
            "DBus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11",
        )));
        assert!(
            matches!(&no_bus, SecretError::Unavailable { hint } if hint.contains("no D-Bus session bus")),
            "{no_bus:?}"
        );
    }

    #[test]
    fn a_locked_keyring_says_to_unlock_it() {
        let err = from_keyring(keyring::Error::NoStorageAccess(io_error(
            "Secret Service: object locked",
        )));
        assert_eq!(err, SecretError::Locked);
        assert!(err.to_string().contains("unlock"));
    }

    #[test]
    fn other_keyring_errors_never_show_the_value() {
        let err = from_keyring(keyring::Error::BadEncoding(b"hunter2\xff".to_vec()));
        assert!(matches!(err, SecretError::Other(_)), "{err:?}");
        assert!(!format!("{err} {err:?}").contains("hunter2"));
        let err = from_keyring(keyring::Error::PlatformFailure(io_error(
            "Crypto error: bad",
        )));
        assert_eq!(
            err,
            SecretError::Other("Platform secure storage failure: Crypto error: bad".into())
        );
    }

    /// The real keyring backend with no session bus reports `Unavailable`. Runs itself again
    /// in a child process whose bus address points nowhere, so no other test sees the change.
    #[test]
    fn the_os_store_without_a_session_bus_is_unavailable() {
        if !test_support::in_child() {
            test_support::rerun_in_child(
                "secret_store::tests::the_os_store_without_a_session_bus_is_unavailable",
                &[("DBUS_SESSION_BUS_ADDRESS", test_support::NOWHERE_BUS)],
            );
            return;
        }
        let err = OsSecretStore::new("spartex-control-test")
            .get("session")
            .expect_err("no bus, no secret store");
        let SecretError::Unavailable { hint } = &err else {
            panic!("expected Unavailable, got {err:?}");
        };
        assert!(hint.contains("--insecure-file-secrets"), "{hint}");
        println!("{err}");
    }

    /// A value goes through the real Secret Service (gnome-keyring under scripts/test-env.sh)
    /// and back.
    #[test]
    fn the_os_store_round_trips_through_the_secret_service() {
        if !test_support::desktop_session() {
            return;
        }
        let service = format!("spartex-control-test-{}", uuid::Uuid::new_v4().simple());
        let store = OsSecretStore::new(&service);
        let run = || -> Result<(), SecretError> {
            assert_eq!(store.get("session")?, None);
            store.set("session", &Secret::new("tok-1"))?;
            assert_eq!(store.get("session")?, Some(Secret::new("tok-1")));
            store.set("session", &Secret::new("tok-2 ünïcødé"))?;
            assert_eq!(store.get("session")?, Some(Secret::new("tok-2 ünïcødé")));
            // Another store of the same service sees it: it is in the keyring, not in memory.
            assert_eq!(
                OsSecretStore::new(&service).get("session")?,
                Some(Secret::new("tok-2 ünïcødé"))
            );
            store.delete("session")?;
            assert_eq!(store.get("session")?, None);
            store.delete("session")?;
            Ok(())
        };
        if let Err(err) = run() {
            panic!("the Secret Service round trip failed: {err}");
        }
    }
}
