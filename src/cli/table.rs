//! The summary table `hopscope run` prints: requests, outcomes, cache, latency per phase,
//! per-server load. Plain text that reads well in a terminal and in a pasted report.

use std::fmt::Write;

use crate::trace::Summary;

/// The phases in journey order, for the table.
const PHASE_ORDER: &[&str] = &[
    "blocked",
    "dns",
    "connect",
    "ssl",
    "send",
    "wait",
    "receive",
    "cache",
    "cdn_forward",
    "pick",
    "lb_forward",
    "queue",
    "handler",
    "db",
];

/// Renders the summary as a text table.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "scenario {} (seed {}), {:.1} s",
        s.scenario, s.seed, s.duration_secs
    );
    let _ = writeln!(out, "requests {}  ({:.1}/s)", s.requests, s.throughput_rps);
    let outcomes: Vec<String> = s
        .outcomes
        .iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let _ = writeln!(
        out,
        "outcomes {}",
        if outcomes.is_empty() {
            "none".into()
        } else {
            outcomes.join("  ")
        }
    );
    let c = &s.cache;
    let _ = writeln!(
        out,
        "cache    hit ratio {:.1}%  (hits {}, revalidated {}, misses {}, expired {}, bypass {})",
        c.hit_ratio * 100.0,
        c.hits,
        c.revalidated,
        c.misses,
        c.expired,
        c.bypass
    );
    let l = &s.latency_ms;
    let _ = writeln!(
        out,
        "latency  p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  mean {:.2} ms  max {:.2} ms",
        l.p50, l.p95, l.p99, l.mean, l.max
    );
    if !s.phases_ms.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<12} {:>10} {:>10} {:>10} {:>9}",
            "phase", "p50 ms", "p95 ms", "p99 ms", "count"
        );
        let mut names: Vec<&String> = s.phases_ms.keys().collect();
        names.sort_by_key(|n| {
            PHASE_ORDER
                .iter()
                .position(|p| p == n)
                .unwrap_or(usize::MAX)
        });
        for name in names {
            let p = &s.phases_ms[name];
            let _ = writeln!(
                out,
                "{name:<12} {:>10.2} {:>10.2} {:>10.2} {:>9}",
                p.p50, p.p95, p.p99, p.count
            );
        }
    }
    if !s.servers.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<12} {:>8} {:>8} {:>10}",
            "server", "served", "errors", "max queue"
        );
        for sv in &s.servers {
            let _ = writeln!(
                out,
                "{:<12} {:>8} {:>8} {:>10}",
                sv.name, sv.served, sv.errors, sv.max_queue
            );
        }
    }
    if s.events_shed > 0 {
        let _ = writeln!(
            out,
            "\nnote: the recorder fell behind and shed {} detailed events; the outcome counts above are still complete",
            s.events_shed
        );
    }
    out
}
