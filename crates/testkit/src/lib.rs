//! The test kit: what every test and bench that crosses a process boundary stands on.
//!
//! - [`TestServer`]: the real reference server, in this process on `127.0.0.1:0`, with a real
//!   SQLite file in a temporary folder (a PostgreSQL database of its own with
//!   `SPARTEX_TEST_DATABASE=postgres`), a manual clock (or the real one), the demo
//!   organisations seeded and, when asked, their simulated agents at work. It stops and
//!   starts again on the same address and file, as a server that goes down and comes back.
//! - [`demo`]: the demo users, projects and the password every one of them has here.
//! - [`Api`] and [`Socket`]: plain HTTP and WebSocket clients, as a test drives the contract.
//! - [`webpush_service`]: a Web Push service on loopback that verifies VAPID and decrypts
//!   each push with the subscriber's keys, as a phone's push service does.
//! - [`push_fakes`]: fake APNs and FCM on loopback that check what the push senders send.
//! - [`database::TestDatabase`]: the database a test server, or a test's own server processes,
//!   run on; [`port_in_front::PortInFront`]: its port refusing connections, as in a restart.
//! - [`tls_front::TlsFront`]: TLS before a server, as a deployment's proxy terminates it;
//!   [`connect_proxy::ConnectProxy`]: a company's HTTP proxy that only tunnels.
//! - [`cargo_bin`]: a binary of this workspace, built if it is stale, for tests that run it as
//!   a child process; [`procs`]: the process tree under a pid, to end or measure it.
//!
//! It is a dev-dependency only: nothing that ships links it.

mod api;
mod bin;
pub mod connect_proxy;
pub mod database;
pub mod demo;
pub mod port_in_front;
pub mod procs;
pub mod push_fakes;
mod server;
mod socket;
pub mod tls_front;
mod wait;
pub mod webpush_service;

pub use api::Api;
pub use bin::cargo_bin;
pub use demo::PASSWORD;
pub use server::{Builder, TestServer, DEFAULT_START};
pub use socket::Socket;
pub use wait::eventually;

/// The demo world's types, for tests that hand agents to simulated workers themselves.
pub use spartex_demo::seed::{DemoAgent, DemoUser};
