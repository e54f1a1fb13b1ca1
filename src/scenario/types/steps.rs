//! Narration steps of a guided lesson: what to read, what to look at, what to do, and the
//! checkpoint that proves it happened (evaluated from the trace by `crate::lesson::check`)
//! or a multiple-choice question. Plain data with defaults; docs/scenarios.md documents
//! every field and every check kind.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::scenario::{Dur, server_number};

use super::actions::{Action, Button, Predict};

/// How long a step's checkpoint may take before headless narration counts it as missed,
/// when the step does not say (`time_limit`). Stretched by the scenario's time scale.
pub const DEFAULT_STEP_LIMIT: Duration = Duration::from_secs(20);

/// Placeholders a step's `command` may use, filled from the live addresses (besides
/// `{server-N}`, the address of server N).
pub const PLACEHOLDERS: &[&str] = &[
    "dns",
    "dns_port",
    "edge",
    "edge_port",
    "edge_tls",
    "edge_tls_port",
    "ca_cert",
    "cdn",
    "lb",
    "lb_port",
    "host",
    "zone",
    "allowed_token",
    "forbidden_token",
];

/// The placeholders written in `text`: each `{name}` whose name is lowercase letters,
/// digits, `_` or `-` (so JSON such as `{"item": 1}` is left alone), with its byte range.
pub fn placeholders(text: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find('{').map(|i| i + rest) {
        let name_start = open + 1;
        let name_len = text[name_start..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'))
            .unwrap_or(text.len() - name_start);
        let close = name_start + name_len;
        if name_len > 0 && text[close..].starts_with('}') {
            found.push((open..close + 1, &text[name_start..close]));
            rest = close + 1;
        } else {
            rest = name_start;
        }
    }
    found
}

/// Whether `name` is a placeholder a command may use.
pub fn is_placeholder(name: &str) -> bool {
    PLACEHOLDERS.contains(&name) || server_number(name).is_some()
}

/// One narration step of a guided lesson.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Step {
    /// A few words: what this step is about.
    pub title: String,
    /// A short explanation, in plain words.
    pub text: String,
    /// What to look at: a component (`cdn`, `server-2`), a plot (`plot:latency`) or `request`.
    pub look_at: Option<String>,
    /// Something for the learner to do, in words.
    pub prompt: Option<String>,
    /// A command to copy into a terminal; placeholders like `{edge}` are filled in from the
    /// live addresses.
    pub command: Option<String>,
    /// What the step does when it becomes current, each `at` a delay from that moment:
    /// the lesson drives the world, never the clock since launch.
    pub actions: Vec<Action>,
    /// Buttons the learner presses (the simulated reader presses them after reading).
    /// Until one is pressed, the step's check waits; then it judges what followed.
    pub buttons: Vec<Button>,
    /// Why the buttons' effects stay for the following steps. Without it, what a button
    /// changed is undone when the learner leaves the step.
    pub keep: Option<String>,
    /// A check of what happened, verified from the trace.
    pub check: Option<Check>,
    /// A multiple-choice question.
    pub question: Option<Question>,
    /// Predict, then observe: asked before the step's action, answered by the trace.
    pub predict: Option<Predict>,
    /// How long the checkpoint may take before headless narration counts it as missed
    /// (default 20s, stretched by the time scale).
    pub time_limit: Option<Dur>,
}

impl Step {
    /// The time limit of the step's checkpoint, before the time scale is applied.
    pub fn limit(&self) -> Duration {
        self.time_limit.map_or(DEFAULT_STEP_LIMIT, Dur::get)
    }

    /// Whether the step has an action of its own (buttons or actions) that its checkpoint
    /// waits for.
    pub fn has_action(&self) -> bool {
        !self.buttons.is_empty() || !self.actions.is_empty()
    }
}

/// A checkpoint verified from the trace. Only `kind` is always needed; which other fields
/// matter depends on the kind (see `CheckKind`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Check {
    /// What is checked.
    pub kind: Option<CheckKind>,
    /// The expected outcome, cache status, marker text, header value, body text, phase
    /// attribute value or DNS response code, depending on the kind.
    pub expect: Option<String>,
    /// The threshold of a measuring kind: a ratio, a percentage, milliseconds, a queue
    /// length or a number of servers.
    pub value: Option<f64>,
    /// How many matching requests are needed (default 1; for measuring kinds, the least
    /// sample size, default 20).
    pub count: Option<u64>,
    /// Only what happened after the latest trace marker containing this text counts (a
    /// control command such as `kill server-2`, `marked unhealthy`, `send GET /users/1`);
    /// the check waits for that marker. Without it, the check looks at what followed the
    /// step's own action (a button pressed, its last action played), or at what happened
    /// since the step became current when it has none.
    pub after: Option<String>,
    /// The length of the sliding windows that measuring kinds compare (default 3s).
    pub within: Option<Dur>,
    /// The percentile the `p99_*` kinds measure, when not the 99th (50 for the median).
    pub percentile: Option<f64>,
    /// Only requests whose path is this (`/users/1`; a trailing `*` matches a prefix; the
    /// query string counts only if given here).
    pub url: Option<String>,
    /// Only requests with this method.
    pub method: Option<String>,
    /// Only requests from this client profile (`outside` for curl and other tools).
    pub profile: Option<String>,
    /// Only requests with this outcome (`200`, `5xx`, `timeout`, …).
    pub status: Option<String>,
    /// The server concerned (`server-2`): a filter on who served the request, or the server
    /// whose queue or share is measured.
    pub server: Option<String>,
    /// The phase a `span`/`no_span` check looks for (`dns`, `connect`, `ssl`, `queue`, …).
    pub phase: Option<String>,
    /// The span attribute (`span`) or response header (`header`) to read.
    pub attr: Option<String>,
    /// What to say when it holds.
    pub success: Option<String>,
    /// What to say while it does not hold yet.
    pub hint: Option<String>,
}

