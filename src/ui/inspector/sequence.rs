//! The sequence diagram of one request, as data: one lane per component it touched (client,
//! DNS, CDN, LB, server-N, database, in that order) and, top to bottom in time, the steps
//! between them, each labelled with what travels (`A? api.example.test`, `GET /users/2`,
//! `SELECT … WHERE id = ?`, `200 OK`) or what a component decided (`MISS: forward`,
//! `pick server-2: …`). A failed request gets a step at the hop where it failed.

use std::collections::BTreeSet;

use super::model::{
    FailureNote, PhaseKey, edge_of, failure_note, lane_title, offset_ms, outcome_text, path_of,
    server_attr, shorten, status_line,
};
use crate::trace::{Component, Journey, Phase, Span};

/// Longest SQL text shown on an arrow (the whole text is in the step's detail).
const SQL_CHARS: usize = 44;
/// Longest decision text shown in a note.
const NOTE_CHARS: usize = 64;

/// One column of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Lane {
    pub component: Component,
    /// `client`, `DNS`, `CDN`, `LB`, `server-2`, `database`.
    pub title: String,
}

/// What a step draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// An arrow from lane `from` to lane `to` (indices into `lanes`).
    Message { from: usize, to: usize },
    /// A decision or a wait at one lane.
    Note { lane: usize },
    /// Where the request failed.
    Failure { lane: usize },
}

/// One row of the diagram.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// Milliseconds since the request started.
    pub at_ms: f64,
    pub kind: StepKind,
    /// What travels, or what was decided.
    pub label: String,
    /// The whole story when the label had to be shortened (SQL text, the LB's reason).
    pub detail: Option<String>,
    /// The phase it belongs to, for linked hovering.
    pub key: Option<PhaseKey>,
    /// An answer travelling back (drawn dashed).
    pub is_reply: bool,
}

/// The whole diagram.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SequenceModel {
    pub lanes: Vec<Lane>,
    pub steps: Vec<Step>,
    /// Set when the request failed.
    pub failure: Option<FailureNote>,
}

/// A step before lanes are numbered.
struct Draft {
    at_micros: u64,
    order: usize,
    shape: Shape,
    label: String,
    detail: Option<String>,
    key: Option<PhaseKey>,
    is_reply: bool,
}

enum Shape {
    Message(Component, Component),
    Note(Component),
    Failure(Component),
}

struct Builder<'a> {
    journey: &'a Journey,
    drafts: Vec<Draft>,
}

impl Builder<'_> {
    fn push(&mut self, at_micros: u64, shape: Shape, label: String, key: Option<PhaseKey>) {
        self.push_full(at_micros, shape, label, None, key, false);
    }

    fn push_full(
        &mut self,
        at_micros: u64,
        shape: Shape,
        label: String,
        detail: Option<String>,
        key: Option<PhaseKey>,
        is_reply: bool,
    ) {
        let order = self.drafts.len();
        self.drafts.push(Draft {
            at_micros,
            order,
            shape,
            label,
            detail,
            key,
            is_reply,
        });
    }

    fn reply(&mut self, at: u64, from: Component, to: Component, label: String, key: PhaseKey) {
        self.push_full(at, Shape::Message(from, to), label, None, Some(key), true);
    }

    fn request_line(&self) -> String {
        format!("{} {}", self.journey.method, path_of(&self.journey.url))
    }
}

