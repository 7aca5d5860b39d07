//! Catching up over HTTP: the log's pages after the cache's `seq`, a rebuild from snapshots
//! when the log cannot be followed, and, after an update, what the last version could not read.

use spartex_api::endpoints::{
    GetProject, ListApprovals, ListMessages, ListProjects, ListStops, Sync,
};
use spartex_api::Event;

use super::page::{SyncLeniently, SyncPage};
use super::{SyncReport, Syncer, CATCH_UP_EVENTS_PER_TRANSACTION, PAGE};
use crate::error::CoreResult;
use crate::store::{meta, Snapshot};
use crate::Change;

impl Syncer {
    /// Brings the cache up to the server's head over HTTP, pages of events gathered into
    /// transactions of [`CATCH_UP_EVENTS_PER_TRANSACTION`].
    ///
    /// Bounded whatever the server answers: every page must go on from the `seq` before it;
    /// a page that skips a `seq` (or says `resync_required`) rebuilds the cache from snapshots
    /// once per catch-up, and a second time is a [`crate::CoreError::Protocol`], as is a page that
    /// does not advance. The link then backs off as for any error.
    pub async fn catch_up(&self) -> CoreResult<SyncReport> {
        let mut report = SyncReport::default();
        self.after_an_update().await;
        let mut since = self.store().last_seq().await?;
        // Asked with the first page only: later pages follow on from the same log.
        let mut since_at = self.store().last_event_at().await?;
        let mut waiting: Vec<Event> = Vec::new();
        loop {
            let asked = SyncLeniently(Sync {
                since,
                since_at: since_at.take(),
                limit: PAGE,
            });
            let fetched = self.session().call(&asked, None).await.map(SyncPage::read);
            let page = match fetched {
                Ok(page) => page,
                Err(error) => {
                    // A link that drops every few pages still makes progress: what arrived
                    // is kept, and the next catch-up resumes after it.
                    if !waiting.is_empty() {
                        let applied = self.commit(&waiting).await?;
                        tracing::debug!(applied, "kept the pages fetched before the link failed");
                    }
                    return Err(error);
                }
            };
            report.head = page.head;
            if page.resync_required || page.head < since {
                // A head behind what the cache applied is a log restored from a backup: the
                // seqs it gives from now on are not the ones the cache has (followed from
                // `since`, new ones up to it would be dropped as replays).
                let why = if page.resync_required {
                    "it asked for a rebuild from snapshots".to_owned()
                } else {
                    format!("its log's head {} is behind seq {since}", page.head)
                };
                waiting.clear();
                self.resync_once(&mut report, &why).await?;
                since = self.store().last_seq().await?;
                continue;
            }
            let answered = page.events.len();
            let mut events = page.events;
            // A replay of what the cache has changes nothing.
            events.retain(|event| event.seq > since);
            let (mut follows, mut reached) = (0, since);
            for event in &events {
                match reached.checked_add(1) {
                    Some(next) if event.seq == next => (follows, reached) = (follows + 1, next),
                    _ => break,
                }
            }
            if follows < events.len() {
                // The log skips a `seq`: what follows on is kept, the rest comes from snapshots.
                let skipped = reached.saturating_add(1);
                events.truncate(follows);
                waiting.extend(events);
                if !waiting.is_empty() {
                    report.applied += self.commit(&waiting).await?;
                    waiting.clear();
                }
                let why = format!("its event log skips seq {skipped}");
                self.resync_once(&mut report, &why).await?;
                since = self.store().last_seq().await?;
                continue;
            }
            if events.is_empty() && answered > 0 && since < page.head {
                // Only what the cache has, again: a server that ignores `since`.
                if !waiting.is_empty() {
                    self.commit(&waiting).await?;
                }
                return Err(self.protocol(format!(
                    "its events after seq {since} did not go past it (head {})",
                    page.head
                )));
            }
            let no_more = events.is_empty();
            let fetched_to = events.last().map_or(since, |event| event.seq);
            waiting.extend(events);
            since = fetched_to;
            if !no_more && since < page.head && waiting.len() < CATCH_UP_EVENTS_PER_TRANSACTION {
                continue;
            }
            if !waiting.is_empty() {
                report.applied += self.commit(&waiting).await?;
                waiting.clear();
                since = self.store().last_seq().await?;
                self.publish(Change::Progress {
                    applied_seq: since,
                    head: page.head,
                });
            }
            if no_more || since >= page.head {
                break;
            }
        }
        report.last_seq = self.store().last_seq().await?;
        self.store().checkpoint().await?;
        let now = self.session().http().clock().now().to_rfc3339();
        self.store().set_meta(meta::LAST_SYNC_AT, &now).await?;
        self.store()
            .set_meta(meta::SERVER_HEAD, &report.head.to_string())
            .await?;
        Ok(report)
    }

