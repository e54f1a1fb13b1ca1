//! The live engine: real components on loopback sockets, each bound to 127.0.0.1 on its own
//! port, started and stopped together, reporting every hop to the trace. In the order a run
//! and then a request meet it (`docs/architecture.md` names the functions):
//!
//! - `running`: the [`Engine`] handle: one tokio runtime with named threads; `topology`
//!   starts every component in order; `env` is what they all share (clock, trace sink, time
//!   scale, limits, step gate, seeded randomness); `component` is the one shape every
//!   component has (config, start, kill, restart); `timing` gives injected delays their
//!   mean; `spool_place` and `leftovers` place the run's files and remove them at the end.
//! - `client`: the traffic generator; each request looks the edge up with `resolver` (the
//!   clients' side of DNS) at the stub, `dns`, then connects over a `link` (latency, jitter,
//!   loss) with `tls` when HTTPS is on.
//! - `listener`: every HTTP component's socket (kill, restart, limits), with `stalled_head`
//!   for the 408 and `redirect` for the 308 plain HTTP gets when the edge speaks HTTPS;
//!   `http` holds the shared plumbing and decides each request's trace id.
//! - `cdn` (the caching proxy) and `balancer` (picks a server, checks health) both pass
//!   requests on with `forward` over an `upstream` pool; `api` (the REST servers) answers
//!   over `db`, the SQLite database they share.
//! - `recorder_thread` drains the components' events into the recorder and publishes a
//!   snapshot with a `status` about 30 times a second; `run_info` is the exports' header.
//! - `commands`: the one ordered control channel into the running world and its task;
//!   `control` applies commands, `restore` reads and restores a lesson's world, and
//!   `scheduler` plays a scenario's timed events through the same channel.
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
mod component;
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
