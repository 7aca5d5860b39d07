//! The entry point of every face: where the data lives, which secret store holds the tokens,
//! and the accounts signed in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};

use spartex_api::RegisterDeviceRequest;
use tokio::sync::Notify;

use crate::account::Account;
use crate::devices::DeviceRecord;
use crate::error::{CoreError, CoreResult};
use crate::http::HttpClient;
use crate::notify::NotificationPrefs;
use crate::registry::{create_private_dir, keep_private, write_private, AccountInfo, Registry};
use crate::secret_store::{InsecureFileSecretStore, OsSecretStore, SecretStore};
use crate::session::{blocking_secret, cache_key_key, Session};
use crate::settings::{local_time_zone, PrefsFiles};
use crate::store::{new_cache_key, Salvaged, Store, StoreError};
use crate::Secret;

/// The secret store's service name in the OS keychain.
pub const SECRET_SERVICE: &str = "spartex-control";

/// Files the OS keychain entries under another service name instead of [`SECRET_SERVICE`]:
/// a second profile on one machine, or tests that share one keyring side by side.
pub const SECRET_SERVICE_VAR: &str = "SPARTEX_SECRET_SERVICE";

#[derive(Clone)]
pub struct CoreConfig {
    pub data_dir: PathBuf,
    pub secrets: Arc<dyn SecretStore>,
}

impl CoreConfig {
    /// The platform's data folder (or `SPARTEX_HOME`), tokens in the OS secret store under
    /// [`SECRET_SERVICE`] (or `SPARTEX_SECRET_SERVICE`).
    pub fn os_default() -> CoreResult<CoreConfig> {
        let service = std::env::var(SECRET_SERVICE_VAR)
            .ok()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(|| SECRET_SERVICE.to_owned());
        Ok(CoreConfig {
            data_dir: default_data_dir()?,
            secrets: Arc::new(OsSecretStore::new(service)),
        })
    }

    /// Tokens in a plain file beside the data: only on explicit request, and it warns.
    pub fn insecure_file_secrets(data_dir: PathBuf) -> CoreConfig {
        let secrets = Arc::new(InsecureFileSecretStore::new(
            data_dir.join("insecure-secrets.json"),
        ));
        CoreConfig { data_dir, secrets }
    }
}

pub fn default_data_dir() -> CoreResult<PathBuf> {
    if let Some(home) = std::env::var_os("SPARTEX_HOME") {
        return Ok(PathBuf::from(home));
    }
    platform_data_dir().ok_or_else(|| {
        CoreError::Local(
            "No data folder on this system; set SPARTEX_HOME to a folder for the cache.".into(),
        )
    })
}

/// The app's own folder in the platform's data folder, without `SPARTEX_HOME`.
fn platform_data_dir() -> Option<PathBuf> {
    dirs::data_local_dir().map(|dir| dir.join("spartex-control"))
}

/// What signing out does with actions the server has not taken yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Undelivered {
    /// Tries them once more, and refuses to sign out while any still waits.
    Keep,
    /// Drops them with the cache: the person chose to.
    Discard,
}

impl Undelivered {
    /// [`Undelivered::Discard`] when the person said to sign out anyway.
    pub fn discarded_if(discard: bool) -> Undelivered {
        if discard {
            Undelivered::Discard
        } else {
            Undelivered::Keep
        }
    }
}

/// One signed-in account's push record, with a session of its own.
struct PushRecord {
    info: AccountInfo,
    session: Session,
    record: DeviceRecord,
}

/// The accounts an action could not be done for, each with why.
pub type NotReached = Vec<(AccountInfo, CoreError)>;

pub struct Core {
    config: CoreConfig,
    registry: Registry,
    /// The accounts this core opened, by id: a save of their notification settings pokes
    /// them, so the settings leave for the server at once.
    settings_wakeups: std::sync::Mutex<HashMap<String, Vec<Weak<Notify>>>>,
}

