//! `spartex-server`: the reference Spartex server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use spartex_server::clock::SystemClock;
use spartex_server::config::{Secret, Settings};
use spartex_server::demo;
use tracing_subscriber::EnvFilter;

/// The reference Spartex server: the v1 contract on SQLite, with an optional demo world.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "SPARTEX_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where the data lives; created with its migrations on first start.
    #[arg(
        long,
        env = "SPARTEX_DATABASE_URL",
        default_value = "sqlite://spartex.db"
    )]
    database_url: String,
    /// Secret that signs access tokens; generated and kept in the database when absent.
    #[arg(long, env = "SPARTEX_JWT_SECRET", hide_env_values = true)]
    jwt_secret: Option<Secret>,
    /// Lifetime of an access token, in seconds.
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
    /// Log filter, e.g. `info` or `spartex_server=debug,tower_http=debug`.
    #[arg(long, env = "SPARTEX_LOG", default_value = "info")]
    log: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_new(&cli.log).context("--log is not a valid filter")?)
        .init();
    if !(0.01..=3600.0).contains(&cli.demo_pace) {
        anyhow::bail!("--demo-pace must be between 0.01 and 3600 seconds");
    }

    let mut settings = Settings::new(cli.listen, &cli.database_url);
    settings.jwt_secret = cli.jwt_secret;
    settings.access_token_ttl = Duration::from_secs(cli.access_token_ttl_s.max(30));
    settings.stop_timeout = Duration::from_secs(cli.stop_timeout_s.max(1));
    settings.event_retention = Duration::from_secs(cli.event_retention_days.max(1) * 24 * 3600);
    settings.max_body_bytes = cli.max_body_bytes;

    let mut server = spartex_server::start(settings, Arc::new(SystemClock)).await?;
    let demo_world = if cli.demo {
        let world = demo::seed::ensure_seeded(&server.state, &cli.demo_password).await?;
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
        Some(demo::workers::spawn_all(server.url(), world.agents, pace))
    } else {
        None
    };

    tokio::select! {
        result = server.wait() => result.context("the server stopped")?,
        () = shutdown_signal() => tracing::info!("shutting down"),
    }
    if let Some(workers) = demo_world {
        workers.stop().await;
    }
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
