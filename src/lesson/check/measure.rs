//! The measuring rules of a check: a server's share of the answers, the cache's hit ratio,
//! a latency percentile against a level or against before the anchor, and the longest
//! queue. Shares, ratios and percentiles look at the latest `within` of the window and
//! need a least sample before they judge.

use std::sync::Arc;

use super::judge::Judge;
use super::window::{latest, latest_latencies};
use super::words::{fmt_dur, judge, matches, quantile, too_few};
use super::{DEFAULT_SAMPLE, Verdict};
use crate::scenario::CheckKind;
use crate::trace::{CacheStatus, Journey};

impl Judge<'_> {
    /// The named server answered below (or above) `value` of the latest requests.
    pub(super) fn share(&self) -> Verdict {
        let (kind, value, w) = (self.kind, self.value, self.w());
        let server = self.check.server.as_deref().unwrap_or("");
        let recent: Vec<&Arc<Journey>> = self
            .ended()
            .filter(|j| latest(j, self.window) && j.answered_by().is_some())
            .collect();
        let total = recent.len() as u64;
        if total < self.need(DEFAULT_SAMPLE) {
            return too_few(total, self.need(DEFAULT_SAMPLE), w);
        }
        let mine = recent
            .iter()
            .filter(|j| j.answered_by() == Some(server))
            .count();
        let share = mine as f64 / total as f64;
        let said = format!(
            "{server} answered {:.0}% of the last {total} requests",
            share * 100.0
        );
        let holds = if kind == CheckKind::ShareBelow {
            share < value
        } else {
            share > value
        };
        judge(
            holds,
            said,
            &format!(
                "need {} {:.0}%",
                if kind == CheckKind::ShareBelow {
                    "below"
                } else {
                    "above"
                },
                value * 100.0
            ),
        )
    }

    /// The cache's hit ratio over the latest lookups is at least (or below) `value`.
    pub(super) fn hit_ratio(&self) -> Verdict {
        let value = self.value;
        let lookups: Vec<CacheStatus> = self
            .ended()
            .filter(|j| latest(j, self.window))
            .filter_map(|j| j.cache)
            .filter(|c| *c != CacheStatus::Bypass)
            .collect();
        let total = lookups.len() as u64;
        if total < self.need(DEFAULT_SAMPLE) {
            return too_few(total, self.need(DEFAULT_SAMPLE), self.w());
        }
        let hits = lookups.iter().filter(|c| c.is_hit()).count();
        let ratio = hits as f64 / total as f64;
        let said = format!(
            "hit ratio {:.0}% over the last {total} cache lookups",
            ratio * 100.0
        );
        let (holds, want) = if self.kind == CheckKind::HitRatioAbove {
            (ratio >= value, "at least")
        } else {
            (ratio < value, "below")
        };
        judge(holds, said, &format!("need {want} {:.0}%", value * 100.0))
    }

    /// The percentile dropped (or rose) by `value` percent from the `within` before the
    /// anchor to the latest `within`.
    pub(super) fn p99_change(&self) -> Verdict {
        let (check, kind, snap, window, value) =
            (self.check, self.kind, self.snap, self.window, self.value);
        let Some((anchor_at, anchor_text)) = window.anchor.clone() else {
            return Verdict::Waiting("this check needs a change to compare with".into());
        };
        let before: Vec<u64> = snap
            .recent
            .iter()
            .filter(|j| matches(check, kind, j))
            .filter(|j| {
                j.end_micros
                    .is_some_and(|e| e < anchor_at && e + window.within >= anchor_at)
            })
            .filter_map(|j| j.latency_micros())
            .collect();
        let n = self.need(DEFAULT_SAMPLE);
        if (before.len() as u64) < n {
            return Verdict::Waiting(format!(
                "only {} requests ended in the {} before “{}”; need {n} to compare",
                before.len(),
                fmt_dur(window.within),
                anchor_text
            ));
        }
        let b = quantile(before, self.q);
        // A drop is judged on requests old enough to have shown they are that fast.
        let settle = if kind == CheckKind::P99Drop {
            ((b * (1.0 - value / 100.0)).max(0.0) as u64 * 1000).min(window.within / 2)
        } else {
            0
        };
        let after = latest_latencies(check, kind, snap, window, settle);
        if (after.len() as u64) < n {
            return too_few(after.len() as u64, n, self.w());
        }
        let a = quantile(after, self.q);
        let change = if b > 0.0 { (a - b) / b * 100.0 } else { 0.0 };
        let said = format!(
            "{} latency {a:.0} ms now, {b:.0} ms before “{anchor_text}”",
            self.pname
        );
        if kind == CheckKind::P99Drop {
            judge(
                -change >= value,
                format!("{said}: {:.0}% lower", -change),
                &format!("need {value:.0}% lower"),
            )
        } else {
            judge(
                change >= value,
                format!("{said}: {change:.0}% higher"),
                &format!("need {value:.0}% higher"),
            )
        }
    }

    /// The percentile over the latest `within` is above (or below) `value` milliseconds.
    pub(super) fn p99_level(&self) -> Verdict {
        let (kind, window, value) = (self.kind, self.window, self.value);
        let settle = if kind == CheckKind::P99Below {
            ((value.max(0.0) * 1000.0) as u64).min(window.within / 2)
        } else {
            0
        };
        let after = latest_latencies(self.check, kind, self.snap, window, settle);
        let n = self.need(DEFAULT_SAMPLE);
        if (after.len() as u64) < n {
            return too_few(after.len() as u64, n, self.w());
        }
        let a = quantile(after, self.q);
        let said = format!(
            "{} latency {a:.0} ms over the last {}",
            self.pname,
            fmt_dur(window.within)
        );
        if kind == CheckKind::P99Above {
            judge(a > value, said, &format!("need above {value:.0} ms"))
        } else {
            judge(a < value, said, &format!("need below {value:.0} ms"))
        }
    }

    /// A server's queue (the named one, or any) held at least `value` requests in the
    /// window.
    pub(super) fn queue_above(&self) -> Verdict {
        let (check, snap, w, value) = (self.check, self.snap, self.window, self.value);
        let wanted = |name: &str| check.server.as_deref().is_none_or(|s| s == name);
        let mut best: Option<(String, u32)> = None;
        let mut see = |name: &str, queued: u32| {
            if wanted(name) && best.as_ref().is_none_or(|(_, q)| queued > *q) {
                best = Some((name.to_string(), queued));
            }
        };
        for g in &snap.servers {
            see(&g.name, g.queued);
        }
        for s in snap
            .seconds
            .iter()
            .filter(|s| s.second * 1_000_000 >= w.start)
        {
            for (name, q) in &s.queued {
                see(name, *q);
            }
        }
        match best {
            Some((name, q)) if f64::from(q) >= value => {
                Verdict::Passed(format!("{q} requests waited in {name}'s queue"))
            }
            Some((name, q)) => Verdict::Waiting(format!(
                "the longest queue so far: {q} at {name}; need {value}"
            )),
            None => Verdict::Waiting("no server to watch".into()),
        }
    }
}
