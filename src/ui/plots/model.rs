//! The plots' data, computed from the recorder's closed seconds and markers outside drawing
//! code: cache hit ratio, latency percentiles, throughput by outcome class, per-server load
//! and queue depth, each as named series of `[seconds since start, value]` points, plus the
//! change markers. A second with nothing to say (no cache lookups, no requests) leaves a gap
//! rather than a misleading zero.

use std::collections::BTreeSet;

use crate::scenario::server_sort_key;
use crate::trace::metrics::SecondMetrics;
use crate::trace::{Marker, OutcomeClass};

/// One named line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Shown in the legend and at the line's end.
    pub name: String,
    /// `[seconds since start, value]`, in time order.
    pub points: Vec<[f64; 2]>,
}

impl Series {
    fn new(name: impl Into<String>) -> Series {
        Series {
            name: name.into(),
            points: Vec::new(),
        }
    }

    /// The last point, where the line's label goes.
    pub fn last(&self) -> Option<[f64; 2]> {
        self.points.last().copied()
    }
}

/// A vertical line where something changed.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeLine {
    /// Seconds since the start.
    pub at_secs: f64,
    /// What changed (`kill server-2`, `policy least_connections`).
    pub text: String,
}

/// Everything the plots draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PlotsModel {
    /// Share of cacheable lookups answered from the cache, in percent.
    pub hit_ratio: Series,
    /// p50, p95 and p99 of the requests that ended in each second, in ms.
    pub latency: Vec<Series>,
    /// Requests per second by class (2xx, 3xx, 4xx, 5xx, failed), in `OutcomeClass::ALL`
    /// order.
    pub throughput: Vec<(OutcomeClass, Series)>,
    /// Requests served per second, one series per server (`server-1` first).
    pub served: Vec<Series>,
    /// Requests waiting for a worker at the end of each second, per server.
    pub queued: Vec<Series>,
    pub changes: Vec<ChangeLine>,
    /// The time range shown, in seconds since the start.
    pub x_range: (f64, f64),
    /// Theory's lines and notes, when the panel knows the scenario (`PlotsPanel::set_scenario`).
    pub theory: super::theory::TheoryLines,
}

/// The x of a closed second: its middle.
fn x_of(m: &SecondMetrics) -> f64 {
    m.second as f64 + 0.5
}

/// Builds the plots for the seconds and markers that fall in the last `window_secs`
/// (everything when `None`) before `now_secs`.
pub fn build(
    seconds: &[SecondMetrics],
    markers: &[Marker],
    now_secs: f64,
    window_secs: Option<f64>,
) -> PlotsModel {
    let from = window_secs.map_or(0.0, |w| (now_secs - w).max(0.0));
    let shown: Vec<&SecondMetrics> = seconds.iter().filter(|m| x_of(m) >= from).collect();
    let mut hit_ratio = Series::new("hit ratio");
    let mut latency = vec![Series::new("p50"), Series::new("p95"), Series::new("p99")];
    let mut throughput: Vec<(OutcomeClass, Series)> = OutcomeClass::ALL
        .iter()
        .map(|c| (*c, Series::new(c.label())))
        .collect();
    let mut names: BTreeSet<(u32, String)> = BTreeSet::new();
    for m in &shown {
        names.extend(m.served.keys().map(|n| server_sort_key(n)));
        names.extend(m.queued.keys().map(|n| server_sort_key(n)));
    }
    let names: Vec<String> = names.into_iter().map(|(_, n)| n).collect();
    let mut served: Vec<Series> = names.iter().map(Series::new).collect();
    let mut queued: Vec<Series> = names
        .iter()
        .map(|n| Series::new(format!("{n} queue")))
        .collect();
    for m in &shown {
        let x = x_of(m);
        if let Some(r) = m.hit_ratio.filter(|r| r.is_finite()) {
            hit_ratio.points.push([x, r * 100.0]);
        }
        if let Some(p) = &m.latency {
            for (series, v) in latency.iter_mut().zip([p.p50, p.p95, p.p99]) {
                series.points.push([x, v]);
            }
        }
        for (class, series) in &mut throughput {
            series.points.push([x, m.by_class[class.index()] as f64]);
        }
        for (i, name) in names.iter().enumerate() {
            let s = m.served.get(name).copied().unwrap_or(0);
            served[i].points.push([x, s as f64]);
            if let Some(q) = m.queued.get(name) {
                queued[i].points.push([x, f64::from(*q)]);
            }
        }
    }
    let changes = markers
        .iter()
        .map(|m| ChangeLine {
            at_secs: m.at_micros as f64 / 1e6,
            text: m.text.clone(),
        })
        .filter(|c| c.at_secs >= from && c.at_secs <= now_secs.max(from))
        .collect();
    PlotsModel {
        hit_ratio,
        latency,
        throughput,
        served,
        queued,
        changes,
        x_range: (from, now_secs.max(from + 1.0)),
        theory: super::theory::TheoryLines::default(),
    }
}

