//! What can go wrong in the store, and which failures are the database's being away, full
//! or busy rather than a fault of the request or of the server.

use super::postgres_bus;

/// The SQLSTATEs of a database that cannot take the request now: the connection exceptions
/// (class 08, less `08P01`, a protocol violation, which is a bug of ours), `admin_shutdown`,
/// `crash_shutdown`, `cannot_connect_now` (starting up, shutting down), `too_many_connections`,
/// `55000`, which is what a database set to `ALLOW_CONNECTIONS false` answers a new
/// connection (no query of this server raises it otherwise), and `55P03`, a lock not had
/// within the connection's `lock_timeout` (a write behind a hung transaction): a 503 the
/// client retries, said once a minute, not a 500 logged with every request.
const REFUSING: &[&str] = &[
    "08000", "08001", "08003", "08004", "08006", "08007", "57P01", "57P02", "57P03", "53300",
    "55000", "55P03",
];

/// A failure of the database itself; the services turn it into a 5xx without its text.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The database server could not be reached or refused us; `target` names the user, host,
    /// port and database, never the password.
    #[error("cannot connect to PostgreSQL at {target}: {source}")]
    Connect {
        target: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is not valid JSON: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("{0}")]
    Unsupported(String),
    /// A write tried to append to the log of a tenant it did not begin for.
    #[error("this write did not begin for the tenant whose log it tried to append to")]
    WrongTenant,
    /// The connection other instances' announcements arrive on could not be had.
    #[error("cannot listen for other instances' writes: {0}")]
    NotListening(#[from] postgres_bus::ListenerLost),
    /// A write waited for its tenant's turn behind one that found the database out of reach
    /// (or got no connection from the pool in time).
    #[error("the write before this one could not reach the database or get a connection in time")]
    AwayForTheWriteBefore,
}

impl StoreError {
    /// The database's disk is full: SQLite's `SQLITE_FULL` (or its WAL index that cannot
    /// grow, `SQLITE_IOERR_SHMSIZE`), PostgreSQL's `disk_full`. Nothing was written; the same
    /// request succeeds once space is freed.
    pub fn is_disk_full(&self) -> bool {
        const SQLITE_FULL: &str = "13";
        const SQLITE_IOERR_SHMSIZE: &str = "4874";
        const POSTGRES_DISK_FULL: &str = "53100";
        matches!(self, StoreError::Database(sqlx::Error::Database(e))
            if matches!(e.code().as_deref(), Some(SQLITE_FULL | SQLITE_IOERR_SHMSIZE | POSTGRES_DISK_FULL)))
    }

    /// The database cannot be reached, or gave no connection in time, though nothing is wrong
    /// with the request: its connections fail or time out (a restart, a failover, a network
    /// cut, every pooled connection busy past the pool's wait), or it says it is starting up,
    /// shutting down, out of connections, or set to refuse them. The same request succeeds
    /// once it is back.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect { .. } | StoreError::AwayForTheWriteBefore => true,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::Tls(_),
            ) => true,
            StoreError::Database(sqlx::Error::Database(e)) => e
                .code()
                .is_some_and(|code| REFUSING.contains(&code.as_ref())),
            _ => false,
        }
    }

    /// PostgreSQL ended this transaction to break a deadlock (`40P01`): two transactions each
    /// waited for a row the other held. Nothing of it was kept; run from its start again, it
    /// meets the other one finished.
    pub fn is_deadlock(&self) -> bool {
        const DEADLOCK_DETECTED: &str = "40P01";
        self.has_sqlstate(DEADLOCK_DETECTED)
    }

    /// PostgreSQL stopped a statement that ran past the connection's `statement_timeout`
    /// (`57014`, `query_canceled`): a read too large to answer in time, not a fault of the
    /// database or of the request's form.
    pub fn is_statement_timeout(&self) -> bool {
        const QUERY_CANCELED: &str = "57014";
        self.has_sqlstate(QUERY_CANCELED)
    }

    /// The database refused a string holding U+0000 (PostgreSQL's `TEXT` cannot; SQLite's
    /// can): the caller's input, not a fault of the server.
    pub fn is_text_with_nul(&self) -> bool {
        /// SQLSTATE `character_not_in_repertoire`.
        const CHARACTER_NOT_IN_REPERTOIRE: &str = "22021";
        self.has_sqlstate(CHARACTER_NOT_IN_REPERTOIRE)
    }

    /// The database answered with the SQLSTATE `code`.
    fn has_sqlstate(&self, code: &str) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(e))
            if e.code().as_deref() == Some(code))
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod unavailable_tests {
    use std::borrow::Cow;

    use super::StoreError;

    /// A database's error with a SQLSTATE, as PostgreSQL's driver hands them over.
    #[derive(Debug)]
    struct Sqlstate(&'static str);

    impl std::fmt::Display for Sqlstate {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "SQLSTATE {}", self.0)
        }
    }

    impl std::error::Error for Sqlstate {}

    impl sqlx::error::DatabaseError for Sqlstate {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn with_code(code: &'static str) -> StoreError {
        StoreError::Database(sqlx::Error::Database(Box::new(Sqlstate(code))))
    }

    #[test]
    fn a_database_out_of_reach_is_unavailable_and_a_bug_of_ours_is_not() {
        for away in [
            "08006", "08001", "57P01", "57P03", "53300", "55000", "55P03",
        ] {
            assert!(with_code(away).is_unavailable(), "{away}");
        }
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(StoreError::Database(sqlx::Error::Io(refused)).is_unavailable());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_unavailable());
        // A protocol violation, a syntax error, a constraint: the server's own doing, a 500.
        for ours in ["08P01", "42601", "23505", "22021"] {
            assert!(!with_code(ours).is_unavailable(), "{ours}");
        }
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_unavailable());
        assert!(!StoreError::WrongTenant.is_unavailable());
    }

    #[test]
    fn a_deadlock_and_a_statement_past_its_timeout_are_told_apart_from_the_rest() {
        assert!(with_code("40P01").is_deadlock());
        assert!(with_code("57014").is_statement_timeout());
        for other in ["40001", "55P03", "57P01", "23505"] {
            assert!(!with_code(other).is_deadlock(), "{other}");
            assert!(!with_code(other).is_statement_timeout(), "{other}");
        }
    }
}
