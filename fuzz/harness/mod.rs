//! The entry points that the fuzz targets (`fuzz/fuzz_targets/`) and the replay tests
//! (`tests/integration/hardening/replay.rs`) share. Each takes raw bytes, hands them to
//! hopscope the way an outside user or tool would, and checks what comes back against the
//! protocol. A failed check is an `Err` saying what was wrong: the fuzz targets panic on it
//! (libFuzzer records a crash), the tests assert on it.
//!
//! - [`scenario`]: the bytes as a scenario file (`scenario::load_str`).
//! - [`control`]: each line as a control command (`Command::from_str`, what `serve` reads on
//!   stdin), the accepted ones applied to a live engine, which must still answer.
//! - [`trace_import`]: the bytes as a JSON trace; [`trace_semantics`]: the bytes as damage
//!   done to a valid trace (duplicate ids, statuses out of range, wrong types, times out of
//!   order), which the importer must refuse.
//! - [`Live`]: one running engine on loopback (CDN, load balancer, one API server, DNS stub,
//!   no generated traffic). [`Live::http`] writes bytes into a component's TCP port and
//!   collects its answer; [`Live::dns`] sends one datagram to the stub and collects its answer
//!   or learns from the stub's counters that it was dropped.
//!
//! A panic anywhere in the process, the engine's own threads included, is a finding: the
//! fuzz runtime aborts on any panic, and the replay tests watch the engine's threads.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::{Name, RecordType};
use hopscope::engine::{Engine, EngineOptions, HopCounts};
use hopscope::scenario::{self, Command, Scenario, ScenarioError};

/// How long any one exchange may take before the component counts as hung.
pub const ANSWER_BOUND: Duration = Duration::from_secs(5);

/// Checks one input as a scenario file.
pub fn scenario(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    match scenario::load_str("fuzz.toml", &text) {
        Ok(s) => round_trip(&s),
        Err(e) => problems_are_placed(&text, &e),
    }
}

/// Checks one input as a hopscope JSON trace (`hopscope open`): no panic; a rejection says
/// where (a syntax error's line and column lie inside the text, and every message names
/// the file); an accepted trace prepares for replay, and a snapshot at its middle and its
/// end holds no more requests than the file.
pub fn trace_import(bytes: &[u8]) -> Result<(), String> {
    use hopscope::trace::import::{ImportError, import_reader};
    use hopscope::trace::replay::Replay;
    match import_reader(bytes, "fuzz.json") {
        Ok(trace) => {
            let requests = trace.requests.len() as u64;
            let replay = Replay::new(trace);
            let end = replay.duration_micros();
            for t in [0, end / 2, end] {
                let snap = replay.snapshot_at(t);
                if snap.totals.begun > requests {
                    return Err(format!(
                        "a replay at {t} µs shows {} requests begun of {requests} in the file",
                        snap.totals.begun
                    ));
                }
            }
            Ok(())
        }
        Err(e) => {
            let message = e.to_string();
            if !message.contains("fuzz.json") {
                return Err(format!(
                    "an import error that does not name the file: {message}"
                ));
            }
            if let ImportError::Syntax { line, column, .. } = e {
                let text = String::from_utf8_lossy(bytes);
                let lines = text.split('\n').count();
                if line == 0 || line > lines || column > text.len() + 1 {
                    return Err(format!("a syntax error placed outside the text: {message}"));
                }
            }
            Ok(())
        }
    }
}

/// The longest refusal a control command may answer with (it quotes at most
/// `scenario::MAX_QUOTED_CHARS` of the line at a time).
pub const MAX_COMMAND_ERROR: usize = 600;