    /// The first sync of a version newer than the last to read the cache: values that one
    /// kept as `unknown` are read again from snapshots, and the events it set aside are
    /// applied where this version reads them; then the faces and the notifier read everything
    /// again (a request among them is raised). A failure is told in the log and tried again at
    /// the next sync; it never holds the sync back.
    pub(super) async fn after_an_update(&self) {
        match self.store().newer_than_its_last_reader().await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(%error, "could not tell which version last read the cache");
                return;
            }
        }
        if let Err(error) = self.read_what_the_last_version_could_not().await {
            tracing::warn!(
                %error,
                "could not read again what the last version could not; trying at the next sync"
            );
        }
    }

    async fn read_what_the_last_version_could_not(&self) -> CoreResult<()> {
        let rebuild = self.store().holds_unknown_values().await?;
        if rebuild {
            tracing::info!(
                account = %self.account_id,
                "rebuilding the cache from snapshots: this version reads values the last kept as unknown"
            );
            self.resync().await?;
        }
        let changes = self.store().read_by_this_version(rebuild).await?;
        if !changes.is_empty() {
            self.publisher.publish_all(changes);
            self.publish(Change::Resynced);
        }
        Ok(())
    }

    /// The one rebuild from snapshots a catch-up may make; asked for a second, the server's
    /// log is not one to follow, and the catch-up ends with a [`CoreError::Protocol`].
    async fn resync_once(&self, report: &mut SyncReport, why: &str) -> CoreResult<()> {
        if report.resynced {
            return Err(self.protocol(format!(
                "{why} right after the cache was rebuilt from its snapshots"
            )));
        }
        tracing::info!(account = %self.account_id, %why, "rebuilding the cache from snapshots");
        self.resync().await?;
        report.resynced = true;
        Ok(())
    }

    /// Rebuilds the cache from fresh snapshots and resumes from the head read before them.
    pub async fn resync(&self) -> CoreResult<()> {
        let head = self
            .session()
            .call(
                &SyncLeniently(Sync {
                    since: 0,
                    since_at: None,
                    limit: 1,
                }),
                None,
            )
            .await?
            .head;
        let mut snapshot = Snapshot::default();
        let projects = self.session().call(&ListProjects {}, None).await?;
        for project in &projects {
            let project_id = project.id.clone();
            let detail = self
                .session()
                .call(
                    &GetProject {
                        project_id: project_id.clone(),
                    },
                    None,
                )
                .await?;
            snapshot.agents.extend(detail.agents);
            snapshot.tasks.extend(detail.tasks);
            let messages = self
                .session()
                .call(
                    &ListMessages {
                        project_id,
                        limit: 200,
                    },
                    None,
                )
                .await?;
            snapshot.messages.extend(messages);
        }
        snapshot.projects = projects;
        snapshot.approvals = self.session().call(&ListApprovals {}, None).await?;
        snapshot.stops = self.session().call(&ListStops {}, None).await?;
        self.publisher.applying_up_to(head);
        self.store().replace_with_snapshot(snapshot, head).await?;
        tracing::info!(account = %self.account_id, head, "cache rebuilt from snapshots");
        self.publish(Change::Resynced);
        Ok(())
    }
}
