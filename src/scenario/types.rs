//! The scenario's data types, with their defaults. docs/scenarios.md documents every field;
//! keep the two in step.

use serde::{Deserialize, Serialize};

use super::{Dur, NetworkConfig};

mod actions;
mod backend;
mod edge;
mod limits;
mod profiles;
mod steps;
mod traffic;
pub use actions::{Action, Button, Measure, Predict, canonical};
pub use backend::{ApiConfig, DatabaseConfig, Distribution, ServersConfig, ServiceTime};
pub use edge::{BalancerConfig, CdnConfig, DnsConfig, Eviction, Policy, TlsConfig};
pub use limits::{DEFAULT_SPOOL_LIMIT, Limits, TraceConfig};
pub use steps::{
    Check, CheckKind, DEFAULT_STEP_LIMIT, PLACEHOLDERS, Question, Step, is_placeholder,
    placeholders,
};
pub use traffic::{Auth, Event, Profile, SendRequest, Template, TrafficConfig, TrafficMode};

/// A whole scenario: what runs, what traffic it sees, what happens when, and what to say.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Short name, shown in titles and exports.
    pub name: String,
    /// One line saying what the scenario shows.
    pub summary: String,
    /// Seed for every random draw (arrivals, ids, service times): same seed, same traffic.
    pub seed: u64,
    /// How long `hopscope run` plays it when no `--duration` is given.
    pub duration: Dur,
    /// Slow motion: every injected delay is multiplied by this (at least 1).
    pub time_scale: f64,
    pub dns: DnsConfig,
    pub tls: TlsConfig,
    pub cdn: CdnConfig,
    pub balancer: BalancerConfig,
    pub servers: ServersConfig,
    pub database: DatabaseConfig,
    pub api: ApiConfig,
    pub traffic: TrafficConfig,
    /// Kinds of clients; when empty, the five standard kinds are used.
    pub profiles: Vec<Profile>,
    /// Timed events: faults and changes, played by `run`, `serve --traffic` and the window.
    pub events: Vec<Event>,
    /// Narration steps for guided lessons.
    pub steps: Vec<Step>,
    pub limits: Limits,
    /// Where components listen: loopback only (`[network] bind = "127.0.0.1"`).
    pub network: NetworkConfig,
    pub trace: TraceConfig,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            name: "untitled".into(),
            summary: String::new(),
            seed: 1,
            duration: Dur::from_secs(10),
            time_scale: 1.0,
            dns: DnsConfig::default(),
            tls: TlsConfig::default(),
            cdn: CdnConfig::default(),
            balancer: BalancerConfig::default(),
            servers: ServersConfig::default(),
            database: DatabaseConfig::default(),
            api: ApiConfig::default(),
            traffic: TrafficConfig::default(),
            profiles: Vec::new(),
            events: Vec::new(),
            steps: Vec::new(),
            limits: Limits::default(),
            network: NetworkConfig::default(),
            trace: TraceConfig::default(),
        }
    }
}

impl Scenario {
    /// The client profiles in effect: the scenario's own, or the standard five.
    pub fn effective_profiles(&self) -> Vec<Profile> {
        if self.profiles.is_empty() {
            Profile::standard_set()
        } else {
            self.profiles.clone()
        }
    }
}
