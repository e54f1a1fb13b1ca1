//! Chrome Trace Event JSON, written for ui.perfetto.dev (and chrome://tracing).
//!
//! - One process per component (`client`, `dns`, `cdn`, `lb`, `server-N`, `db`), ordered like
//!   the lanes of a sequence diagram, plus a `metrics` process with per-second counters and
//!   the run's markers as global instant events.
//! - Each request's visit to a component is an async slice named `request` (`ph` `b`/`e`),
//!   with the spans it spent there (`dns`, `connect`, `queue`, `handler`, …) nested inside it
//!   as child slices. The async id is process-scoped (`id2.local`), so every request gets its
//!   own track inside each component and concurrent requests never overlap on a track; the
//!   UI merges the same-named tracks of a process into one group with a row per concurrent
//!   request.
//! - Flow arrows link a request's hops across components, in the order it reached them
//!   (client → dns → cdn → lb → server → db). They use the v2 flow fields on the async
//!   begin events themselves: `bind_id` plus `flow_out` (first hop), `flow_in` and `flow_out`
//!   (middle hops) and `flow_in` (last hop). Checked against Perfetto's JSON importer
//!   (`json_trace_parser_impl.cc`): it binds v2 flows on `b`, `B`, `X` and `n` events to the
//!   slice the event opens, whereas the v1 flow events (`s`/`t`/`f`) only ever bind to thread
//!   slices and so cannot reach async slices. That is why async slices work here and the
//!   fallback (a thread track of `X` events per request) was not needed.
//! - Children are written in nesting order and clamped to their parent if they would
//!   straddle its end (the true times stay in `args`), because the importer needs slices on a
//!   track to nest. Times are microseconds since the run started (`ts` is in µs by the
//!   format's definition; no `displayTimeUnit`, which older importers misread).
//! - Top-level keys are `traceEvents` first, then `otherData` (scenario, seed, wall-clock
//!   start, events shed, and for a truncated trace what it holds and why): older importers
//!   stop at the first key they do not know. A truncated trace also has a global instant
//!   event where the spool stopped keeping requests.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value, json};

use super::{RunMeta, rfc3339_millis};
use crate::trace::metrics::SecondMetrics;
use crate::trace::{Attr, Component, Journey, OutcomeClass, Span};

const CAT: &str = "hop";
const METRICS_PID: u32 = 6;

/// The process id of a component.
pub fn pid(c: Component) -> u32 {
    match c {
        Component::Client => 1,
        Component::Dns => 2,
        Component::Cdn => 3,
        Component::Lb => 4,
        Component::Db => 5,
        Component::Server(n) => 100 + u32::from(n),
    }
}

fn sort_index(c: Component) -> u32 {
    match c {
        Component::Db => 100_000,
        other => other.lane(),
    }
}

#[derive(Serialize)]
struct Id2<'a> {
    local: &'a str,
}

/// One trace event. `ts` comes early: older importers look it up before parsing the rest.
#[derive(Serialize)]
struct Event<'a> {
    ph: &'static str,
    ts: u64,
    pid: u32,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    cat: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id2: Option<Id2<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<Args<'a>>,
    /// Scope of an instant event (`g`: global).
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bind_id: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    flow_in: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    flow_out: bool,
}

impl<'a> Event<'a> {
    fn new(ph: &'static str, ts: u64, pid: u32, name: &'a str) -> Event<'a> {
        Event {
            ph,
            ts,
            pid,
            name,
            cat: "",
            id2: None,
            args: None,
            s: None,
            bind_id: None,
            flow_in: false,
            flow_out: false,
        }
    }
}

/// Writes the trace events.
pub struct PerfettoWriter {
    first: bool,
    named: BTreeSet<Component>,
    addresses: Vec<(String, String)>,
    requests: u64,
}

/// A request's visit to one component.
struct Hop<'a> {
    component: Component,
    start: u64,
    end: u64,
    spans: Vec<&'a Span>,
}

