//! Theory overlays for the plots: what queueing and caching theory predict for the scenario
//! as configured, drawn as flat dashed lines labelled `theory: …` next to what was measured
//! (`src/theory`, docs/theory.md). The latency chart gets the predicted mean wait in the
//! queue next to the measured one (per second, from the recent journeys' `queue` spans); the
//! hit-ratio chart Che's hit ratio; the throughput chart the 503s per second M/M/c/K
//! predicts. Under each chart a line of text gives P(wait) (theory and measured), or says
//! why a theory does not apply to this scenario.
//!
//! A plain view model, built outside drawing code and tested as data.

use std::collections::BTreeMap;

use egui::{RichText, Ui};
use egui_plot::LineStyle;

use super::chart::Styled;
use super::model::Series;
use crate::theory::measure;
use crate::theory::{Section, Theory};
use crate::trace::{OutcomeClass, Snapshot};
use crate::ui::theme::Theme;

/// The overlay lines and notes of one rebuild of the plots.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TheoryLines {
    /// Measured mean wait in a server's queue per second, ms (recent requests).
    pub measured_wait: Series,
    /// Theory's mean wait, flat across the shown range.
    pub wait: Option<Series>,
    /// Theory's hit ratio in percent, flat.
    pub hit_ratio: Option<Series>,
    /// Theory's 503s per second, flat.
    pub refused: Option<Series>,
    /// Under the latency chart: P(wait) and the model, or why queueing theory does not apply.
    pub latency_note: Option<String>,
    /// Under the hit-ratio chart: why caching theory does not apply (when it does not).
    pub hit_note: Option<String>,
}

fn flat(name: String, y: f64, x_range: (f64, f64)) -> Option<Series> {
    y.is_finite().then(|| Series {
        name,
        points: vec![[x_range.0, y], [x_range.1, y]],
    })
}

/// The first reason a section gives (the rest are in `hopscope run` and docs/theory.md).
fn first_reason<T>(s: &Section<T>) -> String {
    // Under a plot, a name is said plainly: no code quotes.
    s.why_not
        .as_deref()
        .and_then(|w| w.split("; ").next())
        .unwrap_or("no prediction")
        .replace('`', "")
}

/// Builds the overlay for `theory` over the range shown, measuring waits from the
/// snapshot's recent journeys.
pub fn lines(theory: &Theory, snapshot: &Snapshot, x_range: (f64, f64)) -> TheoryLines {
    let mut out = TheoryLines {
        measured_wait: Series {
            name: "mean wait in queue".into(),
            points: Vec::new(),
        },
        ..TheoryLines::default()
    };
    match theory.queueing.get() {
        Some(q) => {
            // Per second of arrival at the server: the admitted requests' mean wait.
            let mut by_second: BTreeMap<u64, (f64, u32)> = BTreeMap::new();
            let (mut waited, mut admitted) = (0u32, 0u32);
            for j in &snapshot.recent {
                for v in measure::visits(j).iter().filter(|v| !v.rejected) {
                    let e = by_second.entry(v.arrived_micros / 1_000_000).or_default();
                    e.0 += v.wait_micros as f64 / 1000.0;
                    e.1 += 1;
                    admitted += 1;
                    waited += u32::from(v.waited);
                }
            }
            out.measured_wait.points = by_second
                .iter()
                .map(|(s, (sum, n))| [*s as f64 + 0.5, sum / f64::from(*n)])
                .filter(|[x, _]| *x >= x_range.0)
                .collect();
            out.wait = flat(
                format!("theory: mean wait, {} ({:.2} ms)", q.model, q.mean_wait_ms),
                q.mean_wait_ms,
                x_range,
            );
            if q.capacity.is_some() {
                out.refused = flat(
                    format!(
                        "theory: 503/s, M/M/c/K ({:.1}/s)",
                        q.arrival_rate * q.blocking
                    ),
                    q.arrival_rate * q.blocking,
                    x_range,
                );
            }
            let measured = if admitted > 0 {
                format!(
                    "measured {:.3} over the last {admitted} requests",
                    f64::from(waited) / f64::from(admitted)
                )
            } else {
                "not measured yet".into()
            };
            out.latency_note = Some(if q.is_stable() {
                format!(
                    "theory ({}, ρ = {:.2}, as configured): P(wait) {:.3}, {measured}",
                    q.model, q.utilization, q.prob_wait
                )
            } else {
                format!(
                    "theory ({}, ρ = {:.2}): unstable, the line grows without bound",
                    q.model, q.utilization
                )
            });
        }
        None => {
            out.latency_note = Some(format!(
                "no queueing-theory line: {}",
                first_reason(&theory.queueing)
            ));
        }
    }
    match theory.cache.get() {
        Some(c) => {
            let label = if c.capacity >= c.items {
                "theory: every URL fits".to_string()
            } else {
                format!("theory: {} ({:.1} %)", c.model, c.hit_ratio * 100.0)
            };
            out.hit_ratio = flat(label, c.hit_ratio * 100.0, x_range);
        }
        None => {
            out.hit_note = Some(format!(
                "no caching-theory line: {}",
                first_reason(&theory.cache)
            ))
        }
    }
    out
}

