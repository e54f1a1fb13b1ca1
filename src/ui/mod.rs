//! The window: a pure consumer of the recorder's snapshots and a sender of control
//! commands. No engine logic lives here.

pub mod guide;
pub mod theme;