fn hops(j: &Journey) -> Vec<Hop<'_>> {
    let mut hops: Vec<Hop<'_>> = Vec::new();
    let mut hop = |component: Component, start: u64, end: u64| -> usize {
        match hops.iter().position(|h| h.component == component) {
            Some(i) => {
                hops[i].start = hops[i].start.min(start);
                hops[i].end = hops[i].end.max(end);
                i
            }
            None => {
                hops.push(Hop {
                    component,
                    start,
                    end,
                    spans: Vec::new(),
                });
                hops.len() - 1
            }
        }
    };
    let end = j.end_micros.unwrap_or(j.start_micros).max(j.start_micros);
    hop(Component::Client, j.start_micros, end);
    for &(c, at) in &j.arrivals {
        hop(c, at, at);
    }
    let mut placed = Vec::with_capacity(j.spans.len());
    for s in &j.spans {
        placed.push(hop(
            s.component,
            s.start_micros,
            s.end_micros.max(s.start_micros),
        ));
    }
    for (s, i) in j.spans.iter().zip(placed) {
        hops[i].spans.push(s);
    }
    hops.sort_by_key(|h| (h.start, h.component.lane()));
    hops
}

impl PerfettoWriter {
    /// Writes the opening, the process names and the markers.
    pub fn start<W: Write>(out: &mut W, meta: &RunMeta) -> io::Result<PerfettoWriter> {
        write!(out, "{{\"traceEvents\":[")?;
        let mut w = PerfettoWriter {
            first: true,
            named: BTreeSet::new(),
            addresses: meta
                .info
                .topology
                .components
                .iter()
                .filter_map(|c| Some((c.name.clone(), c.address.clone()?)))
                .collect(),
            requests: 0,
        };
        let components: Vec<Component> = meta
            .info
            .topology
            .components
            .iter()
            .filter_map(|c| c.name.parse().ok())
            .collect();
        for c in components {
            w.name_process(out, c)?;
        }
        let name = json!({"name": "metrics"});
        w.event(
            out,
            &Event {
                args: Some(Args::Value(&name)),
                ..Event::new("M", 0, METRICS_PID, "process_name")
            },
        )?;
        let index = json!({"sort_index": 200_000});
        w.event(
            out,
            &Event {
                args: Some(Args::Value(&index)),
                ..Event::new("M", 0, METRICS_PID, "process_sort_index")
            },
        )?;
        if let (Some(t), Some(note)) = (&meta.truncated, meta.truncation_note()) {
            let args = json!({ "note": note });
            w.event(
                out,
                &Event {
                    args: Some(Args::Value(&args)),
                    s: Some("g"),
                    ..Event::new(
                        "i",
                        t.at_micros,
                        METRICS_PID,
                        "trace truncated: no requests kept from here on",
                    )
                },
            )?;
        }
        for m in &meta.markers {
            let args = json!({"component": m.component.map(|c| c.to_string())});
            w.event(
                out,
                &Event {
                    args: Some(Args::Value(&args)),
                    s: Some("g"),
                    ..Event::new("i", m.at_micros, METRICS_PID, &m.text)
                },
            )?;
        }
        Ok(w)
    }

