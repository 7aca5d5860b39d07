//! Work a dropped request must not stop half-way (hyper drops a handler's future when its
//! client hangs up): a `BEGIN` on PostgreSQL (`store::postgres_tx`), a commit and the
//! publishing of its events (`write::Write::commit`).

use std::future::Future;

use tracing::Instrument;

/// Runs `work` to its end in a task of its own, in the caller's span, whatever becomes of the
/// caller. `None` when the runtime is shutting down; a panic inside resumes in the caller.
pub async fn run_to_end<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    match tokio::spawn(work.in_current_span()).await {
        Ok(done) => Some(done),
        Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
        Err(_) => None,
    }
}
