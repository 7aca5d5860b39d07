//! SIGKILL in the middle of a large cold sync leaves a sound cache that resumes from its `seq`.

use std::path::Path;
use std::time::{Duration, Instant};

use spartex_api::AgentMessageRequest;
use spartex_core::Core;
use spartex_server::auth::AgentPrincipal;
use spartex_server::service::messages::post_from_agent;
use spartex_server::store::WriteScope;
use spartex_server::write::Write;

use crate::support::{eventually, Cli, TestServer, ONCALL};

const EVENTS: usize = 60_000;
const PER_COMMIT: usize = 2_000;
/// The cache is killed once it holds this much: past its first commits (catch-up commits
/// 10,000 events at a time, about 10 MB of WAL each), far from its last (about 70 MB).
const KILL_AT_BYTES: u64 = 24 << 20;

/// Appends `count` chat messages to the log, in-process, a few thousand per transaction.
async fn fill_log(server: &TestServer, count: usize) {
    let tenant_id = server.tenant_id().await;
    let agents: Vec<AgentPrincipal> = server
        .agents
        .iter()
        .filter(|a| a.project_name != "Autumn Catalogue Push")
        .map(|a| AgentPrincipal {
            agent_id: a.agent.id.clone(),
            tenant_id: tenant_id.clone(),
        })
        .collect();
    let mut written = 0;
    while written < count {
        let mut w = Write::begin(server.state(), WriteScope::Tenant(&tenant_id))
            .await
            .expect("a write begins");
        for i in written..(written + PER_COMMIT).min(count) {
            let request = AgentMessageRequest {
                body: format!(
                    "Progress report {i}: variant {} of the spring set is at {} % of its budget.",
                    i % 12,
                    i % 100
                ),
                to_project: i % 2 == 0,
            };
            post_from_agent(&mut w, &agents[i % agents.len()], request)
                .await
                .expect("an agent posts");
        }
        w.commit().await.expect("the batch commits");
        written = (written + PER_COMMIT).min(count);
    }
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Every message in the account's cache, over all its projects.
async fn cached_messages(account: &spartex_core::Account) -> usize {
    let mut total = 0;
    for row in account.dashboard().await.expect("the dashboard reads") {
        total += account
            .messages(
                &row.project.id,
                &spartex_core::store::views::Thread::Everything,
                i64::MAX,
            )
            .await
            .expect("messages read")
            .len();
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_a_large_sync_leaves_a_sound_cache_that_resumes() {
    let server = TestServer::start().await;
    let started = Instant::now();
    fill_log(&server, EVENTS).await;
    let oncall = server.token(ONCALL).await;
    let head = server.api(&oncall).head().await;
    assert!(
        head > EVENTS as i64,
        "the log holds the seed and {EVENTS} messages: {head}"
    );
    println!("{EVENTS} events written in {:?}", started.elapsed());

    // `login` signs in and starts the cold sync; it is killed in the middle of it.
    let cli = Cli::new();
    let url = server.url();
    let login = cli.spawn(&["login", "--server", &url, "--email", ONCALL]);
    let account_id = "acme-ads-oncall";
    let cache = cli.cache_path(account_id);
    let wal = cache.with_file_name("cache.db-wal");
    let started = Instant::now();
    let grown = eventually("the cache grows during the sync", async || {
        let bytes = size(&cache) + size(&wal);
        (bytes >= KILL_AT_BYTES).then_some(bytes)
    })
    .await;
    let printed = login.kill_9().await;
    println!(
        "login killed after {:?} with {grown} bytes of cache; it printed: {printed:?}",
        started.elapsed()
    );

    // The cache left behind is sound, and holds a prefix of the log.
    let core = Core::new(cli.core_config());
    let account = core.open(None).await.expect("the cache opens");
    assert_eq!(account.info().id, account_id);
    let check = account
        .store()
        .integrity_check()
        .await
        .expect("the check runs");
    assert_eq!(check, "ok", "PRAGMA integrity_check");
    let stored_seq = account.store().last_seq().await.expect("the seq reads");
    assert!(
        stored_seq > 0 && stored_seq < head,
        "killed in the middle of the sync: seq {stored_seq} of {head}"
    );
    let partial = cached_messages(&account).await;
    assert!(partial > 0 && partial < EVENTS, "{partial} messages cached");
    account.store().close().await;
    drop(account);

    // `sync` resumes from the stored seq: it applies only what is missing.
    let started = Instant::now();
    let synced = cli.run(&["sync", "--json"]).await;
    let report = synced.expect_ok().json();
    println!("the rest synced in {:?}: {report}", started.elapsed());
    assert_eq!(report["sync"]["resynced"], false, "{report}");
    assert_eq!(report["sync"]["last_seq"], head, "{report}");
    assert_eq!(report["sync"]["head"], head, "{report}");
    assert_eq!(
        report["sync"]["applied"],
        head - stored_seq,
        "only the events after seq {stored_seq} were fetched and applied: {report}"
    );

    let account = core.open(None).await.expect("the cache opens again");
    assert_eq!(account.store().last_seq().await.expect("the seq"), head);
    assert_eq!(
        account.store().integrity_check().await.expect("the check"),
        "ok"
    );
    let on_server = server.all_messages().await.len();
    assert!(on_server >= EVENTS, "{on_server}");
    assert_eq!(
        cached_messages(&account).await,
        on_server,
        "every message of the server is cached, once"
    );
    account.store().close().await;
    tokio::time::timeout(Duration::from_secs(30), async {
        let mut server = server;
        server.shutdown().await;
    })
    .await
    .expect("the server shuts down");
}