    fn event<W: Write>(&mut self, out: &mut W, e: &Event<'_>) -> io::Result<()> {
        out.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut *out, e)?;
        Ok(())
    }

    fn name_process<W: Write>(&mut self, out: &mut W, c: Component) -> io::Result<()> {
        if !self.named.insert(c) {
            return Ok(());
        }
        let label = c.to_string();
        let title = match self.addresses.iter().find(|(n, _)| *n == label) {
            Some((_, addr)) => format!("{label} {addr}"),
            None => label,
        };
        let name = json!({"name": title});
        self.event(
            out,
            &Event {
                args: Some(Args::Value(&name)),
                ..Event::new("M", 0, pid(c), "process_name")
            },
        )?;
        let index = json!({"sort_index": sort_index(c)});
        self.event(
            out,
            &Event {
                args: Some(Args::Value(&index)),
                ..Event::new("M", 0, pid(c), "process_sort_index")
            },
        )
    }

    /// Writes a request's hops, their spans and the flow linking them.
    pub fn journey<W: Write>(&mut self, out: &mut W, j: &Journey) -> io::Result<()> {
        self.requests += 1;
        let local = self.requests.to_string();
        let hops = hops(j);
        let bind_id = (hops.len() > 1).then_some(self.requests);
        let last = hops.len().saturating_sub(1);
        for (i, hop) in hops.iter().enumerate() {
            self.name_process(out, hop.component)?;
            let pid = pid(hop.component);
            let args = if hop.component == Component::Client {
                Args::Client(j)
            } else {
                Args::Hop(j)
            };
            let begin = Event {
                cat: CAT,
                id2: Some(Id2 { local: &local }),
                args: Some(args),
                bind_id,
                flow_in: bind_id.is_some() && i > 0,
                flow_out: bind_id.is_some() && i < last,
                ..Event::new("b", hop.start, pid, "request")
            };
            self.event(out, &begin)?;
            self.children(out, pid, &local, hop)?;
            let end = Event {
                cat: CAT,
                id2: Some(Id2 { local: &local }),
                ..Event::new("e", hop.end, pid, "request")
            };
            self.event(out, &end)?;
        }
        Ok(())
    }

    /// The spans of one hop, nested: each closes before a later one opens unless it
    /// contains it; one that would straddle its parent's end is clamped to it.
    fn children<W: Write>(
        &mut self,
        out: &mut W,
        pid: u32,
        local: &str,
        hop: &Hop<'_>,
    ) -> io::Result<()> {
        let mut spans: Vec<&Span> = hop.spans.clone();
        spans.sort_by_key(|s| (s.start_micros, std::cmp::Reverse(s.end_micros)));
        let mut open: Vec<(u64, &str)> = Vec::new();
        for s in spans {
            let start = s.start_micros.max(hop.start);
            while let Some(&(end, name)) = open.last() {
                if end > start {
                    break;
                }
                open.pop();
                self.end_child(out, pid, local, end, name)?;
            }
            let limit = open.last().map_or(hop.end, |&(end, _)| end);
            let end = s.end_micros.max(start).min(limit);
            let moved = end != s.end_micros || start != s.start_micros;
            let args = Args::Span {
                attrs: &s.attrs,
                true_times: moved.then_some((s.start_micros, s.end_micros)),
            };
            let name = s.phase.name();
            self.event(
                out,
                &Event {
                    cat: CAT,
                    id2: Some(Id2 { local }),
                    args: Some(args),
                    ..Event::new("b", start, pid, name)
                },
            )?;
            open.push((end, name));
        }
        while let Some((end, name)) = open.pop() {
            self.end_child(out, pid, local, end, name)?;
        }
        Ok(())
    }

    fn end_child<W: Write>(
        &mut self,
        out: &mut W,
        pid: u32,
        local: &str,
        end: u64,
        name: &str,
    ) -> io::Result<()> {
        self.event(
            out,
            &Event {
                cat: CAT,
                id2: Some(Id2 { local }),
                ..Event::new("e", end, pid, name)
            },
        )
    }

    /// One counter event of the metrics track at `ts`.
    fn counter<W: Write>(
        &mut self,
        out: &mut W,
        ts: u64,
        name: &str,
        values: &Value,
    ) -> io::Result<()> {
        self.event(
            out,
            &Event {
                args: Some(Args::Value(values)),
                ..Event::new("C", ts, METRICS_PID, name)
            },
        )
    }

    /// Writes the per-second counters and closes the file.
    pub fn finish<W: Write>(
        &mut self,
        out: &mut W,
        meta: &RunMeta,
        seconds: &[SecondMetrics],
    ) -> io::Result<()> {
        for s in seconds {
            let ts = s.second.saturating_mul(1_000_000);
            let mut classes = Map::new();
            for c in OutcomeClass::ALL {
                classes.insert(c.label().into(), json!(s.by_class[c.index()]));
            }
            self.counter(out, ts, "requests per second", &Value::Object(classes))?;
            if let Some(l) = s.latency {
                let latency = json!({"p50": l.p50, "p95": l.p95, "p99": l.p99});
                self.counter(out, ts, "latency ms", &latency)?;
            }
            if let Some(r) = s.hit_ratio {
                self.counter(out, ts, "cache", &json!({ "hit_ratio": r }))?;
            }
        }
        let info = &meta.info;
        let mut other = json!({
            "generator": info.generator,
            "scenario": info.scenario,
            "seed": info.seed.to_string(),
            "wall_start": rfc3339_millis(info.wall_start_micros),
            "time_zero": "ts 0 is the start of the run; ts are microseconds",
            "requests": self.requests.to_string(),
            "events_shed": meta.events_shed.to_string(),
        });
        if let (Some(note), Some(map)) = (meta.truncation_note(), other.as_object_mut()) {
            map.insert("truncated".into(), Value::String(note));
        }
        write!(out, "\n],\"otherData\":")?;
        serde_json::to_writer(&mut *out, &other)?;
        writeln!(out, "}}")
    }
}

