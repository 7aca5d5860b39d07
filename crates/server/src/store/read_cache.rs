//! Answers read from the database, kept until the next write.
//!
//! Only a store that sees every write can keep them: SQLite's, where this process owns the one
//! writer connection. Any write, to any tenant, ends every kept answer; so nothing has to know
//! which rows a write touched, and a kept answer is always what the database would say now.
//!
//! A write counts from before its transaction begins until after it commits (or is undone).
//! An answer read while a write was under way, or with a write starting before it was kept,
//! is not kept.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

/// Counts writes; every write holds a [`WriteMark`] while it may change the database.
#[derive(Default)]
pub struct Writes {
    /// Bumped as each write begins and as it ends.
    generation: AtomicU64,
    in_flight: AtomicUsize,
}

/// Held by a write from before `BEGIN` until after `COMMIT` or rollback.
pub struct WriteMark(Arc<Writes>);

impl Writes {
    pub fn begin(self: &Arc<Self>) -> WriteMark {
        self.in_flight.fetch_add(1, SeqCst);
        self.generation.fetch_add(1, SeqCst);
        WriteMark(Arc::clone(self))
    }

    /// The generation a read may be kept under, or `None` while a write is under way.
    fn quiet_generation(&self) -> Option<u64> {
        let generation = self.generation.load(SeqCst);
        (self.in_flight.load(SeqCst) == 0).then_some(generation)
    }
}

impl Drop for WriteMark {
    fn drop(&mut self) {
        self.0.generation.fetch_add(1, SeqCst);
        self.0.in_flight.fetch_sub(1, SeqCst);
    }
}

/// One kind of answer, by key, all from the same generation. Holds at most `capacity`
/// answers; when full, it starts again empty rather than tracking which to evict.
pub struct ReadCache<K, V> {
    writes: Arc<Writes>,
    capacity: usize,
    kept: Mutex<Kept<K, V>>,
}

struct Kept<K, V> {
    generation: u64,
    answers: HashMap<K, V>,
}

impl<K: Hash + Eq, V: Clone> ReadCache<K, V> {
    pub fn new(writes: Arc<Writes>, capacity: usize) -> Self {
        ReadCache {
            writes,
            capacity,
            kept: Mutex::new(Kept {
                generation: u64::MAX,
                answers: HashMap::new(),
            }),
        }
    }

    /// The kept answer for `key`, or the one `read` gives (kept if no write came in between).
    pub async fn get_or_read<Q, E>(
        &self,
        key: &Q,
        read: impl std::future::Future<Output = Result<V, E>>,
    ) -> Result<V, E>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let Some(before) = self.writes.quiet_generation() else {
            return read.await;
        };
        {
            let kept = self.lock();
            if kept.generation == before {
                if let Some(answer) = kept.answers.get(key) {
                    return Ok(answer.clone());
                }
            }
        }
        let answer = read.await?;
        if self.writes.quiet_generation() == Some(before) {
            let mut kept = self.lock();
            if kept.generation != before || kept.answers.len() >= self.capacity {
                kept.generation = before;
                kept.answers.clear();
            }
            kept.answers.insert(key.to_owned(), answer.clone());
        }
        Ok(answer)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept<K, V>> {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::atomic::AtomicU32;

    async fn counting(reads: &AtomicU32, value: u32) -> Result<u32, Infallible> {
        reads.fetch_add(1, SeqCst);
        Ok(value)
    }

    #[tokio::test]
    async fn an_answer_is_kept_until_a_write_begins() {
        let writes = Arc::new(Writes::default());
        let cache: ReadCache<String, u32> = ReadCache::new(Arc::clone(&writes), 16);
        let reads = AtomicU32::new(0);
        assert_eq!(cache.get_or_read("a", counting(&reads, 1)).await, Ok(1));
        assert_eq!(cache.get_or_read("a", counting(&reads, 2)).await, Ok(1));
        assert_eq!(
            reads.load(SeqCst),
            1,
            "the second read was answered from the cache"
        );

        let mark = writes.begin();
        assert_eq!(
            cache.get_or_read("a", counting(&reads, 3)).await,
            Ok(3),
            "a write is under way"
        );
        drop(mark);
        assert_eq!(
            cache.get_or_read("a", counting(&reads, 4)).await,
            Ok(4),
            "read again after it"
        );
        assert_eq!(cache.get_or_read("a", counting(&reads, 5)).await, Ok(4));
    }

    #[tokio::test]
    async fn an_answer_read_across_a_write_is_not_kept() {
        let writes = Arc::new(Writes::default());
        let cache: ReadCache<String, u32> = ReadCache::new(Arc::clone(&writes), 16);
        let racing = async {
            // The write begins and commits while this read is in flight.
            drop(writes.begin());
            Ok::<_, Infallible>(1)
        };
        assert_eq!(cache.get_or_read("a", racing).await, Ok(1));
        let reads = AtomicU32::new(0);
        assert_eq!(cache.get_or_read("a", counting(&reads, 2)).await, Ok(2));
        assert_eq!(reads.load(SeqCst), 1, "the stale answer was not served");
    }

    #[tokio::test]
    async fn a_full_cache_starts_again_empty() {
        let writes = Arc::new(Writes::default());
        let cache: ReadCache<String, u32> = ReadCache::new(writes, 2);
        let reads = AtomicU32::new(0);
        for key in ["a", "b", "c"] {
            cache
                .get_or_read(key, counting(&reads, 1))
                .await
                .expect("read");
        }
        cache
            .get_or_read("c", counting(&reads, 1))
            .await
            .expect("read");
        assert_eq!(reads.load(SeqCst), 3, "c was kept");
        cache
            .get_or_read("a", counting(&reads, 1))
            .await
            .expect("read");
        assert_eq!(reads.load(SeqCst), 4, "a was dropped when the cache filled");
    }

    #[tokio::test]
    async fn errors_are_not_kept() {
        let writes = Arc::new(Writes::default());
        let cache: ReadCache<String, u32> = ReadCache::new(writes, 2);
        assert_eq!(
            cache
                .get_or_read("a", async { Err::<u32, _>("down") })
                .await,
            Err("down")
        );
        assert_eq!(
            cache.get_or_read("a", async { Ok::<_, &str>(7) }).await,
            Ok(7)
        );
    }
}
