//! The reference server over real sockets: one binary, one module per concern.

mod agent_tokens;
mod approvals;
mod ask_again;
mod auth;
mod bad_input;
mod budget;
mod connections;
mod cross_instance;
mod demo_agents;
mod error_bodies;
mod escalation;
mod events;
mod idempotency;
mod oncall;
mod openapi;
mod push;
mod push_platforms;
mod push_sessions;
mod roles;
mod sessions;
mod sqlite_files;
mod stops;
mod storage;
mod support;
mod tenancy;
