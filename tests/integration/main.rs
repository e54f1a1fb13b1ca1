//! hopscope's integration tests: one test binary (linking eframe and tokio once), one
//! submodule per area, all through real loopback sockets.

mod classroom;
mod cli;
mod control_channel;
mod engine;
mod export;
mod gui;
mod hardening;
mod inspect;
mod lesson_window;
mod lessons;
mod plots;
mod spool;
mod theory;
