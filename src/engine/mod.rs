//! The live engine: real components on loopback sockets, each bound to 127.0.0.1 on its own
//! port, started and stopped together, reporting every hop to the trace.
//!
//! - `env`: what every component shares (clock, sink, time scale, limits, step gate).
//! - `link`: injected latency, jitter and loss on a hop's TCP stream.
//! - `http`, `listener`, `stalled_head`, `redirect`, `upstream`, `tls`: HTTP plumbing shared
//!   by the servers and proxies.
//! - `dns` (the stub server) and `resolver` (the clients' side of it).
//! - `db`: the SQLite database shared by the API servers.
//! - `forward`: what a reverse proxy does to a request on its way through (the CDN and the
//!   load balancer both forward with it).
//! - `api`: the REST servers.  `balancer`: the load balancer.  `cdn`: the caching proxy.
//! - `client`: the traffic generator and its client profiles.
//! - `commands`: the one ordered control channel into the running world and its task;
//!   `control` applies commands; `restore` reads and restores a lesson's world.
//! - `status`: the gauges published beside each snapshot; `run_info`: the exports' header.
//!
//! Callers drive the engine through [`Engine`] alone: changes go in on its control channel
//! ([`Op`], [`Engine::submit`], [`Engine::try_submit`], [`Engine::apply`]), and what it shows
//! comes out as the recorder's [`trace::Snapshot`](crate::trace::Snapshot) and a [`Status`].
//! Most submodules are private behind the `pub use` list below; the components whose
//! modules also carry helpers that only their unit tests call (`balancer`, `cdn`, `client`,
//! `listener`, `redirect`, `tls`, `upstream`) stay public.

mod api;
pub mod balancer;
pub mod cdn;
pub mod client;
mod commands;
mod control;
mod db;
mod dns;
mod env;
mod forward;
mod http;
mod leftovers;
mod link;
pub mod listener;
mod recorder_thread;
pub mod redirect;
mod resolver;
mod restore;
mod run_info;
mod running;
mod scheduler;
mod spool_place;
mod stalled_head;
mod status;
mod timing;
pub mod tls;
mod topology;
pub mod upstream;

pub use cdn::CacheView;
pub use commands::{Answer, CONTROL_CHANNEL, Control, ControlError, Op, Reply, Ticket};
pub use control::Applied;
pub use env::{Env, HopCounters, HopCounts, StepGate, Taken, TimeScale};
pub use leftovers::remove_all as remove_leftovers;
pub use listener::BindError;
pub use recorder_thread::{SpoolFlusher, Wake, WakeCause};
pub use restore::Restored;
pub use running::{Engine, EngineError, EngineOptions, STOP_GRACE};
pub use spool_place::set_default_dir as set_default_spool_dir;
pub use status::Status;
pub use topology::{Addresses, StartError, Tokens, Topology};
