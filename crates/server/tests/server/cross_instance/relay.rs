//! What an instance hears from another is handed on without waiting for reads it does not need.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use spartex_server::store::WriteScope;

use super::two_instances;
use crate::support::{project_id, NEWSLETTER};

/// Connections in an instance's pool (`store::postgres::POOL_CONNECTIONS`).
const POOL_CONNECTIONS: usize = 16;

/// B's pool is busy to its last connection, so each catch-up of the log waits there (up to
/// 10 s). A stop made through A for an agent whose control socket is on B reaches it at
/// once, where it waited behind the catch-up of the stop's own events, read for a socket on B.
#[tokio::test]
async fn a_stop_reaches_an_agent_on_an_instance_whose_reads_wait_for_a_connection() {
    let (a, b) = two_instances().await;
    let oncall = a.login("oncall@acme.test").await;
    let newsletter = project_id(&oncall, NEWSLETTER).await;
    let mut events_on_b = b.events(oncall.token(), None).await;
    assert_eq!(events_on_b.next().await["type"], "hello");
    let mut control = b.control("Ink").await;

    let mut held = Vec::new();
    for n in 0..POOL_CONNECTIONS {
        let busy = format!("ten_busy_{n}");
        held.push(
            b.state()
                .store
                .begin(WriteScope::Tenant(&busy))
                .await
                .expect("a write holds one of B's connections"),
        );
    }
    let (status, stop) = oncall
        .post(
            &format!("/api/v1/projects/{newsletter}/stop"),
            json!({"reason": "Wrong list"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{stop}");

    let frame = tokio::time::timeout(Duration::from_secs(5), control.next())
        .await
        .expect("the stop arrives while B's catch-up waits for a connection");
    assert_eq!(frame, json!({"type": "stop", "stop_id": stop["id"]}));

    // Once B's pool is free again, its socket hears the stop's events too.
    drop(held);
    let upserted = events_on_b
        .next_where("the stop", |f| f["type"] == "stop.upserted")
        .await;
    assert_eq!(upserted["data"]["id"], stop["id"]);
}
