//! The signed-in accounts (server + organisation + person), side by side, each with its own
//! cache file. The list is a small JSON file; tokens and cache keys live in the secret store.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spartex_api::{Tenant, User};

use crate::error::{CoreError, CoreResult};
use crate::store::in_use::{InUse, InUseError, OpenHere, Sharing, IN_USE_FILE};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AccountInfo {
    /// Short and readable, e.g. `acme-ads-oncall`; what `--account` takes.
    pub id: String,
    pub server_url: String,
    pub user: User,
    pub tenant: Tenant,
    pub added_at: DateTime<Utc>,
}

pub struct Registry {
    dir: PathBuf,
    open_here: OpenHere,
}

impl Registry {
    pub fn new(dir: &Path) -> Registry {
        Registry {
            dir: dir.to_owned(),
            open_here: OpenHere::default(),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.join("accounts.json")
    }

    pub fn account_dir(&self, id: &str) -> PathBuf {
        self.dir.join("accounts").join(id)
    }

    pub fn cache_path(&self, id: &str) -> PathBuf {
        self.account_dir(id).join("cache.db")
    }

    /// The file whose advisory lock says the account is open somewhere (see [`InUse`]).
    fn in_use_file(&self, id: &str) -> PathBuf {
        self.account_dir(id).join(IN_USE_FILE)
    }

    /// Marks the account open in this process until the [`InUse`] is dropped: refused while
    /// another process signs it out. Best effort where the file system has no locks.
    pub(crate) fn hold_open(&self, id: &str) -> CoreResult<InUse> {
        match InUse::take(&self.in_use_file(id), Sharing::Shared, &self.open_here) {
            Err(InUseError::Held) => Err(CoreError::Local(format!(
                "`{id}` is being signed out by another Spartex Control process; sign in again \
                 once it is done."
            ))),
            Err(InUseError::Unsupported(error)) => {
                tracing::warn!(%error, account = %id, "could not mark the account open; another process may sign it out meanwhile");
                Ok(InUse::none())
            }
            Ok(held) => Ok(held),
        }
    }

    /// The account for this process alone, to sign it out: refused while another process
    /// (the app, another `spartex` command) has it open, whose cache signing out would wipe.
    pub(crate) fn hold_for_sign_out(&self, id: &str) -> CoreResult<InUse> {
        self.hold_alone(
            id,
            format!("`{id}` is open in this process: close its cache before signing it out."),
            format!(
                "`{id}` is open in another Spartex Control process (the app, or another \
                 `spartex` command), whose cache signing out would wipe under it. Quit \
                 Spartex Control (or the other spartex command) first, then sign out."
            ),
        )
    }

    /// The account for this process alone, or the refusal that says who holds it: `here`
    /// when this process does, `elsewhere` when another does.
    fn hold_alone(&self, id: &str, here: String, elsewhere: String) -> CoreResult<InUse> {
        let file = self.in_use_file(id);
        match InUse::take(&file, Sharing::Alone, &self.open_here) {
            Err(InUseError::Held) if self.open_here.holds(&file) => Err(CoreError::Local(here)),
            Err(InUseError::Held) => Err(CoreError::Local(elsewhere)),
            Err(InUseError::Unsupported(error)) => {
                tracing::warn!(%error, account = %id, "could not check whether another process has the account open");
                Ok(InUse::none())
            }
            Ok(held) => Ok(held),
        }
    }

    /// Makes what an older build left readable by everyone (folders 0755, files 0644: who is
    /// signed in, to which server, their settings) readable by its owner alone: the account
    /// list, the folder of accounts, each account's folder and the files in it, and the data
    /// folder itself when it is this app's own (`own_folder`). A folder the person chose
    /// (`SPARTEX_HOME`) may be shared with other things, and its mode is theirs: it is left as
    /// it is, as [`create_private_dir`] leaves any folder that exists. Best effort: what cannot
    /// be changed is logged, and the app goes on.
    pub(crate) fn keep_private_at_start(&self, own_folder: bool) {
        let warn = |path: &Path, error: std::io::Error| {
            tracing::warn!(path = %path.display(), %error, "could not make this readable by its owner alone");
        };
        if own_folder && self.dir.is_dir() {
            keep_private(&self.dir).unwrap_or_else(|e| warn(&self.dir, e));
        }
        let list = self.file();
        if list.is_file() {
            keep_private_file(&list).unwrap_or_else(|e| warn(&list, e));
        }
        let accounts = self.dir.join("accounts");
        let Ok(folders) = std::fs::read_dir(&accounts) else {
            return;
        };
        keep_private(&accounts).unwrap_or_else(|e| warn(&accounts, e));
        for folder in folders.flatten() {
            let folder = folder.path();
            // Not one that is a link: it may lead anywhere.
            if !std::fs::symlink_metadata(&folder).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            keep_private(&folder).unwrap_or_else(|e| warn(&folder, e));
            for file in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
                let file = file.path();
                if std::fs::symlink_metadata(&file).is_ok_and(|m| m.is_file()) {
                    keep_private_file(&file).unwrap_or_else(|e| warn(&file, e));
                }
            }
        }
    }

    /// The account for this process alone, to start its cache afresh (damaged, or its key
    /// gone): refused while another process (the app, another `spartex` command) has it open,
    /// whose cache would be moved from under it.
    pub(crate) fn hold_to_rebuild(&self, id: &str) -> CoreResult<InUse> {
        self.hold_alone(
            id,
            format!(
                "The local cache of `{id}` cannot be used and must be rebuilt from the server, \
                 but it is open elsewhere in this process: close it first."
            ),
            format!(
                "The local cache of `{id}` cannot be used and must be rebuilt from the server, \
                 but another Spartex Control process (the app, or another `spartex` command) \
                 has it open, and rebuilding it would pull it from under that process. Quit \
                 Spartex Control (or the other spartex command) first, then try again."
            ),
        )
    }

