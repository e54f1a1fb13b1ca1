//! What the inspector's views share: the key that links a phase across the sequence
//! diagram, the waterfall and the headers; time and status formatting; which component a
//! request entered by (the edge); and the named failure with the hop where it happened.
//!
//! Plain data computed from a [`Journey`], tested without drawing anything. Every function
//! here accepts any journey: missing spans, spans that end before they start, components the
//! diagram has never seen.

use crate::scenario::server_name;
use crate::trace::{Component, Journey, Outcome, Phase, Snapshot, Span};

/// One phase at one component: what hovering links across the three views.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhaseKey {
    /// Where the time was spent (the client for the browser-like phases).
    pub component: Component,
    /// What it was spent on.
    pub phase: Phase,
}

impl PhaseKey {
    /// A client-side (HAR) phase.
    pub fn client(phase: Phase) -> PhaseKey {
        PhaseKey {
            component: Component::Client,
            phase,
        }
    }

    /// The key of a span. The DNS stub's own answer links with the client's lookup.
    pub fn of(span: &Span) -> PhaseKey {
        match (span.component, span.phase) {
            (Component::Dns, Phase::Dns) => PhaseKey::client(Phase::Dns),
            (component, phase) => PhaseKey { component, phase },
        }
    }

    /// Server-side phases (cache, pick, forward, queue, handler, db) nest inside `wait`.
    pub fn is_inside_wait(self) -> bool {
        self.component != Component::Client
            && matches!(
                self.phase,
                Phase::Cache
                    | Phase::Pick
                    | Phase::Forward
                    | Phase::Queue
                    | Phase::Handler
                    | Phase::Db
            )
    }

    /// Whether an item with this key lights up while `hovered` is hovered: the same phase,
    /// or anything inside `wait` while `wait` is hovered, or `ssl` inside `connect`.
    pub fn lit_by(self, hovered: Option<PhaseKey>) -> bool {
        let Some(h) = hovered else {
            return false;
        };
        self == h
            || (h == PhaseKey::client(Phase::Wait) && self.is_inside_wait())
            || (h == PhaseKey::client(Phase::Connect) && self == PhaseKey::client(Phase::Ssl))
    }
}

/// Milliseconds from the journey's start to `micros` (0 for times before it), less the
/// time it was held in step mode before then.
pub fn offset_ms(journey: &Journey, micros: u64) -> f64 {
    // Time held in step mode for the learner's clicks is not network time: left out.
    let held: u64 = journey
        .spans
        .iter()
        .filter(|s| s.phase == Phase::Held)
        .map(|s| {
            s.end_micros
                .min(micros)
                .saturating_sub(s.start_micros.max(journey.start_micros))
        })
        .sum();
    micros
        .saturating_sub(journey.start_micros)
        .saturating_sub(held) as f64
        / 1000.0
}

/// A duration for people: `0.04 ms`, `3.21 ms`, `48.3 ms`, `1.25 s`.
pub fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "–".into()
    } else if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 1000.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// The reason phrase of a status code (`OK`, `Service Unavailable`), if it has one.
pub fn reason_phrase(status: u16) -> Option<&'static str> {
    hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
}

/// `200 OK`, `503 Service Unavailable`, or the code alone.
pub fn status_line(status: u16) -> String {
    match reason_phrase(status) {
        Some(r) => format!("{status} {r}"),
        None => status.to_string(),
    }
}

/// How a request ended, in words: `200 OK`, `connection refused`, `in flight`.
pub fn outcome_text(outcome: Option<Outcome>) -> String {
    match outcome {
        Some(Outcome::Status(s)) => status_line(s),
        Some(other) => other.describe(),
        None => "in flight".into(),
    }
}

/// The path and query of a URL (`/users/2?x=1`), or the URL itself if it has no path.
pub fn path_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or(url, |i| &rest[i..])
}

/// A lane title: `client`, `DNS`, `CDN`, `LB`, `server-2`, `database`.
pub fn lane_title(component: Component) -> String {
    match component {
        Component::Client => "client".into(),
        Component::Dns => "DNS".into(),
        Component::Cdn => "CDN".into(),
        Component::Lb => "LB".into(),
        Component::Server(n) => server_name(n),
        Component::Db => "database".into(),
    }
}

/// A component in a sentence: `the CDN`, `the load balancer`, `server-2`.
pub fn component_phrase(component: Component) -> String {
    match component {
        Component::Client => "the client".into(),
        Component::Dns => "the DNS stub".into(),
        Component::Cdn => "the CDN".into(),
        Component::Lb => "the load balancer".into(),
        Component::Server(n) => server_name(n),
        Component::Db => "the database".into(),
    }
}