/// Builds the diagram of `journey`. `edge_hint` names the edge when the journey itself does
/// not show it (a connection refused before any hop was reached).
pub fn build(journey: &Journey, edge_hint: Option<Component>) -> SequenceModel {
    let edge = edge_of(journey, edge_hint);
    let mut b = Builder {
        journey,
        drafts: Vec::new(),
    };
    let client_dns = journey
        .spans
        .iter()
        .any(|s| s.component == Component::Client && s.phase == Phase::Dns);
    for span in &journey.spans {
        match (span.component, span.phase) {
            (Component::Client, _) => client_step(&mut b, span, edge),
            (Component::Dns, Phase::Dns) if !client_dns => dns_steps(&mut b, span, None),
            (Component::Dns, _) => {}
            _ => hop_steps(&mut b, span),
        }
    }
    let failure = failure_note(journey, edge_hint);
    if let Some(f) = &failure {
        let at = journey.end_micros.unwrap_or(journey.start_micros);
        b.push(at, Shape::Failure(f.hop), f.headline.clone(), None);
    } else if let Some(outcome) = journey.outcome
        && !journey.spans.iter().any(|s| s.phase == Phase::Receive)
    {
        // An answer with no receive span still travels back to the client.
        let at = journey.end_micros.unwrap_or(journey.start_micros);
        b.reply(
            at,
            edge,
            Component::Client,
            outcome_text(Some(outcome)),
            PhaseKey::client(Phase::Receive),
        );
    }
    finish(journey, b.drafts, failure)
}

fn client_step(b: &mut Builder, span: &Span, edge: Component) {
    let key = Some(PhaseKey::client(span.phase));
    let c = Component::Client;
    match span.phase {
        Phase::Dns => {
            let dns_span = b
                .journey
                .spans
                .iter()
                .find(|s| s.component == Component::Dns && s.phase == Phase::Dns);
            dns_steps(b, span, dns_span);
        }
        Phase::Blocked => b.push(
            span.start_micros,
            Shape::Note(c),
            "blocked: waiting for a free connection".into(),
            key,
        ),
        Phase::Connect => {
            let address = span.attr("address").unwrap_or("the edge");
            b.push(
                span.start_micros,
                Shape::Message(c, edge),
                format!("SYN (TCP connect to {address})"),
                key,
            );
            let tcp_micros = span
                .attr("tcp_ms")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .map_or(span.micros(), |ms| (ms * 1000.0) as u64);
            let at = span.start_micros + tcp_micros.min(span.micros());
            b.reply(
                at,
                edge,
                c,
                "SYN-ACK: connected".into(),
                PhaseKey::client(Phase::Connect),
            );
        }
        Phase::Ssl => {
            b.push(
                span.start_micros,
                Shape::Message(c, edge),
                "TLS ClientHello".into(),
                key,
            );
            let version = span.attr("version").filter(|v| !v.is_empty());
            let label = match version {
                Some(v) => format!("TLS handshake done ({v})"),
                None => "TLS handshake done".into(),
            };
            b.reply(
                span.end_micros,
                edge,
                c,
                label,
                PhaseKey::client(Phase::Ssl),
            );
        }
        Phase::Send => {
            let label = b.request_line();
            b.push(span.start_micros, Shape::Message(c, edge), label, key);
        }
        Phase::Receive => {
            let mut label = outcome_text(b.journey.outcome);
            if let Some(cache) = b.journey.cache {
                label.push_str(&format!(" · X-Cache: {}", cache.as_str()));
            }
            b.reply(
                span.start_micros,
                edge,
                c,
                label,
                PhaseKey::client(Phase::Receive),
            );
        }
        // `wait` is the time between send and the answer: its steps are the hops'.
        _ => {}
    }
}