/// The kinds of checkpoint. Every kind looks at the requests in the check's window (since
/// the step began, or since its `after` marker) that pass the filters (`url`, `method`,
/// `profile`, `status`, `server`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// At least `count` requests ended.
    Requests,
    /// At least `count` requests ended with `expect`: a status (`404`), a class (`5xx`) or
    /// a failure (`dns_failure`, `connection_refused`, `timeout`, …).
    Outcome,
    /// At least `count` requests ended (default 20), none of them with `expect`.
    NoOutcome,
    /// The last request got `X-Cache: expect` (`HIT`, `MISS`, `EXPIRED`, `REVALIDATED`,
    /// `BYPASS`).
    Cache,
    /// Requests were served by at least `value` different servers.
    ServedByCount,
    /// `server` answered less than `value` (a share from 0 to 1) of the requests.
    ShareBelow,
    /// `server` answered more than `value` of the requests.
    ShareAbove,
    /// The cache hit ratio (HIT and REVALIDATED over cacheable lookups) reached `value`.
    HitRatioAbove,
    /// The cache hit ratio fell below `value`.
    HitRatioBelow,
    /// p99 latency of the latest `within` is lower than in the `within` before the `after`
    /// marker, by at least `value` percent.
    P99Drop,
    /// p99 latency of the latest `within` is higher than before the marker by at least
    /// `value` percent.
    P99Rise,
    /// p99 latency of the latest `within` is above `value` milliseconds.
    P99Above,
    /// p99 latency of the latest `within` is below `value` milliseconds.
    P99Below,
    /// A server's queue (`server`, or any) held at least `value` waiting requests.
    QueueAbove,
    /// A trace marker containing `expect` appeared (`marked unhealthy`, `add server`).
    Marker,
    /// At least `count` requests have a span of `phase`, with attribute `attr` matching
    /// `expect` when given (`3`, `>1`, `<5`, or text).
    Span,
    /// At least `count` answered requests have no span of `phase` (a reused connection
    /// has no `connect`).
    NoSpan,
    /// The last request's response has header `attr` (containing `expect`, if given).
    Header,
    /// The last request's response body contains `expect`.
    Body,
    /// At least `count` DNS queries were answered with response code `expect` (`NOERROR`,
    /// `NXDOMAIN`, `DROPPED`, …).
    Dns,
}

impl CheckKind {
    /// Every kind, in documentation order.
    pub const ALL: [CheckKind; 20] = [
        CheckKind::Requests,
        CheckKind::Outcome,
        CheckKind::NoOutcome,
        CheckKind::Cache,
        CheckKind::ServedByCount,
        CheckKind::ShareBelow,
        CheckKind::ShareAbove,
        CheckKind::HitRatioAbove,
        CheckKind::HitRatioBelow,
        CheckKind::P99Drop,
        CheckKind::P99Rise,
        CheckKind::P99Above,
        CheckKind::P99Below,
        CheckKind::QueueAbove,
        CheckKind::Marker,
        CheckKind::Span,
        CheckKind::NoSpan,
        CheckKind::Header,
        CheckKind::Body,
        CheckKind::Dns,
    ];

    /// The name written in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            CheckKind::Requests => "requests",
            CheckKind::Outcome => "outcome",
            CheckKind::NoOutcome => "no_outcome",
            CheckKind::Cache => "cache",
            CheckKind::ServedByCount => "served_by_count",
            CheckKind::ShareBelow => "share_below",
            CheckKind::ShareAbove => "share_above",
            CheckKind::HitRatioAbove => "hit_ratio_above",
            CheckKind::HitRatioBelow => "hit_ratio_below",
            CheckKind::P99Drop => "p99_drop",
            CheckKind::P99Rise => "p99_rise",
            CheckKind::P99Above => "p99_above",
            CheckKind::P99Below => "p99_below",
            CheckKind::QueueAbove => "queue_above",
            CheckKind::Marker => "marker",
            CheckKind::Span => "span",
            CheckKind::NoSpan => "no_span",
            CheckKind::Header => "header",
            CheckKind::Body => "body",
            CheckKind::Dns => "dns",
        }
    }

    /// Whether the kind needs `expect`.
    pub fn needs_expect(self) -> bool {
        matches!(
            self,
            CheckKind::Outcome
                | CheckKind::NoOutcome
                | CheckKind::Cache
                | CheckKind::Marker
                | CheckKind::Body
                | CheckKind::Dns
        )
    }

    /// Whether the kind needs `value`.
    pub fn needs_value(self) -> bool {
        matches!(
            self,
            CheckKind::ServedByCount
                | CheckKind::ShareBelow
                | CheckKind::ShareAbove
                | CheckKind::HitRatioAbove
                | CheckKind::HitRatioBelow
                | CheckKind::P99Drop
                | CheckKind::P99Rise
                | CheckKind::P99Above
                | CheckKind::P99Below
                | CheckKind::QueueAbove
        )
    }

    /// Whether the kind compares before and after a marker (so it needs one).
    pub fn compares_with_before(self) -> bool {
        matches!(self, CheckKind::P99Drop | CheckKind::P99Rise)
    }
}

impl fmt::Display for CheckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A multiple-choice question with feedback.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Question {
    /// The question.
    pub ask: String,
    /// The choices, in the order shown.
    pub choices: Vec<String>,
    /// Index of the right choice (0-based).
    pub answer: usize,
    /// Why the right answer is right, shown once the learner has answered.
    pub explain: String,
    /// Optional feedback for each choice (same order as `choices`), shown when picked.
    pub feedback: Vec<String>,
}
