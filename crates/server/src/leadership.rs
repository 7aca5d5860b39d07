//! Jobs a deployment runs once, however many instances it has: the deadline sweeper and push
//! delivery run on the instance the store names leader ([`crate::store::Store::campaign`]),
//! and start on another within seconds of the leader's end.

use std::future::Future;

use tokio::sync::watch;

use crate::state::AppState;

/// Runs `job` while this instance leads: started when leadership is won, dropped (its open
/// transaction rolled back) when it is lost, started again when it is won back. Returns when
/// the server stops.
pub async fn while_leading<Job, Running>(
    state: AppState,
    mut leading: watch::Receiver<bool>,
    job: Job,
) where
    Job: Fn(AppState) -> Running,
    Running: Future<Output = ()>,
{
    let stopping = state.stopping();
    tokio::pin!(stopping);
    loop {
        tokio::select! {
            won = leading.wait_for(|leading| *leading) => if won.is_err() { return },
            () = &mut stopping => return,
        }
        let lost = async {
            // A store that never changes its answer (a single instance) dropped its sender.
            if leading.wait_for(|leading| !*leading).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = job(state.clone()) => return,
            () = lost => {}
        }
    }
}
