//! Reading a hopscope JSON trace (`hopscope-trace/1`, as `trace::export` writes it) back into
//! memory, for replay.
//!
//! The file is parsed as a stream (a buffered reader, one request at a time, no document
//! tree), and everything it says is checked: a malformed, truncated or foreign file gets an
//! [`ImportError`] saying what is wrong and where — line and column from the parser, plus the
//! JSON path of the part being read (`$.requests[12]`) — never a panic. Nesting is limited by
//! the parser's recursion limit, so hostile input cannot exhaust the stack.
//!
//! What `docs/trace.schema.json` forbids is refused, checked here in Rust rather than by a
//! schema validator: a missing required key, a key the schema does not know, a value of the
//! wrong type or outside its range (a status outside 100..=599, a negative time), an
//! unknown enum value, derived fields that disagree with their sources, and two requests
//! with the same id. Each message names the file, the request (index and id) and the field.

mod request;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::export::{RequestIn, RunInfo, RunMeta, TRACE_SCHEMA, TopologyInfo, TruncatedIo};
use super::metrics::SecondMetrics;
use super::{Component, Journey, Marker, Outcome, ServerGauge, TraceId};
use request::clip;

pub use request::{REQUIRED as REQUEST_FIELDS, STATUS_RANGE};

/// The latest time a trace may mention: a week into the run. Anything later means a damaged
/// file (replay keeps a row per second of the run, so such a time would cost unbounded memory).
pub const MAX_TRACE_MICROS: u64 = 7 * 24 * 3600 * 1_000_000;

fn check_time(what: &str, micros: u64) -> Result<(), String> {
    if micros > MAX_TRACE_MICROS {
        return Err(format!(
            "{what} is {micros} µs, more than a week into the run: the file looks damaged"
        ));
    }
    Ok(())
}

/// A trace read back: the run's metadata and every request.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Header, markers, per-second metrics (as exported) and final server gauges.
    pub meta: RunMeta,
    /// Every request, in file order.
    pub requests: Vec<Journey>,
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be opened or read.
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    /// The text is not a well-formed trace: the parser stopped at `line`:`column`.
    #[error("{file}:{line}:{column}: {message} (while reading {at})")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        /// JSON path of the part being read.
        at: String,
        message: String,
    },
    /// The JSON is well formed but is not a usable hopscope trace.
    #[error("{file}: {message} (at {at})")]
    Invalid {
        file: String,
        /// JSON path of the offending part.
        at: String,
        message: String,
    },
}

/// Where the reader is, for error messages.
#[derive(Default)]
struct Place {
    key: RefCell<String>,
    index: Cell<Option<usize>>,
    /// The field of the request being read.
    field: RefCell<Option<String>>,
    /// A request that parsed but broke a rule: reported as [`ImportError::Invalid`] at the
    /// request's path, since the parser's position is already past it.
    invalid: RefCell<Option<String>>,
}