/// Where requests enter the topology according to a snapshot: the CDN if any request
/// reached it, else the load balancer if any did.
pub fn edge_hint(snapshot: &Snapshot) -> Option<Component> {
    let mut saw_lb = false;
    for j in snapshot
        .recent
        .iter()
        .rev()
        .chain(snapshot.in_flight.iter())
    {
        for (c, _) in &j.arrivals {
            match c {
                Component::Cdn => return Some(Component::Cdn),
                Component::Lb => saw_lb = true,
                _ => {}
            }
        }
    }
    saw_lb.then_some(Component::Lb)
}

/// The component this request connected to first (the edge): the first CDN or LB it
/// reached, else `hint`, else the load balancer.
pub fn edge_of(journey: &Journey, hint: Option<Component>) -> Component {
    let is_edge = |c: &Component| matches!(c, Component::Cdn | Component::Lb);
    let by_arrival = journey
        .arrivals
        .iter()
        .map(|(c, _)| *c)
        .find(|c| is_edge(c));
    let by_span = || {
        journey
            .spans
            .iter()
            .map(|s| s.component)
            .find(|c| is_edge(c))
    };
    by_arrival
        .or_else(by_span)
        .or(hint)
        .unwrap_or(Component::Lb)
}

/// The server a span names in its `server` attribute (`server-2`).
pub fn server_attr(span: &Span) -> Option<Component> {
    span.attr("server").and_then(|s| s.parse().ok())
}

/// Why a request did not get what it asked for, and at which hop.
#[derive(Clone, Debug, PartialEq)]
pub struct FailureNote {
    /// One line: `connection refused by the CDN`, `503 Service Unavailable: …`.
    pub headline: String,
    /// The hop where it happened (where the diagram marks it).
    pub hop: Component,
    /// More, when the trace has it (the error body, the LB's reason).
    pub detail: Option<String>,
}

/// The failure of a request that ended badly (a 4xx or 5xx, or no answer at all); `None`
/// for requests that succeeded or are still in flight.
pub fn failure_note(journey: &Journey, edge_hint: Option<Component>) -> Option<FailureNote> {
    let outcome = journey.outcome?;
    let edge = edge_of(journey, edge_hint);
    let last_seen = journey
        .arrivals
        .iter()
        .map(|(c, _)| *c)
        .rfind(|c| *c != Component::Dns);
    let note = |headline: String, hop: Component, detail: Option<String>| FailureNote {
        headline,
        hop,
        detail,
    };
    Some(match outcome {
        Outcome::Status(s) if s < 400 => return None,
        Outcome::Status(s) => status_failure(journey, s, edge),
        Outcome::DnsFailure => {
            let answer = journey
                .spans
                .iter()
                .find(|s| s.phase == Phase::Dns && s.component == Component::Client)
                .and_then(|s| s.attr("answer"));
            note(
                match answer {
                    Some(a) => format!("could not resolve host: {a}"),
                    None => "could not resolve host".into(),
                },
                Component::Dns,
                Some("the name lookup at the DNS stub failed, so no connection was made".into()),
            )
        }
        Outcome::ConnectionRefused => note(
            format!("connection refused by {}", component_phrase(edge)),
            edge,
            Some("nothing was listening on its port".into()),
        ),
        Outcome::ConnectionReset => {
            let hop = last_seen.unwrap_or(edge);
            note(
                format!(
                    "connection reset: {} closed it without answering",
                    component_phrase(hop)
                ),
                hop,
                None,
            )
        }
        Outcome::Timeout => {
            let hop = last_seen.unwrap_or(edge);
            note(
                format!(
                    "timed out: no answer in time (last seen at {})",
                    lane_title(hop)
                ),
                hop,
                Some("the client gave up waiting".into()),
            )
        }
        Outcome::TlsError => note(
            format!("TLS handshake with {} failed", component_phrase(edge)),
            edge,
            None,
        ),
        Outcome::Cancelled => {
            let hop = last_seen.unwrap_or(edge);
            note(
                format!(
                    "cancelled: the run stopped while it was at {}",
                    lane_title(hop)
                ),
                hop,
                Some("still open when the run's grace ran out".into()),
            )
        }
    })
}

