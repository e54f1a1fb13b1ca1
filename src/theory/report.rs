//! Theory in a run's summary: what the scenario's models predict next to what the run
//! measured (the `theory` section of `--summary-json` and the lines `hopscope run` prints),
//! or why a model does not apply. Measured from the recorded journeys after a warm-up, with
//! 95 % confidence intervals by batch means.

use std::fmt::Write;

use serde::Serialize;

use super::estimate::Estimate;
use super::fidelity::Recorded;
use super::measure;
use super::predict::{CacheModel, QueueModel, Section, predict};
use crate::scenario::Scenario;

/// Batches for the summary's confidence intervals.
const BATCHES: usize = 20;

/// One quantity: theory and measurement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Compared {
    pub theory: f64,
    /// Absent when the run recorded nothing to measure it with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measured: Option<Estimate>,
}

/// The queueing section: the model's prediction and the measurements.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueComparison {
    #[serde(flatten)]
    pub section: Section<QueueModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_wait_ms: Option<Compared>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prob_wait: Option<Compared>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_503: Option<Compared>,
}

/// The cache section.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CacheComparison {
    #[serde(flatten)]
    pub section: Section<CacheModel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hit_ratio: Option<Compared>,
}

/// Theory next to a run's measurements.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunTheory {
    /// Seconds left out at the start (queues and the cache filling).
    pub warmup_secs: f64,
    pub queueing: QueueComparison,
    pub cache: CacheComparison,
}

fn some(e: Estimate) -> Option<Estimate> {
    (e.samples > 0 && e.mean.is_finite()).then_some(e)
}

/// How long a run of `secs` leaves out at the start: two seconds, or a fifth of a short run.
pub fn warmup_secs(secs: f64) -> f64 {
    (secs / 5.0).min(2.0)
}

/// Whether any theory applies to `s` (so a run need read its journeys back).
pub fn applies(s: &Scenario) -> bool {
    let t = predict(s);
    t.queueing.applies || t.cache.applies
}

/// Compares `s`'s predictions with `rec` (a record whose window starts after the warm-up).
pub fn compare(s: &Scenario, rec: &Recorded) -> RunTheory {
    let theory = predict(s);
    let (from, to) = (rec.from_micros, rec.to_micros);
    let queueing = match theory.queueing.get() {
        Some(q) => {
            let m = measure::queue(&rec.visits, from, to, BATCHES);
            let share = measure::status_share(&rec.outcomes, 503, from, to, BATCHES);
            QueueComparison {
                mean_wait_ms: Some(Compared {
                    theory: q.mean_wait_ms,
                    measured: some(m.mean_wait_ms),
                }),
                prob_wait: Some(Compared {
                    theory: q.prob_wait,
                    measured: some(m.prob_wait),
                }),
                ratio_503: Some(Compared {
                    theory: q.blocking,
                    measured: some(share),
                }),
                section: theory.queueing.clone(),
            }
        }
        None => QueueComparison {
            section: theory.queueing.clone(),
            mean_wait_ms: None,
            prob_wait: None,
            ratio_503: None,
        },
    };
    let cache = CacheComparison {
        hit_ratio: theory.cache.get().map(|c| Compared {
            theory: if c.capacity >= c.items {
                cold_start_hit_ratio(s, rec)
            } else {
                c.hit_ratio
            },
            measured: some(measure::hit_ratio(&rec.lookups, from, to, BATCHES)),
        }),
        section: theory.cache.clone(),
    };
    RunTheory {
        warmup_secs: from as f64 / 1e6,
        queueing,
        cache,
    }
}

/// When every URL fits, the only misses are first requests: of the lookups numbered
/// `n0 + 1 ..= n1` (those in the window), URL i misses once if its first request falls there,
/// which happens with probability `(1 − p_i)^n0 − (1 − p_i)^n1`.
fn cold_start_hit_ratio(s: &Scenario, rec: &Recorded) -> f64 {
    let n0 = rec
        .lookups
        .iter()
        .filter(|(t, _)| *t < rec.from_micros)
        .count() as f64;
    let n1 = n0
        + rec
            .lookups
            .iter()
            .filter(|(t, _)| *t >= rec.from_micros && *t < rec.to_micros)
            .count() as f64;
    if n1 <= n0 {
        return 1.0;
    }
    let (popularity, _) = super::predict::cache_popularity(s);
    let misses: f64 = popularity
        .values()
        .map(|p| (1.0 - p).powf(n0) - (1.0 - p).powf(n1))
        .sum();
    1.0 - misses / (n1 - n0)
}

