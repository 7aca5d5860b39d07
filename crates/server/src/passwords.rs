//! Password checks with bounded CPU and memory.
//!
//! argon2id needs its whole memory cost (19 MiB by default) for every check. Allocated afresh
//! each time, that memory lands in whichever malloc arena the blocking thread uses, and the
//! allocator keeps it: 100 concurrent sign-ins took a fresh server from 38 MB to 3 GB. Here at
//! most one check per core runs at once, each in a buffer taken from a pool and put back, so
//! the memory is allocated once per slot and reused: a sign-in flood leaves memory flat.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::config::Secret;
use crate::error::{ApiError, ApiResult};

/// The largest memory cost a stored hash may name (64 MiB); anything larger is not ours.
const MAX_MEMORY_KIB: u32 = 64 * 1024;

pub struct Passwords {
    slots: Semaphore,
    size: usize,
    /// Checks running and waiting together.
    in_line: AtomicUsize,
    max_waiting: usize,
    peak_in_use: AtomicUsize,
    memory: Mutex<Vec<Vec<Block>>>,
}

impl Passwords {
    pub fn new(size: usize, max_waiting: usize) -> Self {
        let size = size.max(1);
        Passwords {
            slots: Semaphore::new(size),
            size,
            in_line: AtomicUsize::new(0),
            max_waiting,
            peak_in_use: AtomicUsize::new(0),
            memory: Mutex::new(Vec::new()),
        }
    }

    /// One check per core (hashing is CPU-bound; more at once only costs memory), and at
    /// most 64 waiting.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Self::new(cores, 64)
    }

    /// Whether `password` matches the PHC-format `hash`. Refused with 429 when too many
    /// checks already wait.
    pub async fn verify(&self, password: Secret, hash: String) -> ApiResult<bool> {
        let _in_line = self.join_line()?;
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| ApiError::RateLimited { retry_after_s: 1 })?;
        let in_use = self.size - self.slots.available_permits();
        self.peak_in_use.fetch_max(in_use, Ordering::AcqRel);
        let mut memory = self.lock_memory().pop().unwrap_or_default();
        let checked = tokio::task::spawn_blocking(move || {
            let matches = matches(password.expose().as_bytes(), &hash, &mut memory);
            (matches, memory)
        })
        .await;
        match checked {
            Ok((matches, memory)) => {
                self.lock_memory().push(memory);
                Ok(matches)
            }
            Err(_) => Ok(false),
        }
    }

    fn join_line(&self) -> ApiResult<InLine<'_>> {
        if self.in_line.fetch_add(1, Ordering::AcqRel) >= self.size + self.max_waiting {
            self.in_line.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::RateLimited { retry_after_s: 1 });
        }
        Ok(InLine(&self.in_line))
    }

    fn lock_memory(&self) -> std::sync::MutexGuard<'_, Vec<Vec<Block>>> {
        self.memory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The most checks that ran at once since start.
    pub fn peak_in_use(&self) -> usize {
        self.peak_in_use.load(Ordering::Acquire)
    }

    /// How many checks may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many argon2 buffers exist (at most [`Passwords::size`]).
    pub fn buffers(&self) -> usize {
        self.lock_memory().len()
    }
}

struct InLine<'a>(&'a AtomicUsize);

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Recomputes `hash` for `password` in `memory` (grown to the hash's cost, and kept) and
/// compares in constant time. Any hash that is not a well-formed argon2 one matches nothing.
fn matches(password: &[u8], hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::default(),
        Some(Ok(version)) => version,
        Some(Err(_)) => return false,
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut computed = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut computed, &mut memory[..])
        .is_ok()
        && Output::new(&computed).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{hash_password, DUMMY_PASSWORD_HASH};

    #[tokio::test]
    async fn checks_agree_with_argon2_and_reuse_one_buffer_per_slot() {
        let hash = hash_password(Secret::new("correct horse"))
            .await
            .expect("hashes");
        let passwords = Passwords::new(1, 8);
        for _ in 0..3 {
            assert!(passwords
                .verify(Secret::new("correct horse"), hash.clone())
                .await
                .expect("checked"));
            assert!(!passwords
                .verify(Secret::new("wrong horse"), hash.clone())
                .await
                .expect("checked"));
        }
        assert!(!passwords
            .verify(Secret::new("x"), DUMMY_PASSWORD_HASH.into())
            .await
            .expect("checked"));
        assert!(!passwords
            .verify(Secret::new("x"), "not a hash".into())
            .await
            .expect("checked"));
        assert_eq!(passwords.buffers(), 1, "one slot, one buffer, reused");
        assert_eq!(passwords.peak_in_use(), 1);
    }

    #[test]
    fn a_hash_that_asks_for_huge_memory_matches_nothing() {
        let greedy = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$0dZbK3F8Yp1mX2m2lS6bq2qM3V9mQ9L2G5hK8s1zV0A";
        let mut memory = Vec::new();
        assert!(!matches(b"x", greedy, &mut memory));
        assert!(memory.is_empty(), "nothing was allocated for it");
    }

    #[tokio::test]
    async fn checks_beyond_the_queue_are_refused_at_once() {
        let passwords = std::sync::Arc::new(Passwords::new(1, 0));
        let _running = passwords.join_line().expect("the first is in line");
        assert!(matches!(
            passwords.join_line(),
            Err(ApiError::RateLimited { .. })
        ));
    }
}
