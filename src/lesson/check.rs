//! Evaluating a checkpoint against a recorder snapshot: pure functions of the check, the
//! snapshot and the step's context, with no clock and no I/O, so the command line, the
//! window and the tests judge alike.
//!
//! A check looks at a window of the run. With `after`, the window starts at the latest
//! trace marker that mentions it since the lesson began (whatever made it: a button, a
//! step's action, the load balancer), and the check waits until there is one. Without
//! `after`, a step with an action of its own (a button, an action it plays) waits for it
//! and looks only at what followed; any other step looks at what happened since it became
//! current. Nothing from before the step (or its anchor) counts.
//! Requests belong to the window when they began in it. Measuring kinds (ratios,
//! shares, percentiles) look at the latest `within` of the window, and count requests still
//! in flight at the age they have reached, so a stuck request is not mistaken for a fast one.

mod window;
pub(crate) mod words;

use std::sync::Arc;
use std::time::Duration;

use self::window::{Window, began_in, latest, latest_latencies, window};
use self::words::{
    OrWaiting, article, attr_matches, counted, fmt_dur, judge, matches, outcome_words, plural,
    quantile, secs, shorten, tally, too_few,
};
pub use self::words::{mentions, outcome_is, path_of, phase_named, url_matches};
use crate::scenario::{Check, CheckKind};
use crate::trace::{CacheStatus, Journey, Outcome, Snapshot};

/// Requests that began this long before the anchor still count: a scripted request is
/// begun by its own task, a moment before the marker that announces it.
const ANCHOR_SLACK_MICROS: u64 = 50_000;
/// The default sliding window of measuring kinds.
const DEFAULT_WITHIN: Duration = Duration::from_secs(3);
/// The default least sample of measuring kinds.
const DEFAULT_SAMPLE: u64 = 20;

/// Where a step stands, for evaluating its checkpoint.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    /// When the step became current (its world in place), in µs since the run started.
    pub since_micros: u64,
    /// Markers before this are not anchors: the lesson began (or started over) here.
    pub floor_micros: u64,
    /// The scenario's time scale (windows are stretched by it).
    pub scale: f64,
    /// The step's own action, once done: when, and what (`kill server-2`).
    pub acted: Option<(u64, String)>,
    /// What the check waits for while the step's own action is not done yet (`you to
    /// press “kill server-2”`).
    pub awaiting: Option<String>,
}

/// The judgement on a checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// It holds; what was seen.
    Passed(String),
    /// Not yet; what is missing.
    Waiting(String),
}

impl Verdict {
    /// Whether it holds.
    pub fn passed(&self) -> bool {
        matches!(self, Verdict::Passed(_))
    }

    /// What was seen or what is missing.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Passed(s) | Verdict::Waiting(s) => s,
        }
    }
}

/// Judges `check` against `snap`.
pub fn evaluate(check: &Check, snap: &Snapshot, ctx: &Context) -> Verdict {
    let Some(kind) = check.kind else {
        return Verdict::Waiting("this check has no kind".into());
    };
    let window = match window(check, snap, ctx) {
        Ok(w) => w,
        Err(waiting) => return Verdict::Waiting(waiting),
    };
    let now = judge_in(check, kind, snap, &window);
    if now.passed() {
        return now;
    }
    // Events do not wait for the reader: a learner who reaches the step after the moment
    // has passed (the server already restarted) still sees it judged by what followed the
    // anchor at the time, in windows ending within a few `within`s of it.
    if let Some((at, _)) = &window.anchor {
        let half = (window.within / 2).max(1);
        let last = at.saturating_add(window.within.saturating_mul(4));
        let mut end = at.saturating_add(window.within);
        while end < window.now && end <= last {
            let then = Window {
                now: end,
                ..window.clone()
            };
            let v = judge_in(check, kind, snap, &then);
            if v.passed() {
                return v;
            }
            if end == u64::MAX {
                break;
            }
            end = end.saturating_add(half);
        }
    }
    now
}

/// Where the window `check` is judged over starts now (µs since the run started), or
/// `None` while the check still waits for its anchor or its step's action.
pub fn window_start(check: &Check, snap: &Snapshot, ctx: &Context) -> Option<u64> {
    window(check, snap, ctx).ok().map(|w| w.start)
}