/// The query and the answer of a name lookup (`span` is the client's, or the stub's when
/// the client's is missing; `stub` the stub's own when both exist).
fn dns_steps(b: &mut Builder, span: &Span, stub: Option<&Span>) {
    let key = PhaseKey::client(Phase::Dns);
    let name = span
        .attr("name")
        .unwrap_or("the edge's name")
        .trim_end_matches('.')
        .to_string();
    let attempts = span
        .attr("attempts")
        .and_then(|a| a.parse::<u32>().ok())
        .unwrap_or(1);
    let mut ask = format!("A? {name}");
    if attempts > 1 {
        ask.push_str(&format!(" ({attempts} tries)"));
    }
    let c = Component::Client;
    b.push(
        span.start_micros,
        Shape::Message(c, Component::Dns),
        ask,
        Some(key),
    );
    let answer = span.attr("answer").unwrap_or("no answer");
    let rcode = stub.or(Some(span)).and_then(|s| s.attr("rcode"));
    let ttl = [Some(span), stub]
        .into_iter()
        .flatten()
        .find_map(|s| s.attr("ttl"));
    let label = match (answer.parse::<std::net::IpAddr>(), rcode) {
        (Ok(ip), _) => match ttl {
            Some(t) => format!("A {ip} TTL {}", t.trim_end_matches('s')),
            None => format!("A {ip}"),
        },
        (Err(_), Some(r)) if r != "NOERROR" => r.to_string(),
        (Err(_), _) => answer.to_string(),
    };
    b.reply(span.end_micros, Component::Dns, c, label, key);
}

/// What the CDN, the load balancer, a server and the database did.
fn hop_steps(b: &mut Builder, span: &Span) {
    let key = Some(PhaseKey::of(span));
    let here = span.component;
    match span.phase {
        Phase::Cache => cache_note(b, span),
        Phase::Pick => pick_note(b, span),
        Phase::Forward => forward_steps(b, span),
        Phase::Queue => {
            let label = match (span.attr("rejected"), span.attr("position")) {
                (Some(why), _) => format!("rejected: {why}, answer 503"),
                (None, Some(p)) => format!(
                    "queued behind {p} (waited {:.1} ms)",
                    span.micros() as f64 / 1000.0
                ),
                (None, None) => "a worker takes it at once".into(),
            };
            b.push(span.start_micros, Shape::Note(here), label, key);
        }
        Phase::Handler => {
            let route = span.attr("route").unwrap_or("request");
            let mut label = format!("handler {route}");
            if let Some(fault) = span.attr("fault") {
                label.push_str(&format!(" ({fault})"));
            }
            b.push(span.start_micros, Shape::Note(here), label, key);
        }
        Phase::Db => query_steps(b, span),
        _ => {
            let label = format!("{}", span.phase);
            b.push(span.start_micros, Shape::Note(here), label, key);
        }
    }
}

/// The CDN's cache result, with why in the detail.
fn cache_note(b: &mut Builder, span: &Span) {
    let result = span.attr("result").unwrap_or("?");
    let label = match result {
        "HIT" => "HIT: answered from the cache".to_string(),
        "MISS" => "MISS: forward".into(),
        "EXPIRED" => "EXPIRED: fetch a fresh copy".into(),
        "REVALIDATED" => "REVALIDATED: origin said 304".into(),
        "BYPASS" => "BYPASS: forward (not cacheable)".into(),
        other => format!("cache {other}"),
    };
    let detail = span.attr("why").map(str::to_string);
    b.push_full(
        span.start_micros,
        Shape::Note(span.component),
        label,
        detail,
        Some(PhaseKey::of(span)),
        false,
    );
}

/// The load balancer's pick and its reason (or why there was none).
fn pick_note(b: &mut Builder, span: &Span) {
    let reason = span.attr("reason").unwrap_or("");
    let full = match span.attr("server") {
        Some(server) => {
            let why = reason
                .strip_prefix(&format!("{server}: "))
                .unwrap_or(reason);
            format!("pick {server}: {why}")
        }
        None => format!("no server to pick: {reason}"),
    };
    b.push_full(
        span.start_micros,
        Shape::Note(span.component),
        shorten(&full, NOTE_CHARS),
        Some(full),
        Some(PhaseKey::of(span)),
        false,
    );
}

