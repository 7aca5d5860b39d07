//! Lanes: what must reach the server in the order it was taken, so that a failing action holds
//! back only what must follow it.

use std::collections::HashSet;

use crate::actions::OutboxKind;
use crate::store::OutboxEntry;

/// What must reach the server in the order it was taken: a failing action holds back only
/// those in its lane.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) enum Lane<'a> {
    /// Stops and resumes together: a resume must not overtake the stop taken before it.
    StopsAndResumes,
    /// Everything said about one approval: a decision after the acknowledgement.
    Approval(&'a str),
    /// One conversation's messages, and anything else sent to one route.
    Route(&'a str),
}

impl<'a> Lane<'a> {
    /// What is said of an approval waits behind a stop the server failed: the stop would have
    /// cancelled the request a decision answers. Messages still go.
    pub(super) fn follows_a_held_stop(&self, held_back: &HashSet<Lane>) -> bool {
        matches!(self, Lane::Approval(_)) && held_back.contains(&Lane::StopsAndResumes)
    }

    pub(super) fn of(entry: &'a OutboxEntry) -> Lane<'a> {
        match (entry.kind, &entry.approval_id) {
            (OutboxKind::Stop | OutboxKind::Resume, _) => Lane::StopsAndResumes,
            (_, Some(approval)) => Lane::Approval(approval),
            (_, None) => Lane::Route(&entry.path),
        }
    }
}

pub(super) fn holds_a_stop(entries: &[OutboxEntry]) -> bool {
    entries.iter().any(|e| e.kind == OutboxKind::Stop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_stop_holds_back_decisions_but_not_messages() {
        let held: HashSet<Lane> = [Lane::StopsAndResumes].into();
        assert!(Lane::Approval("apr_1").follows_a_held_stop(&held));
        assert!(!Lane::Route("/api/v1/projects/prj_1/messages").follows_a_held_stop(&held));
        let only_a_chat: HashSet<Lane> = [Lane::Route("/api/v1/projects/prj_1/messages")].into();
        assert!(!Lane::Approval("apr_1").follows_a_held_stop(&only_a_chat));
    }
}
