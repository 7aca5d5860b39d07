//! The database's disk fills up under a running server: a write is refused with 503, words that
//! say so and a `Retry-After`, not a 500; reads go on; the log says so once, not once per
//! write; and once space is freed the same write, retried under its Idempotency-Key, is kept
//! once.

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::small_disk::SmallDisk;
use super::{manager_and_a_thread, server_binary, Server};

/// A message of ~3.6 kB, so that the database's files outgrow their space in a few writes.
fn note(n: usize) -> String {
    let filler = "the spring flight keeps its pacing; ".repeat(100);
    format!("Full-disk note {n}: {}", filler.trim_end())
}

#[tokio::test]
async fn a_full_disk_refuses_writes_with_503_and_a_retry_is_kept_once_space_is_freed() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let disk = SmallDisk::over(&dir.path().join("db"), "64m").await;
    let database = format!("sqlite://{}", dir.path().join("db/server.db").display());
    let enter = disk.enter();
    let mut command = tokio::process::Command::new(&enter[0]);
    command.args(&enter[1..]).arg(server_binary());
    let mut server = Server::spawn(command, &database, &["--demo", "--demo-pace", "3600"], dir);
    let base = server.url().await;
    server.wait_for_line("Demo organisations are ready").await;
    let (api, messages) = manager_and_a_thread(&base).await;

    disk.fill().await;
    // What the database's files already hold takes a few writes before one needs a new block.
    let mut refused = None;
    for n in 0..2_000 {
        let (status, body) = api
            .post_with_key(&messages, json!({ "body": note(n) }), &format!("note-{n}"))
            .await;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some((n, body));
            break;
        }
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (n, refusal) = refused.expect("a write met the full disk");
    assert_eq!(refusal["error"]["code"], "unavailable", "{refusal}");
    let words = refusal["error"]["message"].as_str().unwrap_or_default();
    assert!(words.contains("disk is full"), "{refusal}");
    assert_eq!(
        refusal["error"]["details"]["retry_after_s"], 30,
        "{refusal}"
    );
    let retry_after = reqwest::Client::new()
        .post(format!("{base}{messages}"))
        .bearer_auth(api.token())
        .header("Idempotency-Key", format!("note-{n}"))
        .json(&json!({ "body": note(n) }))
        .send()
        .await
        .expect("an answer");
    assert_eq!(retry_after.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(retry_after.headers()["retry-after"], "30");
    for retry in 0..10 {
        let (status, body) = api
            .post_with_key(&messages, json!({ "body": note(n) }), &format!("note-{n}"))
            .await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "retry {retry}: {body}"
        );
    }
    assert_eq!(
        api.get("/api/v1/projects").await.0,
        StatusCode::OK,
        "reads go on"
    );

    disk.free().await;
    let (status, kept) = api
        .post_with_key(&messages, json!({ "body": note(n) }), &format!("note-{n}"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{kept}");
    let thread = api.get_ok(&format!("{messages}?limit=200")).await;
    let copies = thread
        .as_array()
        .expect("the thread")
        .iter()
        .filter(|m: &&Value| m["body"] == note(n).as_str())
        .count();
    assert_eq!(copies, 1, "kept once: {kept}");
    let log = server.terminate(std::time::Duration::from_secs(10)).await;
    let said = log
        .matches("the database's disk is full: free space on it")
        .count();
    assert_eq!(said, 1, "twelve refused writes, said once:\n{log}");
}
