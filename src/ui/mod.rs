//! The window: a pure consumer of the recorder's snapshots and a sender of control
//! commands. No engine logic lives here.
//!
//! - `app`: the app state and frame loop (read state, draw panels, apply commands).
//! - `live`: the link to the engine (`Session`) and the per-frame state panels read (`Live`).
//! - `command`: what panels ask for while drawing (`UiCommand`), applied at frame end.
//! - `topology`: the canvas (layout, request routes, dots, drawing).
//! - `controls`: live controls; `step`: step mode and its captions; `help`: shortcuts.
//! - `panels`: the right and bottom panels (plug-in points for the inspector and plots).
//! - `opener`, `prefs`, `screenshot`, `status`: opening scenarios, preferences, PNGs, toasts.
//! - `repaint`: when the next frame is painted (30 a second while dots move, none at rest);
//!   `waker`: what wakes a resting window (fresh data, a stop signal, the file changing).
//! - `theme`: every colour and size; presentation mode is a theme.

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
pub mod theme;
pub mod topology;
pub mod waker;

pub use app::{AppOptions, HopscopeApp};
pub use live::{Live, ScenarioSource};