impl Place {
    fn path(&self) -> String {
        let key = self.key.borrow();
        let field = self.field.borrow();
        match (key.as_str(), self.index.get(), field.as_deref()) {
            ("", _, _) => "$".to_string(),
            (k, Some(i), Some(f)) => format!("$.{k}[{i}].{f}"),
            (k, Some(i), None) => format!("$.{k}[{i}]"),
            (k, None, _) => format!("$.{k}"),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioIn {
    name: String,
    seed: u64,
    /// Required, but may be null.
    #[serde(deserialize_with = "present")]
    config: Option<serde_json::Value>,
}

/// An `Option` field that must be present (as a value or null): serde lets a missing
/// `Option` through unless it is read with a function of its own.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

/// The top-level keys every trace has (`truncated` is absent in older traces).
const REQUIRED_KEYS: [&str; 14] = [
    "schema",
    "generator",
    "scenario",
    "wall_start_micros",
    "wall_start",
    "duration_micros",
    "topology",
    "events_shed",
    "source_outcomes",
    "markers",
    "requests",
    "seconds",
    "servers",
    "totals",
];

/// Outcome counts keyed by outcome name.
#[derive(Default)]
struct OutcomesIn(Vec<(Outcome, u64)>);

impl<'de> Deserialize<'de> for OutcomesIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<Outcome, u64>::deserialize(d)?;
        Ok(OutcomesIn(map.into_iter().collect()))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TotalsIn {
    requests: u64,
    #[allow(dead_code)] // read for its checks (outcome names, counts), not kept
    outcomes: OutcomesIn,
}

/// Everything read at the top level.
#[derive(Default)]
struct Top {
    schema: Option<String>,
    generator: String,
    scenario: Option<ScenarioIn>,
    wall_start_micros: u64,
    duration_micros: u64,
    topology: TopologyInfo,
    events_shed: u64,
    /// Absent in traces from before it existed: those hold every request.
    truncated: Option<TruncatedIo>,
    source_outcomes: Vec<(Outcome, u64)>,
    markers: Vec<Marker>,
    requests: Option<Vec<Journey>>,
    seconds: Vec<SecondMetrics>,
    servers: Vec<ServerGauge>,
    totals: Option<TotalsIn>,
    foreign_keys: Vec<String>,
    /// The required keys met, in `REQUIRED_KEYS` order.
    seen: [bool; REQUIRED_KEYS.len()],
}

struct TopSeed<'a>(&'a Place);

impl<'de> DeserializeSeed<'de> for TopSeed<'_> {
    type Value = Top;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Top, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopSeed<'_> {
    type Value = Top;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hopscope trace (a JSON object starting with \"schema\")")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        let place = self.0;
        let mut top = Top::default();
        while let Some(key) = map.next_key::<String>()? {
            *place.key.borrow_mut() = clip(&key, 40);
            place.index.set(None);
            if let Some(i) = REQUIRED_KEYS.iter().position(|k| *k == key) {
                top.seen[i] = true;
            }
            match key.as_str() {
                "schema" => {
                    let schema: String = map.next_value()?;
                    if schema != TRACE_SCHEMA {
                        return Err(de::Error::custom(format!(
                            "unsupported trace format `{schema}`: this hopscope reads `{TRACE_SCHEMA}`"
                        )));
                    }
                    top.schema = Some(schema);
                }
                "generator" => top.generator = map.next_value()?,
                "scenario" => top.scenario = Some(map.next_value()?),
                "wall_start_micros" => top.wall_start_micros = map.next_value()?,
                "wall_start" => {
                    map.next_value::<String>()?;
                }
                "duration_micros" => {
                    top.duration_micros = map.next_value()?;
                    check_time("`duration_micros`", top.duration_micros)
                        .map_err(de::Error::custom)?;
                }
                "topology" => top.topology = map.next_value()?,
                "events_shed" => top.events_shed = map.next_value()?,
                "truncated" => {
                    top.truncated = map.next_value()?;
                    if let Some(t) = &top.truncated {
                        check_time("`truncated.at_micros`", t.stop.at_micros)
                            .map_err(de::Error::custom)?;
                    }
                }
                "source_outcomes" => top.source_outcomes = map.next_value::<OutcomesIn>()?.0,
                "markers" => {
                    top.markers = map.next_value()?;
                    for m in &top.markers {
                        check_time("a marker's `at_micros`", m.at_micros)
                            .map_err(de::Error::custom)?;
                    }
                }
                "requests" => {
                    if top.requests.is_some() {
                        return Err(de::Error::custom("`requests` appears twice"));
                    }
                    top.requests = Some(map.next_value_seed(RequestsSeed(place))?);
                }
                "seconds" => top.seconds = map.next_value()?,
                "servers" => top.servers = map.next_value()?,
                "totals" => top.totals = Some(map.next_value()?),
                _ => {
                    if top.foreign_keys.len() < 8 {
                        top.foreign_keys.push(clip(&key, 40));
                    }
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// Reads the `requests` array one request at a time, checking each.
struct RequestsSeed<'a>(&'a Place);

impl<'de> DeserializeSeed<'de> for RequestsSeed<'_> {
    type Value = Vec<Journey>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Journey>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RequestsSeed<'_> {
    type Value = Vec<Journey>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of requests")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Journey>, A::Error> {
        let mut out = Vec::new();
        // Where each id was first seen (looked up, never iterated).
        let mut first_seen: HashMap<TraceId, usize> = HashMap::new();
        loop {
            let index = out.len();
            self.0.index.set(Some(index));
            let Some(fields) = seq.next_element_seed(request::RawSeed(&self.0.field))? else {
                break;
            };
            let name = match request::claimed_id(&fields) {
                Some(id) => format!("request {index} (id {id})"),
                None => format!("request {index}"),
            };
            let invalid = |message: String| {
                *self.0.invalid.borrow_mut() = Some(message);
                de::Error::custom("a request breaks the schema")
            };
            let r = request::read(fields)
                .and_then(|r| check_request(&r).map(|()| r))
                .map_err(|e| invalid(format!("{name}: {e}")))?;
            if let Some(first) = first_seen.insert(r.id, index) {
                return Err(invalid(format!(
                    "{name} has the same id as request {first}: every request has an id of its own \
                     (was the file edited, or two traces joined?)"
                )));
            }
            out.push(r.into_journey());
        }
        self.0.index.set(None);
        Ok(out)
    }
}

fn check_request(r: &RequestIn) -> Result<(), String> {
    check_time("`start_micros`", r.start_micros)?;
    if let Some(end) = r.end_micros {
        check_time("`end_micros`", end)?;
    }
    for (i, a) in r.arrivals.iter().enumerate() {
        check_time(&format!("arrivals[{i}]"), a.at_micros)?;
    }
    if let Some(end) = r.end_micros
        && end < r.start_micros
    {
        return Err(format!(
            "it ends ({end} µs) before it starts ({} µs)",
            r.start_micros
        ));
    }
    if r.end_micros.is_some() != r.outcome.is_some() {
        return Err("it must have both `end_micros` and `outcome`, or neither".to_string());
    }
    for (i, s) in r.spans.iter().enumerate() {
        check_time(&format!("spans[{i}] end"), s.end_micros)?;
        if s.end_micros < s.start_micros {
            return Err(format!(
                "spans[{i}] ({} {}) ends ({} µs) before it starts ({} µs)",
                s.component, s.phase, s.end_micros, s.start_micros
            ));
        }
    }
    request::check_derived(r)
}

/// Reads the trace file at `path`.
pub fn import_file(path: &Path) -> Result<Trace, ImportError> {
    let file = path.display().to_string();
    let f = File::open(path).map_err(|source| ImportError::Io {
        file: file.clone(),
        source,
    })?;
    import_reader(BufReader::with_capacity(256 * 1024, f), &file)
}

/// Reads a trace from `reader`; `file` names it in errors.
pub fn import_reader<R: Read>(reader: R, file: &str) -> Result<Trace, ImportError> {
    let place = Place::default();
    let mut de = serde_json::Deserializer::from_reader(reader);
    let parsed = TopSeed(&place)
        .deserialize(&mut de)
        .and_then(|top| de.end().map(|()| top));
    let top = parsed.map_err(|e| match place.invalid.take() {
        Some(message) => ImportError::Invalid {
            file: file.to_string(),
            at: place.path(),
            message,
        },
        None => syntax_error(e, &place, file),
    })?;
    let invalid = |at: &str, message: String| ImportError::Invalid {
        file: file.to_string(),
        at: at.to_string(),
        message,
    };
    if top.schema.is_none() {
        let hint = if top.foreign_keys.iter().any(|k| k == "log") {
            " — this looks like a HAR file; open the JSON trace (`--format json`) instead"
        } else if top.foreign_keys.iter().any(|k| k == "traceEvents") {
            " — this looks like a Perfetto/Chrome trace; open the JSON trace (`--format json`) instead"
        } else {
            ""
        };
        return Err(invalid(
            "$.schema",
            format!("not a hopscope trace: there is no `schema` key{hint}"),
        ));
    }
    let scenario = top.scenario.ok_or_else(|| {
        invalid(
            "$.scenario",
            "the trace does not say which scenario produced it".into(),
        )
    })?;
    let requests = top
        .requests
        .ok_or_else(|| invalid("$.requests", "the trace has no `requests` array".into()))?;
    if let Some(key) = top.foreign_keys.first() {
        return Err(invalid(
            &format!("$.{key}"),
            format!(
                "unknown key `{key}`: a {TRACE_SCHEMA} trace has only {} and `truncated`",
                REQUIRED_KEYS.join(", ")
            ),
        ));
    }
    let missing: Vec<String> = REQUIRED_KEYS
        .iter()
        .zip(top.seen)
        .filter(|(_, seen)| !seen)
        .map(|(k, _)| format!("`{k}`"))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(
            "$",
            format!(
                "the trace has no {} (was it cut or edited?)",
                missing.join(", ")
            ),
        ));
    }
    check_meta(&top.topology, &top.seconds, &top.servers)
        .map_err(|(at, message)| invalid(&at, message))?;
    if let Some(t) = &top.totals
        && t.requests != requests.len() as u64
    {
        return Err(invalid(
            "$.totals.requests",
            format!(
                "the trace says it holds {} requests but {} were read (was it edited or cut?)",
                t.requests,
                requests.len()
            ),
        ));
    }
    if let Some(t) = &top.truncated
        && t.stop.requests_kept != requests.len() as u64
    {
        return Err(invalid(
            "$.truncated.requests_kept",
            format!(
                "the trace says it kept {} requests but {} were read (was it edited or cut?)",
                t.stop.requests_kept,
                requests.len()
            ),
        ));
    }
    let counted: u64 = top.source_outcomes.iter().map(|(_, n)| n).sum();
    let requests_ended = match &top.truncated {
        Some(t) => t.requests_ended,
        None => counted.max(requests.len() as u64),
    };
    Ok(Trace {
        meta: RunMeta {
            truncated: top.truncated.map(|t| t.stop),
            requests_ended,
            info: RunInfo {
                scenario: scenario.name,
                seed: scenario.seed,
                scenario_config: scenario.config,
                wall_start_micros: top.wall_start_micros,
                duration_micros: top.duration_micros,
                topology: top.topology,
                generator: top.generator,
            },
            events_shed: top.events_shed,
            source_outcomes: top.source_outcomes,
            markers: top.markers,
            seconds: top.seconds,
            servers: top.servers,
        },
        requests,
    })
}

