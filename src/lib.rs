//! hopscope runs a small internet on your own machine and lets you watch it.
//!
//! The layers, top to bottom as data flows; each uses only the layers above it:
//!
//! ```text
//!        scenario                 trace
//!   (data: what to run)     (data: what happened)
//!            \                   /
//!             v                 v
//!     ┌──────────────────────────────────┐
//!     │ engine: components on 127.0.0.1, │
//!     │ tokio, sockets; knows no egui    │
//!     └──────────────────────────────────┘
//!        ^ Op batches on        | Snapshot + Status,
//!        | one ordered channel  v published ~30 times a second
//!     lesson (checks)    sweep (1..N)    theory (predictions)
//!               \          |          /
//!            ui (the window)      cli (the thin edge)
//! ```
//!
//! `scenario` uses nothing else in the crate; `trace` uses only its server names
//! (`server-N`, spelt and read in `scenario/names.rs`); `engine` and `theory` use only
//! them; `sweep` and `lesson` add `engine`; `ui` uses all of these but never `cli`; `cli`
//! uses everything.
//!
//! `docs/architecture.md` walks one request through the code function by function, the
//! control path, and how to add a component, a lesson check or an export format.
//!
//! - [`scenario`]: scenario files (TOML) as data: topology, traffic, events, narration.
//! - [`trace`]: trace events, journeys, the recorder, metrics and the summary.
//! - [`engine`]: the live components on loopback sockets (DNS, CDN, LB, servers, database,
//!   clients), their links and faults, driven through one ordered control channel
//!   ([`engine::Op`] batches on [`engine::Control`]) and read as snapshots and a status.
//! - [`theory`]: queueing and caching theory next to the measurements (Erlang C, M/M/c/K,
//!   Che's approximation), with confidence intervals.
//! - [`sweep`]: the scaling sweep: the same scenario with 1..N servers, measured per run.
//! - [`lesson`]: guided lessons: checkpoints judged from the trace, narration, progress.
//! - [`ui`]: the window (eframe): the topology canvas, playback and step mode, live controls.
//! - [`cli`]: the command line (`gui`, `run`, `serve`, `validate`, `scenarios`, …).

pub mod cli;
pub mod engine;
pub mod lesson;
pub mod scenario;
pub mod sweep;
pub mod theory;
pub mod trace;
pub mod ui;