    pub fn list(&self) -> CoreResult<Vec<AccountInfo>> {
        match std::fs::read(self.file()) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                CoreError::Local(format!(
                    "The account list at {} is damaged ({e}). Move it aside and sign in again.",
                    self.file().display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(CoreError::Local(format!(
                "Could not read {}: {e}",
                self.file().display()
            ))),
        }
    }

    /// Picks an account: by id, or the only one.
    pub fn select(&self, selector: Option<&str>) -> CoreResult<AccountInfo> {
        let accounts = self.list()?;
        match selector {
            Some(id) => accounts
                .into_iter()
                .find(|a| a.id == id || format!("{}@{}", a.user.email, a.server_url) == id)
                .ok_or_else(|| CoreError::UnknownAccount(id.to_owned())),
            None => match accounts.len() {
                0 => Err(CoreError::NoAccount),
                1 => Ok(accounts.into_iter().next().ok_or(CoreError::NoAccount)?),
                _ => Err(CoreError::AmbiguousAccount(
                    accounts
                        .iter()
                        .map(|a| a.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )),
            },
        }
    }

    /// The id for a new sign-in: the existing one for the same server and person, else a fresh one.
    pub fn id_for(&self, server_url: &str, user: &User, tenant: &Tenant) -> CoreResult<String> {
        let accounts = self.list()?;
        if let Some(existing) = accounts
            .iter()
            .find(|a| a.server_url == server_url && a.user.id == user.id)
        {
            return Ok(existing.id.clone());
        }
        let local = user.email.split('@').next().unwrap_or("user");
        let base: String = format!("{}-{local}", tenant.slug)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let mut id = base.clone();
        let mut n = 2;
        while accounts.iter().any(|a| a.id == id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        Ok(id)
    }

    pub fn upsert(&self, info: &AccountInfo) -> CoreResult<()> {
        let mut accounts = self.list()?;
        accounts.retain(|a| a.id != info.id);
        accounts.push(info.clone());
        self.write(&accounts)
    }

    pub fn remove(&self, id: &str) -> CoreResult<()> {
        let mut accounts = self.list()?;
        accounts.retain(|a| a.id != id);
        self.write(&accounts)
    }

    fn write(&self, accounts: &[AccountInfo]) -> CoreResult<()> {
        let local = |e: std::io::Error| {
            CoreError::Local(format!(
                "Could not save the account list in {}: {e}",
                self.dir.display()
            ))
        };
        create_private_dir(&self.dir).map_err(local)?;
        let json =
            serde_json::to_vec_pretty(accounts).map_err(|e| CoreError::Local(e.to_string()))?;
        write_private(&self.file(), &json).map_err(local)
    }
}

pub(crate) use crate::store::in_use::create_private_dir;

/// Makes `dir` (one of this app's own, such as an account's folder) readable by its owner alone,
/// as an older build may have left it readable by everyone.
pub(crate) fn keep_private(dir: &Path) -> std::io::Result<()> {
    restrict(dir, 0o700)
}

/// Makes the file at `path` (one of this app's own) readable by its owner alone (0600 on Unix),
/// as an older build may have written it readable by everyone.
fn keep_private_file(path: &Path) -> std::io::Result<()> {
    restrict(path, 0o600)
}

/// Gives `path` the `mode` (Unix) when others may read or write it now.
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(path)?.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

/// Replaces the file at `path` with `bytes`, readable by its owner alone (0600 on Unix), whole
/// or not at all: written to a temporary file of this process beside it, synced, then renamed
/// over it. Each save writes a temporary file of its own (named by process and by save), so two
/// saves at once, in two processes or in one, never write into each other's.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    /// Numbers this process's saves.
    static SAVES: AtomicU64 = AtomicU64::new(0);
    let save = SAVES.fetch_add(1, Ordering::Relaxed);
    let mut temp_name = path.file_name().unwrap_or_default().to_owned();
    temp_name.push(format!(".{}.{save}.tmp", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = (|| {
        let mut file = crate::store::in_use::private_file_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written?;
    // The rename itself reaches the disk with the folder's entry (Unix; best effort).
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Saves at once in one process (the app saving the account list and a setting together)
    /// each write a temporary file of their own: every save succeeds and the file holds one of
    /// them whole, where two saves truncated one temporary file and one failed to rename it.
    #[test]
    fn saves_at_once_in_one_process_each_succeed_and_one_is_kept_whole() {
        const THREADS: usize = 16;
        const SAVES: usize = 20;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("accounts.json");
        let contents: Vec<Vec<u8>> = (0..THREADS)
            .map(|thread| format!("{thread:02}").repeat(32 * 1024).into_bytes())
            .collect();
        let start = std::sync::Barrier::new(THREADS);
        std::thread::scope(|scope| {
            let saving: Vec<_> = contents
                .iter()
                .map(|bytes| {
                    let (path, start) = (&path, &start);
                    scope.spawn(move || {
                        start.wait();
                        (0..SAVES)
                            .map(|_| write_private(path, bytes))
                            .collect::<std::io::Result<Vec<()>>>()
                    })
                })
                .collect();
            for saved in saving {
                saved
                    .join()
                    .expect("no panic")
                    .expect("every save succeeds");
            }
        });
        let kept = std::fs::read(&path).expect("reads");
        assert!(contents.contains(&kept), "a save's bytes, whole");
        let left = crate::test_support::temporary_files_in(dir.path());
        assert!(left.is_empty(), "{left:?}");
    }
}