/// The values serde cannot check by type: component names, shares from 0 to 1, and
/// latencies and delays that are not negative. `Err` holds the JSON path and the message.
fn check_meta(
    topology: &TopologyInfo,
    seconds: &[SecondMetrics],
    servers: &[ServerGauge],
) -> Result<(), (String, String)> {
    let component = |at: String, name: &str| {
        name.parse::<Component>()
            .map(drop)
            .map_err(|e| (at, clip(&e, 160)))
    };
    for (i, c) in topology.components.iter().enumerate() {
        component(format!("$.topology.components[{i}].name"), &c.name)?;
    }
    component("$.topology.edge".into(), &topology.edge)?;
    let share = |v: f64| (0.0..=1.0).contains(&v);
    let not_negative = |v: f64| v.is_finite() && v >= 0.0;
    for (i, s) in seconds.iter().enumerate() {
        if let Some(r) = s.hit_ratio
            && !share(r)
        {
            return Err((
                format!("$.seconds[{i}].hit_ratio"),
                format!("the hit ratio is {r}, outside 0 to 1"),
            ));
        }
        if let Some(l) = &s.latency
            && ![l.p50, l.p95, l.p99, l.mean, l.max]
                .into_iter()
                .all(not_negative)
        {
            return Err((
                format!("$.seconds[{i}].latency"),
                "a latency percentile is negative".into(),
            ));
        }
    }
    for (i, g) in servers.iter().enumerate() {
        if !share(g.error_rate) {
            return Err((
                format!("$.servers[{i}].error_rate"),
                format!("the error rate is {}, outside 0 to 1", g.error_rate),
            ));
        }
        if !not_negative(g.slow_millis) {
            return Err((
                format!("$.servers[{i}].slow_millis"),
                format!("the injected delay is {} ms, below 0", g.slow_millis),
            ));
        }
    }
    Ok(())
}

fn syntax_error(e: serde_json::Error, place: &Place, file: &str) -> ImportError {
    use serde_json::error::Category;
    if let Category::Io = e.classify() {
        return ImportError::Io {
            file: file.to_string(),
            source: io::Error::other(e.to_string()),
        };
    }
    let (line, column) = (e.line(), e.column());
    let full = e.to_string();
    let bare = full
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&full)
        .to_string();
    let message = match e.classify() {
        Category::Eof if line <= 1 && column == 0 => "the file is empty".to_string(),
        Category::Eof => format!("the file ends too early, was it cut short? ({bare})"),
        Category::Syntax => format!("not valid JSON: {bare}"),
        _ => bare,
    };
    ImportError::Syntax {
        file: file.to_string(),
        line,
        column,
        at: place.path(),
        message,
    }
}

#[cfg(test)]
mod tests;
