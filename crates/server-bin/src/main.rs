//! `spartex-server`: the reference Spartex server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use spartex_demo as demo;
use spartex_server::clock::SystemClock;
use spartex_server::config::{Secret, Settings};
use tracing_subscriber::EnvFilter;

mod push_flags;

/// The reference Spartex server: the v1 contract on SQLite (one instance) or PostgreSQL
/// (several), with an optional demo world.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "SPARTEX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the data lives: sqlite://PATH or postgres://USER@HOST/DATABASE; created with its
    /// migrations on first start.
    // `--help` does not echo the variable's value: a PostgreSQL URL may hold a password.
    #[arg(
        long,
        env = "SPARTEX_DATABASE_URL",
        default_value = "sqlite://spartex.db",
        hide_env_values = true
    )]
    database_url: String,
    /// Secret that signs access tokens, at least 32 bytes (`openssl rand -base64 48`);
    /// generated and kept in the database when absent.
    #[arg(long, env = "SPARTEX_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<Secret>,
    /// Lifetime of an access token, in seconds: 30 to 3600.
    #[arg(long, env = "SPARTEX_ACCESS_TOKEN_TTL_S", default_value_t = 900)]
    access_token_ttl_s: u64,
    /// Seconds an agent has to acknowledge a stop before it is stopped by force.
    #[arg(long, env = "SPARTEX_STOP_TIMEOUT_S", default_value_t = 10)]
    stop_timeout_s: u64,
    /// Days the event log keeps events; clients further behind resync from snapshots.
    #[arg(long, env = "SPARTEX_EVENT_RETENTION_DAYS", default_value_t = 30)]
    event_retention_days: u64,
    /// Largest request body, in bytes.
    #[arg(long, env = "SPARTEX_MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    max_body_bytes: usize,
    /// Seconds a client has to send a request's headers; also how long an idle kept-alive
    /// connection stays open.
    #[arg(long, env = "SPARTEX_HEADER_TIMEOUT_S", default_value_t = 10)]
    header_timeout_s: u64,
    /// Seconds a client has to send a request's whole body once its headers are in (408 after).
    #[arg(long, env = "SPARTEX_BODY_TIMEOUT_S", default_value_t = 30)]
    body_timeout_s: u64,
    /// Seconds a connection may go without a byte moving while the server waits on the
    /// client; more than the longest long poll (50).
    #[arg(long, env = "SPARTEX_IDLE_TIMEOUT_S", default_value_t = 75)]
    idle_timeout_s: u64,
    /// Connections one client address may hold open at once; more are closed as accepted.
    /// Behind a reverse proxy every client has the proxy's address: raise it there.
    #[arg(long, env = "SPARTEX_MAX_CONNECTIONS_PER_IP", default_value_t = 512)]
    max_connections_per_ip: usize,
    /// The address or range (10.0.0.0/16) of the load balancers or reverse proxies in front of
    /// this instance (repeat, or separate with commas): sign-in throttling then counts by the
    /// client address their `X-Forwarded-For` names, instead of treating every client as the
    /// proxy; their connections are capped as 16 clients' (each carries many people's), and are
    /// kept between requests for the idle timeout, longer than a balancer keeps them. A range
    /// wider than /16 (IPv4) or /32 (IPv6) is warned about at start.
    #[arg(
        long = "trusted-proxy",
        env = "SPARTEX_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = spartex_server::trusted_proxies::parse_one
    )]
    trusted_proxies: Vec<spartex_server::trusted_proxies::IpNet>,
    /// Approvals one agent may have waiting at once; more are refused with 429 so that a
    /// looping agent cannot bury the on-call.
    #[arg(
        long,
        env = "SPARTEX_MAX_PENDING_APPROVALS_PER_AGENT",
        default_value_t = 20
    )]
    max_pending_approvals_per_agent: usize,
    /// Writes one person may make a second, all their clients together, once their burst is
    /// spent (429 with Retry-After past it, counted per instance): a stolen or runaway client
    /// cannot flood the organisation's timeline. The emergency stop, signing in and out, and
    /// reads are never held back.
    #[arg(long, env = "SPARTEX_USER_WRITES_PER_SECOND", default_value_t = 10)]
    user_writes_per_second: u32,
    /// Writes one person may make at once before `--user-writes-per-second` applies; well
    /// above a manager deciding forty requests in a row.
    #[arg(long, env = "SPARTEX_USER_WRITE_BURST", default_value_t = 60)]
    user_write_burst: u32,
    /// Seconds one statement may run on PostgreSQL before the database stops it and the
    /// request is answered 503 (a read over a long history, say), rather than holding one of
    /// the instance's connections until it ends.
    #[arg(long, env = "SPARTEX_STATEMENT_TIMEOUT_S", default_value_t = 30)]
    statement_timeout_s: u64,
    /// Seed the demo organisations (once) and run simulated agent workers.
    #[arg(long, env = "SPARTEX_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    demo: bool,
    /// Seconds between a simulated agent's steps; lower is busier (0.05 for load).
    #[arg(long, env = "SPARTEX_DEMO_PACE", default_value_t = 4.0)]
    demo_pace: f64,
    /// Password of every demo user.
    #[arg(
        long,
        env = "SPARTEX_DEMO_PASSWORD",
        default_value = "spartex-demo",
        hide_env_values = true
    )]
    demo_password: Secret,
    #[command(flatten)]
    push: push_flags::PushFlags,
    /// Log filter, e.g. `info` or `spartex_server=debug,tower_http=debug`.
    #[arg(long, env = "SPARTEX_LOG", default_value = "info")]
    log: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let shutdown = shutdown_signal();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).context("--log is not a valid filter")?)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    if !(0.01..=3600.0).contains(&cli.demo_pace) {
        anyhow::bail!("--demo-pace must be between 0.01 and 3600 seconds");
    }

    let mut settings = Settings::new(cli.listen, &cli.database_url);
    settings.jwt_secret = cli.jwt_secret;
    settings.access_token_ttl = Duration::from_secs(cli.access_token_ttl_s);
    settings.stop_timeout = Duration::from_secs(cli.stop_timeout_s.max(1));
    settings.event_retention = Duration::from_secs(cli.event_retention_days.max(1) * 24 * 3600);
    settings.max_body_bytes = cli.max_body_bytes;
    settings.header_read_timeout = Duration::from_secs(cli.header_timeout_s.max(1));
    settings.body_read_timeout = Duration::from_secs(cli.body_timeout_s.max(1));
    settings.idle_timeout = Duration::from_secs(cli.idle_timeout_s);
    settings.max_connections_per_ip = cli.max_connections_per_ip.max(1);
    settings.trusted_proxies =
        spartex_server::trusted_proxies::TrustedProxies::new(cli.trusted_proxies);
    for wide in settings.trusted_proxies.too_wide() {
        tracing::warn!(
            range = %wide,
            "a trusted proxy range wider than a balancer's subnet: anyone in it can name any \
             client address and hold connections uncapped per address; name the balancers' \
             own addresses or subnet"
        );
    }
    settings.max_pending_approvals_per_agent = cli.max_pending_approvals_per_agent.max(1);
    settings.user_writes_per_second = cli.user_writes_per_second.max(1);
    settings.user_write_burst = cli.user_write_burst.max(1);
    settings.statement_timeout = Duration::from_secs(cli.statement_timeout_s.max(1));
    settings.push = cli.push.settings();
    if settings.idle_timeout <= settings.max_long_poll {
        anyhow::bail!(
            "--idle-timeout-s must be more than {} s, the longest long poll",
            settings.max_long_poll.as_secs()
        );
    }
    match spartex_server::listener::raise_open_files_limit() {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open files limit"),
    }

    let mut server = spartex_server::start(settings, Arc::new(SystemClock)).await?;
    let demo_world = if cli.demo {
        let world = demo::seed::ensure_seeded(&server.state, &cli.demo_password).await?;
        demo::oncall::ensure_seeded(&server.state).await?;
        println!(
            "Demo organisations are ready at {}. Sign in with any of:",
            server.url()
        );
        for user in &world.users {
            println!(
                "  {:<8} {:<26} {}",
                user.role,
                user.email,
                cli.demo_password.expose()
            );
        }
        let pace = Duration::from_secs_f64(cli.demo_pace);
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let workers = tokio::spawn(run_demo_workers(
            server.leading.clone(),
            stopping,
            server.url(),
            world.agents,
            pace,
        ));
        Some((stop, workers))
    } else {
        None
    };

    tokio::select! {
        result = server.wait() => result.context("the server stopped")?,
        () = shutdown => tracing::info!("shutting down"),
    }
    if let Some((stop, workers)) = demo_world {
        stop.send_replace(true);
        let _ = workers.await;
    }
    server.shutdown().await;
    Ok(())
}

/// The demo's simulated agents, run by the instance that leads the deployment: several
/// instances started with `--demo` on one database run one set of agents between them, and
/// the set moves with leadership. Ends when `stopping` turns true.
async fn run_demo_workers(
    mut leading: tokio::sync::watch::Receiver<bool>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    url: String,
    agents: Vec<demo::seed::DemoAgent>,
    pace: Duration,
) {
    loop {
        tokio::select! {
            won = leading.wait_for(|leading| *leading) => if won.is_err() { return },
            _ = stopping.wait_for(|stopping| *stopping) => return,
        }
        let workers = demo::workers::spawn_all(url.clone(), agents.clone(), pace);
        let lost = async {
            // A single instance's store never changes its answer, and dropped its sender.
            if leading.wait_for(|leading| !*leading).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let ending = tokio::select! {
            () = lost => false,
            _ = stopping.wait_for(|stopping| *stopping) => true,
        };
        workers.stop().await;
        if ending {
            return;
        }
        tracing::info!("this instance no longer leads: its demo agents stop here");
    }
}

/// Listens for SIGINT and SIGTERM from the moment it is called, so that one sent while the
/// server starts or seeds is not lost (nor kills it mid-write); resolves at the first.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let listening = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        async move {
            match listening {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
