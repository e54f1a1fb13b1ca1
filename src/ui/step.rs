//! Step mode, like a packet simulator's: one request waits at every hop, "Next hop" lets it
//! take exactly one more, and a caption says in one sentence what happened at that hop (the
//! name lookup, the handshakes, the cache's answer and why, the load balancer's pick and
//! why, the queue, the SQL query, the response).
//!
//! `caption` is a pure function of the journey the trace recorded, so what it says is what
//! really happened; `StepMode` only tracks which request is stepped and when the next click
//! may go (a click before the last one took effect would be banked by the engine's gate and
//! skip a hop later).

use std::sync::Arc;

use crate::scenario::server_name;
use crate::trace::{CacheStatus, Component, Journey, Outcome, OutcomeClass, Phase, Span, TraceId};

use super::live::Live;

/// What the caption needs to know about the run besides the journey.
#[derive(Clone, Debug, PartialEq)]
pub struct CaptionContext {
    /// The component clients connect to first.
    pub edge: Component,
    /// The zone the clients look up (`example.test`).
    pub zone: String,
    /// The DNS answer's TTL, as written in the scenario (`30s`).
    pub ttl: String,
}

/// Step mode's state.
#[derive(Clone, Debug, Default)]
pub struct StepMode {
    pub on: bool,
    /// The request being stepped.
    pub stepped: Option<TraceId>,
    /// Hops the request had made when "Next hop" was last clicked.
    awaiting: Option<usize>,
    /// Generated traffic was flowing when step mode began (and resumes when it ends).
    pub resume_after: bool,
}

impl StepMode {
    /// The stepped request, if the trace has it.
    pub fn journey<'a>(&self, live: &'a Live) -> Option<&'a Arc<Journey>> {
        self.stepped.and_then(|id| live.snapshot.find(id))
    }

    /// Whether a new stepped request may be sent (none is on its way).
    pub fn can_send(&self, live: &Live) -> bool {
        match self.stepped {
            None => true,
            Some(_) => self.journey(live).is_none_or(|j| j.is_done()),
        }
    }

    /// Whether "Next hop" may be clicked: the request waits at a hop it has not been let
    /// through yet.
    pub fn can_step(&self, live: &Live) -> bool {
        self.journey(live)
            .is_some_and(|j| !j.is_done() && j.arrivals.len() > self.awaiting.unwrap_or(0))
    }

    /// Records a new stepped request.
    pub fn sent(&mut self, id: TraceId) {
        self.stepped = Some(id);
        self.awaiting = None;
    }

    /// Records a click on "Next hop" for a request that had made `hops` hops.
    pub fn stepped_at(&mut self, hops: usize) {
        self.awaiting = Some(hops);
    }

    /// The banner's heading: the hop the request is at, and once it has ended, that it was
    /// the last ("hop 5 of 5 · answered").
    pub fn heading(&self, live: &Live) -> String {
        match self.journey(live) {
            None => "Step mode".into(),
            Some(j) if j.is_done() => {
                let hops = j.arrivals.len();
                let how = if j
                    .outcome
                    .is_some_and(|o| o.class() == OutcomeClass::Failure)
                {
                    "failed"
                } else {
                    "answered"
                };
                format!("Step mode · hop {hops} of {hops} · {how}")
            }
            Some(j) => format!("Step mode · hop {}", j.arrivals.len()),
        }
    }

    /// The caption now.
    pub fn caption(&self, live: &Live, ctx: &CaptionContext) -> String {
        match (self.stepped, self.journey(live)) {
            (None, _) => {
                "Step mode: press “Send one request”, then “Next hop” to follow it one hop at a time."
                    .into()
            }
            (Some(_), None) => "The request is on its way out of the client…".into(),
            (Some(_), Some(j)) => caption(j, ctx),
        }
    }
}

fn ms(micros: u64) -> String {
    let ms = micros as f64 / 1000.0;
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn find(j: &Journey, component: Component, phase: Phase) -> Option<&Span> {
    j.spans
        .iter()
        .find(|s| s.component == component && s.phase == phase)
}

fn status_text(code: u16) -> String {
    match hyper::StatusCode::from_u16(code)
        .ok()
        .and_then(|c| c.canonical_reason())
    {
        Some(reason) => format!("{code} {reason}"),
        None => code.to_string(),
    }
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{cut}…")
    }
}

fn tls_name(version: &str) -> String {
    match version {
        "TLSv1_3" => "TLS 1.3".into(),
        "TLSv1_2" => "TLS 1.2".into(),
        "" => "TLS".into(),
        other => other.replace('_', "."),
    }
}

fn edge_name(edge: Component) -> &'static str {
    if edge == Component::Cdn {
        "the CDN"
    } else {
        "the load balancer"
    }
}

