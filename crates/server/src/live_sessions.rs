//! Which sign-ins may still be used. Every request a person makes names its session, and the
//! answer rarely changes: so it is kept in memory, where it is safe to.
//!
//! A session stops being usable in two ways: it is revoked (sign-out, a reused refresh token),
//! which every instance hears of through [`LiveSessions::ended`] (its own writes after they
//! commit, the others' through [`crate::relay`]); or its last refresh token expires, which the
//! kept answer carries. So an answer is kept until the session ends, its tokens expire, or
//! [`RECHECK_AFTER_MS`] pass, whichever comes first: the last bounds how late a revocation is
//! honoured when this instance could not hear it (its connection for announcements was down).
//! Only "active" is kept: a revoked or unknown session is read each time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::broadcast;

/// How long an active session is believed without reading it again.
pub const RECHECK_AFTER_MS: i64 = 10_000;
/// Sessions kept at most; a full memory starts again empty rather than tracking which to drop.
const KEPT_AT_MOST: usize = 100_000;

pub struct LiveSessions {
    ended: broadcast::Sender<Arc<str>>,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// Bumped by every end, so a read under way as a session ended is not kept.
    generation: u64,
    active: HashMap<String, Active>,
}

#[derive(Clone, Copy)]
struct Active {
    /// Its last refresh token's expiry.
    until_ms: i64,
    read_at_ms: i64,
}

impl Active {
    fn holds_at(self, now_ms: i64) -> bool {
        let age_ms = now_ms.saturating_sub(self.read_at_ms);
        now_ms < self.until_ms && (0..RECHECK_AFTER_MS).contains(&age_ms)
    }
}

impl Default for LiveSessions {
    fn default() -> Self {
        LiveSessions {
            ended: broadcast::channel(1024).0,
            kept: Mutex::default(),
        }
    }
}

impl LiveSessions {
    /// True while the session is neither revoked nor past its last refresh token's expiry.
    /// `read_until` reads that expiry from the database (`None`: revoked or unknown), and is
    /// awaited only when no kept answer holds.
    pub async fn is_active<E>(
        &self,
        session_id: &str,
        now_ms: i64,
        read_until: impl Future<Output = Result<Option<i64>, E>>,
    ) -> Result<bool, E> {
        let generation = {
            let kept = self.lock();
            if kept
                .active
                .get(session_id)
                .is_some_and(|active| active.holds_at(now_ms))
            {
                return Ok(true);
            }
            kept.generation
        };
        let Some(until_ms) = read_until.await?.filter(|&until_ms| now_ms < until_ms) else {
            return Ok(false);
        };
        let mut kept = self.lock();
        if kept.generation == generation {
            if kept.active.len() >= KEPT_AT_MOST {
                kept.active.clear();
            }
            let active = Active {
                until_ms,
                read_at_ms: now_ms,
            };
            kept.active.insert(session_id.to_owned(), active);
        }
        Ok(true)
    }

    /// A session was revoked (its write committed): it is read again from now on, and the
    /// sockets it opened close.
    pub fn ended(&self, session_id: &str) {
        {
            let mut kept = self.lock();
            kept.generation += 1;
            kept.active.remove(session_id);
        }
        // No receiver is fine: no socket is open.
        let _ = self.ended.send(Arc::from(session_id));
    }

    /// Ended sessions, as they end, for the sockets they opened.
    pub fn subscribe_to_ends(&self) -> broadcast::Receiver<Arc<str>> {
        self.ended.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        self.kept
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicU32, Ordering::SeqCst};

    const UNTIL: i64 = 1_000_000;

    async fn counted(reads: &AtomicU32, until: Option<i64>) -> Result<Option<i64>, Infallible> {
        reads.fetch_add(1, SeqCst);
        Ok(until)
    }

    async fn check(sessions: &LiveSessions, reads: &AtomicU32, now_ms: i64) -> bool {
        let read = counted(reads, Some(UNTIL));
        sessions.is_active("ses_1", now_ms, read).await.unwrap()
    }

    #[tokio::test]
    async fn an_active_session_is_read_once_until_it_is_due_a_recheck() {
        let (sessions, reads) = (LiveSessions::default(), AtomicU32::new(0));
        assert!(check(&sessions, &reads, 1_000).await);
        assert!(check(&sessions, &reads, 1_000 + RECHECK_AFTER_MS - 1).await);
        assert_eq!(reads.load(SeqCst), 1);
        assert!(check(&sessions, &reads, 1_000 + RECHECK_AFTER_MS).await);
        assert_eq!(reads.load(SeqCst), 2, "read again once due");
    }

    #[tokio::test]
    async fn an_ended_session_is_read_again_and_its_sockets_hear_of_it() {
        let (sessions, reads) = (LiveSessions::default(), AtomicU32::new(0));
        let mut ends = sessions.subscribe_to_ends();
        assert!(check(&sessions, &reads, 1_000).await);
        sessions.ended("ses_1");
        let revoked = counted(&reads, None);
        assert!(!sessions.is_active("ses_1", 1_001, revoked).await.unwrap());
        assert_eq!(reads.load(SeqCst), 2);
        assert_eq!(&*ends.try_recv().expect("announced"), "ses_1");
    }

    #[tokio::test]
    async fn a_read_under_way_as_a_session_ends_is_not_kept() {
        let (sessions, reads) = (LiveSessions::default(), AtomicU32::new(0));
        let read_then_ended = async {
            let until = counted(&reads, Some(UNTIL)).await;
            sessions.ended("ses_1"); // committed after the read, before it was kept
            until
        };
        assert!(sessions
            .is_active("ses_1", 1_000, read_then_ended)
            .await
            .unwrap());
        assert!(check(&sessions, &reads, 1_001).await);
        assert_eq!(reads.load(SeqCst), 2, "the stale answer was not kept");
    }

    #[tokio::test]
    async fn a_kept_answer_ends_with_the_sessions_last_refresh_token() {
        let (sessions, reads) = (LiveSessions::default(), AtomicU32::new(0));
        let expiring = counted(&reads, Some(2_000));
        assert!(sessions.is_active("ses_1", 1_000, expiring).await.unwrap());
        let expired = counted(&reads, Some(2_000));
        assert!(!sessions.is_active("ses_1", 2_000, expired).await.unwrap());
        assert_eq!(reads.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn a_kept_answer_does_not_hold_when_the_clock_went_back() {
        let (sessions, reads) = (LiveSessions::default(), AtomicU32::new(0));
        assert!(check(&sessions, &reads, 5_000).await);
        assert!(check(&sessions, &reads, 4_000).await);
        assert_eq!(
            reads.load(SeqCst),
            2,
            "read again when now is before the read"
        );
    }

    #[tokio::test]
    async fn revoked_and_unknown_sessions_are_never_kept() {
        let (sessions, reads) = (LiveSessions::default(), AtomicU32::new(0));
        for now_ms in [1_000, 1_001] {
            let revoked = counted(&reads, None);
            assert!(!sessions.is_active("ses_1", now_ms, revoked).await.unwrap());
        }
        assert_eq!(reads.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn memory_stays_bounded_however_many_sessions_are_seen() {
        let (sessions, reads) = (LiveSessions::default(), AtomicU32::new(0));
        for n in 0..=KEPT_AT_MOST {
            let read = counted(&reads, Some(UNTIL));
            assert!(sessions
                .is_active(&format!("ses_{n}"), 1_000, read)
                .await
                .unwrap());
        }
        assert_eq!(sessions.lock().active.len(), 1, "started again when full");
    }
}