/// A 4xx or 5xx: find the span that explains it.
fn status_failure(journey: &Journey, status: u16, edge: Component) -> FailureNote {
    let line = status_line(status);
    let body = journey
        .exchange
        .as_ref()
        .map(|x| error_text(&x.response_body))
        .filter(|b| !b.is_empty());
    for span in journey.spans.iter().rev() {
        if let Some(why) = span.attr("rejected") {
            return FailureNote {
                headline: format!("{line}: {} rejected it, {why}", lane_title(span.component)),
                hop: span.component,
                detail: body,
            };
        }
        if span.phase == Phase::Pick && span.attr("server").is_none() {
            let reason = span.attr("reason").unwrap_or("no healthy server");
            return FailureNote {
                headline: format!("{line} from the load balancer: {reason}"),
                hop: Component::Lb,
                detail: body,
            };
        }
        if let Some(error) = span.attr("error")
            && span.phase == Phase::Forward
        {
            let target = match span.component {
                Component::Lb => server_attr(span).unwrap_or(Component::Lb),
                _ => Component::Lb,
            };
            return FailureNote {
                headline: format!(
                    "{line} from {}: {} failed ({error})",
                    component_phrase(span.component),
                    lane_title(target)
                ),
                hop: target,
                detail: body,
            };
        }
        if let Some(fault) = span.attr("fault") {
            return FailureNote {
                headline: format!("{line}: {} ({fault})", lane_title(span.component)),
                hop: span.component,
                detail: body,
            };
        }
    }
    let hop = journey
        .served_by
        .as_deref()
        .and_then(|s| s.parse().ok())
        .or_else(|| {
            journey
                .spans
                .iter()
                .rev()
                .map(|s| s.component)
                .find(|c| *c != Component::Client && *c != Component::Dns)
        })
        .unwrap_or(edge);
    FailureNote {
        headline: format!("{line} from {}", component_phrase(hop)),
        hop,
        detail: body,
    }
}

/// What an error body says: the `error` field of a JSON body, else the start of the body.
pub fn error_text(body: &str) -> String {
    let from_json = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string));
    let text = from_json.unwrap_or_else(|| body.trim().to_string());
    shorten(&text, 300)
}

/// The journey's length so far: its latency when ended, else up to its latest report.
pub fn total_ms(journey: &Journey) -> f64 {
    let end = journey.end_micros.unwrap_or_else(|| {
        let spans = journey
            .spans
            .iter()
            .map(|s| s.end_micros.max(s.start_micros));
        let arrivals = journey.arrivals.iter().map(|(_, t)| *t);
        spans.chain(arrivals).max().unwrap_or(journey.start_micros)
    });
    offset_ms(journey, end)
}

/// Shortens `text` to `max` characters with an ellipsis.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::inspector::fixtures;

    #[test]
    fn times_and_statuses_read_like_devtools() {
        assert_eq!(fmt_ms(0.041), "0.04 ms");
        assert_eq!(fmt_ms(48.31), "48.3 ms");
        assert_eq!(fmt_ms(1250.0), "1.25 s");
        assert_eq!(fmt_ms(f64::NAN), "–");
        assert_eq!(
            outcome_text(Some(Outcome::Status(503))),
            "503 Service Unavailable"
        );
        assert_eq!(outcome_text(Some(Outcome::Status(299))), "299");
        assert_eq!(outcome_text(None), "in flight");
        assert_eq!(
            path_of("http://api.example.test:4000/users/2?a=1"),
            "/users/2?a=1"
        );
        assert_eq!(path_of("weird"), "weird");
        assert_eq!(
            error_text(r#"{"error":"server-2 refused the connection","status":502}"#),
            "server-2 refused the connection"
        );
        assert_eq!(error_text(" plain words "), "plain words");
    }

    #[test]
    fn wait_lights_up_the_server_side() {
        let wait = Some(PhaseKey::client(Phase::Wait));
        let db = PhaseKey {
            component: Component::Db,
            phase: Phase::Db,
        };
        assert!(db.lit_by(wait));
        assert!(!PhaseKey::client(Phase::Dns).lit_by(wait));
        assert!(PhaseKey::client(Phase::Ssl).lit_by(Some(PhaseKey::client(Phase::Connect))));
        assert!(!db.lit_by(None));
    }

    #[test]
    fn a_refused_connection_names_the_edge() {
        let j = fixtures::refused();
        let note = failure_note(&j, Some(Component::Cdn)).expect("failed");
        assert_eq!(note.headline, "connection refused by the CDN");
        assert_eq!(note.hop, Component::Cdn);
        let note = failure_note(&j, None).expect("failed");
        assert_eq!(
            note.hop,
            Component::Lb,
            "no hint: the load balancer is the edge"
        );
    }

    #[test]
    fn a_full_queue_is_blamed_on_its_server() {
        let j = fixtures::rejected_503();
        let note = failure_note(&j, None).expect("failed");
        assert_eq!(note.hop, Component::Server(2));
        assert!(
            note.headline
                .starts_with("503 Service Unavailable: server-2 rejected it")
        );
    }

    #[test]
    fn a_bad_gateway_points_at_the_dead_server() {
        let j = fixtures::bad_gateway();
        let note = failure_note(&j, None).expect("failed");
        assert_eq!(note.hop, Component::Server(3));
        assert!(
            note.headline.contains("502 Bad Gateway"),
            "{}",
            note.headline
        );
    }

    #[test]
    fn successes_and_requests_in_flight_have_no_failure() {
        assert_eq!(failure_note(&fixtures::miss(), None), None);
        let mut j = fixtures::miss();
        j.outcome = None;
        assert_eq!(failure_note(&j, None), None);
        assert_eq!(failure_note(&Journey::default(), None), None);
    }
}
