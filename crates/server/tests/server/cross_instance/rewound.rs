//! A database failover that lost its last commits: their `seq`s are given again to new events,
//! which sockets that heard the lost ones would drop as already seen.

use reqwest::StatusCode;
use serde_json::json;
use spartex_api::LOG_REWOUND_CLOSE_CODE;

use super::two_instances;
use crate::support::{project_id, SPRING};

/// Sockets on both instances heard three messages; the database then comes back without the
/// last two (rewound by hand, as a replica promoted before they reached it would be). The next
/// write reuses their numbers: each socket closes with the code that has its client reconnect
/// (the writing instance notices as it publishes, the other as it catches up), and a client
/// reconnecting from what it applied, now above the head, is told to resync, where the new
/// events were dropped unseen.
#[tokio::test]
async fn sockets_that_heard_events_a_failover_lost_close_to_resync() {
    let (a, b) = two_instances().await;
    let oncall = a.login("oncall@acme.test").await;
    let tenant = a.tenant_of("oncall@acme.test").await;
    let spring = project_id(&oncall, SPRING).await;
    let head = oncall.head().await;
    let mut sockets = [
        a.events(oncall.token(), Some(head)).await,
        b.events(oncall.token(), Some(head)).await,
    ];
    let path = format!("/api/v1/projects/{spring}/messages");
    for n in 0..3 {
        let (status, body) = oncall
            .post(&path, json!({"body": format!("kept? {n}")}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mut applied = head;
    for socket in &mut sockets {
        assert_eq!(socket.next().await["type"], "hello");
        applied = socket
            .next_where("the third message", |f| f["data"]["body"] == "kept? 2")
            .await["seq"]
            .as_i64()
            .expect("a seq");
    }

    let kept = applied - 2;
    a.execute_sql(&format!(
        "DELETE FROM events WHERE tenant_id = '{tenant}' AND seq > {kept}"
    ))
    .await;
    a.execute_sql(&format!(
        "UPDATE tenants SET head_seq = {kept} WHERE id = '{tenant}'"
    ))
    .await;
    let (status, body) = oncall
        .post(&path, json!({"body": "after the failover"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    for socket in &mut sockets {
        assert_eq!(socket.close_code().await, Some(LOG_REWOUND_CLOSE_CODE));
    }
    for instance in [&a, &b] {
        let mut again = instance.events(oncall.token(), Some(applied)).await;
        let hello = again.next().await;
        assert_eq!(hello["type"], "hello");
        assert!(hello["head"].as_i64() < Some(applied), "{hello}");
        assert_eq!(again.next().await["type"], "resync_required");
    }
}
