//! The native hopscope JSON trace (`"schema": "hopscope-trace/1"`, documented by
//! `docs/trace.schema.json`), and the record types `trace::import` reads it back with.
//!
//! Layout, in this key order (so a streaming reader meets the header first):
//! `schema`, `generator`, `scenario` {name, seed, config}, `wall_start_micros`, `wall_start`,
//! `duration_micros`, `topology`, `events_shed`, `truncated`, `source_outcomes`, `markers`,
//! `requests` (one request per line), `seconds`, `servers`, `totals`. Times are microseconds
//! since the run started; `wall_start_micros` anchors them to the wall clock. `truncated` is
//! `null` for a trace that holds every request, else it says why the trace spool stopped
//! keeping them and how many it holds of how many ended ([`TruncatedIo`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{RunMeta, rfc3339_millis};
use crate::trace::metrics::SecondMetrics;
use crate::trace::spool::SpoolStop;
use crate::trace::{
    Attr, CacheStatus, Component, Exchange, Journey, Outcome, Phase, Span, TraceId,
};

/// The value of the `schema` key this version writes and reads.
pub const TRACE_SCHEMA: &str = "hopscope-trace/1";

/// Attributes written as a JSON object, in their recorded order.
struct AttrsOut<'a>(&'a [Attr]);

impl Serialize for AttrsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for a in self.0 {
            map.serialize_entry(a.key.as_ref(), &a.value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct SpanOut<'a> {
    component: Component,
    phase: Phase,
    start_micros: u64,
    end_micros: u64,
    #[serde(skip_serializing_if = "is_empty")]
    attrs: AttrsOut<'a>,
}

fn is_empty(a: &AttrsOut<'_>) -> bool {
    a.0.is_empty()
}

#[derive(Serialize)]
struct ArrivalOut {
    component: Component,
    at_micros: u64,
}

/// Arrivals written as objects, without an intermediate vector.
struct ArrivalsOut<'a>(&'a [(Component, u64)]);

impl Serialize for ArrivalsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|&(component, at_micros)| ArrivalOut {
            component,
            at_micros,
        }))
    }
}

/// Spans written without an intermediate vector.
struct SpansOut<'a>(&'a [Span]);

impl Serialize for SpansOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(|sp| SpanOut {
            component: sp.component,
            phase: sp.phase,
            start_micros: sp.start_micros,
            end_micros: sp.end_micros,
            attrs: AttrsOut(&sp.attrs),
        }))
    }
}

#[derive(Serialize)]
struct ExchangeOut<'a> {
    request_headers: &'a [(String, String)],
    request_body: &'a str,
    response_headers: &'a [(String, String)],
    response_body: &'a str,
}

#[derive(Serialize)]
struct RequestOut<'a> {
    id: TraceId,
    profile: &'a str,
    client: &'a str,
    method: &'a str,
    url: &'a str,
    external: bool,
    start_micros: u64,
    end_micros: Option<u64>,
    latency_micros: Option<u64>,
    outcome: Option<Outcome>,
    status: Option<u16>,
    cache: Option<CacheStatus>,
    served_by: Option<&'a str>,
    bytes: u64,
    reused: bool,
    arrivals: ArrivalsOut<'a>,
    spans: SpansOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exchange: Option<ExchangeOut<'a>>,
}

impl<'a> RequestOut<'a> {
    fn new(j: &'a Journey) -> RequestOut<'a> {
        RequestOut {
            id: j.id,
            profile: &j.profile,
            client: &j.client,
            method: &j.method,
            url: &j.url,
            external: j.external,
            start_micros: j.start_micros,
            end_micros: j.end_micros,
            latency_micros: j.latency_micros(),
            outcome: j.outcome,
            status: j.outcome.and_then(Outcome::status),
            cache: j.cache,
            served_by: j.served_by.as_deref(),
            bytes: j.bytes,
            reused: j.reused,
            arrivals: ArrivalsOut(&j.arrivals),
            spans: SpansOut(&j.spans),
            exchange: j.exchange.as_deref().map(|x| ExchangeOut {
                request_headers: &x.request_headers,
                request_body: &x.request_body,
                response_headers: &x.response_headers,
                response_body: &x.response_body,
            }),
        }
    }
}

/// Outcome counts as an object keyed by outcome (`"200"`, `"timeout"`), in outcome order.
pub(crate) struct OutcomesOut<'a>(pub &'a [(Outcome, u64)]);

impl Serialize for OutcomesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (o, n) in self.0 {
            map.serialize_entry(&o.to_string(), n)?;
        }
        map.end()
    }
}

/// The `truncated` object: why the spool stopped, when, and how many requests the trace
/// holds (`requests_kept`) of how many ended (`requests_ended`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TruncatedIo {
    #[serde(flatten)]
    pub stop: SpoolStop,
    pub requests_ended: u64,
}

#[derive(Serialize)]
struct ScenarioOut<'a> {
    name: &'a str,
    seed: u64,
    config: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct TotalsOut<'a> {
    requests: u64,
    outcomes: OutcomesOut<'a>,
}

/// Writes the JSON trace.
pub struct JsonWriter {
    first: bool,
    outcomes: BTreeMap<Outcome, u64>,
    requests: u64,
}

fn key<W: Write>(out: &mut W, name: &str, value: &impl Serialize) -> io::Result<()> {
    write!(out, ",\n\"{name}\":")?;
    serde_json::to_writer(&mut *out, value)?;
    Ok(())
}

