//! Judging a check over its window, one rule per kind: `judge_in` picks the rule, and each
//! rule reads the requests that began in the window (or the markers, DNS queries and
//! queues the kind is about) and says what it saw. The measuring kinds (shares, ratios,
//! percentiles, queues) are in `measure.rs`.

use std::sync::Arc;

use super::window::{Window, began_in};
use super::words::{
    OrWaiting, article, attr_matches, counted, judge, matches, outcome_words, plural, secs,
    shorten, tally,
};
use super::{DEFAULT_SAMPLE, Verdict, mentions, outcome_is, path_of};
use crate::scenario::{Check, CheckKind};
use crate::trace::{CacheStatus, Journey, Outcome, Snapshot};

/// What every rule reads: the check, the snapshot and the window, and the check's fields
/// with their defaults.
pub(super) struct Judge<'a> {
    pub check: &'a Check,
    pub kind: CheckKind,
    pub snap: &'a Snapshot,
    pub window: &'a Window,
    /// The check's `expect` (empty when not given).
    pub expect: &'a str,
    /// The check's `value` (0 when not given).
    pub value: f64,
    /// The percentile as a share (0.99) and its name (`p99`).
    pub q: f64,
    pub pname: String,
}

impl<'a> Judge<'a> {
    fn new(check: &'a Check, kind: CheckKind, snap: &'a Snapshot, window: &'a Window) -> Self {
        let q = check.percentile.unwrap_or(99.0).clamp(0.1, 99.9) / 100.0;
        Judge {
            check,
            kind,
            snap,
            window,
            expect: check.expect.as_deref().unwrap_or(""),
            value: check.value.unwrap_or(0.0),
            q,
            pname: format!("p{}", (q * 1000.0).round() / 10.0),
        }
    }

    /// The requests that began in the window and pass the check's filters.
    pub fn ended(&self) -> impl Iterator<Item = &'a Arc<Journey>> + use<'a> {
        let (check, kind, window) = (self.check, self.kind, self.window);
        self.snap
            .recent
            .iter()
            .filter(move |j| began_in(j, window) && matches(check, kind, j))
    }

    /// The check's `count`, or `default`; at least 1.
    pub fn need(&self, default: u64) -> u64 {
        self.check.count.unwrap_or(default).max(1)
    }

    /// Why the window starts where it does, for messages.
    pub fn w(&self) -> &'a str {
        &self.window.label
    }
}

/// Judges `check` over `window`.
pub(super) fn judge_in(
    check: &Check,
    kind: CheckKind,
    snap: &Snapshot,
    window: &Window,
) -> Verdict {
    let j = Judge::new(check, kind, snap, window);
    match kind {
        CheckKind::Requests => j.requests(),
        CheckKind::Outcome => j.outcome(),
        CheckKind::NoOutcome => j.no_outcome(),
        CheckKind::Cache => j.cache(),
        CheckKind::ServedByCount => j.served_by_count(),
        CheckKind::ShareBelow | CheckKind::ShareAbove => j.share(),
        CheckKind::HitRatioAbove | CheckKind::HitRatioBelow => j.hit_ratio(),
        CheckKind::P99Drop | CheckKind::P99Rise => j.p99_change(),
        CheckKind::P99Above | CheckKind::P99Below => j.p99_level(),
        CheckKind::QueueAbove => j.queue_above(),
        CheckKind::Marker => j.marker(),
        CheckKind::Span | CheckKind::NoSpan => j.span(),
        CheckKind::Header => j.header(),
        CheckKind::Body => j.body(),
        CheckKind::Dns => j.dns(),
    }
}