impl Core {
    /// Also makes the data folder's files, and the folder when it is the app's own (the
    /// platform's, not one chosen with `SPARTEX_HOME`), readable by their owner alone, as an
    /// older build may have left them readable by everyone.
    pub fn new(config: CoreConfig) -> Core {
        let registry = Registry::new(&config.data_dir);
        registry.keep_private_at_start(platform_data_dir().as_deref() == Some(&config.data_dir));
        Core {
            config,
            registry,
            settings_wakeups: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn account(&self, info: AccountInfo, session: Session, store: Store) -> Account {
        let wakeup = Arc::new(Notify::new());
        let mut wakeups = self
            .settings_wakeups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let list = wakeups.entry(info.id.clone()).or_default();
        list.retain(|w| w.strong_count() > 0);
        list.push(Arc::downgrade(&wakeup));
        let dir = self.registry.account_dir(&info.id);
        Account::new(info, session, store, &dir, wakeup)
    }

    pub fn data_dir(&self) -> &Path {
        &self.config.data_dir
    }

    pub fn accounts(&self) -> CoreResult<Vec<AccountInfo>> {
        self.registry.list()
    }

    /// Signs in and opens the account (a second sign-in of the same person replaces the first).
    pub async fn login(
        &self,
        server_url: &str,
        email: &str,
        password: &Secret,
    ) -> CoreResult<Account> {
        let api = HttpClient::new(server_url)?;
        api.refuse_plain_http()?;
        let pair = Session::login(&api, email.trim(), password).await?;
        let id = self.registry.id_for(api.base(), &pair.user, &pair.tenant)?;
        // The cache first: one this run may not open (its key in another secret store) refuses
        // the sign-in before its tokens or the account are kept anywhere.
        let store = match self.open_cache(&id).await {
            Ok(store) => store,
            Err(refused) => {
                Session::revoke_unkept(&api, &pair).await;
                return Err(refused);
            }
        };
        let session = Session::new(&id, api.clone(), self.config.secrets.clone());
        if let Err(unsaved) = session.save(&pair).await {
            store.close().await;
            return Err(unsaved);
        }
        let info = AccountInfo {
            id,
            server_url: api.base().to_owned(),
            user: pair.user.clone(),
            tenant: pair.tenant.clone(),
            added_at: chrono::Utc::now(),
        };
        self.registry.upsert(&info)?;
        let account = self.account(info, session, store);
        account
            .settings()
            .reconcile_at_sign_in(local_time_zone())
            .await;
        Ok(account)
    }

    /// Opens an account by id, or the only one.
    pub async fn open(&self, selector: Option<&str>) -> CoreResult<Account> {
        let info = self.registry.select(selector)?;
        let session = self.session_of(&info)?;
        let store = self.open_cache(&info.id).await?;
        Ok(self.account(info, session, store))
    }

    /// Takes this install off the server's push list for every account signed in here: the
    /// phone may no longer show notifications, and the escalation ladder must not count on it
    /// for any organisation, the one shown or another. Those the server could not be asked for
    /// are answered with why (their record is kept, and the next registration tries again).
    pub async fn unregister_push_devices_of_every_account(&self) -> CoreResult<NotReached> {
        let (records, mut not_reached) = self.push_records()?;
        let each = records.into_iter().map(|each| async move {
            let unregistered = each.record.unregister(&each.session).await;
            unregistered.err().map(|error| (each.info, error))
        });
        not_reached.extend(
            futures_util::future::join_all(each)
                .await
                .into_iter()
                .flatten(),
        );
        Ok(not_reached)
    }

    /// Registers this install's push address for every account signed in here but `shown`,
    /// which registers it itself (and whose record only its own registration writes): after
    /// notifications were turned on again, every organisation pages the phone again, not only
    /// the one shown. (The same address registered within a day asks nothing of the server.)
    /// Those that could not be registered are answered with why.
    pub async fn register_push_device_for_every_account(
        &self,
        request: &RegisterDeviceRequest,
        shown: &str,
    ) -> CoreResult<NotReached> {
        let (mut records, mut not_reached) = self.push_records()?;
        records.retain(|each| each.info.id != shown);
        let now = chrono::Utc::now();
        let each = records.into_iter().map(|each| async move {
            let registered = (each.record)
                .register(&each.session, request.clone(), now)
                .await;
            registered.err().map(|error| (each.info, error))
        });
        not_reached.extend(
            futures_util::future::join_all(each)
                .await
                .into_iter()
                .flatten(),
        );
        Ok(not_reached)
    }

    /// A session for the signed-in account `info`, its tokens read from the secret store.
    fn session_of(&self, info: &AccountInfo) -> CoreResult<Session> {
        let api = HttpClient::new(&info.server_url)?;
        Ok(Session::new(&info.id, api, self.config.secrets.clone()))
    }

    /// Every signed-in account's push record, each with a session of its own (asked of the
    /// server at once by the callers); an account whose server address no longer reads is
    /// answered with why.
    fn push_records(&self) -> CoreResult<(Vec<PushRecord>, NotReached)> {
        let mut records = Vec::new();
        let mut not_reached = Vec::new();
        for info in self.registry.list()? {
            match self.session_of(&info) {
                Ok(session) => {
                    let record = DeviceRecord::new(&self.registry.account_dir(&info.id));
                    records.push(PushRecord {
                        info,
                        session,
                        record,
                    });
                }
                Err(error) => not_reached.push((info, error)),
            }
        }
        Ok((records, not_reached))
    }

    /// Unregisters this install's push device (best effort, for a few seconds at most: offline
    /// it signs out anyway), revokes the session, wipes the cache and then its key, and forgets
    /// the account. Stop the account's tasks ([`crate::Running::stop`]) and close its cache
    /// ([`Store::close`]) first.
    ///
    /// Refused, before anything is done, while another process (the app, another `spartex`
    /// command) has the account open: its cache would be wiped under it.
    ///
    /// Actions the server has not taken yet would be wiped with the cache: with
    /// [`Undelivered::Keep`] they are tried once more, and any still waiting refuse the sign-out
    /// ([`CoreError::Undelivered`], naming them), for the person to decide.
    pub async fn logout(
        &self,
        selector: Option<&str>,
        undelivered: Undelivered,
    ) -> CoreResult<AccountInfo> {
        let info = self.registry.select(selector)?;
        // Asked at once, before the last try to deliver, and held from after it to the end.
        drop(self.registry.hold_for_sign_out(&info.id)?);
        if undelivered == Undelivered::Keep {
            match self.open(Some(&info.id)).await {
                Ok(account) => {
                    let delivered = account.deliver_before_signing_out().await;
                    account.store().close().await;
                    delivered?;
                }
                // A newer build's cache, or one that could not be rebuilt: this run cannot
                // deliver what it holds, but names it.
                Err(CoreError::Store(
                    StoreError::NewerVersion {
                        undelivered: Some(actions),
                        ..
                    }
                    | StoreError::NotRebuilt {
                        undelivered: Some(actions),
                        ..
                    },
                )) => {
                    if !actions.is_empty() {
                        return Err(CoreError::Undelivered { actions });
                    }
                }
                Err(error) => return Err(error),
            }
        }
        let signing_out = self.registry.hold_for_sign_out(&info.id)?;
        let session = self.session_of(&info)?;
        DeviceRecord::new(&self.registry.account_dir(&info.id))
            .unregister_on_sign_out(&session)
            .await;
        session.logout().await?;
        // The folder before the key: a folder that could not be wiped keeps a cache its key
        // still opens, where the key gone first left a cache nobody could read.
        let dir = self.registry.account_dir(&info.id);
        // Windows deletes no file that is open: the lock goes first there.
        #[cfg(windows)]
        drop(signing_out);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .map_err(|e| CoreError::Local(format!("Could not wipe {}: {e}", dir.display())))?;
        }
        let key = cache_key_key(&info.id);
        blocking_secret(&self.config.secrets, move |store| store.delete(&key)).await?;
        self.registry.remove(&info.id)?;
        #[cfg(not(windows))]
        drop(signing_out);
        Ok(info)
    }

    /// The cache with its key from the secret store. A cache whose key is gone, that its key
    /// cannot read, or that is damaged, is started afresh: the next sync rebuilds it from the
    /// server. What it still had to deliver waits again when it can be read; else the person is
    /// told, with an outcome, that it was lost. One whose key another store holds (signed in
    /// with the OS keyring, opened with `--insecure-file-secrets`) is refused, naming that
    /// store: starting it afresh would drop the actions it still has to deliver. One a newer
    /// build wrote is refused and kept ([`StoreError::NewerVersion`]).
    ///
    /// Starting afresh is done with the account held by this process alone, and refused while
    /// another has it open (its cache would be moved from under it). The old cache is moved
    /// aside meanwhile, and deleted only once the new one is open with what it still had to
    /// deliver; when that fails, it is put back and the error names what it still has to
    /// deliver ([`StoreError::NotRebuilt`]).
    async fn open_cache(&self, account_id: &str) -> CoreResult<Store> {
        let path = self.registry.cache_path(account_id);
        // The account's folder (`accounts/<id>`) and the list of them: this app's own, readable
        // by their owner alone, as an older build may not have left them.
        if let Some(parent) = path.parent() {
            create_private_dir(parent)
                .and_then(|()| parent.parent().map_or(Ok(()), keep_private))
                .and_then(|()| keep_private(parent))
                .map_err(|e| {
                    CoreError::Local(format!("Could not create {}: {e}", parent.display()))
                })?;
        }
        // Before anything of the folder is read: a sign-out under way in another process wipes it.
        let mut in_use = self.registry.hold_open(account_id)?;
        let store = match self.open_as_it_is(account_id, &path).await? {
            Opening::Opened(store) => store,
            Opening::StartAfresh { .. } => {
                drop(in_use);
                let alone = self.registry.hold_to_rebuild(account_id)?;
                // Looked at again under the hold: another process may have rebuilt it meanwhile.
                let store = match self.open_as_it_is(account_id, &path).await? {
                    Opening::Opened(store) => store,
                    Opening::StartAfresh { key, why } => {
                        self.start_afresh(account_id, &path, key, &why).await?
                    }
                };
                drop(alone);
                in_use = match self.registry.hold_open(account_id) {
                    Ok(held) => held,
                    Err(error) => {
                        store.close().await;
                        return Err(error);
                    }
                };
                store
            }
        };
        store.hold(in_use);
        Ok(store)
    }

    /// The cache as it is, or that it must be started afresh; nothing is changed but a missing
    /// key made for a cache that does not exist yet.
    async fn open_as_it_is(&self, account_id: &str, path: &Path) -> CoreResult<Opening> {
        let lookup = cache_key_key(account_id);
        let record = self.key_store_record(account_id);
        let here = self.config.secrets.name();
        let key =
            match blocking_secret(&self.config.secrets, move |store| store.get(&lookup)).await? {
                Some(key) => {
                    record.keep(&here);
                    key
                }
                None => {
                    let elsewhere = record.read().filter(|kept| *kept != here && path.exists());
                    if let Some(kept_in) = elsewhere {
                        return Err(CoreError::Local(format!(
                            "The cache of `{account_id}` was locked with a key kept in \
                         {kept_in}, not in {here}, which this run uses. Run as the \
                         account was signed in (with or without --insecure-file-secrets), \
                         or sign it out with `spartex logout --account {account_id} \
                         --discard-undelivered`, losing what it has not delivered."
                        )));
                    }
                    // A cache file whose key is gone: whatever it had not delivered is lost with it.
                    if path.exists() {
                        return Ok(Opening::StartAfresh {
                            key: None,
                            why: "its key is gone".into(),
                        });
                    }
                    // What a cache that is gone left beside it.
                    remove_cache_files(path)?;
                    self.new_cache_key(account_id).await?
                }
            };
        match Store::open(path, &key).await {
            Ok(store) => Ok(Opening::Opened(store)),
            Err(error @ (StoreError::Unreadable { .. } | StoreError::Damaged { .. })) => {
                Ok(Opening::StartAfresh {
                    key: Some(key),
                    why: error.to_string(),
                })
            }
            Err(other) => Err(other.into()),
        }
    }

    /// A new key for the account's cache, kept in the secret store.
    async fn new_cache_key(&self, account_id: &str) -> CoreResult<Secret> {
        let key = new_cache_key();
        let (name, stored) = (cache_key_key(account_id), key.clone());
        blocking_secret(&self.config.secrets, move |store| store.set(&name, &stored)).await?;
        self.key_store_record(account_id)
            .keep(&self.config.secrets.name());
        Ok(key)
    }

    /// Starts the cache at `path` afresh, what it still had to deliver read with `key` (`None`:
    /// its key is gone) and carried over. Only with the account held by this process alone.
    async fn start_afresh(
        &self,
        account_id: &str,
        path: &Path,
        key: Option<Secret>,
        why: &str,
    ) -> CoreResult<Store> {
        tracing::warn!(path = %path.display(), %why, "the cache cannot be used; rebuilding it from the server");
        let (salvaged, key) = match key {
            Some(key) => (Store::salvage_outbox(path, &key).await, key),
            None => (Salvaged::Lost, self.new_cache_key(account_id).await?),
        };
        let undelivered = salvaged.labels();
        let not_rebuilt = |kept: &Path, detail: String| StoreError::NotRebuilt {
            path: path.to_owned(),
            kept: kept.to_owned(),
            detail,
            undelivered: undelivered.clone(),
        };
        let aside =
            SetAside::move_aside(path).map_err(|e| not_rebuilt(path, format!("{why}; {e}")))?;
        match opened_with(path, &key, salvaged).await {
            Ok(store) => {
                aside.delete();
                Ok(store)
            }
            Err(error) => {
                // The new cache goes, the old one comes back: the next start tries again.
                let aside_at = aside.at().to_owned();
                let put_back = remove_cache_files(path)
                    .map_err(|e| e.to_string())
                    .and_then(|()| aside.put_back().map_err(|e| e.to_string()));
                let kept = match put_back {
                    Ok(()) => path.to_owned(),
                    Err(e) => {
                        tracing::error!(aside = %aside_at.display(), error = %e, "could not put the old cache back; it is kept aside");
                        aside_at
                    }
                };
                Err(not_rebuilt(&kept, error.to_string()).into())
            }
        }
    }

    fn key_store_record(&self, account_id: &str) -> KeyStoreRecord {
        KeyStoreRecord(
            self.registry
                .account_dir(account_id)
                .join("cache-key-store"),
        )
    }

    fn prefs(&self, account_id: &str) -> PrefsFiles {
        PrefsFiles::new(&self.registry.account_dir(account_id))
    }

    pub fn notification_prefs(&self, account_id: &str) -> CoreResult<NotificationPrefs> {
        self.prefs(account_id).load()
    }

    /// Saves the notification settings here, with this machine's IANA time zone, and sends
    /// them to the server (so pushes honour them while the app is closed): at once when the
    /// account is open in this process and started, else the next time it syncs. Offline
    /// they wait and leave when the link returns.
    pub fn set_notification_prefs(
        &self,
        account_id: &str,
        prefs: &NotificationPrefs,
    ) -> CoreResult<()> {
        self.prefs(account_id).save(prefs, local_time_zone())?;
        let wakeups = self
            .settings_wakeups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for wakeup in wakeups.get(account_id).into_iter().flatten() {
            if let Some(wakeup) = wakeup.upgrade() {
                wakeup.notify_one();
            }
        }
        Ok(())
    }
}

/// Which secret store holds an account's cache key (the store's [`SecretStore::name`]), in a
/// file of the account's folder.
struct KeyStoreRecord(PathBuf);

impl KeyStoreRecord {
    fn read(&self) -> Option<String> {
        std::fs::read_to_string(&self.0)
            .ok()
            .map(|kept| kept.trim().to_owned())
    }

