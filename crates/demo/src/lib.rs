//! The demo world: two organisations with believable projects, and simulated agent workers
//! that use the agent-worker API over HTTP exactly as a real worker would.

mod agent_api;
mod asks;
pub mod oncall;
pub mod script;
pub mod seed;
pub mod workers;
