//! The live engine: real components on loopback sockets, each bound to 127.0.0.1 on its own
//! port, started and stopped together, reporting every hop to the trace.
//!
//! - `env`: what every component shares (clock, sink, time scale, limits, step gate).
//! - `link`: injected latency, jitter and loss on a hop's TCP stream.
//! - `http`, `listener`, `stalled_head`, `redirect`, `upstream`, `tls`: HTTP plumbing shared
//!   by the servers and proxies.
//! - `dns` (the stub server) and `resolver` (the clients' side of it).
//! - `db`: the SQLite database shared by the API servers.
//! - `api`: the REST servers.  `balancer`: the load balancer.  `cdn`: the caching proxy.
//! - `client`: the traffic generator and its client profiles.
//! - `commands`: the one ordered control channel into the running world and its task;
//!   `control` applies commands; `restore` reads and restores a lesson's world.
//! - `status`: the gauges published beside each snapshot.

pub mod api;
pub mod balancer;
pub mod cdn;
pub mod client;
mod commands;
pub mod control;
pub mod db;
pub mod dns;
pub mod env;
pub mod http;
pub mod leftovers;
pub mod link;
pub mod listener;
pub mod recorder_thread;
pub mod redirect;
pub mod resolver;
pub mod restore;
mod run_info;
mod running;
mod scheduler;
pub mod spool_place;
mod stalled_head;
mod status;
mod timing;
pub mod tls;
pub mod topology;
pub mod upstream;

pub use commands::{Answer, CONTROL_CHANNEL, Control, ControlError, Op, Reply, Ticket};
pub use control::Applied;
pub use env::{Env, HopCounters, HopCounts, StepGate, Taken, TimeScale};
pub use restore::Restored;
pub use running::{Engine, EngineError, EngineOptions, STOP_GRACE};
pub use status::Status;
pub use topology::{Addresses, Topology};