/// The `args` of an event, written without building a JSON tree.
enum Args<'a> {
    Value(&'a Value),
    /// A span's attributes, and its true times when it was clamped.
    Span {
        attrs: &'a [Attr],
        true_times: Option<(u64, u64)>,
    },
    /// The request as the client saw it.
    Client(&'a Journey),
    /// Which request a hop belongs to.
    Hop(&'a Journey),
}

impl Serialize for Args<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Args::Value(v) => v.serialize(s),
            Args::Span { attrs, true_times } => {
                let mut map = s.serialize_map(None)?;
                for a in attrs.iter() {
                    map.serialize_entry(a.key.as_ref(), &a.value)?;
                }
                if let Some((start, end)) = true_times {
                    map.serialize_entry("true_start_us", start)?;
                    map.serialize_entry("true_end_us", end)?;
                }
                map.end()
            }
            Args::Client(j) => {
                let mut map = s.serialize_map(None)?;
                map.serialize_entry("id", &j.id)?;
                map.serialize_entry("method", &j.method)?;
                map.serialize_entry("url", &j.url)?;
                map.serialize_entry("outcome", &j.outcome)?;
                map.serialize_entry("x_cache", &j.cache)?;
                map.serialize_entry("served_by", &j.served_by)?;
                map.serialize_entry("client", &j.client)?;
                map.serialize_entry("latency_ms", &j.latency_micros().map(|l| l as f64 / 1000.0))?;
                map.end()
            }
            Args::Hop(j) => {
                let mut map = s.serialize_map(Some(3))?;
                map.serialize_entry("id", &j.id)?;
                map.serialize_entry("method", &j.method)?;
                map.serialize_entry("url", &j.url)?;
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::testing::span;
    use crate::trace::{Outcome, Phase, TraceId};

    #[test]
    fn hops_follow_the_order_the_request_reached_them() {
        let j = Journey {
            id: TraceId(9),
            start_micros: 0,
            end_micros: Some(100),
            outcome: Some(Outcome::Status(200)),
            spans: vec![
                span(9, Component::Client, Phase::Wait, 10, 90),
                span(9, Component::Server(2), Phase::Handler, 40, 60),
                span(9, Component::Lb, Phase::Forward, 30, 70),
                span(9, Component::Cdn, Phase::Cache, 20, 21),
            ],
            ..Journey::default()
        };
        let order: Vec<String> = hops(&j).iter().map(|h| h.component.to_string()).collect();
        assert_eq!(order, ["client", "cdn", "lb", "server-2"]);
    }

    #[test]
    fn straddling_children_are_clamped_and_keep_their_true_times() {
        let j = Journey {
            id: TraceId(9),
            start_micros: 0,
            end_micros: Some(100),
            outcome: Some(Outcome::Status(200)),
            spans: vec![
                span(9, Component::Client, Phase::Connect, 0, 50),
                span(9, Component::Client, Phase::Ssl, 40, 60),
            ],
            ..Journey::default()
        };
        let mut out = Vec::new();
        let mut w = PerfettoWriter {
            first: true,
            named: BTreeSet::new(),
            addresses: vec![],
            requests: 0,
        };
        w.journey(&mut out, &j).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let events: Vec<Value> = text
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l.trim_end_matches(',')).expect("event"))
            .collect();
        let ssl_end = events
            .iter()
            .find(|e| e["ph"] == "e" && e["name"] == "ssl")
            .expect("ssl end");
        assert_eq!(ssl_end["ts"], 50);
        let ssl_begin = events
            .iter()
            .find(|e| e["ph"] == "b" && e["name"] == "ssl")
            .expect("ssl begin");
        assert_eq!(ssl_begin["args"]["true_end_us"], 60);
    }
}
