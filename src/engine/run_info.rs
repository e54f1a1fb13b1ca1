//! The header of a run's exports (scenario, seed, wall-clock start, every component and its
//! address), read from the running engine for the command line's `--export` and the
//! window's File ▸ Export alike.

use super::Engine;
use crate::trace::RunInfo;
use crate::trace::export::{ComponentInfo, TopologyInfo};

impl Engine {
    /// The header of the run's exports: scenario, seed, wall-clock start and topology.
    pub fn run_info(&self) -> RunInfo {
        let topology = self.topology();
        let scenario = &topology.scenario;
        let addresses = self.addresses();
        let mut components = vec![
            ComponentInfo {
                name: "client".into(),
                address: None,
            },
            ComponentInfo {
                name: "dns".into(),
                address: Some(addresses.dns.clone()),
            },
        ];
        if let Some(cdn) = &addresses.cdn {
            components.push(ComponentInfo {
                name: "cdn".into(),
                address: Some(cdn.clone()),
            });
        }
        components.push(ComponentInfo {
            name: "lb".into(),
            address: Some(addresses.lb.clone()),
        });
        for s in topology.servers() {
            components.push(ComponentInfo {
                name: s.name().to_string(),
                address: Some(s.addr().to_string()),
            });
        }
        components.push(ComponentInfo {
            name: "db".into(),
            address: None,
        });
        RunInfo {
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            scenario_config: serde_json::to_value(scenario).ok(),
            wall_start_micros: topology.env.clock.wall_start_micros(),
            duration_micros: 0,
            topology: TopologyInfo {
                components,
                edge: topology.edge_component().to_string(),
                edge_address: addresses.edge.clone(),
                edge_tls: addresses.edge_tls.clone(),
                zone: addresses.zone.clone(),
            },
            generator: format!("hopscope {}", env!("CARGO_PKG_VERSION")),
        }
    }
}
