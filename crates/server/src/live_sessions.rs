//! Which sign-ins may still be used. Every request a person makes names its session, and the
//! answer rarely changes: so it is kept in memory, where it is safe to.
//!
//! A session stops being usable in two ways: it is revoked (sign-out, a reused refresh token),
//! which every instance hears of through [`LiveSessions::ended`] (its own writes after they
//! commit, the others' through [`crate::relay`]); or its last refresh token expires, which the
//! kept answer carries. So an answer is kept until the session ends, its tokens expire, or
//! its recheck time passes (`Settings::session_recheck_after`, 10 s), whichever comes first;
//! the last bounds how long an end another instance announced can wait behind the
//! announcements before it.
//!
//! Answers are kept only while every end is heard: from when [`crate::relay`] knows it hears
//! the other instances (at once where none can share the database) until it notices the loss
//! of the connection they speak on. Deaf, every request reads its session, as it would were
//! nothing kept; and once hearing again, [`crate::relay`] reads the sessions revoked meanwhile
//! and ends them here (or, past a bound, asks every socket to check its own:
//! [`LiveSessions::check_every_session`]).
//! Only "active" is kept: a revoked or unknown session is read each time.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use crate::store::LiveSession;

/// Sessions kept at most; a full memory starts again empty rather than tracking which to drop.
const KEPT_AT_MOST: usize = 100_000;

pub struct LiveSessions {
    ended: broadcast::Sender<Arc<str>>,
    /// How long an active session is believed without reading it again.
    recheck_after: Duration,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    /// False while an end might go unheard: nothing is kept then.
    hearing: bool,
    /// Bumped by every end and every loss of hearing, so a read under way then is not kept.
    generation: u64,
    active: HashMap<String, Active>,
}

struct Active {
    /// As read, with its last refresh token's expiry on the server's clock.
    session: LiveSession,
    read_at: Instant,
}

impl LiveSessions {
    /// Deaf until told it hears every end ([`LiveSessions::hearing`]).
    pub fn new(recheck_after: Duration) -> Self {
        LiveSessions {
            ended: broadcast::channel(1024).0,
            recheck_after,
            kept: Mutex::default(),
        }
    }

    /// The session while it is neither revoked nor past its last refresh token's expiry, with
    /// its person's role and organisation as last read. `read` reads it from the database
    /// (`None`: revoked, unknown, or its person gone), and is called only when no kept answer
    /// holds.
    pub async fn live<F, E>(
        &self,
        session_id: &str,
        now_ms: i64,
        read: impl FnOnce() -> F,
    ) -> Result<Option<LiveSession>, E>
    where
        F: Future<Output = Result<Option<LiveSession>, E>>,
    {
        self.live_at(session_id, now_ms, Instant::now(), read).await
    }

    async fn live_at<F, E>(
        &self,
        session_id: &str,
        now_ms: i64,
        now: Instant,
        read: impl FnOnce() -> F,
    ) -> Result<Option<LiveSession>, E>
    where
        F: Future<Output = Result<Option<LiveSession>, E>>,
    {
        let generation = {
            let kept = self.lock();
            if let Some(active) = kept.active.get(session_id).filter(|active| {
                now_ms < active.session.until_ms
                    && now.saturating_duration_since(active.read_at) < self.recheck_after
            }) {
                return Ok(Some(active.session.clone()));
            }
            kept.generation
        };
        let Some(session) = read().await?.filter(|session| now_ms < session.until_ms) else {
            return Ok(None);
        };
        let mut kept = self.lock();
        if kept.hearing && kept.generation == generation {
            if kept.active.len() >= KEPT_AT_MOST && !kept.active.contains_key(session_id) {
                kept.active.clear();
            }
            let active = Active {
                session: session.clone(),
                read_at: now,
            };
            kept.active.insert(session_id.to_owned(), active);
        }
        Ok(Some(session))
    }

    /// Every end is heard from now on (see [`crate::relay`]): answers read from now on may be
    /// kept (not those under way, which an unheard end may have made stale).
    pub fn hearing(&self) {
        let mut kept = self.lock();
        kept.hearing = true;
        kept.generation += 1;
    }

    /// Whether answers are kept now: every end is heard.
    pub fn hears_every_end(&self) -> bool {
        self.lock().hearing
    }

