//! The window: a pure consumer of the recorder's snapshots and a sender of control
//! commands. No engine logic lives here. In the order a frame meets it:
//!
//! - Waking: `waker` wakes a resting window (a changed snapshot from the engine's recorder
//!   thread, a stop signal, the scenario file changing); `repaint` decides when the next
//!   frame is due (30 a second while dots move, none at rest).
//! - Reading: `app` runs the frame loop. It first asks `live` for this frame's state: its
//!   `Session` owns the engine and reads the latest snapshot and status into a plain `Live`
//!   (or `replay_view` builds one from a recorded trace at time t). `help` reads the keys,
//!   and `opener` notices dropped or changed files.
//! - Drawing: panels only read that state. `docks` arranges them: the live `controls` or the
//!   lesson `guide` on the left; the activity panel (`panels`), the `plots` and the
//!   `sweep_panel` at the bottom; the request `inspector` (list, sequence diagram, waterfall,
//!   headers) on the right; the `topology` canvas in the middle, with `step` mode's caption
//!   above it and `status` toasts over it. `glossary` explains terms in tooltips; `theme`
//!   holds every colour and size (presentation mode is a theme); `text` cuts a line to a
//!   width where nothing else will do.
//! - Acting: what panels ask for while drawing is a `command` (`UiCommand`); `app` applies
//!   each once, at the end of the frame, and the `Session` puts engine work on the engine's
//!   control channel without waiting. `screenshot` writes PNGs; `prefs` keeps preferences.
//!
//! `docs/architecture.md` follows one request from the engine to its dot on the canvas.

pub mod app;
pub mod command;
pub mod controls;
pub mod docks;
pub mod glossary;
pub mod guide;
pub mod help;
pub mod inspector;
pub mod live;
pub mod opener;
pub mod panels;
pub mod plots;
pub mod prefs;
pub mod repaint;
pub mod replay_view;
pub mod screenshot;
pub mod status;
pub mod step;
pub mod sweep_panel;
pub mod text;
pub mod theme;
pub mod topology;
pub mod waker;

pub use app::{AppOptions, HopscopeApp};
pub use live::{Live, ScenarioSource};