/// One sentence on what the request just did, from what the trace recorded.
pub fn caption(j: &Journey, ctx: &CaptionContext) -> String {
    if j.is_done() {
        return ending(j, ctx);
    }
    let Some(&(last, _)) = j.arrivals.last() else {
        return "The request waits for a free connection slot at the client.".into();
    };
    let edge_arrivals = j.arrivals.iter().filter(|(c, _)| *c == ctx.edge).count();
    match last {
        Component::Dns => {
            let attempts = j
                .arrivals
                .iter()
                .filter(|(c, _)| *c == Component::Dns)
                .count();
            if attempts > 1 {
                format!(
                    "No answer from the DNS stub yet, so the client asks again over UDP (attempt {attempts})."
                )
            } else {
                format!(
                    "Name lookup: the client asks the DNS stub over UDP “where is api.{}?”",
                    ctx.zone
                )
            }
        }
        c if c == ctx.edge && edge_arrivals == 1 && !j.external => connected(j, ctx),
        c if c == ctx.edge => format!(
            "{} {} travelled over the connection and reached {}{}",
            j.method,
            path(&j.url),
            edge_name(ctx.edge),
            if ctx.edge == Component::Cdn {
                ", which looks it up in its cache."
            } else {
                ", which picks a server."
            }
        ),
        Component::Lb => match find(j, Component::Cdn, Phase::Cache) {
            Some(cache) => {
                let result = cache.attr("result").unwrap_or("MISS");
                let why = cache
                    .attr("why")
                    .map(|w| format!(" ({w})"))
                    .unwrap_or_default();
                format!(
                    "Cache {result} at the CDN{why}, so it forwards the request to the load balancer."
                )
            }
            None => "The CDN forwards the request to the load balancer.".into(),
        },
        Component::Server(n) => match find(j, Component::Lb, Phase::Pick) {
            Some(pick) => {
                let name = server_name(n);
                let reason = pick.attr("reason").unwrap_or("its turn");
                // The balancer's reason usually starts with the server's name.
                let reason = reason
                    .strip_prefix(name.as_str())
                    .map_or(reason, |r| r.trim_start_matches([':', ' ']));
                let policy = pick
                    .attr("policy")
                    .unwrap_or("its policy")
                    .replace('_', " ");
                if reason.contains(&policy) {
                    format!("The load balancer picked {name}: {reason}.")
                } else {
                    format!("The load balancer picked {name} ({policy}): {reason}.")
                }
            }
            None => format!("The load balancer sent the request on to server-{n}."),
        },
        Component::Db => "The server asks the database.".into(),
        Component::Client => "The answer is back at the client.".into(),
        other => format!(
            "The request reached {}.",
            other.to_string().replace('_', " ")
        ),
    }
}

fn path(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|p| &url[i + 3 + p..]))
        .unwrap_or(url)
}

/// The caption for the hop from the name lookup to the connected client.
fn connected(j: &Journey, ctx: &CaptionContext) -> String {
    let lookup = match find(j, Component::Client, Phase::Dns) {
        Some(dns) => format!(
            "The DNS stub answered {} (reusable for {}); ",
            dns.attr("answer").unwrap_or("an address"),
            ctx.ttl
        ),
        None => String::new(),
    };
    match find(j, Component::Client, Phase::Connect) {
        Some(connect) => {
            let tcp = connect
                .attr("tcp_ms")
                .and_then(|t| t.parse::<f64>().ok())
                .map_or_else(|| ms(connect.micros()), |t| ms((t * 1000.0) as u64));
            let tls = find(j, Component::Client, Phase::Ssl)
                .map(|s| {
                    format!(
                        " and a {} handshake ({})",
                        tls_name(s.attr("version").unwrap_or("")),
                        ms(s.micros())
                    )
                })
                .unwrap_or_default();
            let start = if lookup.is_empty() {
                "The client knew the address from an earlier lookup and ".to_string()
            } else {
                format!("{lookup}the client ")
            };
            format!(
                "{start}opened a TCP connection to {} (three-way handshake, {tcp}){tls}.",
                edge_name(ctx.edge)
            )
        }
        None => {
            let who = if lookup.is_empty() {
                "The client"
            } else {
                "the client"
            };
            format!(
                "{lookup}{who} reuses its open connection to {} (keep-alive): no new handshake.",
                edge_name(ctx.edge)
            )
        }
    }
}