    /// Ends may go unheard from now on: nothing kept holds, and nothing is kept.
    pub fn deaf(&self) {
        let mut kept = self.lock();
        kept.hearing = false;
        kept.generation += 1;
        kept.active.clear();
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

    /// Asks every socket to check its session now: ends may have been said unheard. Told as an
    /// end of the session with no id ([`LiveSessions::subscribe_to_ends`]).
    pub fn check_every_session(&self) {
        let _ = self.ended.send(Arc::from(""));
    }

    /// Ended sessions, as they end, for the sockets they opened; an empty id asks every socket
    /// to check its own.
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

    const NOW: i64 = 1_000;
    const UNTIL: i64 = 1_000_000;
    const RECHECK_AFTER: Duration = Duration::from_secs(10);

    fn deaf() -> LiveSessions {
        LiveSessions::new(RECHECK_AFTER)
    }

    fn hearing() -> LiveSessions {
        let sessions = deaf();
        sessions.hearing();
        sessions
    }

    fn session(until_ms: i64) -> LiveSession {
        LiveSession {
            until_ms,
            user_id: "usr_1".into(),
            tenant_id: "ten_1".into(),
            role: spartex_api::Role::Manager,
            email: "m@example.test".into(),
            name: "M".into(),
        }
    }

    async fn counted(
        reads: &AtomicU32,
        until: Option<i64>,
    ) -> Result<Option<LiveSession>, Infallible> {
        reads.fetch_add(1, SeqCst);
        Ok(until.map(session))
    }

    async fn check(sessions: &LiveSessions, reads: &AtomicU32) -> bool {
        let read = || counted(reads, Some(UNTIL));
        sessions.live("ses_1", NOW, read).await.unwrap().is_some()
    }

    #[tokio::test]
    async fn an_active_session_is_read_once_until_it_is_due_a_recheck() {
        let (sessions, reads) = (hearing(), AtomicU32::new(0));
        let first = Instant::now();
        let check_at = |now| {
            let read = || counted(&reads, Some(UNTIL));
            sessions.live_at("ses_1", NOW, now, read)
        };
        assert!(check_at(first).await.unwrap().is_some());
        let nearly_due = first + RECHECK_AFTER - Duration::from_millis(1);
        assert!(check_at(nearly_due).await.unwrap().is_some());
        assert_eq!(reads.load(SeqCst), 1);
        assert!(check_at(first + RECHECK_AFTER).await.unwrap().is_some());
        assert_eq!(reads.load(SeqCst), 2, "read again once due");
    }

    #[tokio::test]
    async fn a_recheck_reads_the_persons_role_again() {
        let sessions = hearing();
        let first = Instant::now();
        let manager = || async { Ok::<_, Infallible>(Some(session(UNTIL))) };
        let kept = sessions.live_at("ses_1", NOW, first, manager).await;
        assert_eq!(
            kept.unwrap().expect("live").role,
            spartex_api::Role::Manager
        );
        let demoted = || async {
            let viewer = spartex_api::Role::Viewer;
            Ok::<_, Infallible>(Some(LiveSession {
                role: viewer,
                ..session(UNTIL)
            }))
        };
        let due = first + RECHECK_AFTER;
        let read = sessions.live_at("ses_1", NOW, due, demoted).await;
        assert_eq!(read.unwrap().expect("live").role, spartex_api::Role::Viewer);
    }

    #[tokio::test]
    async fn an_ended_session_is_read_again_and_its_sockets_hear_of_it() {
        let (sessions, reads) = (hearing(), AtomicU32::new(0));
        let mut ends = sessions.subscribe_to_ends();
        assert!(check(&sessions, &reads).await);
        sessions.ended("ses_1");
        let revoked = || counted(&reads, None);
        assert!(sessions
            .live("ses_1", NOW, revoked)
            .await
            .unwrap()
            .is_none());
        assert_eq!(reads.load(SeqCst), 2);
        assert_eq!(&*ends.try_recv().expect("announced"), "ses_1");
    }

    #[tokio::test]
    async fn a_read_under_way_as_a_session_ends_is_not_kept() {
        let (sessions, reads) = (hearing(), AtomicU32::new(0));
        let read_then_ended = || async {
            let until = counted(&reads, Some(UNTIL)).await;
            sessions.ended("ses_1"); // committed after the read, before it was kept
            until
        };
        let active = sessions.live("ses_1", NOW, read_then_ended).await;
        assert!(active.unwrap().is_some());
        assert!(check(&sessions, &reads).await);
        assert_eq!(reads.load(SeqCst), 2, "the stale answer was not kept");
    }

    #[tokio::test]
    async fn a_kept_answer_ends_with_the_sessions_last_refresh_token() {
        let (sessions, reads) = (hearing(), AtomicU32::new(0));
        let expiring = || counted(&reads, Some(2_000));
        assert!(sessions
            .live("ses_1", 1_999, expiring)
            .await
            .unwrap()
            .is_some());
        let expired = || counted(&reads, Some(2_000));
        assert!(sessions
            .live("ses_1", 2_000, expired)
            .await
            .unwrap()
            .is_none());
        assert_eq!(reads.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn revoked_and_unknown_sessions_are_never_kept() {
        let (sessions, reads) = (hearing(), AtomicU32::new(0));
        for _ in 0..2 {
            let revoked = || counted(&reads, None);
            assert!(sessions
                .live("ses_1", NOW, revoked)
                .await
                .unwrap()
                .is_none());
        }
        assert_eq!(reads.load(SeqCst), 2);
    }

    #[tokio::test]
    async fn nothing_is_kept_while_an_end_could_go_unheard() {
        let (sessions, reads) = (deaf(), AtomicU32::new(0));
        assert!(check(&sessions, &reads).await);
        assert!(check(&sessions, &reads).await);
        assert_eq!(reads.load(SeqCst), 2, "deaf until the relay hears");

        let read_while_deaf = || async {
            let until = counted(&reads, Some(UNTIL)).await;
            sessions.hearing(); // an end committed before this was not heard
            until
        };
        assert!(sessions
            .live("ses_1", NOW, read_while_deaf)
            .await
            .unwrap()
            .is_some());
        assert!(check(&sessions, &reads).await);
        assert!(check(&sessions, &reads).await);
        assert_eq!(reads.load(SeqCst), 4, "kept once read while hearing");

        sessions.deaf();
        assert!(check(&sessions, &reads).await);
        assert_eq!(reads.load(SeqCst), 5, "what was kept is gone");
    }

    #[tokio::test]
    async fn memory_stays_bounded_however_many_sessions_are_seen() {
        let (sessions, reads) = (hearing(), AtomicU32::new(0));
        for n in 0..=KEPT_AT_MOST {
            let read = || counted(&reads, Some(UNTIL));
            let session = format!("ses_{n}");
            assert!(sessions.live(&session, NOW, read).await.unwrap().is_some());
        }
        assert_eq!(sessions.lock().active.len(), 1, "started again when full");
    }
}