/// The request forwarded to the next hop (CDN to balancer, balancer to a server) and
/// its answer.
fn forward_steps(b: &mut Builder, span: &Span) {
    let (here, key) = (span.component, Some(PhaseKey::of(span)));
    let target = match here {
        Component::Cdn => Component::Lb,
        _ => server_attr(span).unwrap_or(Component::Server(0)),
    };
    if target == Component::Server(0) {
        return;
    }
    let label = b.request_line();
    b.push(span.start_micros, Shape::Message(here, target), label, key);
    let answer = match (span.attr("status"), span.attr("error")) {
        (_, Some(e)) => format!("error: {e}"),
        (Some(s), None) => s.parse().map_or(s.to_string(), status_line),
        (None, None) => "no answer".into(),
    };
    b.push_full(
        span.end_micros,
        Shape::Message(target, here),
        answer,
        None,
        key,
        true,
    );
}

/// A server's query to the database (the SQL, with its parameters in the detail) and the
/// rows that came back.
fn query_steps(b: &mut Builder, span: &Span) {
    let server = server_for_db(b.journey, span);
    let sql = span.attr("sql").unwrap_or("query");
    let detail = match span.attr("params") {
        Some(p) => format!("{sql}\nparameters {p}"),
        None => sql.to_string(),
    };
    b.push_full(
        span.start_micros,
        Shape::Message(server, Component::Db),
        shorten(sql, SQL_CHARS),
        Some(detail),
        Some(PhaseKey::of(span)),
        false,
    );
    let answer = match (span.attr("rows"), span.attr("error")) {
        (_, Some(e)) => format!("error: {}", shorten(e, NOTE_CHARS)),
        (Some("1"), None) => "1 row".into(),
        (Some(n), None) => format!("{n} rows"),
        (None, None) => "done".into(),
    };
    b.reply(
        span.end_micros,
        Component::Db,
        server,
        answer,
        PhaseKey::of(span),
    );
}

/// The server that ran a query: the one whose handler was running then, else the one that
/// answered, else the load balancer's pick.
fn server_for_db(journey: &Journey, db: &Span) -> Component {
    let during = journey.spans.iter().find(|s| {
        matches!(s.component, Component::Server(_))
            && s.phase == Phase::Handler
            && s.start_micros <= db.start_micros
            && db.start_micros <= s.end_micros
    });
    during
        .map(|s| s.component)
        .or_else(|| journey.served_by.as_deref().and_then(|s| s.parse().ok()))
        .or_else(|| journey.spans.iter().find_map(server_attr))
        .unwrap_or(Component::Server(1))
}

fn finish(
    journey: &Journey,
    mut drafts: Vec<Draft>,
    failure: Option<FailureNote>,
) -> SequenceModel {
    drafts.sort_by_key(|d| (d.at_micros, d.order));
    let mut components: BTreeSet<(u32, Component)> = BTreeSet::new();
    components.insert((Component::Client.lane(), Component::Client));
    for d in &drafts {
        let (a, z) = match d.shape {
            Shape::Message(a, z) => (a, z),
            Shape::Note(a) | Shape::Failure(a) => (a, a),
        };
        components.insert((a.lane(), a));
        components.insert((z.lane(), z));
    }
    let lanes: Vec<Lane> = components
        .into_iter()
        .map(|(_, component)| Lane {
            component,
            title: lane_title(component),
        })
        .collect();
    let index = |c: Component| lanes.iter().position(|l| l.component == c).unwrap_or(0);
    let steps = drafts
        .into_iter()
        .map(|d| Step {
            at_ms: offset_ms(journey, d.at_micros),
            kind: match d.shape {
                Shape::Message(a, z) => StepKind::Message {
                    from: index(a),
                    to: index(z),
                },
                Shape::Note(a) => StepKind::Note { lane: index(a) },
                Shape::Failure(a) => StepKind::Failure { lane: index(a) },
            },
            label: d.label,
            detail: d.detail,
            key: d.key,
            is_reply: d.is_reply,
        })
        .collect();
    SequenceModel {
        lanes,
        steps,
        failure,
    }
}

#[cfg(test)]
mod tests;
