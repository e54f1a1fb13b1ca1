//! Reading a hopscope JSON trace (`hopscope-trace/1`, as `trace::export` writes it) back into
//! memory, for replay.
//!
//! The file is parsed as a stream (a buffered reader, one request at a time, no document
//! tree), and everything it says is checked: a malformed, truncated or foreign file gets an
//! [`ImportError`] saying what is wrong and where — line and column from the parser, plus the
//! JSON path of the part being read (`$.requests[12]`) — never a panic. Nesting is limited by
//! the parser's recursion limit, so hostile input cannot exhaust the stack.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::export::{RequestIn, RunInfo, RunMeta, TRACE_SCHEMA, TopologyInfo, TruncatedIo};
use super::metrics::SecondMetrics;
use super::{Journey, Marker, Outcome, ServerGauge};

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
}

impl Place {
    fn path(&self) -> String {
        let key = self.key.borrow();
        match (key.as_str(), self.index.get()) {
            ("", _) => "$".to_string(),
            (k, Some(i)) => format!("$.{k}[{i}]"),
            (k, None) => format!("$.{k}"),
        }
    }
}

#[derive(Deserialize)]
struct ScenarioIn {
    name: String,
    seed: u64,
    #[serde(default)]
    config: Option<serde_json::Value>,
}

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
struct TotalsIn {
    requests: u64,
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
            *place.key.borrow_mut() = key.clone();
            place.index.set(None);
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
                        top.foreign_keys.push(key);
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
        loop {
            self.0.index.set(Some(out.len()));
            let Some(r) = seq.next_element::<RequestIn>()? else {
                break;
            };
            check_request(&r).map_err(de::Error::custom)?;
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
            "request {} ends ({end} µs) before it starts ({} µs)",
            r.id, r.start_micros
        ));
    }
    if r.end_micros.is_some() != r.outcome.is_some() {
        return Err(format!(
            "request {} must have both `end_micros` and `outcome`, or neither",
            r.id
        ));
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
    Ok(())
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
    let top = parsed.map_err(|e| syntax_error(e, &place, file))?;
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
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Trace, ImportError> {
        import_reader(text.as_bytes(), "t.json")
    }

    const MINIMAL: &str = r#"{"schema":"hopscope-trace/1","scenario":{"name":"s","seed":1},
"requests":[
{"id":"0000000000000000000000000000002a","profile":"p","client":"c","method":"GET","url":"/","start_micros":5,"end_micros":9,"outcome":"200"}
],"totals":{"requests":1}}"#;

    #[test]
    fn a_minimal_trace_reads() {
        let t = read(MINIMAL).expect("valid");
        assert_eq!(t.requests.len(), 1);
        assert_eq!(t.requests[0].outcome, Some(Outcome::Status(200)));
        assert_eq!(t.meta.info.scenario, "s");
    }

    #[test]
    fn errors_say_what_and_where() {
        let cut = &MINIMAL[..MINIMAL.len() - 40];
        let e = read(cut).expect_err("truncated").to_string();
        assert!(e.contains("t.json:3:") && e.contains("cut short"), "{e}");

        let bad = MINIMAL.replace("\"200\"", "\"299x\"");
        let e = read(&bad).expect_err("bad outcome").to_string();
        assert!(
            e.contains("unknown outcome `299x`") && e.contains("$.requests[0]"),
            "{e}"
        );

        let backwards = MINIMAL.replace("\"end_micros\":9", "\"end_micros\":2");
        let e = read(&backwards).expect_err("backwards").to_string();
        assert!(e.contains("before it starts"), "{e}");

        let e = read("").expect_err("empty").to_string();
        assert!(e.contains("empty"), "{e}");

        let e = read(r#"{"log":{"entries":[]}}"#)
            .expect_err("har")
            .to_string();
        assert!(e.contains("HAR"), "{e}");

        let e = read(&MINIMAL.replace("trace/1", "trace/9")).expect_err("version");
        assert!(e.to_string().contains("unsupported trace format"), "{e}");

        let e = read(&MINIMAL.replace("\"requests\":1", "\"requests\":2")).expect_err("count");
        assert!(e.to_string().contains("holds 2 requests but 1"), "{e}");

        let far = MINIMAL.replace("\"end_micros\":9", "\"end_micros\":99999999999999999");
        let e = read(&far).expect_err("far future").to_string();
        assert!(e.contains("more than a week"), "{e}");

        let deep = "[".repeat(100_000);
        assert!(read(&deep).is_err());
    }
}
