//! The window: a pure consumer of the recorder's snapshots and a sender of control
//! commands. No engine logic lives here.

pub mod glossary;
pub mod guide;
pub mod inspector;
pub mod plots;
pub mod sweep_panel;
pub mod theme;
