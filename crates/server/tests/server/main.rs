//! The reference server over real sockets: one binary, one module per concern.

mod approvals;
mod auth;
mod bad_input;
mod budget;
mod demo_agents;
mod events;
mod idempotency;
mod openapi;
mod roles;
mod stops;
mod support;
mod tenancy;