/// A command line either is refused with a short message that says something, or parses
/// into a command that prints as text that parses back to the same command.
pub fn command(line: &str) -> Result<Option<Command>, String> {
    let parsed = match line.trim().parse::<Command>() {
        Ok(c) => c,
        Err(e) if e.trim().is_empty() => {
            return Err(format!("command `{}` refused without a message", cut(line)));
        }
        Err(e) if e.len() > MAX_COMMAND_ERROR => {
            return Err(format!(
                "command `{}` refused with {} bytes of message: {}…",
                cut(line),
                e.len(),
                cut(&e)
            ));
        }
        Err(_) => return Ok(None),
    };
    let printed = parsed.to_string();
    match printed.parse::<Command>() {
        Ok(again) if again == parsed => Ok(Some(parsed)),
        other => Err(format!(
            "command `{}` prints as `{printed}`, which reads back as {other:?}",
            cut(line)
        )),
    }
}

/// The start of `text`, for a finding's message.
fn cut(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Checks one input as control-command lines (`serve`'s stdin): each line is refused with a
/// short message or parses and prints back the same; the accepted ones are applied to the
/// live engine in turn, and the engine must then still answer: a `status`, and (once the
/// harness has put its settings back) an API server's health check with 200 and a request
/// through the load balancer with a whole HTTP answer.
pub fn control(live: &Live, bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let mut applied = false;
    for line in text.lines().take(16) {
        let Some(command) = command(line)? else {
            continue;
        };
        if live.may_apply(&command) {
            // A refusal (no such server, say) is an answer too: only a hang or a panic is
            // a finding, and those need no check here.
            let _ = live.engine().apply(&command);
            applied = true;
        }
    }
    if applied {
        live.reset()?;
    }
    live.still_answers()
}

/// A valid trace to damage: the `trace_import` seed (three requests).
pub const VALID_TRACE: &str = include_str!("../corpus/trace_import/valid-small.json");

// Every field a request must have, as `docs/trace.schema.json` says (the importer's list).
use hopscope::trace::import::REQUEST_FIELDS;

/// Damages [`VALID_TRACE`] as `bytes` say (three bytes an edit: what, which request, how)
/// and imports it: damage the schema forbids must be refused, naming the file and the
/// request; harmless edits must be accepted and replay (the checks of [`trace_import`]).
pub fn trace_semantics(bytes: &[u8]) -> Result<(), String> {
    use serde_json::{Value, json};
    let mut trace: Value =
        serde_json::from_str(VALID_TRACE).map_err(|e| format!("the seed trace is JSON: {e}"))?;
    let mut forbidden: Vec<String> = Vec::new();
    {
        let requests = trace["requests"]
            .as_array_mut()
            .ok_or("the seed trace has requests")?;
        let n = requests.len();
        for edit in bytes.chunks(3).take(8) {
            let [what, which, how] = [0, 1, 2].map(|k| edit.get(k).copied().unwrap_or(0));
            let (i, j) = (usize::from(which) % n, usize::from(how) % n);
            if what % 12 == 0 {
                if i != j {
                    let id = requests[j]["id"].clone();
                    requests[i]["id"] = id;
                    forbidden.push(format!("requests {j} and {i} with one id"));
                }
                continue;
            }
            let start = requests[i]["start_micros"].as_u64().unwrap_or(0);
            let r = &mut requests[i];
            let field = REQUEST_FIELDS[usize::from(how) % REQUEST_FIELDS.len()];
            let damage = match what % 12 {
                1 => {
                    let bad = [
                        json!(99999),
                        json!(99),
                        json!(600),
                        json!(-200),
                        json!("200"),
                        json!(200.5),
                        json!(0),
                        json!(u64::MAX),
                    ];
                    r["status"] = bad[usize::from(how) % bad.len()].clone();
                    Some(format!("status {}", r["status"]))
                }
                2 => {
                    let bad = [
                        json!("fast"),
                        json!(-1),
                        json!(1e15),
                        json!(1.5),
                        Value::Null,
                        json!(u64::MAX),
                        json!([]),
                    ];
                    r["latency_micros"] = bad[usize::from(how) % bad.len()].clone();
                    Some(format!("latency_micros {}", r["latency_micros"]))
                }
                3 => {
                    r["end_micros"] = json!(start.saturating_sub(1 + u64::from(how)));
                    Some("a request that ends before it starts".into())
                }
                4 => {
                    let bad = [json!(-5), json!(u64::MAX), json!(1e300), json!("0")];
                    r["start_micros"] = bad[usize::from(how) % bad.len()].clone();
                    Some(format!("start_micros {}", r["start_micros"]))
                }
                5 => {
                    r.as_object_mut().map(|o| o.remove(field));
                    Some(format!("no `{field}`"))
                }
                6 => {
                    r[format!("x{how}")] = json!(how);
                    Some("an unknown field".into())
                }
                7 => {
                    r[field] = json!({ "wrong": "type" });
                    Some(format!("`{field}` an object"))
                }
                8 => {
                    let bad = ["600", "099", "+200", "2000", "teapot", ""];
                    r["outcome"] = json!(bad[usize::from(how) % bad.len()]);
                    Some(format!("outcome {}", r["outcome"]))
                }
                // (Only where an earlier edit left the span or arrival in place.)
                9 => r.pointer_mut("/spans/0/end_micros").map(|end| {
                    *end = json!(start.saturating_sub(1 + u64::from(how)));
                    "a span that ends before it starts".to_string()
                }),
                10 => r.pointer_mut("/arrivals/0/at_micros").map(|at| {
                    let bad = [json!(-5), json!(1e300), json!("late"), json!(u64::MAX)];
                    *at = bad[usize::from(how) % bad.len()].clone();
                    format!("an arrival at {at}")
                }),
                // Harmless: other words in the free-text fields.
                // Never bringing back a field an earlier edit removed.
                _ => {
                    if let Some(o) = r.as_object_mut() {
                        if let Some(url) = o.get_mut("url") {
                            *url = json!(format!("/edited/{how}"));
                        }
                        if let Some(profile) = o.get_mut("profile") {
                            *profile = json!(format!("p{what}"));
                        }
                    }
                    None
                }
            };
            forbidden.extend(damage);
        }
    }
    let text = serde_json::to_string(&trace).map_err(|e| e.to_string())?;
    trace_import(text.as_bytes())?;
    match hopscope::trace::import::import_reader(text.as_bytes(), "fuzz.json") {
        Ok(_) if !forbidden.is_empty() => Err(format!(
            "a trace with {} was accepted",
            forbidden.join(", ")
        )),
        Err(e) if forbidden.is_empty() => {
            Err(format!("a trace edited harmlessly was refused: {e}"))
        }
        Err(e) => {
            let message = e.to_string();
            if message.len() > 1000 {
                return Err(format!(
                    "a {}-byte message: {}",
                    message.len(),
                    cut(&message)
                ));
            }
            if !message.contains("$.requests[") {
                return Err(format!(
                    "a refusal that does not name the request: {message}"
                ));
            }
            Ok(())
        }
        Ok(_) => Ok(()),
    }
}

/// A valid scenario saved as TOML loads back as the same scenario.
fn round_trip(s: &Scenario) -> Result<(), String> {
    let text = toml::to_string(s).map_err(|e| format!("a valid scenario cannot be saved: {e}"))?;
    match scenario::load_str("saved.toml", &text) {
        Ok(back) if back == *s => Ok(()),
        Ok(back) => Err(format!(
            "a saved scenario reads back different:\n{s:?}\n{back:?}"
        )),
        Err(e) => Err(format!("a saved valid scenario is rejected: {e}\n{text}")),
    }
}

/// Every problem points inside the text and says something.
fn problems_are_placed(text: &str, e: &ScenarioError) -> Result<(), String> {
    let lines = text.split('\n').count();
    let problems = e.problems();
    if problems.is_empty() {
        return Err(format!("rejected without a problem: {e}"));
    }
    for p in problems {
        let longest = text
            .split('\n')
            .nth(p.line - 1)
            .map_or(0, |l| l.chars().count());
        if p.line == 0 || p.line > lines || p.column == 0 || p.column > longest + 1 {
            return Err(format!(
                "problem placed outside the text ({} lines): {p}",
                lines
            ));
        }
        if p.message.trim().is_empty() || p.field.is_empty() {
            return Err(format!("a problem without a message or field: {p:?}"));
        }
    }
    let _ = e.to_string();
    Ok(())
}

/// A component that takes HTTP from outside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hop {
    Cdn,
    Lb,
    Server,
}

impl Hop {
    /// Every HTTP component.
    pub const ALL: [Hop; 3] = [Hop::Cdn, Hop::Lb, Hop::Server];

    /// The component a fuzz input's first byte selects.
    pub fn from_byte(b: u8) -> Hop {
        Hop::ALL[usize::from(b) % Hop::ALL.len()]
    }
}

/// The scenario the live engine runs: no injected delays, no traffic, one server, health
/// checks rare (so that little else runs between inputs), short timeouts.
pub fn live_scenario() -> Scenario {
    let mut s = scenario::load_str(
        "harness.toml",
        r#"
name = "harness"
[dns]
latency = "0ms"
[cdn]
latency = "0ms"
[balancer]
latency = "0ms"
upstream_timeout = "2s"
health_interval = "60s"
[servers]
count = 1
service = { distribution = "constant", mean = "0ms" }
[database]
latency = "0ms"
[traffic]
enabled = false
[limits]
header_timeout = "2s"
[trace]
keep_recent = 200
"#,
    )
    .unwrap_or_else(|e| panic!("the harness scenario is valid: {e}"));
    s.trace.capture_headers = true;
    s
}

/// One running engine fed by the fuzz targets and replay tests.
pub struct Live {
    engine: Engine,
    udp: UdpSocket,
    /// How long the answer may pause before the exchange counts as over.
    patience: Duration,
}

impl Live {
    /// Starts the engine (panics if it cannot: nothing can be checked without it).
    pub fn start() -> Live {
        Live::with(live_scenario(), Duration::from_millis(3))
    }

    /// Starts `scenario`; an answer that pauses for `patience` with nothing in progress is
    /// taken as complete.
    pub fn with(scenario: Scenario, patience: Duration) -> Live {
        let engine = Engine::start(scenario, EngineOptions::default())
            .unwrap_or_else(|e| panic!("the harness engine starts: {e}"));
        let udp = UdpSocket::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("a UDP socket for DNS queries: {e}"));
        Live {
            engine,
            udp,
            patience,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Whether the control target applies `command` to the shared engine: not `resume`
    /// (the harness runs no generated traffic: it would flood every later input), and no
    /// server beyond a third.
    pub fn may_apply(&self, command: &Command) -> bool {
        match command {
            Command::Resume => false,
            Command::AddServer => self.engine.topology().servers().len() < 3,
            _ => true,
        }
    }

    /// Puts the engine back as it started: one server, server-1, every component up, no
    /// injected latency, loss or fault, plain HTTP, traffic paused.
    pub fn reset(&self) -> Result<(), String> {
        let apply = |text: &str| {
            let command: Command = text
                .parse()
                .map_err(|e| format!("the reset command `{text}` does not parse: {e}"))?;
            self.engine
                .apply(&command)
                .map(drop)
                .map_err(|e| format!("`{text}` failed after an input: {e}"))
        };
        for s in self.engine.topology().servers() {
            if s.number() != 1 {
                apply(&format!("remove server-{}", s.number()))?;
            }
        }
        if self.engine.topology().servers().is_empty() {
            apply("add server")?;
        }
        for text in [
            "restart server-1",
            "restart lb",
            "restart cdn",
            "restart dns",
            "dns ok",
            "tls off",
            "time_scale 1",
            "latency client 0ms",
            "latency cdn 0ms",
            "latency lb 0ms",
            "latency db 0ms",
            "drop client 0",
            "drop cdn 0",
            "drop lb 0",
            "cache on",
            "pause",
        ] {
            apply(text)?;
        }
        Ok(())
    }

    /// The engine takes commands and serves: `status` answers, server-1's health check
    /// says 200, and the load balancer answers a request with whole HTTP responses.
    pub fn still_answers(&self) -> Result<(), String> {
        self.engine
            .apply(&Command::Status)
            .map_err(|e| format!("`status` refused: {e}"))?;
        let health = self.http_to_close(
            Hop::Server,
            b"GET /health HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n",
        )?;
        if statuses(&health)? != [200] {
            return Err(format!(
                "server-1's health check after a reset: {:?}",
                String::from_utf8_lossy(&health)
            ));
        }
        let reply = self.http_to_close(
            Hop::Lb,
            b"GET /restaurants?_limit=1 HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n",
        )?;
        if statuses(&reply)?.is_empty() {
            return Err("the load balancer closed without an answer".into());
        }
        Ok(())
    }

    /// Where `hop` listens.
    pub fn addr(&self, hop: Hop) -> SocketAddr {
        let a = self.engine.addresses();
        let text = match hop {
            Hop::Cdn => a.cdn.unwrap_or(a.edge),
            Hop::Lb => a.lb,
            Hop::Server => a.servers.first().cloned().unwrap_or_default(),
        };
        text.parse()
            .unwrap_or_else(|e| panic!("{hop:?} has an address ({text}): {e}"))
    }

    fn counts(&self) -> Vec<HopCounts> {
        let t = self.engine.topology();
        let mut out = vec![t.lb.counts()];
        if let Some(cdn) = &t.cdn {
            out.push(cdn.counts());
        }
        out.extend(t.servers().iter().map(|s| s.counts()));
        out
    }

    /// Whether some component is working on a request now.
    fn busy(&self) -> bool {
        self.counts()
            .iter()
            .any(|c| c.received > c.answered + c.aborted)
    }

    /// Writes `bytes` to `hop` on a fresh connection and returns everything it answers.
    /// While the component works or answers, this keeps reading; once it has been quiet
    /// for the patience (or, with a request still open, for a while longer), the write
    /// side is closed, and the component must then close the connection within
    /// [`ANSWER_BOUND`].
    pub fn http(&self, hop: Hop, bytes: &[u8]) -> Result<Vec<u8>, String> {
        self.exchange(hop, bytes, true)
    }

    /// Writes `bytes`, which end the connection themselves (the last request says
    /// `Connection: close`, or the component refuses them), and reads until the component
    /// closes it, within [`ANSWER_BOUND`]. Nothing is cut short on a slow machine.
    pub fn http_to_close(&self, hop: Hop, bytes: &[u8]) -> Result<Vec<u8>, String> {
        self.exchange(hop, bytes, false)
    }

    fn exchange(&self, hop: Hop, bytes: &[u8], close_when_quiet: bool) -> Result<Vec<u8>, String> {
        let addr = self.addr(hop);
        let started = Instant::now();
        let mut stream = TcpStream::connect_timeout(&addr, ANSWER_BOUND)
            .map_err(|e| format!("{hop:?} refused a connection: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_millis(1)))
            .map_err(|e| e.to_string())?;
        // The component may close while we write (431, 400): what it answered still counts.
        let _ = stream.write_all(bytes);
        let mut reply = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        let mut quiet_since = Instant::now();
        let mut closed_write = false;
        loop {
            match read_step(stream.read(&mut buf)) {
                ReadStep::Closed => return Ok(reply),
                ReadStep::Bytes(n) => {
                    reply.extend_from_slice(&buf[..n]);
                    quiet_since = Instant::now();
                }
                ReadStep::Nothing => {}
            }
            if started.elapsed() > ANSWER_BOUND {
                return Err(format!(
                    "{hop:?} neither answered nor closed within {ANSWER_BOUND:?} ({} bytes so far)",
                    reply.len()
                ));
            }
            let quiet = quiet_since.elapsed();
            let waited_enough = if self.busy() {
                quiet > self.patience * 10
            } else {
                quiet > self.patience
            };
            if close_when_quiet && !closed_write && waited_enough {
                let _ = stream.shutdown(Shutdown::Write);
                closed_write = true;
            }
        }
    }

    /// Sends `query` to the DNS stub; returns its answer, or `None` when the stub dropped the
    /// datagram (its counters say so).
    pub fn dns(&self, query: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let stub = &self.engine.topology().dns;
        let before = stub.counts();
        let addr = stub.addr();
        // Answers to earlier queries that came late are not this query's answer.
        let mut buf = [0u8; 65_536];
        self.udp.set_nonblocking(true).map_err(|e| e.to_string())?;
        while self.udp.recv_from(&mut buf).is_ok() {}
        self.udp.set_nonblocking(false).map_err(|e| e.to_string())?;
        self.udp
            .set_read_timeout(Some(Duration::from_millis(1)))
            .map_err(|e| e.to_string())?;
        if let Err(e) = self.udp.send_to(query, addr) {
            // Too big for a datagram: nothing reached the stub.
            if e.kind() == ErrorKind::InvalidInput || query.len() > 65_507 {
                return Ok(None);
            }
            return Err(format!("cannot send to the stub: {e}"));
        }
        let started = Instant::now();
        loop {
            let now = stub.counts();
            if now.dropped > before.dropped {
                return Ok(None);
            }
            match self.udp.recv_from(&mut buf) {
                Ok((n, from)) if from == addr => return Ok(Some(buf[..n].to_vec())),
                _ => {}
            }
            if started.elapsed() > ANSWER_BOUND {
                return Err(format!(
                    "the stub neither answered nor dropped the query within {ANSWER_BOUND:?}"
                ));
            }
        }
    }
}

/// What one read of an answer brought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadStep {
    /// This many bytes of the answer.
    Bytes(usize),
    /// Nothing yet: keep reading.
    Nothing,
    /// The connection is over (closed, or reset after or instead of an answer).
    Closed,
}

/// Reads the outcome of one `read` on a socket with a read timeout. A read that timed out
/// or that a signal interrupted brought nothing yet: libFuzzer's SIGALRM (every
/// `-timeout`/2 + 1 seconds, installed without `SA_RESTART`) interrupts a blocked `recv`,
/// which with `SO_RCVTIMEO` set is never restarted (signal(7)), and that is not the
/// component closing the connection.
pub fn read_step(read: std::io::Result<usize>) -> ReadStep {
    match read {
        Ok(0) => ReadStep::Closed,
        Ok(n) => ReadStep::Bytes(n),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
            ) =>
        {
            ReadStep::Nothing
        }
        Err(_) => ReadStep::Closed,
    }
}

/// Statuses that say a component failed on an input rather than refusing it.
const FAILURE_STATUSES: [u16; 4] = [500, 502, 503, 504];

/// The status codes of the responses in `reply`, in order. A reply is a run of whole
/// HTTP/1.x responses (a HEAD answer has no body despite its Content-Length; an HTTP/1.0
/// request gets an HTTP/1.0 answer).
pub fn statuses(reply: &[u8]) -> Result<Vec<u16>, String> {
    let mut out = Vec::new();
    let mut rest = reply;
    while !rest.is_empty() {
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            return Err(format!(
                "a response head cut short: {:?}",
                String::from_utf8_lossy(&rest[..rest.len().min(200)])
            ));
        };
        let head = String::from_utf8_lossy(&rest[..head_end]);
        let status = head
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| head.strip_prefix("HTTP/1.0 "))
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| (100..600).contains(s))
            .ok_or_else(|| format!("not an HTTP/1.x status line: {head:?}"))?;
        out.push(status);
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let after_head = &rest[head_end + 4..];
        let next_is_head = after_head.starts_with(b"HTTP/1.");
        rest = if after_head.len() >= length && !next_is_head {
            &after_head[length..]
        } else if next_is_head || after_head.is_empty() {
            after_head // no body: a HEAD answer, a 304, or the last response
        } else {
            return Err(format!(
                "a response body cut short ({} of {length} bytes)",
                after_head.len()
            ));
        };
    }
    Ok(out)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An HTTP reply is nothing (the connection was closed) or whole responses, none of them
