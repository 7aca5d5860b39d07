//! An account marked open: an advisory lock on a file in its folder, shared by every process
//! that has the account open and held alone by the one signing it out, which wipes the folder.
//! The cache keeps its process's mark ([`super::Store::hold`]) until it is closed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// In the account's folder.
pub(crate) const IN_USE_FILE: &str = "in-use.lock";

/// An advisory lock on an account's [`IN_USE_FILE`], released when dropped (or when the
/// process ends, however it ends).
#[derive(Debug)]
pub(crate) struct InUse {
    /// Held, never read: closing it releases the lock. `None` where the file system keeps no
    /// locks.
    _lock: Option<std::fs::File>,
    /// The file, and the holds it is counted in, when this is a shared hold.
    counted: Option<(PathBuf, OpenHere)>,
}

/// The accounts held open through one registry (one per process: the app's, a command's), once
/// per hold: a sign-out refused by this process's own hold says so, rather than blaming another
/// process.
#[derive(Debug, Clone, Default)]
pub(crate) struct OpenHere(Arc<std::sync::Mutex<Vec<PathBuf>>>);

impl OpenHere {
    fn held(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the account whose [`IN_USE_FILE`] is `file` is held open through this registry.
    pub(crate) fn holds(&self, file: &Path) -> bool {
        self.held().iter().any(|held| held == file)
    }
}

impl Drop for InUse {
    fn drop(&mut self) {
        if let Some((path, open_here)) = self.counted.take() {
            let mut held = open_here.held();
            if let Some(at) = held.iter().position(|file| *file == path) {
                held.swap_remove(at);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sharing {
    /// Open: any number of processes at once.
    Shared,
    /// Signing out: no other process may have it open.
    Alone,
}

pub(crate) enum InUseError {
    /// Another process holds it in a way that excludes this one.
    Held,
    /// No lock could be taken at all (the file cannot be made, the file system has no locks).
    Unsupported(std::io::Error),
}

impl InUse {
    /// No lock: where none could be taken, the account goes on unmarked.
    pub(crate) fn none() -> InUse {
        InUse {
            _lock: None,
            counted: None,
        }
    }

    /// Takes the lock on `path` without waiting.
    pub(crate) fn take(
        path: &Path,
        sharing: Sharing,
        open_here: &OpenHere,
    ) -> Result<InUse, InUseError> {
        let file = private_file_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(InUseError::Unsupported)?;
        let taken = match sharing {
            Sharing::Shared => file.try_lock_shared(),
            Sharing::Alone => file.try_lock(),
        };
        match taken {
            Ok(()) => {
                let counted = (sharing == Sharing::Shared).then(|| {
                    open_here.held().push(path.to_owned());
                    (path.to_owned(), open_here.clone())
                });
                Ok(InUse {
                    _lock: Some(file),
                    counted,
                })
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(InUseError::Held),
            Err(std::fs::TryLockError::Error(error)) => Err(InUseError::Unsupported(error)),
        }
    }
}

/// Options that create a file only its owner can read (0600 on Unix).
pub(crate) fn private_file_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `dir` and the folders above it that are missing, readable by their owner alone
/// (0700 on Unix): they hold who is signed in, to which server, and their caches. A folder that
/// exists is left as it is.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