    /// Best effort: without the record, a cache whose key is missing is started afresh, as
    /// before there was one.
    fn keep(&self, store_name: &str) {
        if self.read().as_deref() == Some(store_name) {
            return;
        }
        if let Err(error) = write_private(&self.0, store_name.as_bytes()) {
            tracing::warn!(path = %self.0.display(), %error, "could not note which secret store holds the cache key");
        }
    }
}

/// What opening the cache as it is found.
enum Opening {
    Opened(Store),
    /// It cannot be used (damaged, or its key gone: `key` is `None`) and must be started afresh.
    StartAfresh {
        key: Option<Secret>,
        why: String,
    },
}

/// A new cache at `path` with what the old one still had to deliver carried over, or, when
/// the cache cannot be opened or the carry-over be kept (a full disk), the error and no cache.
async fn opened_with(path: &Path, key: &Secret, salvaged: Salvaged) -> Result<Store, StoreError> {
    let store = Store::open(path, key).await?;
    #[cfg(test)]
    tests::as_the_disk_fills(&store).await;
    if let Err(error) = store.carry_over(salvaged).await {
        store.close().await;
        return Err(error);
    }
    Ok(store)
}

/// A cache that cannot be used, moved aside (`cache.db.damaged-<time>`, with its `-wal` and
/// `-shm`) while a new one is made in its place.
struct SetAside {
    /// Each file moved, where it was and where it is now.
    moved: Vec<(PathBuf, PathBuf)>,
    at: PathBuf,
}

impl SetAside {
    fn move_aside(path: &Path) -> std::io::Result<SetAside> {
        let at = with_suffix(
            path,
            &format!(
                ".damaged-{}",
                chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
            ),
        );
        let mut aside = SetAside {
            moved: Vec::new(),
            at,
        };
        for suffix in ["", "-wal", "-shm"] {
            let (from, to) = (with_suffix(path, suffix), with_suffix(&aside.at, suffix));
            match std::fs::rename(&from, &to) {
                Ok(()) => aside.moved.push((from, to)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    let _ = aside.put_back();
                    return Err(e);
                }
            }
        }
        Ok(aside)
    }

    /// Where the cache is kept aside.
    fn at(&self) -> &Path {
        &self.at
    }

    /// Back where it was; every file is tried, the first failure told.
    fn put_back(self) -> std::io::Result<()> {
        let mut failed = Ok(());
        for (was, is) in self.moved.iter().rev() {
            if let Err(e) = std::fs::rename(is, was) {
                failed = failed.and(Err(e));
            }
        }
        failed
    }

    /// Not needed any more: the new cache holds what it still had to deliver.
    fn delete(self) {
        for (_, is) in &self.moved {
            if let Err(error) = std::fs::remove_file(is) {
                tracing::warn!(path = %is.display(), %error, "could not delete the old cache set aside");
            }
        }
    }
}

/// `path` with `suffix` added to its name (`cache.db` → `cache.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_cache_files(path: &Path) -> CoreResult<()> {
    for suffix in ["", "-wal", "-shm"] {
        let file = with_suffix(path, suffix);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(CoreError::Local(format!(
                    "Could not remove {}: {e}",
                    file.display()
                )))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