/// The caption once the request has ended.
fn ending(j: &Journey, ctx: &CaptionContext) -> String {
    // The time it waited for the learner's clicks is not network time: said apart.
    let total = match (j.latency_micros(), j.held_micros()) {
        (None, _) => String::new(),
        (Some(net), 0) => format!("{} in all", ms(net)),
        (Some(net), held) => format!(
            "{} of network time; it also waited {:.1} s at the hops for your clicks",
            ms(net),
            held as f64 / 1e6
        ),
    };
    let Some(outcome) = j.outcome else {
        return String::new();
    };
    if outcome.class() == OutcomeClass::Failure {
        let cause = match outcome {
            Outcome::DnsFailure => {
                let answer = find(j, Component::Client, Phase::Dns)
                    .and_then(|s| s.attr("answer"))
                    .unwrap_or("no answer");
                format!("the name lookup failed ({answer})")
            }
            Outcome::ConnectionRefused => format!("nothing listens at {}", edge_name(ctx.edge)),
            Outcome::Timeout => "no answer came in time".into(),
            Outcome::ConnectionReset => "the other side closed the connection".into(),
            Outcome::TlsError => "the TLS handshake failed".into(),
            Outcome::Cancelled => "the run stopped before it finished".into(),
            Outcome::Status(_) => String::new(),
        };
        return format!(
            "The request failed: {cause}, so curl would say “{}”.",
            outcome.describe()
        );
    }
    let status = outcome.status().map(status_text).unwrap_or_default();
    if j.cache == Some(CacheStatus::Revalidated) {
        // The copy was old: a server was asked, and its pick, handler and query are real.
        let server = j.served_by.as_deref().unwrap_or("a server");
        return format!(
            "The CDN's copy had grown old, so it asked {server} whether it had changed (If-None-Match with the copy's ETag); {server} {}said 304 Not Modified, and the CDN answered {status} from its copy, fresh again: REVALIDATED ({total}).",
            work(j)
        );
    }
    if j.cache == Some(CacheStatus::Hit) {
        let why = find(j, Component::Cdn, Phase::Cache)
            .and_then(|s| s.attr("why"))
            .map(|w| format!(" ({w})"))
            .unwrap_or_default();
        return format!(
            "Cache HIT at the CDN{why}: it answered {status} itself, without asking any server ({total})."
        );
    }
    let Some(server) = j.served_by.as_deref() else {
        return format!("{} answered {status} ({total}).", edge_name(ctx.edge));
    };
    format!(
        "{server} {}and answered {status}; the answer went back the same way to the client ({total}).",
        work(j)
    )
}