/// a failure of the component itself.
pub fn check_http(reply: &[u8]) -> Result<(), String> {
    let statuses = statuses(reply)?;
    if let Some(s) = statuses.iter().find(|s| FAILURE_STATUSES.contains(s)) {
        return Err(format!(
            "answered {s}: {}",
            String::from_utf8_lossy(&reply[..reply.len().min(600)])
        ));
    }
    Ok(())
}

/// How much larger than the query an answer that carries no records may be: the stub adds
/// at most its OPT record and re-encodes the question without compression.
pub const NO_ANSWER_GROWTH: usize = 64;

/// What the stub must do with a datagram: drop what is not a query, and answer every query
/// with a well-formed message that matches it, refuses what is not its zone's, and is never
/// much larger than the query unless it carries the zone's own records.
pub fn check_dns(query: &[u8], reply: Option<&[u8]>) -> Result<(), String> {
    let is_query = query.len() >= 12 && query[2] & 0x80 == 0;
    let Some(reply) = reply else {
        return if is_query {
            Err("a query got no answer (nothing is lost in the harness scenario)".into())
        } else {
            Ok(())
        };
    };
    if !is_query {
        return Err(format!(
            "answered something that is not a query ({} bytes)",
            query.len()
        ));
    }
    let message =
        Message::from_vec(reply).map_err(|e| format!("the answer does not parse: {e}"))?;
    if reply[..2] != query[..2] {
        return Err("the answer's id differs from the query's".into());
    }
    if message.message_type != MessageType::Response {
        return Err("the answer is not marked as a response".into());
    }
    let rcode = message.response_code;
    // NOERROR, FORMERR, NXDOMAIN, NOTIMP, REFUSED, and BADVERS (16, which hickory reads as
    // its TSIG twin BADSIG).
    let allowed = [0u16, 1, 3, 4, 5, 16];
    if !allowed.contains(&u16::from(rcode)) {
        return Err(format!("unexpected response code {rcode:?}"));
    }
    let request = Message::from_vec(query).ok();
    let limit = match request.as_ref().and_then(|r| r.edns.as_ref()) {
        Some(edns) => usize::from(edns.max_payload().clamp(512, 1232)),
        None => 512,
    };
    if reply.len() > limit {
        return Err(format!(
            "{} bytes is more than the query allows ({limit})",
            reply.len()
        ));
    }
    let carries_records = !message.answers.is_empty()
        || !message.authorities.is_empty()
        || message
            .additionals
            .iter()
            .any(|r| r.record_type() != RecordType::OPT);
    if !carries_records && reply.len() > query.len() + NO_ANSWER_GROWTH {
        return Err(format!(
            "an answer with no records grew a {}-byte query to {} bytes",
            query.len(),
            reply.len()
        ));
    }
    if carries_records {
        let zone = Name::from_ascii("example.test.").map_err(|e| e.to_string())?;
        let names = message
            .answers
            .iter()
            .chain(&message.authorities)
            .chain(&message.additionals)
            .filter(|r| r.record_type() != RecordType::OPT);
        for r in names {
            if !zone.zone_of(&r.name) {
                return Err(format!("a record outside the zone: {}", r.name));
            }
        }
    }
    Ok(())
}