/// Judges `check` over `window`.
fn judge_in(check: &Check, kind: CheckKind, snap: &Snapshot, window: &Window) -> Verdict {
    let ended = || {
        snap.recent
            .iter()
            .filter(|j| began_in(j, window) && matches(check, kind, j))
    };
    let need = |default: u64| check.count.unwrap_or(default).max(1);
    let expect = check.expect.as_deref().unwrap_or("");
    let value = check.value.unwrap_or(0.0);
    let q = check.percentile.unwrap_or(99.0).clamp(0.1, 99.9) / 100.0;
    let pname = format!("p{}", (q * 1000.0).round() / 10.0);
    let w = &window.label;
    match kind {
        CheckKind::Requests => {
            let n = ended().count() as u64;
            counted(n, need(1), || format!("{n} request{} ended {w}", plural(n)))
                .or_waiting(|| format!("{n} of {} requests ended {w}", need(1)))
        }
        CheckKind::Outcome => {
            // An outcome the anchor caused counts even for a request already on its way
            // when it came (a request cut by `kill server-2` ends in 502 after it).
            let caused = |j: &&Arc<Journey>| {
                window.anchor.as_ref().is_some_and(|(at, _)| {
                    j.end_micros.is_some_and(|e| e >= *at) && matches(check, kind, j)
                })
            };
            let hits: Vec<&Arc<Journey>> = snap
                .recent
                .iter()
                .filter(|j| (began_in(j, window) && matches(check, kind, j)) || caused(j))
                .filter(|j| j.outcome.is_some_and(|o| outcome_is(o, expect)))
                .collect();
            let n = hits.len() as u64;
            if n >= need(1) {
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
                    need(1),
                    outcome_words(expect),
                    tally(ended())
                ))
            }
        }
        CheckKind::NoOutcome => {
            let total = ended().count() as u64;
            let bad: Vec<&Arc<Journey>> = ended()
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
            } else if total < need(DEFAULT_SAMPLE) {
                Verdict::Waiting(format!(
                    "{total} of {} requests ended {w}, none with {}",
                    need(DEFAULT_SAMPLE),
                    outcome_words(expect)
                ))
            } else {
                Verdict::Passed(format!(
                    "{total} requests ended {w}, not one with {}",
                    outcome_words(expect)
                ))
            }
        }
        CheckKind::Cache => {
            let last = ended()
                .filter(|j| j.cache.is_some())
                .max_by_key(|j| j.end_micros);
            let Some(j) = last else {
                return Verdict::Waiting(format!("no request passed the cache {w} yet"));
            };
            let got = j.cache.map_or("none", CacheStatus::as_str);
            let said = format!(
                "the last request for {} got X-Cache: {got}",
                path_of(&j.url)
            );
            if got.eq_ignore_ascii_case(expect) {
                Verdict::Passed(said)
            } else {
                Verdict::Waiting(format!("{said}, not {expect}"))
            }
        }
        CheckKind::ServedByCount => {
            let servers: std::collections::BTreeSet<&str> =
                ended().filter_map(|j| j.answered_by()).collect();
            let names: Vec<&str> = servers.iter().copied().collect();
            let said = format!(
                "{} server{} answered {w} ({})",
                names.len(),
                plural(names.len() as u64),
                names.join(", ")
            );
            if names.len() as f64 >= value {
                Verdict::Passed(said)
            } else {
                Verdict::Waiting(format!("{said}; need {value}"))
            }
        }
        CheckKind::ShareBelow | CheckKind::ShareAbove => {
            let server = check.server.as_deref().unwrap_or("");
            let recent: Vec<&Arc<Journey>> = ended()
                .filter(|j| latest(j, window) && j.answered_by().is_some())
                .collect();
            let total = recent.len() as u64;
            if total < need(DEFAULT_SAMPLE) {
                return too_few(total, need(DEFAULT_SAMPLE), w);
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
        CheckKind::HitRatioAbove | CheckKind::HitRatioBelow => {
            let lookups: Vec<CacheStatus> = ended()
                .filter(|j| latest(j, window))
                .filter_map(|j| j.cache)
                .filter(|c| *c != CacheStatus::Bypass)
                .collect();
            let total = lookups.len() as u64;
            if total < need(DEFAULT_SAMPLE) {
                return too_few(total, need(DEFAULT_SAMPLE), w);
            }
            let hits = lookups.iter().filter(|c| c.is_hit()).count();
            let ratio = hits as f64 / total as f64;
            let said = format!(
                "hit ratio {:.0}% over the last {total} cache lookups",
                ratio * 100.0
            );
            let (holds, want) = if kind == CheckKind::HitRatioAbove {
                (ratio >= value, "at least")
            } else {
                (ratio < value, "below")
            };
            judge(holds, said, &format!("need {want} {:.0}%", value * 100.0))
        }
        CheckKind::P99Drop | CheckKind::P99Rise => {
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
            let n = need(DEFAULT_SAMPLE);
            if (before.len() as u64) < n {
                return Verdict::Waiting(format!(
                    "only {} requests ended in the {} before “{}”; need {n} to compare",
                    before.len(),
                    fmt_dur(window.within),
                    anchor_text
                ));
            }
            let b = quantile(before, q);
            // A drop is judged on requests old enough to have shown they are that fast.
            let settle = if kind == CheckKind::P99Drop {
                ((b * (1.0 - value / 100.0)).max(0.0) as u64 * 1000).min(window.within / 2)
            } else {
                0
            };
            let after = latest_latencies(check, kind, snap, window, settle);
            if (after.len() as u64) < n {
                return too_few(after.len() as u64, n, w);
            }
            let a = quantile(after, q);
            let change = if b > 0.0 { (a - b) / b * 100.0 } else { 0.0 };
            let said = format!("{pname} latency {a:.0} ms now, {b:.0} ms before “{anchor_text}”");
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
        CheckKind::P99Above | CheckKind::P99Below => {
            let settle = if kind == CheckKind::P99Below {
                ((value.max(0.0) * 1000.0) as u64).min(window.within / 2)
            } else {
                0
            };
            let after = latest_latencies(check, kind, snap, window, settle);
            let n = need(DEFAULT_SAMPLE);
            if (after.len() as u64) < n {
                return too_few(after.len() as u64, n, w);
            }
            let a = quantile(after, q);
            let said = format!(
                "{pname} latency {a:.0} ms over the last {}",
                fmt_dur(window.within)
            );
            if kind == CheckKind::P99Above {
                judge(a > value, said, &format!("need above {value:.0} ms"))
            } else {
                judge(a < value, said, &format!("need below {value:.0} ms"))
            }
        }
        CheckKind::QueueAbove => queue_above(check, snap, window, value),
        CheckKind::Marker => {
            let found = snap
                .markers
                .iter()
                .rev()
                .filter(|m| m.at_micros >= window.start)
                .find(|m| mentions(&m.text, expect));
            match found {
                Some(m) => Verdict::Passed(format!("at {:.1} s: {}", secs(m.at_micros), m.text)),
                None => Verdict::Waiting(format!("no “{expect}” {w} yet")),
            }
        }
        CheckKind::Span | CheckKind::NoSpan => {
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
            let n = if kind == CheckKind::Span {
                ended().filter(with).count() as u64
            } else {
                ended()
                    .filter(|j| j.outcome.and_then(Outcome::status).is_some())
                    .filter(|j| !with(j))
                    .count() as u64
            };
            let what = match (&check.attr, kind) {
                (Some(key), _) if !expect.is_empty() => {
                    format!("{} {phase} span with {key} {expect}", article(phase))
                }
                (Some(key), _) => format!("{} {phase} span with {key}", article(phase)),
                (None, CheckKind::Span) => format!("{} {phase} span", article(phase)),
                _ => format!("no {phase} span"),
            };
            counted(n, need(1), || {
                format!("{n} request{} had {what} {w}", plural(n))
            })
            .or_waiting(|| format!("{n} of {} requests had {what} {w}", need(1)))
        }
        CheckKind::Header => {
            let key = check.attr.as_deref().unwrap_or("");
            let last = ended()
                .filter(|j| j.exchange.is_some())
                .max_by_key(|j| j.end_micros);
            let Some(j) = last else {
                return Verdict::Waiting(format!("no answered request with headers {w} yet"));
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
        CheckKind::Body => {
            let last = ended()
                .filter(|j| j.exchange.is_some())
                .max_by_key(|j| j.end_micros);
            let Some(j) = last else {
                return Verdict::Waiting(format!("no answered request with a body {w} yet"));
            };
            let body = j.exchange.as_ref().map_or("", |x| x.response_body.as_str());
            let said = format!(
                "the answer to {} {} said {}",
                j.method,
                path_of(&j.url),
                shorten(body, 120)
            );
            judge(
                body.contains(expect),
                said,
                &format!("waiting for “{expect}”"),
            )
        }
        CheckKind::Dns => {
            let n = snap
                .recent_dns
                .iter()
                .filter(|q| q.received_micros >= window.start && q.rcode == expect)
                .count() as u64;
            counted(n, need(1), || {
                format!(
                    "{n} DNS quer{} answered {expect} {w}",
                    if n == 1 { "y" } else { "ies" }
                )
            })
            .or_waiting(|| format!("{n} of {} DNS queries answered {expect} {w}", need(1)))
        }
    }
}

fn queue_above(check: &Check, snap: &Snapshot, w: &Window, value: f64) -> Verdict {
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

/// Whether a journey passes the check's filters (`server` filters only the kinds for which
#[cfg(test)]
mod tests;
