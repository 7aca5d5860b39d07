//! What the store's reads and writes take and answer with, besides documents and sign-ins:
//! a listing's filter, a log's bounds, a checkpoint's result, a kept response, a cost.

use super::DocKind;

/// Which documents of one kind a listing returns.
#[derive(Debug, Clone, Copy)]
pub struct DocFilter<'a> {
    pub kind: DocKind,
    pub project_id: Option<&'a str>,
    pub status: Option<&'a str>,
    /// Any of these statuses (none: any status), read in one query.
    pub any_status: &'a [&'a str],
    pub lookup_key: Option<&'a str>,
    /// Only documents ordered before this sort key (pagination).
    pub before: Option<&'a str>,
    pub limit: Option<i64>,
    pub newest_first: bool,
}

impl<'a> DocFilter<'a> {
    pub fn all(kind: DocKind) -> Self {
        DocFilter {
            kind,
            project_id: None,
            status: None,
            any_status: &[],
            lookup_key: None,
            before: None,
            limit: None,
            newest_first: false,
        }
    }

    pub fn in_project(kind: DocKind, project_id: &'a str) -> Self {
        DocFilter {
            project_id: Some(project_id),
            ..Self::all(kind)
        }
    }

    pub fn with_status(self, status: &'a str) -> Self {
        DocFilter {
            status: Some(status),
            ..self
        }
    }

    /// The `limit` newest of these documents, newest first.
    pub fn newest(self, limit: i64) -> Self {
        DocFilter {
            newest_first: true,
            limit: Some(limit),
            ..self
        }
    }
}

/// The oldest and newest sequence numbers a tenant's log can still serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBounds {
    /// Events with `seq <= floor` were pruned.
    pub floor: i64,
    pub head: i64,
}

/// What one checkpoint did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The WAL was emptied (no commit since the previous checkpoint, no reader in the way).
    pub truncated: bool,
    /// Frames in the WAL, and how many of them are now in the database file.
    pub wal_frames: i64,
    pub moved_frames: i64,
}

/// A response kept under its Idempotency-Key, answered again for a repeat.
#[derive(Debug, Clone)]
pub struct StoredResponse {
    pub method: String,
    pub path: String,
    /// A hash of the request's body; `None` for keys kept before hashes were.
    pub request_hash: Option<String>,
    pub status: u16,
    pub body: String,
}

pub struct NewCost<'a> {
    pub project_id: &'a str,
    pub agent_id: &'a str,
    pub at_s: i64,
    pub model: &'a str,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_usd: f64,
}
