//! Small helpers of checkpoint evaluation: matching requests against a check's filters,
//! reading outcomes, marker mentions and attribute values, percentiles, and the words of
//! verdicts.

use std::sync::Arc;

use super::Verdict;
use crate::scenario::{Check, CheckKind};
use crate::trace::{Journey, Outcome, OutcomeClass, Phase, metrics};

pub(super) trait OrWaiting {
    fn or_waiting(self, f: impl FnOnce() -> String) -> Verdict;
}

impl OrWaiting for Verdict {
    fn or_waiting(self, f: impl FnOnce() -> String) -> Verdict {
        match self {
            Verdict::Passed(_) => self,
            Verdict::Waiting(_) => Verdict::Waiting(f()),
        }
    }
}

pub(super) fn counted(n: u64, need: u64, said: impl FnOnce() -> String) -> Verdict {
    if n >= need {
        Verdict::Passed(said())
    } else {
        Verdict::Waiting(format!("{n} of {need} so far"))
    }
}

pub(super) fn judge(holds: bool, said: String, want: &str) -> Verdict {
    if holds {
        Verdict::Passed(said)
    } else {
        Verdict::Waiting(format!("{said}; {want}"))
    }
}

pub(super) fn too_few(n: u64, need: u64, w: &str) -> Verdict {
    Verdict::Waiting(format!("only {n} requests to measure {w}; need {need}"))
}

/// it is not the measured server).
pub(super) fn matches(check: &Check, kind: CheckKind, j: &Journey) -> bool {
    let server_filters = !matches!(
        kind,
        CheckKind::QueueAbove | CheckKind::ShareBelow | CheckKind::ShareAbove
    );
    check.url.as_deref().is_none_or(|u| url_matches(u, &j.url))
        && check.method.as_deref().is_none_or(|m| m == j.method)
        && check.profile.as_deref().is_none_or(|p| p == j.profile)
        && check
            .status
            .as_deref()
            .is_none_or(|s| j.outcome.is_some_and(|o| outcome_is(o, s)))
        && (!server_filters
            || check
                .server
                .as_deref()
                .is_none_or(|s| j.served_by.as_deref() == Some(s)))
}

/// The path and query of a URL (`http://api.example.test:80/users/1?x` → `/users/1?x`).
pub fn path_of(url: &str) -> &str {
    match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map_or("/", |p| &rest[p..])
        }
        None => url,
    }
}

/// Whether a filter (`/users/1`, `/users/*`, `/restaurants?_page=1`) matches a URL.
pub fn url_matches(filter: &str, url: &str) -> bool {
    let full = path_of(url);
    let target = if filter.contains('?') {
        full
    } else {
        full.split('?').next().unwrap_or(full)
    };
    match filter.strip_suffix('*') {
        Some(prefix) => target.starts_with(prefix),
        None => target == filter,
    }
}

/// Whether `outcome` is what `spec` names: a status (`404`), a class (`4xx`, `failed`) or
/// a failure (`timeout`).
pub fn outcome_is(outcome: Outcome, spec: &str) -> bool {
    if let Some(class) = OutcomeClass::ALL.iter().find(|c| c.label() == spec) {
        return outcome.class() == *class;
    }
    spec.parse::<Outcome>().is_ok_and(|o| o == outcome)
}

pub(super) fn outcome_words(spec: &str) -> String {
    match spec.parse::<Outcome>() {
        Ok(o @ Outcome::Status(_)) => o.describe(),
        Ok(o) => format!("“{}”", o.describe()),
        Err(_) => spec.to_string(),
    }
}

/// Whether marker text mentions `wanted` (case-insensitively, not as the start of a longer
/// word: `send GET /users/1` is not mentioned by `send GET /users/10`).
pub fn mentions(text: &str, wanted: &str) -> bool {
    let (text, wanted) = (text.to_lowercase(), wanted.trim().to_lowercase());
    if wanted.is_empty() {
        return false;
    }
    text.match_indices(&wanted).any(|(i, _)| {
        text[i + wanted.len()..]
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '/' || c == '_'))
    })
}

pub(super) fn attr_matches(value: &str, expect: &str) -> bool {
    let number = |s: &str| s.trim().parse::<f64>().ok();
    if let Some(rest) = expect.strip_prefix('>') {
        return matches!((number(value), number(rest)), (Some(v), Some(e)) if v > e);
    }
    if let Some(rest) = expect.strip_prefix('<') {
        return matches!((number(value), number(rest)), (Some(v), Some(e)) if v < e);
    }
    expect.is_empty() || value.to_lowercase().contains(&expect.to_lowercase())
}

/// The `q` quantile (0.99 for p99) of latencies in microseconds, in milliseconds (0 when
/// there are none): [`metrics::quantile`] over them in milliseconds.
pub(crate) fn quantile(micros: Vec<u64>, q: f64) -> f64 {
    // Same-sized items: the vector is converted where it lies, not copied.
    let millis: Vec<f64> = micros.into_iter().map(|m| m as f64 / 1000.0).collect();
    metrics::quantile(millis, q).unwrap_or(0.0)
}

pub(super) fn tally<'a>(journeys: impl Iterator<Item = &'a Arc<Journey>>) -> String {
    let mut counts: std::collections::BTreeMap<Outcome, u64> = Default::default();
    for j in journeys {
        if let Some(o) = j.outcome {
            *counts.entry(o).or_default() += 1;
        }
    }
    if counts.is_empty() {
        return "nothing yet".into();
    }
    counts
        .iter()
        .map(|(o, n)| format!("{o}×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "a" or "an" before a phase name (as it is read aloud: an ssl span, a dns span).
pub(super) fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) || word == "ssl" {
        "an"
    } else {
        "a"
    }
}

pub(super) fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub(super) fn secs(micros: u64) -> f64 {
    micros as f64 / 1e6
}

pub(super) fn fmt_dur(micros: u64) -> String {
    format!("{:.1} s", micros as f64 / 1e6)
}

pub(super) fn shorten(text: &str, max: usize) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The phase a check names, if the trace knows it.
pub fn phase_named(name: &str) -> Option<Phase> {
    Phase::ALL.into_iter().find(|p| p.name() == name)
}
