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
        let file = self.in_use_file(id);
        match InUse::take(&file, Sharing::Alone, &self.open_here) {
            Err(InUseError::Held) if self.open_here.holds(&file) => Err(CoreError::Local(format!(
                "`{id}` is open in this process: close its cache before signing it out."
            ))),
            Err(InUseError::Held) => Err(CoreError::Local(format!(
                "`{id}` is open in another Spartex Control process (the app, or another \
                 `spartex` command), whose cache signing out would wipe under it. Quit \
                 Spartex Control (or the other spartex command) first, then sign out."
            ))),
            Err(InUseError::Unsupported(error)) => {
                tracing::warn!(%error, account = %id, "could not check whether another process has the account open");
                Ok(InUse::none())
            }
            Ok(held) => Ok(held),
        }
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
        std::fs::create_dir_all(&self.dir).map_err(local)?;
        let temp = self.dir.join("accounts.json.tmp");
        let json =
            serde_json::to_vec_pretty(accounts).map_err(|e| CoreError::Local(e.to_string()))?;
        std::fs::write(&temp, json).map_err(local)?;
        std::fs::rename(&temp, self.file()).map_err(local)
    }
}
