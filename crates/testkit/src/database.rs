//! Which database a test server runs on: a SQLite file in the test's temporary folder, or,
//! with `SPARTEX_TEST_DATABASE=postgres`, a database of its own on the PostgreSQL cluster
//! `SPARTEX_TEST_POSTGRES_URL` names (an admin URL: `scripts/pg-cluster.sh start` prints one).
//! The server creates that database as it opens it; it is dropped when the test is done.

use std::path::Path;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Connection;

const BACKEND: &str = "SPARTEX_TEST_DATABASE";
const ADMIN_URL: &str = "SPARTEX_TEST_POSTGRES_URL";

/// The database one test server uses, across its restarts.
pub enum TestDatabase {
    Sqlite {
        url: String,
    },
    Postgres {
        url: String,
        admin: String,
        name: String,
    },
    /// Another instance's database, used here too and dropped by its owner.
    Shared {
        url: String,
    },
}

impl TestDatabase {
    /// The backend the environment asks for; SQLite unless it names PostgreSQL.
    pub fn for_test(dir: &Path) -> TestDatabase {
        match std::env::var(BACKEND).as_deref() {
            Ok("postgres") => Self::postgres(),
            Ok("sqlite") | Err(_) => TestDatabase::Sqlite {
                url: format!("sqlite://{}", dir.join("server.db").display()),
            },
            Ok(other) => panic!("{BACKEND}={other}: use sqlite (the default) or postgres"),
        }
    }

    /// A new database on the cluster `SPARTEX_TEST_POSTGRES_URL` names, whatever
    /// `SPARTEX_TEST_DATABASE` says: for tests of several instances, which only PostgreSQL has.
    pub fn postgres() -> TestDatabase {
        let admin = std::env::var(ADMIN_URL).unwrap_or_else(|_| {
            panic!(
                "{BACKEND}=postgres needs {ADMIN_URL}: run the suite with `bash scripts/test.sh`, \
                 or start a cluster with `bash scripts/pg-cluster.sh start DIR` and set \
                 {ADMIN_URL} to the URL it prints"
            )
        });
        let mut url =
            reqwest::Url::parse(&admin).unwrap_or_else(|e| panic!("{ADMIN_URL} is not a URL: {e}"));
        let name = format!("spartex_test_{}", uuid::Uuid::new_v4().simple());
        url.set_path(&format!("/{name}"));
        TestDatabase::Postgres {
            url: url.into(),
            admin,
            name,
        }
    }

    /// What `--database-url` says.
    pub fn url(&self) -> &str {
        match self {
            TestDatabase::Sqlite { url }
            | TestDatabase::Postgres { url, .. }
            | TestDatabase::Shared { url } => url,
        }
    }

    /// Runs one SQL statement on the database, as its administrator would (a person's role
    /// changed by hand, say). On SQLite it waits its turn behind the server's writer.
    pub(crate) async fn execute(&self, statement: &str) {
        let url = match self {
            TestDatabase::Postgres { url, .. } | TestDatabase::Shared { url } => url,
            TestDatabase::Sqlite { url } => {
                let options: SqliteConnectOptions =
                    url.parse().expect("the test database's URL parses");
                let options = options.busy_timeout(std::time::Duration::from_secs(10));
                let mut conn = sqlx::SqliteConnection::connect_with(&options)
                    .await
                    .expect("the test database opens");
                sqlx::query(statement)
                    .execute(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{statement}: {e}"));
                return;
            }
        };
        let options: PgConnectOptions = url.parse().expect("the test database's URL parses");
        let mut conn = sqlx::PgConnection::connect_with(&options)
            .await
            .expect("the test database accepts a connection");
        sqlx::query(statement)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }

    /// Makes the PostgreSQL database refuse connections and ends those it has (as a restart or
    /// a failover of the database server would), or lets it take them again: only this test's
    /// database, since the cluster is shared by tests running beside it.
    pub async fn refuse_connections(&self, refuse: bool) {
        let TestDatabase::Postgres { admin, name, .. } = self else {
            panic!("refusing connections is for a PostgreSQL database of the test's own");
        };
        let options: PgConnectOptions = admin.parse().expect("the admin URL parses");
        let mut conn = sqlx::PgConnection::connect_with(&options)
            .await
            .expect("the cluster accepts its administrator");
        let allow = if refuse { "false" } else { "true" };
        let mut statements = vec![format!(
            "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {allow}"
        )];
        if refuse {
            statements.push(format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ));
        }
        for statement in statements {
            sqlx::query(&statement)
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        if !refuse {
            return;
        }
        // pg_terminate_backend only signals: a connection not yet gone would still answer.
        let left = format!("SELECT count(*) FROM pg_stat_activity WHERE datname = '{name}'");
        for _ in 0..100 {
            let count: i64 = sqlx::query_scalar(&left)
                .fetch_one(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("{left}: {e}"));
            if count == 0 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the test database's connections were not all ended within 10 s");
    }

    /// The same database for another server instance: PostgreSQL only, which instances share.
    pub(crate) fn shared(&self) -> TestDatabase {
        match self {
            TestDatabase::Postgres { url, .. } | TestDatabase::Shared { url } => {
                TestDatabase::Shared { url: url.clone() }
            }
            TestDatabase::Sqlite { .. } => panic!(
                "several instances share a PostgreSQL database only: run this test with \
                 SPARTEX_TEST_DATABASE=postgres (`bash scripts/test.sh` does)"
            ),
        }
    }

    pub(crate) fn is_sqlite(&self) -> bool {
        matches!(self, TestDatabase::Sqlite { .. })
    }
}

impl Drop for TestDatabase {
    /// Drops a PostgreSQL test database from a thread of its own (the test's runtime may be
    /// ending); a failure only leaves a database behind in a throwaway cluster.
    fn drop(&mut self) {
        let TestDatabase::Postgres { admin, name, .. } = self else {
            return;
        };
        let admin = admin.clone();
        let statement = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let dropping = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let options: PgConnectOptions = admin.parse()?;
                let mut conn = sqlx::PgConnection::connect_with(&options).await?;
                sqlx::query(&statement).execute(&mut conn).await?;
                Ok::<_, sqlx::Error>(())
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
        if let Ok(Err(e)) = dropping.join() {
            eprintln!("the test database {name} was left behind: {e}");
        }
    }
}
