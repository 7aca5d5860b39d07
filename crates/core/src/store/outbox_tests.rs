//! The outbox and the outcomes as processes sharing one cache, and builds of other versions,
//! leave them.

use chrono::Utc;

use super::tests::store;
use super::QueuedAction;
use crate::{Outcome, OutcomeResult};

fn stop() -> QueuedAction {
    QueuedAction::StopProject {
        project_id: "prj_1".into(),
        project_name: "Spring Sale".into(),
        reason: "Wrong audience list".into(),
    }
}

fn outcome(action: &str) -> Outcome {
    Outcome {
        at: Utc::now(),
        result: OutcomeResult::Delivered,
        action: action.into(),
        message: format!("{action} delivered."),
        approval_id: None,
        project_id: Some("prj_1".into()),
    }
}

/// The app and the CLI both sent the same stop (under its one key); the second to settle it
/// finds it gone and keeps no second outcome.
#[tokio::test]
async fn an_action_settled_by_another_process_keeps_one_outcome() {
    let (store, _dir) = store().await;
    let entry = store
        .enqueue(stop().prepare(Utc::now()))
        .await
        .expect("queues");
    let said = outcome(&entry.label);
    for _process in ["the CLI", "the app"] {
        store
            .outbox_taken_unread(&entry, &said)
            .await
            .expect("settles");
    }
    assert_eq!(store.outcomes(10).await.expect("outcomes"), [said]);
}