fn measured_text(m: &Option<Estimate>, percent: bool, unit: &str) -> String {
    match m {
        Some(e) if percent => format!(
            "measured {:.1} % ± {:.1}",
            e.mean * 100.0,
            e.half_width_95 * 100.0
        ),
        Some(e) => format!("measured {:.3}{unit} ± {:.3}", e.mean, e.half_width_95),
        None => "not measured".into(),
    }
}

impl RunTheory {
    /// The lines `hopscope run` prints under its summary table.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let q = &self.queueing;
        match q.section.get() {
            Some(m) => {
                let _ = writeln!(
                    out,
                    "theory   queueing: {} at ρ = {:.2} (95 % intervals after {:.0} s warm-up)",
                    m.model, m.utilization, self.warmup_secs
                );
                if let Some(c) = &q.mean_wait_ms {
                    let _ = writeln!(
                        out,
                        "         mean wait  theory {:.3} ms   {}",
                        c.theory,
                        measured_text(&c.measured, false, " ms")
                    );
                }
                if let Some(c) = &q.prob_wait {
                    let _ = writeln!(
                        out,
                        "         P(wait)    theory {:.3}      {}",
                        c.theory,
                        measured_text(&c.measured, false, "")
                    );
                }
                if let Some(c) = q.ratio_503.as_ref().filter(|_| m.capacity.is_some()) {
                    let _ = writeln!(
                        out,
                        "         503 ratio  theory {:.1} %     {}",
                        c.theory * 100.0,
                        measured_text(&c.measured, true, "")
                    );
                }
                for note in &m.notes {
                    let _ = writeln!(out, "         note: {note}");
                }
            }
            None => reasons(&mut out, "queueing", q.section.why_not.as_deref()),
        }
        let c = &self.cache;
        match (c.section.get(), &c.hit_ratio) {
            (Some(m), Some(h)) => {
                let model = if m.capacity >= m.items {
                    "every URL fits (only first requests miss)"
                } else {
                    m.model.as_str()
                };
                let _ = writeln!(
                    out,
                    "theory   cache: {model}, {} entries for {} URLs: hit ratio theory {:.1} %   {}",
                    m.capacity,
                    m.items,
                    h.theory * 100.0,
                    measured_text(&h.measured, true, "")
                );
                if m.characteristic_secs.is_finite()
                    && 3.0 * m.characteristic_secs > self.warmup_secs
                {
                    let _ = writeln!(
                        out,
                        "         note: an entry lives about {:.1} s without a request: the first {:.0} s may still be warming the cache",
                        m.characteristic_secs,
                        3.0 * m.characteristic_secs
                    );
                }
            }
            _ => reasons(&mut out, "cache", c.section.why_not.as_deref()),
        }
        out
    }
}

/// "does not apply", with each reason on its own line.
fn reasons(out: &mut String, what: &str, why: Option<&str>) {
    let _ = writeln!(out, "theory   {what}: does not apply");
    for reason in why.unwrap_or("no prediction").split("; ") {
        let _ = writeln!(out, "         - {reason}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{builtin, load_str};
    use crate::theory::measure::Visit;
    use crate::trace::Outcome;

    #[test]
    fn a_run_is_compared_and_rendered() {
        let b = builtin("theory-blocking").expect("built-in");
        let s = load_str(b.name, b.text).expect("valid");
        assert!(applies(&s));
        let mut rec = Recorded::new(1_000_000, 3_000_000);
        for i in 0..1000u64 {
            let t = 1_000_000 + i * 2000;
            rec.visits.push(Visit {
                server: 1,
                arrived_micros: t,
                wait_micros: 1000,
                waited: true,
                rejected: i % 10 == 0,
                handler_micros: Some(10_000),
                drawn_micros: None,
                db_micros: 0,
            });
            let status = if i % 10 == 0 { 503 } else { 200 };
            rec.outcomes.push((t, Some(Outcome::Status(status))));
        }
        let r = compare(&s, &rec);
        let share = r.queueing.ratio_503.as_ref().expect("compared");
        assert!((share.measured.expect("measured").mean - 0.1).abs() < 1e-12);
        let text = r.render();
        assert!(text.contains("M/M/4/8"), "{text}");
        assert!(text.contains("503 ratio"), "{text}");
        assert!(
            text.contains("cache: does not apply\n         - no CDN"),
            "{text}"
        );
        let json = serde_json::to_value(&r).expect("serialises");
        assert_eq!(json["queueing"]["applies"], true);
        assert_eq!(json["cache"]["applies"], false);
        assert_eq!(warmup_secs(5.0), 1.0);
        assert_eq!(warmup_secs(60.0), 2.0);
    }
}
