//! A database as a server of an earlier version left it: the migrations older than one, so a
//! test can fill it with rows of the shape they had then and hold a later migration to
//! keeping them.

use futures_util::future::BoxFuture;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, Migrator};

/// The migrations of a set older than a version.
#[derive(Debug)]
struct Older(Vec<Migration>);

impl MigrationSource<'static> for Older {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async move { Ok(self.0) })
    }
}

/// The migrations of `all` older than `version`, which must be one of them.
pub async fn older_than(all: &Migrator, version: i64) -> Migrator {
    assert!(
        all.version_exists(version),
        "no migration {version} among the server's"
    );
    let older = all.iter().filter(|m| m.version < version).cloned();
    Migrator::new(Older(older.collect()))
        .await
        .expect("the older migrations resolve")
}
