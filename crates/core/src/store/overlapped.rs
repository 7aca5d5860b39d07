//! Runs a batch's statements with the calling thread and SQLite's worker thread both at work.
//!
//! sqlx runs a connection's statements on a worker thread of its own; the caller builds each
//! statement (binding its values, writing resources out as JSON) and waits for the worker to run
//! it. Done one after the other, the two threads take turns and a cold sync uses one core of two.
//! [`execute_overlapped`] hands a statement to the worker and builds the next one while it runs.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

use sqlx::{Executor, QueryBuilder, Sqlite, SqliteConnection};

use super::StoreResult;

/// Runs, in order, each statement `next` builds until it returns `None`, building the next one
/// while the worker runs the one before; if that is built before the worker is done, calls
/// `meanwhile` (a small slice of other work, `false` once there is none left) until it is.
/// Stops at the first error; statements already run stay in the caller's transaction, which is
/// rolled back when it is dropped.
pub(super) async fn execute_overlapped<'args>(
    conn: &mut SqliteConnection,
    mut next: impl FnMut() -> StoreResult<Option<QueryBuilder<'args, Sqlite>>>,
    mut meanwhile: impl FnMut() -> bool,
) -> StoreResult<()> {
    let mut current = next()?;
    let mut more_meanwhile = true;
    while let Some(mut query) = current {
        let mut running = pin!(conn.execute(query.build()));
        // The first poll sends the statement to the worker; it runs while the next is built.
        let mut polled = poll_once(running.as_mut()).await;
        if let Poll::Ready(Err(error)) = polled {
            return Err(error.into());
        }
        let following = next();
        while polled.is_pending() && more_meanwhile {
            more_meanwhile = meanwhile();
            polled = poll_once(running.as_mut()).await;
        }
        match polled {
            Poll::Ready(result) => result?,
            Poll::Pending => running.await?,
        };
        current = following?;
    }
    Ok(())
}

/// Polls `future` once, with the calling task's waker.
async fn poll_once<F: Future>(mut future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await
}

#[cfg(test)]
mod tests {
    use sqlx::Connection;

    use super::*;

    #[tokio::test]
    async fn runs_every_statement_in_order_and_stops_at_the_first_failure() {
        let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("opens");
        sqlx::query("CREATE TABLE log (n INTEGER PRIMARY KEY CHECK (n < 5))")
            .execute(&mut conn)
            .await
            .expect("creates");

        let mut n = 0;
        let mut slices_left = 1_000;
        execute_overlapped(
            &mut conn,
            || {
                n += 1;
                Ok((n <= 3).then(|| {
                    let mut query = QueryBuilder::new("INSERT INTO log (n) VALUES (");
                    query.push_bind(n).push(")");
                    query
                }))
            },
            || {
                slices_left -= 1;
                slices_left > 0
            },
        )
        .await
        .expect("runs");
        let kept: Vec<i64> = sqlx::query_scalar("SELECT n FROM log ORDER BY rowid")
            .fetch_all(&mut conn)
            .await
            .expect("reads");
        assert_eq!(kept, [1, 2, 3]);

        let mut built = 0;
        let failed = execute_overlapped(
            &mut conn,
            || {
                built += 1;
                let mut query = QueryBuilder::new("INSERT INTO log (n) VALUES (");
                query.push_bind(3 + built).push(")");
                Ok(Some(query))
            },
            || false,
        )
        .await;
        assert!(failed.is_err(), "n = 5 breaks the CHECK");
        let kept: Vec<i64> = sqlx::query_scalar("SELECT n FROM log ORDER BY rowid")
            .fetch_all(&mut conn)
            .await
            .expect("reads");
        assert_eq!(kept, [1, 2, 3, 4], "nothing after the failure runs");
    }
}