impl JsonWriter {
    /// Writes everything before the requests.
    pub fn start<W: Write>(out: &mut W, meta: &RunMeta) -> io::Result<JsonWriter> {
        let info = &meta.info;
        write!(out, "{{\"schema\":")?;
        serde_json::to_writer(&mut *out, TRACE_SCHEMA)?;
        key(out, "generator", &info.generator)?;
        key(
            out,
            "scenario",
            &ScenarioOut {
                name: &info.scenario,
                seed: info.seed,
                config: info.scenario_config.as_ref(),
            },
        )?;
        key(out, "wall_start_micros", &info.wall_start_micros)?;
        key(out, "wall_start", &rfc3339_millis(info.wall_start_micros))?;
        key(out, "duration_micros", &info.duration_micros)?;
        key(out, "topology", &info.topology)?;
        key(out, "events_shed", &meta.events_shed)?;
        let truncated = meta.truncated.as_ref().map(|stop| TruncatedIo {
            stop: stop.clone(),
            requests_ended: meta.requests_ended.max(stop.requests_kept),
        });
        key(out, "truncated", &truncated)?;
        key(out, "source_outcomes", &OutcomesOut(&meta.source_outcomes))?;
        key(out, "markers", &meta.markers)?;
        write!(out, ",\n\"requests\":[")?;
        Ok(JsonWriter {
            first: true,
            outcomes: BTreeMap::new(),
            requests: 0,
        })
    }

    /// Writes one request on its own line.
    pub fn journey<W: Write>(&mut self, out: &mut W, j: &Journey) -> io::Result<()> {
        out.write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        serde_json::to_writer(&mut *out, &RequestOut::new(j))?;
        if let Some(o) = j.outcome {
            *self.outcomes.entry(o).or_default() += 1;
        }
        self.requests += 1;
        Ok(())
    }

    /// Writes the per-second metrics, the final server gauges and the totals.
    pub fn finish<W: Write>(
        &mut self,
        out: &mut W,
        meta: &RunMeta,
        seconds: &[SecondMetrics],
    ) -> io::Result<()> {
        write!(out, "\n]")?;
        write!(out, ",\n\"seconds\":[")?;
        for (i, s) in seconds.iter().enumerate() {
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *out, s)?;
        }
        write!(out, "\n]")?;
        key(out, "servers", &meta.servers)?;
        let outcomes: Vec<(Outcome, u64)> = self.outcomes.iter().map(|(o, n)| (*o, *n)).collect();
        key(
            out,
            "totals",
            &TotalsOut {
                requests: self.requests,
                outcomes: OutcomesOut(&outcomes),
            },
        )?;
        writeln!(out, "\n}}")
    }
}

/// Span attributes read back from a JSON object, keeping the order they were written in
/// (a plain map would sort them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AttrsIn(pub Vec<Attr>);

impl<'de> Deserialize<'de> for AttrsIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AttrsIn;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of string attributes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttrsIn, A::Error> {
                let mut attrs = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, String>()? {
                    attrs.push(Attr {
                        key: Cow::Owned(key),
                        value,
                    });
                }
                Ok(AttrsIn(attrs))
            }
        }
        d.deserialize_map(V)
    }
}

/// A span as the JSON trace stores it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpanIn {
    pub component: Component,
    pub phase: Phase,
    pub start_micros: u64,
    pub end_micros: u64,
    #[serde(default)]
    pub attrs: AttrsIn,
}

/// An arrival as the JSON trace stores it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrivalIn {
    pub component: Component,
    pub at_micros: u64,
}

/// Captured headers and bodies as the JSON trace stores them.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeIn {
    pub request_headers: Vec<(String, String)>,
    pub request_body: String,
    pub response_headers: Vec<(String, String)>,
    pub response_body: String,
}

/// A request as the JSON trace stores it, every field read and type-checked by
/// `trace::import` (the derived `status` and `latency_micros` are checked against the
/// fields they derive from, then recomputed from those).
#[derive(Clone, Debug)]
pub struct RequestIn {
    pub id: TraceId,
    pub profile: String,
    pub client: String,
    pub method: String,
    pub url: String,
    pub external: bool,
    pub start_micros: u64,
    pub end_micros: Option<u64>,
    pub latency_micros: Option<u64>,
    pub outcome: Option<Outcome>,
    pub status: Option<u64>,
    pub cache: Option<CacheStatus>,
    pub served_by: Option<String>,
    pub bytes: u64,
    pub reused: bool,
    pub arrivals: Vec<ArrivalIn>,
    pub spans: Vec<SpanIn>,
    pub exchange: Option<ExchangeIn>,
}

impl RequestIn {
    /// The journey this record describes.
    pub fn into_journey(self) -> Journey {
        let id = self.id;
        Journey {
            id,
            profile: self.profile,
            client: self.client,
            method: self.method,
            url: self.url,
            external: self.external,
            start_micros: self.start_micros,
            end_micros: self.end_micros,
            outcome: self.outcome,
            cache: self.cache,
            served_by: self.served_by,
            bytes: self.bytes,
            reused: self.reused,
            spans: self
                .spans
                .into_iter()
                .map(|s| Span {
                    id,
                    component: s.component,
                    phase: s.phase,
                    start_micros: s.start_micros,
                    end_micros: s.end_micros,
                    attrs: s.attrs.0,
                })
                .collect(),
            arrivals: self
                .arrivals
                .into_iter()
                .map(|a| (a.component, a.at_micros))
                .collect(),
            exchange: self.exchange.map(|x| {
                Box::new(Exchange {
                    id,
                    request_headers: x.request_headers,
                    request_body: x.request_body,
                    response_headers: x.response_headers,
                    response_body: x.response_body,
                })
            }),
        }
    }
}