/// The style of a theory line: dashed, in the colour of what it predicts.
fn dashed<'a>(series: &'a Series, color: egui::Color32) -> Styled<'a> {
    Styled {
        series,
        color,
        style: LineStyle::dashed_loose(),
        shape: None,
        named: true,
    }
}

/// The latency chart's overlay: the measured mean wait (solid, diamond markers) and theory's.
pub(super) fn latency_lines<'a>(t: &'a TheoryLines, theme: &Theme) -> Vec<Styled<'a>> {
    let Some(wait) = &t.wait else {
        return Vec::new();
    };
    let color = theme.phase_color(crate::trace::Phase::Queue);
    vec![
        Styled {
            series: &t.measured_wait,
            color,
            style: LineStyle::Solid,
            shape: Some(egui_plot::MarkerShape::Diamond),
            named: true,
        },
        dashed(wait, color),
    ]
}

/// The hit-ratio chart's overlay.
pub(super) fn hit_lines<'a>(t: &'a TheoryLines, theme: &Theme) -> Vec<Styled<'a>> {
    t.hit_ratio.iter().map(|s| dashed(s, theme.hit)).collect()
}

/// The throughput chart's overlay.
pub(super) fn refused_lines<'a>(t: &'a TheoryLines, theme: &Theme) -> Vec<Styled<'a>> {
    t.refused
        .iter()
        .map(|s| dashed(s, theme.outcome_color(OutcomeClass::ServerError)))
        .collect()
}

/// A note under a chart, in the weak text colour.
pub(super) fn note_ui(ui: &mut Ui, note: Option<&str>, theme: &Theme) {
    if let Some(n) = note {
        // One line; the whole reason on hover.
        ui.add(egui::Label::new(RichText::new(n).color(theme.weak_text)).truncate())
            .on_hover_text(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{builtin, load_str};
    use crate::theory::predict;
    use crate::trace::{Attr, Component, Journey, Phase, Span, TraceId};
    use std::sync::Arc;

    fn scenario(name: &str) -> crate::scenario::Scenario {
        let b = builtin(name).expect("built-in");
        load_str(b.name, b.text).expect("valid")
    }

    fn journey(at: u64, wait: u64) -> Arc<Journey> {
        let s = Component::Server(1);
        let span = |phase, start, end, attrs| Span {
            id: TraceId(u128::from(at)),
            component: s,
            phase,
            start_micros: start,
            end_micros: end,
            attrs,
        };
        let attrs = if wait > 0 {
            vec![Attr::new("position", "1")]
        } else {
            Vec::new()
        };
        Arc::new(Journey {
            spans: vec![
                span(Phase::Queue, at, at + wait, attrs),
                span(Phase::Handler, at + wait, at + wait + 10_000, Vec::new()),
            ],
            ..Journey::default()
        })
    }

    #[test]
    fn queueing_lines_show_theory_and_the_measured_wait() {
        let theory = predict(&scenario("theory-blocking"));
        let snapshot = Snapshot {
            recent: vec![
                journey(1_100_000, 2000),
                journey(1_200_000, 0),
                journey(2_100_000, 4000),
            ],
            ..Snapshot::default()
        };
        let t = lines(&theory, &snapshot, (0.0, 3.0));
        assert_eq!(t.measured_wait.points, vec![[1.5, 1.0], [2.5, 4.0]]);
        let wait = t.wait.expect("a theory line");
        assert!(
            wait.name.starts_with("theory: mean wait, M/M/4/8"),
            "{}",
            wait.name
        );
        assert_eq!(wait.points.len(), 2);
        assert!(t.refused.is_some(), "a finite line refuses");
        let note = t.latency_note.expect("a note");
        assert!(
            note.contains("P(wait)") && note.contains("last 3 requests"),
            "{note}"
        );
        assert!(t.hit_ratio.is_none());
        assert!(t.hit_note.expect("why not").contains("no CDN"));
    }

    #[test]
    fn a_scenario_outside_the_assumptions_says_why() {
        let theory = predict(&scenario("default"));
        let t = lines(&theory, &Snapshot::default(), (0.0, 60.0));
        assert!(t.wait.is_none());
        let note = t.latency_note.expect("why not");
        assert!(
            note.starts_with("no queueing-theory line: policy"),
            "{note}"
        );
        let lru = lines(
            &predict(&scenario("theory-lru")),
            &Snapshot::default(),
            (0.0, 9.0),
        );
        let hit = lru.hit_ratio.expect("Che");
        assert!(hit.name.contains("Che"), "{}", hit.name);
        assert!((hit.points[0][1] - 37.8).abs() < 0.1);
    }
}
