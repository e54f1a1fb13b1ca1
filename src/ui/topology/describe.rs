//! What each node of the canvas says, from the live state: its real address, its health in
//! words, and the one or two numbers that matter there (queue and work at a server, the hit
//! ratio at the CDN, the policy at the load balancer).

use crate::scenario::server_number;
use crate::trace::CacheStatus;
use crate::ui::live::Live;

use super::layout::{Health, NodeId, NodeSpec};

/// The node specs for `live`, in no particular order (layout sorts them).
pub fn describe(live: &Live) -> Vec<NodeSpec> {
    let mut specs = Vec::new();
    for (i, p) in live.profiles.iter().enumerate() {
        let clients = if p.clients == 1 {
            "1 client".to_string()
        } else {
            format!("{} clients", p.clients)
        };
        specs.push(NodeSpec::new(
            NodeId::Clients(i as u16),
            p.name.clone(),
            vec![clients],
        ));
    }
    specs.push(NodeSpec::new(
        NodeId::Outside,
        "outside tools",
        vec!["curl · dig · wrk".into()],
    ));

    let mut dns = NodeSpec::new(
        NodeId::Dns,
        "DNS stub",
        vec![
            live.addresses.dns.clone(),
            format!("api.{} → A", live.addresses.zone),
        ],
    );
    if !live.dns_alive {
        dns.health = Health::Down;
    }
    specs.push(dns);

    if let (Some(cdn_addr), Some(cache)) = (&live.addresses.cdn, &live.cache) {
        let mut lines = vec![cdn_addr.clone()];
        if let Some(tls) = &live.addresses.edge_tls {
            lines.push(format!("https {tls}"));
        }
        lines.push(if cache.enabled {
            match hit_ratio(live) {
                Some(r) => format!("{} cached · hit {:.0}%", cache.entries, r * 100.0),
                None => format!("{} cached", cache.entries),
            }
        } else {
            "cache off: passes all".into()
        });
        let mut cdn = NodeSpec::new(NodeId::Cdn, "CDN cache", lines);
        if !live.cdn_alive {
            cdn.health = Health::Down;
        }
        specs.push(cdn);
    }

    let mut lb_lines = vec![live.addresses.lb.clone()];
    if live.addresses.cdn.is_none()
        && let Some(tls) = &live.addresses.edge_tls
    {
        lb_lines.push(format!("https {tls}"));
    }
    lb_lines.push(live.policy.label().to_string());
    let mut lb = NodeSpec::new(NodeId::Lb, "load balancer", lb_lines);
    if !live.lb_alive {
        lb.health = Health::Down;
    }
    specs.push(lb);

    for g in &live.snapshot.servers {
        let Some(n) = server_number(&g.name) else {
            continue;
        };
        let mut work = format!("busy {} · queue {}", g.in_flight, g.queued);
        if g.slow_millis > 0.0 {
            work.push_str(&format!(" · +{:.0}ms", g.slow_millis));
        }
        let mut lines = vec![g.address.clone(), work];
        if g.error_rate > 0.0 {
            lines.push(format!("500s: {:.0}%", g.error_rate * 100.0));
        }
        let mut spec = NodeSpec::new(NodeId::Server(n), g.name.clone(), lines);
        spec.health = if !g.alive {
            Health::Down
        } else if g.hung {
            Health::Hung
        } else if !g.healthy {
            Health::Unhealthy
        } else {
            Health::Up
        };
        spec.queued = g.queued;
        spec.busy = g.in_flight;
        specs.push(spec);
    }

    specs.push(NodeSpec::new(
        NodeId::Db,
        "database",
        vec![format!("SQLite · pool {}", live.db_pool)],
    ));
    specs
}

/// The share of cache lookups answered from the cache so far.
pub fn hit_ratio(live: &Live) -> Option<f64> {
    let cache = &live.snapshot.totals.cache;
    let hits: u64 = cache
        .iter()
        .filter(|(s, _)| s.is_hit())
        .map(|(_, n)| n)
        .sum();
    let lookups: u64 = cache
        .iter()
        .filter(|(s, _)| **s != CacheStatus::Bypass)
        .map(|(_, n)| n)
        .sum();
    (lookups > 0).then(|| hits as f64 / lookups as f64)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::scenario::Scenario;
    use crate::trace::{ServerGauge, Snapshot};

    fn gauge(n: u16) -> ServerGauge {
        ServerGauge {
            name: format!("server-{n}"),
            address: format!("127.0.0.1:{}", 9000 + n),
            alive: true,
            healthy: true,
            ..ServerGauge::default()
        }
    }

    #[test]
    fn nodes_show_real_addresses_and_every_server_with_its_health() {
        let mut dead = gauge(2);
        dead.alive = false;
        let mut hung = gauge(3);
        hung.hung = true;
        hung.queued = 4;
        let snap = Snapshot {
            servers: vec![gauge(1), dead, hung],
            ..Snapshot::default()
        };
        let live = Live::offline(&Scenario::default(), Arc::new(snap), 0);
        let specs = describe(&live);
        let find = |id| specs.iter().find(|s| s.id == id).expect("node present");
        assert_eq!(find(NodeId::Server(1)).lines[0], "127.0.0.1:9001");
        assert_eq!(find(NodeId::Server(2)).health, Health::Down);
        assert_eq!(find(NodeId::Server(3)).health, Health::Hung);
        assert_eq!(find(NodeId::Server(3)).queued, 4);
        assert_eq!(find(NodeId::Lb).lines[0], live.addresses.lb);
        assert_eq!(find(NodeId::Dns).lines[0], live.addresses.dns);
        // The five standard client kinds plus outside tools.
        assert_eq!(
            specs
                .iter()
                .filter(|s| matches!(s.id, NodeId::Clients(_) | NodeId::Outside))
                .count(),
            6
        );
    }
}