impl Judge<'_> {
    /// At least `count` requests ended in the window.
    fn requests(&self) -> Verdict {
        let (n, w) = (self.ended().count() as u64, self.w());
        counted(n, self.need(1), || {
            format!("{n} request{} ended {w}", plural(n))
        })
        .or_waiting(|| format!("{n} of {} requests ended {w}", self.need(1)))
    }

    /// At least `count` requests ended with the expected outcome.
    fn outcome(&self) -> Verdict {
        let (expect, w) = (self.expect, self.w());
        // An outcome the anchor caused counts even for a request already on its way
        // when it came (a request cut by `kill server-2` ends in 502 after it).
        let caused = |j: &&Arc<Journey>| {
            self.window.anchor.as_ref().is_some_and(|(at, _)| {
                j.end_micros.is_some_and(|e| e >= *at) && matches(self.check, self.kind, j)
            })
        };
        let hits: Vec<&Arc<Journey>> = self
            .snap
            .recent
            .iter()
            .filter(|j| {
                (began_in(j, self.window) && matches(self.check, self.kind, j)) || caused(j)
            })
            .filter(|j| j.outcome.is_some_and(|o| outcome_is(o, expect)))
            .collect();
        let n = hits.len() as u64;
        if n >= self.need(1) {
            let first = hits[0];
            Verdict::Passed(format!(
                "{n} request{} ended with {} {w}; the first: {} {} at {:.1} s",
                plural(n),
                outcome_words(expect),
                first.method,
                path_of(&first.url),
                secs(first.end_micros.unwrap_or(first.start_micros)),
            ))
        } else {
            Verdict::Waiting(format!(
                "{n} of {} requests ended with {} {w} (seen: {})",
                self.need(1),
                outcome_words(expect),
                tally(self.ended())
            ))
        }
    }

    /// Enough requests ended, and not one with the outcome named.
    fn no_outcome(&self) -> Verdict {
        let (expect, w) = (self.expect, self.w());
        let total = self.ended().count() as u64;
        let bad: Vec<&Arc<Journey>> = self
            .ended()
            .filter(|j| j.outcome.is_some_and(|o| outcome_is(o, expect)))
            .collect();
        if let Some(first) = bad.first() {
            Verdict::Waiting(format!(
                "{} of {total} requests ended with {} {w}; the first: {} {} at {:.1} s",
                bad.len(),
                outcome_words(expect),
                first.method,
                path_of(&first.url),
                secs(first.end_micros.unwrap_or(first.start_micros)),
            ))
        } else if total < self.need(DEFAULT_SAMPLE) {
            Verdict::Waiting(format!(
                "{total} of {} requests ended {w}, none with {}",
                self.need(DEFAULT_SAMPLE),
                outcome_words(expect)
            ))
        } else {
            Verdict::Passed(format!(
                "{total} requests ended {w}, not one with {}",
                outcome_words(expect)
            ))
        }
    }

    /// The last request through the cache got the expected `X-Cache`.
    fn cache(&self) -> Verdict {
        let last = self
            .ended()
            .filter(|j| j.cache.is_some())
            .max_by_key(|j| j.end_micros);
        let Some(j) = last else {
            return Verdict::Waiting(format!("no request passed the cache {} yet", self.w()));
        };
        let got = j.cache.map_or("none", CacheStatus::as_str);
        let said = format!(
            "the last request for {} got X-Cache: {got}",
            path_of(&j.url)
        );
        if got.eq_ignore_ascii_case(self.expect) {
            Verdict::Passed(said)
        } else {
            Verdict::Waiting(format!("{said}, not {}", self.expect))
        }
    }

    /// At least `value` distinct servers answered.
    fn served_by_count(&self) -> Verdict {
        let servers: std::collections::BTreeSet<&str> =
            self.ended().filter_map(|j| j.answered_by()).collect();
        let names: Vec<&str> = servers.iter().copied().collect();
        let said = format!(
            "{} server{} answered {} ({})",
            names.len(),
            plural(names.len() as u64),
            self.w(),
            names.join(", ")
        );
        if names.len() as f64 >= self.value {
            Verdict::Passed(said)
        } else {
            Verdict::Waiting(format!("{said}; need {}", self.value))
        }
    }

    /// A trace marker mentioning `expect` appeared in the window.
    fn marker(&self) -> Verdict {
        let found = self
            .snap
            .markers
            .iter()
            .rev()
            .filter(|m| m.at_micros >= self.window.start)
            .find(|m| mentions(&m.text, self.expect));
        match found {
            Some(m) => Verdict::Passed(format!("at {:.1} s: {}", secs(m.at_micros), m.text)),
            None => Verdict::Waiting(format!("no “{}” {} yet", self.expect, self.w())),
        }
    }

    /// Requests had (or, for `no_span`, answered requests lacked) a span of the phase,
    /// with the attribute when one is named.
    fn span(&self) -> Verdict {
        let (check, expect, w) = (self.check, self.expect, self.w());
        let phase = check.phase.as_deref().unwrap_or("");
        let with = |j: &&Arc<Journey>| {
            j.spans.iter().any(|s| {
                s.phase.name() == phase
                    && match &check.attr {
                        None => true,
                        Some(key) => s.attr(key).is_some_and(|v| attr_matches(v, expect)),
                    }
            })
        };
        let n = if self.kind == CheckKind::Span {
            self.ended().filter(with).count() as u64
        } else {
            self.ended()
                .filter(|j| j.outcome.and_then(Outcome::status).is_some())
                .filter(|j| !with(j))
                .count() as u64
        };
        let what = match (&check.attr, self.kind) {
            (Some(key), _) if !expect.is_empty() => {
                format!("{} {phase} span with {key} {expect}", article(phase))
            }
            (Some(key), _) => format!("{} {phase} span with {key}", article(phase)),
            (None, CheckKind::Span) => format!("{} {phase} span", article(phase)),
            _ => format!("no {phase} span"),
        };
        counted(n, self.need(1), || {
            format!("{n} request{} had {what} {w}", plural(n))
        })
        .or_waiting(|| format!("{n} of {} requests had {what} {w}", self.need(1)))
    }

    /// The last answer carried the header named in `attr`, containing `expect`.
    fn header(&self) -> Verdict {
        let (key, expect) = (self.check.attr.as_deref().unwrap_or(""), self.expect);
        let last = self
            .ended()
            .filter(|j| j.exchange.is_some())
            .max_by_key(|j| j.end_micros);
        let Some(j) = last else {
            return Verdict::Waiting(format!("no answered request with headers {} yet", self.w()));
        };
        let value = j.exchange.as_ref().and_then(|x| {
            x.response_headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.clone())
        });
        match value {
            Some(v) if v.contains(expect) => Verdict::Passed(format!(
                "the answer to {} {} carried {key}: {v}",
                j.method,
                path_of(&j.url)
            )),
            Some(v) => Verdict::Waiting(format!("{key} is “{v}”, not “{expect}”")),
            None => Verdict::Waiting(format!(
                "the last answer ({} {}) had no {key} header",
                j.method,
                path_of(&j.url)
            )),
        }
    }

    /// The last answer's body contains `expect`.
    fn body(&self) -> Verdict {
        let last = self
            .ended()
            .filter(|j| j.exchange.is_some())
            .max_by_key(|j| j.end_micros);
        let Some(j) = last else {
            return Verdict::Waiting(format!("no answered request with a body {} yet", self.w()));
        };
        let body = j.exchange.as_ref().map_or("", |x| x.response_body.as_str());
        let said = format!(
            "the answer to {} {} said {}",
            j.method,
            path_of(&j.url),
            shorten(body, 120)
        );
        judge(
            body.contains(self.expect),
            said,
            &format!("waiting for “{}”", self.expect),
        )
    }

    /// At least `count` DNS queries received in the window were answered with `expect`.
    fn dns(&self) -> Verdict {
        let (expect, w) = (self.expect, self.w());
        let n = self
            .snap
            .recent_dns
            .iter()
            .filter(|q| q.received_micros >= self.window.start && q.rcode == expect)
            .count() as u64;
        counted(n, self.need(1), || {
            format!(
                "{n} DNS quer{} answered {expect} {w}",
                if n == 1 { "y" } else { "ies" }
            )
        })
        .or_waiting(|| format!("{n} of {} DNS queries answered {expect} {w}", self.need(1)))
    }
}