/// Where each series' name label goes: at its last point, nudged up or down so no two
/// labels sit closer than `gap` (in the plot's units: a label's height). `None` for a
/// series with no points.
pub fn end_labels(series: &[&Series], gap: f64) -> Vec<Option<f64>> {
    let mut order: Vec<(usize, f64)> = series
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.last().map(|[_, y]| (i, y)))
        .collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    // Push each label up until it clears the one below, then centre the group on the data.
    let mut placed: Vec<(usize, f64)> = Vec::with_capacity(order.len());
    for (i, y) in order {
        let y = match placed.last() {
            Some((_, below)) if y - below < gap => below + gap,
            _ => y,
        };
        placed.push((i, y));
    }
    let shift = if placed.is_empty() {
        0.0
    } else {
        let wanted: f64 = series.iter().filter_map(|s| s.last()).map(|p| p[1]).sum();
        let got: f64 = placed.iter().map(|(_, y)| y).sum();
        (wanted - got) / placed.len() as f64
    };
    let mut out = vec![None; series.len()];
    for (i, y) in placed {
        out[i] = Some(y + shift);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::metrics::Percentiles;

    fn second(n: u64, hits: Option<f64>, served: &[(&str, u64)]) -> SecondMetrics {
        SecondMetrics {
            second: n,
            requests: 10,
            by_class: [7, 0, 1, 1, 1],
            hit_ratio: hits,
            latency: Some(Percentiles {
                p50: 5.0,
                p95: 20.0,
                p99: 40.0 + n as f64,
                ..Percentiles::default()
            }),
            served: served.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            queued: served.iter().map(|(k, _)| (k.to_string(), 2)).collect(),
            ..SecondMetrics::default()
        }
    }

    #[test]
    fn series_follow_the_seconds_and_gaps_stay_gaps() {
        let seconds = vec![
            second(0, Some(0.5), &[("server-1", 4), ("server-10", 1)]),
            second(1, None, &[("server-2", 3)]),
            second(2, Some(1.0), &[("server-1", 5)]),
        ];
        let m = build(&seconds, &[], 3.0, None);
        assert_eq!(m.hit_ratio.points, [[0.5, 50.0], [2.5, 100.0]]);
        assert_eq!(m.latency[2].name, "p99");
        assert_eq!(m.latency[2].points[1], [1.5, 41.0]);
        let classes: Vec<&str> = m.throughput.iter().map(|(_, s)| s.name.as_str()).collect();
        assert_eq!(classes, ["2xx", "3xx", "4xx", "5xx", "failed"]);
        assert_eq!(m.throughput[4].1.points[0], [0.5, 1.0]);
        let servers: Vec<&str> = m.served.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(servers, ["server-1", "server-2", "server-10"], "by number");
        assert_eq!(m.served[1].points, [[0.5, 0.0], [1.5, 3.0], [2.5, 0.0]]);
        assert_eq!(m.queued[0].name, "server-1 queue");
    }

    #[test]
    fn the_window_keeps_recent_seconds_and_markers() {
        let seconds: Vec<SecondMetrics> = (0..100).map(|n| second(n, Some(0.1), &[])).collect();
        let markers = vec![
            Marker {
                at_micros: 5_000_000,
                component: None,
                text: "kill server-2".into(),
            },
            Marker {
                at_micros: 95_000_000,
                component: None,
                text: "add server".into(),
            },
        ];
        let m = build(&seconds, &markers, 100.0, Some(60.0));
        assert_eq!(m.hit_ratio.points.len(), 60);
        assert_eq!(m.hit_ratio.points[0][0], 40.5);
        assert_eq!(m.changes.len(), 1);
        assert_eq!(m.changes[0].text, "add server");
        assert_eq!(m.x_range, (40.0, 100.0));
        let all = build(&seconds, &markers, 100.0, None);
        assert_eq!(all.changes.len(), 2);
    }

    #[test]
    fn end_labels_do_not_pile_up() {
        let at = |name: &str, y: f64| Series {
            name: name.into(),
            points: vec![[0.0, 0.0], [1.0, y]],
        };
        let (a, b, c, d) = (
            at("a", 10.0),
            at("b", 10.0),
            at("c", 50.0),
            Series::default(),
        );
        let ys = end_labels(&[&a, &b, &c, &d], 5.0);
        assert_eq!(ys[3], None);
        let (ya, yb, yc) = (
            ys[0].unwrap_or(0.0),
            ys[1].unwrap_or(0.0),
            ys[2].unwrap_or(0.0),
        );
        assert!(
            (yb - ya - 5.0).abs() < 1e-9,
            "a and b apart by the gap: {ys:?}"
        );
        assert!(yc > yb + 5.0, "c stays clear: {ys:?}");
        let far = end_labels(&[&a, &c], 5.0);
        assert_eq!(far, [Some(10.0), Some(50.0)], "labels far apart stay put");
    }

    #[test]
    fn nothing_yet_is_empty_not_a_panic() {
        let m = build(&[], &[], 0.0, Some(60.0));
        assert!(m.hit_ratio.points.is_empty());
        assert!(m.served.is_empty());
        assert_eq!(m.x_range, (0.0, 1.0));
    }
}