/// What the server did before answering: its wait in the queue and its query, each with a
/// trailing comma or space ("waited 0.2 ms in its queue, ran the query “SELECT …” ").
fn work(j: &Journey) -> String {
    let queue = j
        .spans
        .iter()
        .find(|s| s.phase == Phase::Queue)
        .map(|s| format!("waited {} in its queue, ", ms(s.micros())))
        .unwrap_or_default();
    let sql = find(j, Component::Db, Phase::Db)
        .and_then(|s| s.attr("sql"))
        .map(|q| format!("ran the query “{}” ", short(q, 70)))
        .unwrap_or_default();
    format!("{queue}{sql}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::Attr;
    use crate::trace::testing::span;

    fn ctx() -> CaptionContext {
        CaptionContext {
            edge: Component::Cdn,
            zone: "example.test".into(),
            ttl: "30s".into(),
        }
    }

    fn begun() -> Journey {
        Journey {
            method: "GET".into(),
            url: "http://api.example.test:8001/users/3".into(),
            ..Journey::default()
        }
    }

    #[test]
    fn each_hop_of_a_miss_gets_its_own_sentence() {
        let mut j = begun();
        j.add_arrival(Component::Dns, 10);
        assert!(caption(&j, &ctx()).contains("over UDP “where is api.example.test?”"));

        j.add_span(
            span(1, Component::Client, Phase::Dns, 5, 50)
                .with_attrs(vec![Attr::new("answer", "127.0.0.1")]),
        );
        j.add_span(
            span(1, Component::Client, Phase::Connect, 50, 900)
                .with_attrs(vec![Attr::new("tcp_ms", "0.300")]),
        );
        j.add_span(
            span(1, Component::Client, Phase::Ssl, 400, 900)
                .with_attrs(vec![Attr::new("version", "TLSv1_3")]),
        );
        j.add_arrival(Component::Cdn, 950);
        let c = caption(&j, &ctx());
        assert!(c.contains("answered 127.0.0.1 (reusable for 30s)"), "{c}");
        assert!(c.contains("three-way handshake, 0.3 ms"), "{c}");
        assert!(c.contains("TLS 1.3 handshake"), "{c}");

        j.add_arrival(Component::Cdn, 960);
        assert!(caption(&j, &ctx()).contains("GET /users/3 travelled"));

        j.add_span(
            span(1, Component::Cdn, Phase::Cache, 960, 970).with_attrs(vec![
                Attr::new("result", "MISS"),
                Attr::new("why", "not in the cache"),
            ]),
        );
        j.add_arrival(Component::Lb, 980);
        assert_eq!(
            caption(&j, &ctx()),
            "Cache MISS at the CDN (not in the cache), so it forwards the request to the load balancer."
        );

        j.add_span(
            span(1, Component::Lb, Phase::Pick, 980, 990).with_attrs(vec![
                Attr::new("server", "server-2"),
                Attr::new("policy", "round_robin"),
                Attr::new("reason", "next in turn"),
            ]),
        );
        j.add_arrival(Component::Server(2), 1000);
        assert_eq!(
            caption(&j, &ctx()),
            "The load balancer picked server-2 (round robin): next in turn."
        );

        j.add_span(span(1, Component::Server(2), Phase::Queue, 1000, 1200));
        j.add_span(
            span(1, Component::Db, Phase::Db, 1300, 1400)
                .with_attrs(vec![Attr::new("sql", "SELECT * FROM users WHERE id = ?1")]),
        );
        j.outcome = Some(Outcome::Status(200));
        j.served_by = Some("server-2".into());
        j.cache = Some(CacheStatus::Miss);
        j.end_micros = Some(2000);
        let c = caption(&j, &ctx());
        assert!(c.starts_with("server-2 waited 0.2 ms in its queue"), "{c}");
        assert!(
            c.contains("ran the query “SELECT * FROM users WHERE id = ?1”"),
            "{c}"
        );
        assert!(!c.contains('`'), "{c}");
        assert!(c.contains("answered 200 OK"), "{c}");
        assert!(c.ends_with("(2.0 ms in all)."), "{c}");

        // Held at two hops for the learner's clicks: said apart, not added to the total.
        j.add_span(span(1, Component::Cdn, Phase::Held, 950, 1_500_950));
        j.end_micros = Some(1_502_000);
        let c = caption(&j, &ctx());
        assert!(
            c.ends_with(
                "(2.0 ms of network time; it also waited 1.5 s at the hops for your clicks)."
            ),
            "{c}"
        );
    }

    #[test]
    fn a_revalidated_answer_says_which_server_was_asked() {
        let mut j = begun();
        j.add_span(
            span(1, Component::Lb, Phase::Pick, 0, 1)
                .with_attrs(vec![Attr::new("server", "server-1")]),
        );
        j.add_span(
            span(1, Component::Db, Phase::Db, 2, 3)
                .with_attrs(vec![Attr::new("sql", "SELECT * FROM users WHERE id = ?1")]),
        );
        j.outcome = Some(Outcome::Status(200));
        j.served_by = Some("server-1".into());
        j.cache = Some(CacheStatus::Revalidated);
        j.end_micros = Some(40);
        let c = caption(&j, &ctx());
        assert!(c.contains("asked server-1 whether it had changed"), "{c}");
        assert!(c.contains("304 Not Modified"), "{c}");
        assert!(c.contains("REVALIDATED"), "{c}");
        assert!(!c.contains("without asking"), "{c}");
        assert!(!c.contains('`'), "{c}");
    }

    #[test]
    fn the_pick_is_said_once_even_when_the_reason_names_the_server_and_policy() {
        let mut j = begun();
        j.add_span(span(1, Component::Lb, Phase::Pick, 0, 1).with_attrs(vec![
            Attr::new("server", "server-3"),
            Attr::new("policy", "round_robin"),
            Attr::new(
                "reason",
                "server-3: next in turn (round robin over 3 healthy servers)",
            ),
        ]));
        j.add_arrival(Component::Server(3), 2);
        assert_eq!(
            caption(&j, &ctx()),
            "The load balancer picked server-3: next in turn (round robin over 3 healthy servers)."
        );
    }

    #[test]
    fn reused_connections_hits_and_failures_say_so() {
        let mut j = begun();
        j.add_arrival(Component::Cdn, 10);
        assert_eq!(
            caption(&j, &ctx()),
            "The client reuses its open connection to the CDN (keep-alive): no new handshake."
        );

        j.add_arrival(Component::Cdn, 20);
        j.add_span(
            span(1, Component::Cdn, Phase::Cache, 20, 30).with_attrs(vec![
                Attr::new("result", "HIT"),
                Attr::new("why", "fresh for 50 s more"),
            ]),
        );
        j.outcome = Some(Outcome::Status(200));
        j.cache = Some(CacheStatus::Hit);
        j.end_micros = Some(40);
        assert!(caption(&j, &ctx()).starts_with("Cache HIT at the CDN (fresh for 50 s more)"));

        let mut nx = begun();
        nx.add_span(
            span(1, Component::Client, Phase::Dns, 0, 10)
                .with_attrs(vec![Attr::new("answer", "NXDOMAIN")]),
        );
        nx.outcome = Some(Outcome::DnsFailure);
        nx.end_micros = Some(10);
        assert_eq!(
            caption(&nx, &ctx()),
            "The request failed: the name lookup failed (NXDOMAIN), so curl would say “could not resolve host”."
        );
    }
}
