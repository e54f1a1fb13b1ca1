//! The per-second metrics as CSV (RFC 4180, comma-separated, one header row), for
//! spreadsheets: one row per second of the run, with the second's start as seconds since
//! the run started and as wall-clock time, requests ended by status class, cache hits and
//! hit ratio, latency percentiles in milliseconds, and per-server columns (requests served,
//! and in flight and queued as sampled at the end of the second). Empty cells mean "no
//! value" (no cache lookups, no requests, or no live sample for that second).

use std::collections::BTreeSet;
use std::io::{self, Write};

use super::{RunMeta, rfc3339_millis};
use crate::scenario::server_sort_key;
use crate::trace::OutcomeClass;
use crate::trace::metrics::SecondMetrics;

/// Quotes a cell when it needs it.
fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v}")).unwrap_or_default()
}

/// Writes the table.
pub fn write<W: Write>(out: &mut W, meta: &RunMeta, seconds: &[SecondMetrics]) -> io::Result<()> {
    let mut servers: BTreeSet<(u32, String)> = BTreeSet::new();
    for s in seconds {
        for name in s
            .served
            .keys()
            .chain(s.in_flight.keys())
            .chain(s.queued.keys())
        {
            servers.insert(server_sort_key(name));
        }
    }
    let servers: Vec<String> = servers.into_iter().map(|(_, name)| name).collect();
    let mut header: Vec<String> = ["time_s", "wall_clock", "requests"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend(OutcomeClass::ALL.iter().map(|c| c.label().to_string()));
    header.extend(
        [
            "cache_hits",
            "cache_lookups",
            "hit_ratio",
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "mean_ms",
            "max_ms",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    for kind in ["served", "in_flight", "queued"] {
        header.extend(servers.iter().map(|s| format!("{kind}:{s}")));
    }
    let header: Vec<String> = header.iter().map(|h| cell(h)).collect();
    writeln!(out, "{}", header.join(","))?;
    for s in seconds {
        let mut row = vec![
            s.second.to_string(),
            rfc3339_millis(
                meta.info
                    .wall_start_micros
                    .saturating_add(s.second.saturating_mul(1_000_000)),
            ),
            s.requests.to_string(),
        ];
        row.extend(s.by_class.iter().map(u64::to_string));
        row.push(s.cache_hits.to_string());
        row.push(s.cache_lookups.to_string());
        row.push(opt(s.hit_ratio));
        let l = s.latency;
        row.push(opt(l.map(|l| l.p50)));
        row.push(opt(l.map(|l| l.p95)));
        row.push(opt(l.map(|l| l.p99)));
        row.push(opt(l.map(|l| l.mean)));
        row.push(opt(l.map(|l| l.max)));
        for name in &servers {
            row.push(s.served.get(name).copied().unwrap_or(0).to_string());
        }
        for name in &servers {
            row.push(
                s.in_flight
                    .get(name)
                    .map(u32::to_string)
                    .unwrap_or_default(),
            );
        }
        for name in &servers {
            row.push(s.queued.get(name).map(u32::to_string).unwrap_or_default());
        }
        writeln!(out, "{}", row.join(","))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_with_separators_are_quoted() {
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("plain"), "plain");
    }

    #[test]
    fn a_row_per_second_with_server_columns() {
        let mut s = SecondMetrics {
            second: 1,
            requests: 3,
            by_class: [2, 0, 0, 1, 0],
            hit_ratio: Some(0.5),
            ..SecondMetrics::default()
        };
        s.served.insert("server-10".into(), 1);
        s.served.insert("server-2".into(), 2);
        s.queued.insert("server-2".into(), 4);
        let mut out = Vec::new();
        write(&mut out, &RunMeta::default(), &[s]).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].ends_with("served:server-2,served:server-10,in_flight:server-2,in_flight:server-10,queued:server-2,queued:server-10"),
            "{}",
            lines[0]
        );
        assert!(lines[1].starts_with("1,1970-01-01T00:00:01.000Z,3,2,0,0,1,0,"));
        assert!(lines[1].ends_with(",2,1,,,4,"), "{}", lines[1]);
    }
}
