//! Scenarios are data: the topology (DNS, TLS, CDN, load balancer, servers, database), the
//! traffic (client profiles and request templates), timed events and narration steps (whose actions change the `world`).
//!
//! Every field has a default, so a three-line file is a complete scenario; unknown fields are
//! errors. `load` reads a file and reports every problem with file, line and column
//! (`validate.rs`); the built-ins are embedded from `assets/scenarios/` (`builtin.rs`), the
//! five standard client profiles from `assets/profiles.toml` (`types/profiles.rs`). The
//! `server-N` name every layer uses is formatted and parsed in one place (`names.rs`).

mod builtin;
mod command;
mod duration;
mod names;
mod network;
mod size;
mod types;
mod validate;
mod world;

pub use builtin::{BUILTINS, Builtin, builtin, builtin_names};
pub use command::{
    COMMAND_WORDS, CacheCommand, Command, DnsMode, Link, MAX_QUOTED_CHARS, MAX_RATE,
    MAX_REQUEST_TIMEOUT, MAX_SERVERS, MAX_TIME_SCALE, Target,
};
pub use duration::{Dur, DurError};
pub use names::{server_name, server_number, server_sort_key};
pub use network::{LOOPBACK, NetworkConfig, bind_problem};
pub use size::{ByteSize, SizeError};
pub use types::*;
pub use validate::{MAX_SCENARIO_BYTES, Problem, ScenarioError, load, load_str, resolve};
pub use world::{CacheState, Change, ClientState, Scope, ServerState, World, key_of};

/// A scenario as TOML text that `load_str` reads back to the same scenario.
pub fn to_toml(scenario: &Scenario) -> Result<String, toml::ser::Error> {
    let body = toml::to_string_pretty(scenario)?;
    Ok(format!(
        "# Saved by hopscope: the settings of a running topology.\n# docs/scenarios.md explains every field.\n{body}"
    ))
}
