//! The client engine against the real reference server over real sockets.

mod answers;
mod burst;
mod catch_up;
mod clock_skew;
mod exit;
mod hostile;
mod keys;
mod ladder;
mod newer_server;
mod outbox;
mod processes;
mod push;
mod refresh;
mod restore;
mod support;
mod sync;
mod tls;
mod tokens;
