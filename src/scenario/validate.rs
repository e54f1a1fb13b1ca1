//! Reading scenario files: every problem at once, each with file, line, column, the field
//! and a hint, and never a panic. Syntax errors come from the TOML parser; each section and
//! each array element is then read on its own so that one mistake does not hide the next;
//! finally the values are checked against what the engine can run.

use std::fmt;
use std::path::Path;

mod actions;
mod steps;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::{
    ApiConfig, BalancerConfig, CdnConfig, DatabaseConfig, DnsConfig, Dur, Event, Limits,
    NetworkConfig, Profile, Scenario, ServersConfig, Step, TlsConfig, TraceConfig, TrafficConfig,
    TrafficMode, bind_problem, builtin, builtin_names,
};

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// The field concerned, as a path: `servers.workers`, `profiles[2].latency`.
    pub field: String,
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", render(file, problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
    #[error(
        "scenario file {file} is larger than {} MiB, the most hopscope reads \
         (a scenario is a few kilobytes: is this the right file?)",
        MAX_SCENARIO_BYTES >> 20
    )]
    TooLarge { file: String },
    #[error(
        "`{name}` is neither a built-in scenario nor a file; built-ins: {}",
        known.join(", ")
    )]
    NotFound { name: String, known: Vec<String> },
}

impl ScenarioError {
    /// The problems found, if the file was read.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ScenarioError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

fn render(file: &str, problems: &[Problem]) -> String {
    let mut out = String::new();
    for (i, p) in problems.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "{file}:{}:{}: {}: {}",
            p.line, p.column, p.field, p.message
        ));
        if let Some(hint) = &p.hint {
            out.push_str(&format!("\n  hint: {hint}"));
        }
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.field, self.message
        )
    }
}

/// Loads a built-in scenario by name, or a scenario file by path.
pub fn resolve(name_or_path: &str) -> Result<(Scenario, String), ScenarioError> {
    if let Some(b) = builtin(name_or_path) {
        let label = format!("builtin:{}", b.name);
        return load_str(&label, b.text).map(|s| (s, label));
    }
    let path = Path::new(name_or_path);
    if path.exists() {
        return load(path).map(|s| (s, name_or_path.to_string()));
    }
    Err(ScenarioError::NotFound {
        name: name_or_path.to_string(),
        known: builtin_names().iter().map(|s| s.to_string()).collect(),
    })
}

/// The largest scenario file read (a real one is a few kilobytes): `/dev/zero` or a log
/// given by mistake is refused after this much, instead of filling memory.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;

/// Loads a scenario file (at most [`MAX_SCENARIO_BYTES`]).
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    use std::io::Read;
    let file = path.display().to_string();
    let io = |source| ScenarioError::Io {
        file: file.clone(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io)?
        .take(MAX_SCENARIO_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(ScenarioError::TooLarge { file });
    }
    let text = String::from_utf8(bytes).map_err(|e| ScenarioError::Invalid {
        file: file.clone(),
        problems: vec![Problem {
            line: 1,
            column: 1,
            field: "file".into(),
            message: format!(
                "the file is not UTF-8 text (bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            hint: Some("save the file as UTF-8".into()),
        }],
    })?;
    load_str(&file, &text)
}

/// Reads a scenario from text; `file` names it in messages.
pub fn load_str(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let invalid = |problems: Vec<Problem>| ScenarioError::Invalid {
        file: file.to_string(),
        problems,
    };
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_col(text, offset);
            return Err(invalid(vec![Problem {
                line,
                column,
                field: "syntax".into(),
                message: first_line(e.message()),
                hint: Some("check the TOML syntax here: quotes around text, `=` between key and value, [section] headers".into()),
            }]));
        }
    };
    let mut reader = Reader {
        text,
        root: &root,
        problems: Vec::new(),
        step_problems: Vec::new(),
        profiles: profile_names(&root),
    };
    for (key, value) in root.get_ref().iter() {
        reader.section(key, value);
    }
    reader.events_in_a_lesson();
    // Steps are checked one by one as they are read, so their problems are reported
    // whatever else is wrong in the file.
    let step_problems = std::mem::take(&mut reader.step_problems);
    if !reader.problems.is_empty() {
        let mut problems = reader.problems;
        problems.extend(step_problems);
        problems.sort_by_key(|p| (p.line, p.column));
        return Err(invalid(problems));
    }
    let scenario: Scenario = match Scenario::deserialize_from(&root) {
        Ok(s) => s,
        Err(e) => {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_col(text, offset);
            return Err(invalid(vec![Problem {
                line,
                column,
                field: path_at(&root, offset),
                message: first_line(e.message()),
                hint: None,
            }]));
        }
    };
    let mut problems: Vec<Problem> = check_values(&scenario)
        .into_iter()
        .map(|(path, message, hint)| {
            let offset = span_of(&root, &path).unwrap_or(0);
            let (line, column) = line_col(text, offset);
            Problem {
                line,
                column,
                field: path,
                message,
                hint,
            }
        })
        .collect();
    problems.extend(step_problems);
    if problems.is_empty() {
        Ok(scenario)
    } else {
        problems.sort_by_key(|p| (p.line, p.column));
        Err(invalid(problems))
    }
}

impl Scenario {
    fn deserialize_from(root: &Spanned<DeTable<'_>>) -> Result<Scenario, toml::de::Error> {
        let value = Spanned::new(root.span(), DeValue::Table(root.get_ref().clone()));
        Scenario::deserialize(ValueDeserializer::from(value))
    }
}

use serde::Deserialize;

/// The top-level keys a scenario may have.
pub const TOP_LEVEL_KEYS: &[&str] = &[
    "name",
    "summary",
    "seed",
    "duration",
    "time_scale",
    "dns",
    "tls",
    "cdn",
    "balancer",
    "servers",
    "database",
    "api",
    "traffic",
    "profiles",
    "events",
    "steps",
    "limits",
    "network",
    "trace",
];

struct Reader<'a, 'i> {
    text: &'a str,
    root: &'a Spanned<DeTable<'i>>,
    problems: Vec<Problem>,
    /// Problems in the values of steps that were read (see `steps.rs`).
    step_problems: Vec<Problem>,
    /// The client profiles' names (steps' `weight` commands and `send`s name them).
    profiles: Vec<String>,
}

/// The names of the scenario's client profiles (the standard ones when it has none, or
/// when they cannot be read: that problem is reported where they are).
fn profile_names(root: &Spanned<DeTable<'_>>) -> Vec<String> {
    let written = root
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref() == "profiles")
        .and_then(|(_, v)| Vec::<Profile>::deserialize(ValueDeserializer::from(v.clone())).ok())
        .filter(|p| !p.is_empty());
    written
        .unwrap_or_else(Profile::standard_set)
        .into_iter()
        .map(|p| p.name)
        .collect()
}

impl<'i> Reader<'_, 'i> {
    fn section(&mut self, key: &Spanned<std::borrow::Cow<'i, str>>, value: &Spanned<DeValue<'i>>) {
        match key.get_ref().as_ref() {
            "name" | "summary" => self.read::<String>(value),
            "seed" => self.read::<u64>(value),
            "duration" => self.read::<Dur>(value),
            "time_scale" => self.read::<f64>(value),
            "dns" => self.read::<DnsConfig>(value),
            "tls" => self.read::<TlsConfig>(value),
            "cdn" => self.read::<CdnConfig>(value),
            "balancer" => self.read::<BalancerConfig>(value),
            "servers" => self.read::<ServersConfig>(value),
            "database" => self.read::<DatabaseConfig>(value),
            "api" => self.read::<ApiConfig>(value),
            "traffic" => self.read::<TrafficConfig>(value),
            "limits" => self.read::<Limits>(value),
            "network" => self.read::<NetworkConfig>(value),
            "trace" => self.read::<TraceConfig>(value),
            "profiles" => self.read_each::<Profile>(value),
            "events" => self.read_each::<Event>(value),
            "steps" => self.read_steps(value),
            other => {
                let (line, column) = line_col(self.text, key.span().start);
                // An empty key ("" = 1) still gets a name people can see in the message.
                let shown = if other.is_empty() { "\"\"" } else { other };
                self.problems.push(Problem {
                    line,
                    column,
                    field: shown.to_string(),
                    message: format!("unknown field `{shown}`"),
                    hint: Some(suggest(other, TOP_LEVEL_KEYS)),
                });
            }
        }
    }

    /// A lesson (a scenario with steps) plays its actions from its steps: timed events
    /// would run on the clock since launch, whatever step the reader is on.
    fn events_in_a_lesson(&mut self) {
        let top = |name: &str| {
            self.root
                .get_ref()
                .iter()
                .find(|(k, _)| k.get_ref() == name)
                .and_then(|(_, v)| v.get_ref().as_array())
        };
        let has_steps = top("steps").is_some_and(|a| !a.is_empty());
        let Some(events) = top("events").filter(|_| has_steps) else {
            return;
        };
        for (i, event) in events.iter().enumerate() {
            let (line, column) = line_col(self.text, event.span().start);
            self.problems.push(Problem {
                line,
                column,
                field: format!("events[{}]", i + 1),
                message: "a lesson's timeline belongs to its steps, not to the clock since launch".into(),
                hint: Some("move it into the step that needs it: actions = [{ at = \"2s\", do = \"kill server-2\" }] (timed from when the step becomes current), or a button: buttons = [\"kill server-2\"]".into()),
            });
        }
    }

    fn read<T: DeserializeOwned>(&mut self, value: &Spanned<DeValue<'i>>) {
        if let Err(e) = T::deserialize(ValueDeserializer::from(value.clone())) {
            let offset = e.span().map_or(value.span().start, |s| s.start);
            let (line, column) = line_col(self.text, offset);
            let message = first_line(e.message());
            self.problems.push(Problem {
                line,
                column,
                field: path_at(self.root, offset),
                hint: hint_for(&message),
                message,
            });
        }
    }

    fn read_steps(&mut self, value: &Spanned<DeValue<'i>>) {
        let Some(items) = value.get_ref().as_array() else {
            return self.read::<Vec<Step>>(value);
        };
        for (i, item) in items.iter().enumerate() {
            let before = self.problems.len();
            self.read::<Step>(item);
            if self.problems.len() > before {
                continue;
            }
            let Ok(step) = Step::deserialize(ValueDeserializer::from(item.clone())) else {
                continue;
            };
            for (path, message, hint) in steps::step_problems(i, &step, &self.profiles) {
                let offset = span_of(self.root, &path).unwrap_or(item.span().start);
                let (line, column) = line_col(self.text, offset);
                self.step_problems.push(Problem {
                    line,
                    column,
                    field: path,
                    message,
                    hint,
                });
            }
        }
    }

    fn read_each<T: DeserializeOwned>(&mut self, value: &Spanned<DeValue<'i>>) {
        match value.get_ref().as_array() {
            Some(items) => {
                for item in items.iter() {
                    self.read::<T>(item);
                }
            }
            None => self.read::<Vec<T>>(value),
        }
    }
}

/// A hint drawn from a serde message.
fn hint_for(message: &str) -> Option<String> {
    if let Some(rest) = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))
    {
        let given = rest.split('`').next().unwrap_or("");
        if given == "expects" {
            return Some(
                "`expects` is now `buttons` (what the learner presses); what the step does by itself goes in `actions`".into(),
            );
        }
        let expected: Vec<&str> = message
            .split("expected ")
            .nth(1)
            .map(|tail| tail.split('`').skip(1).step_by(2).collect())
            .unwrap_or_default();
        if expected.is_empty() {
            return Some("this field is not allowed here".into());
        }
        return Some(suggest(given, &expected));
    }
    if message.contains("invalid type") {
        if message.contains("expected a string") || message.contains("expected struct Dur") {
            return Some("write the value in quotes, like \"10s\"".into());
        }
        if message.contains("expected usize")
            || message.contains("expected u64")
            || message.contains("expected u32")
        {
            return Some("write a whole number without quotes, like 3".into());
        }
        if message.contains("expected f64") {
            return Some("write a number without quotes, like 0.5".into());
        }
        if message.contains("expected a boolean") {
            return Some("write true or false without quotes".into());
        }
    }
    None
}

/// "did you mean `x`?" when a candidate is close, else the list of candidates.
fn suggest(given: &str, candidates: &[&str]) -> String {
    let best = candidates
        .iter()
        .map(|c| (edit_distance(given, c), *c))
        .min();
    match best {
        Some((d, c)) if d <= 2.max(given.len() / 3) => format!("did you mean `{c}`?"),
        _ => format!("allowed here: {}", candidates.join(", ")),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
}

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..text.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The dotted path of the innermost key whose key or value covers `offset`.
fn path_at(root: &Spanned<DeTable<'_>>, offset: usize) -> String {
    fn contains(value: &Spanned<DeValue<'_>>, offset: usize) -> bool {
        if value.span().contains(&offset) {
            return true;
        }
        // A table from a `[header]` spans only its header: look at its entries.
        if let Some(t) = value.get_ref().as_table() {
            return t
                .iter()
                .any(|(k, v)| k.span().contains(&offset) || contains(v, offset));
        }
        if let Some(items) = value.get_ref().as_array() {
            return items.iter().any(|v| contains(v, offset));
        }
        false
    }
    fn walk(table: &DeTable<'_>, offset: usize, path: &mut String) {
        for (key, value) in table.iter() {
            if !(key.span().contains(&offset) || contains(value, offset)) {
                continue;
            }
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(key.get_ref());
            descend(value, offset, path);
            return;
        }
    }
    fn descend(value: &Spanned<DeValue<'_>>, offset: usize, path: &mut String) {
        if let Some(t) = value.get_ref().as_table() {
            walk(t, offset, path);
        } else if let Some(items) = value.get_ref().as_array() {
            for (i, item) in items.iter().enumerate() {
                if contains(item, offset) {
                    path.push_str(&format!("[{}]", i + 1));
                    descend(item, offset, path);
                    return;
                }
            }
        }
    }
    let mut path = String::new();
    walk(root.get_ref(), offset, &mut path);
    if path.is_empty() {
        "scenario".into()
    } else {
        path
    }
}

/// The byte offset of the value at a path like `profiles[2].latency` (1-based index), or of
/// the closest parent that is written in the file.
fn span_of(root: &Spanned<DeTable<'_>>, path: &str) -> Option<usize> {
    let mut best = None;
    let mut current: Option<&Spanned<DeValue<'_>>> = None;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        let table = match current {
            None => Some(root.get_ref()),
            Some(v) => v.get_ref().as_table(),
        };
        let found = table.and_then(|t| {
            t.iter()
                .find(|(k, _)| k.get_ref() == name)
                .map(|(k, v)| (k.span().start, v))
        });
        let Some((key_offset, mut value)) = found else {
            break;
        };
        best = Some(key_offset);
        if let Some(i) = index {
            match value
                .get_ref()
                .as_array()
                .and_then(|a| a.get(i.saturating_sub(1)))
            {
                Some(item) => {
                    value = item;
                    best = Some(item.span().start);
                }
                None => break,
            }
        }
        current = Some(value);
    }
    best
}

type Check = (String, String, Option<String>);

fn check_values(s: &Scenario) -> Vec<Check> {
    let mut out: Vec<Check> = Vec::new();
    let mut fail = |path: &str, message: String, hint: &str| {
        out.push((
            path.to_string(),
            message,
            (!hint.is_empty()).then(|| hint.to_string()),
        ));
    };
    let share = |v: f64| (0.0..=1.0).contains(&v);
    if !(1.0..=super::MAX_TIME_SCALE).contains(&s.time_scale) {
        fail(
            "time_scale",
            format!(
                "time scale {} is outside 1 to {}",
                s.time_scale,
                super::MAX_TIME_SCALE
            ),
            "1 is real time, 1000 the slowest; 10 makes every delay ten times longer",
        );
    }
    if s.duration.is_zero() {
        fail(
            "duration",
            "the duration is zero".into(),
            "write how long a run lasts, like \"10s\"",
        );
    }
    if !valid_dns_name(&s.dns.zone) {
        fail(
            "dns.zone",
            format!("`{}` is not a DNS name", s.dns.zone),
            "write a name like example.test",
        );
    }
    for (i, name) in s.dns.names.iter().enumerate() {
        if !valid_dns_name(name) {
            fail(
                &format!("dns.names[{}]", i + 1),
                format!("`{name}` is not a DNS label"),
                "letters, digits and hyphens, like api",
            );
        }
    }
    if !share(s.dns.loss) {
        fail(
            "dns.loss",
            format!("loss {} is not a share", s.dns.loss),
            "write a number from 0 to 1, like 0.1",
        );
    }
    if s.dns.timeout.is_zero() {
        fail(
            "dns.timeout",
            "the resolver timeout is zero".into(),
            "write how long a client waits for an answer, like \"500ms\"",
        );
    }
    if s.cdn.capacity == 0 {
        fail(
            "cdn.capacity",
            "a cache with room for nothing".into(),
            "write how many answers it may hold, like 100; to turn caching off write cache_enabled = false",
        );
    }
    if s.servers.count == 0 || s.servers.count > super::MAX_SERVERS {
        fail(
            "servers.count",
            format!("{} servers", s.servers.count),
            &format!("between 1 and {} servers", super::MAX_SERVERS),
        );
    }
    if s.servers.workers == 0 || s.servers.workers > 4096 {
        fail(
            "servers.workers",
            format!("{} workers", s.servers.workers),
            "between 1 and 4096 workers per server",
        );
    }
    if s.servers.queue > 1_000_000 {
        fail(
            "servers.queue",
            format!("a queue of {}", s.servers.queue),
            "at most 1000000",
        );
    }
    if !(s.servers.service.sigma.is_finite() && s.servers.service.sigma > 0.0) {
        fail(
            "servers.service.sigma",
            format!("sigma {}", s.servers.service.sigma),
            "a positive number, like 0.5",
        );
    }
    for (i, f) in s.servers.slowdown.iter().enumerate() {
        if !(f.is_finite() && *f > 0.0) {
            fail(
                &format!("servers.slowdown[{}]", i + 1),
                format!("slowdown {f}"),
                "a positive multiplier, like 2",
            );
        }
    }
    if s.database.pool == 0 || s.database.pool > 256 {
        fail(
            "database.pool",
            format!("a pool of {} connections", s.database.pool),
            "between 1 and 256",
        );
    }
    for (i, r) in s.api.public_resources.iter().enumerate() {
        if !["users", "restaurants", "orders"].contains(&r.as_str()) {
            fail(
                &format!("api.public_resources[{}]", i + 1),
                format!("unknown resource `{r}`"),
                "users, restaurants or orders",
            );
        }
    }
    if s.api.allowed_token.is_empty() || s.api.allowed_token == s.api.forbidden_token {
        fail(
            "api.allowed_token",
            "the allowed token is empty or equals the forbidden one".into(),
            "two different words",
        );
    }
    let t = &s.traffic;
    if !(t.rate.is_finite() && t.rate >= 0.0 && t.rate <= 1_000_000.0) {
        fail(
            "traffic.rate",
            format!("rate {}", t.rate),
            "requests per second, from 0 to 1000000",
        );
    }
    if t.mode == TrafficMode::Closed && t.users == 0 {
        fail(
            "traffic.users",
            "closed-loop traffic with no users".into(),
            "at least 1 user",
        );
    }
    if !(t.zipf.is_finite() && t.zipf >= 0.0 && t.zipf <= 10.0) {
        fail(
            "traffic.zipf",
            format!("zipf exponent {}", t.zipf),
            "0 for uniform, around 1 for typical popularity",
        );
    }
    if t.timeout.is_zero() {
        fail(
            "traffic.timeout",
            "the request timeout is zero".into(),
            "like \"5s\"",
        );
    } else if t.timeout.get() > super::MAX_REQUEST_TIMEOUT {
        fail(
            "traffic.timeout",
            format!("a request timeout of {}", t.timeout),
            &format!(
                "at most {} (a browser gives up after about 5 minutes), like \"5s\"",
                super::Dur(super::MAX_REQUEST_TIMEOUT)
            ),
        );
    }
    if t.max_in_flight == 0 {
        fail(
            "traffic.max_in_flight",
            "no request may be in flight".into(),
            "at least 1",
        );
    }
    for (i, p) in s.profiles.iter().enumerate() {
        let at = |f: &str| format!("profiles[{}].{f}", i + 1);
        if p.name.is_empty() || p.name.contains(char::is_whitespace) {
            fail(
                &at("name"),
                format!("profile name `{}`", p.name),
                "one word, like browser",
            );
        }
        if !(p.weight.is_finite() && p.weight >= 0.0) {
            fail(
                &at("weight"),
                format!("weight {}", p.weight),
                "a share of the traffic, like 2",
            );
        }
        if p.clients == 0 {
            fail(&at("clients"), "no clients".into(), "at least 1");
        }
        if !(0.0..1.0).contains(&p.loss) {
            fail(
                &at("loss"),
                format!("loss {}", p.loss),
                "a share below 1, like 0.05",
            );
        }
        if p.mix.is_empty() {
            fail(
                &at("mix"),
                "the profile sends nothing".into(),
                "add at least one request, like { path = \"/users/{id}\" }",
            );
        }
        for (k, tpl) in p.mix.iter().enumerate() {
            let at = |f: &str| format!("profiles[{}].mix[{}].{f}", i + 1, k + 1);
            if tpl.method.is_empty() || !tpl.method.bytes().all(|b| b.is_ascii_uppercase()) {
                fail(
                    &at("method"),
                    format!("method `{}`", tpl.method),
                    "GET, POST, PUT, PATCH or DELETE",
                );
            }
            if !tpl.path.starts_with('/') {
                fail(
                    &at("path"),
                    format!("path `{}` does not start with /", tpl.path),
                    "like /users/{id}",
                );
            }
            if !(tpl.weight.is_finite() && tpl.weight >= 0.0) {
                fail(
                    &at("weight"),
                    format!("weight {}", tpl.weight),
                    "a positive number",
                );
            }
        }
    }
    let names: Vec<String> = s.effective_profiles().into_iter().map(|p| p.name).collect();
    for (i, e) in s.events.iter().enumerate() {
        let at = |f: &str| format!("events[{}].{f}", i + 1);
        match (e.at.is_some(), e.after_requests.is_some()) {
            (true, true) => fail(
                &at("at"),
                "both `at` and `after_requests`".into(),
                "give one of them",
            ),
            (false, false) => fail(
                &format!("events[{}]", i + 1),
                "no `at` or `after_requests`".into(),
                "say when: at = \"5s\" or after_requests = 100",
            ),
            _ => {}
        }
        match (&e.action, &e.send) {
            (Some(_), Some(_)) => fail(
                &at("do"),
                "both `do` and `send`".into(),
                "one event does one thing",
            ),
            (None, None) => fail(
                &format!("events[{}]", i + 1),
                "nothing to do".into(),
                "add do = \"kill server-2\" or a [events.send] request",
            ),
            (Some(text), None) => {
                if let Some((msg, hint)) = actions::command_problem(text, &names) {
                    fail(&at("do"), msg, &hint);
                }
            }
            (None, Some(send)) => {
                actions::send_problems(send, &names, &at("send"), &mut fail);
            }
        }
    }
    actions::lesson_problems(&s.steps, &mut fail);
    if s.limits.max_header_bytes < 256 {
        fail(
            "limits.max_header_bytes",
            "headers limit too small for any request".into(),
            "at least 256",
        );
    }
    for (field, d) in [
        ("limits.header_timeout", s.limits.header_timeout),
        ("limits.body_timeout", s.limits.body_timeout),
    ] {
        if d.is_zero() {
            fail(field, "a timeout of zero".into(), "like \"10s\"");
        }
    }
    if let Some((message, hint)) = bind_problem(&s.network.bind) {
        fail("network.bind", message, hint);
    }
    if s.limits.max_connections == 0 {
        fail(
            "limits.max_connections",
            "no connections allowed".into(),
            "at least 1",
        );
    }
    out
}

fn valid_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(text: &str) -> Vec<Problem> {
        match load_str("test.toml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e.problems().to_vec(),
        }
    }

    #[test]
    fn a_three_line_file_is_a_complete_scenario() {
        let s = load_str("t.toml", "name = \"tiny\"\n[servers]\ncount = 5\n").expect("valid");
        assert_eq!(s.name, "tiny");
        assert_eq!(s.servers.count, 5);
        assert_eq!(s.servers.workers, ServersConfig::default().workers);
    }

    #[test]
    fn an_unknown_field_names_line_column_and_the_likely_fix() {
        let p = problems("name = \"x\"\n[servers]\nwokers = 4\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].line, p[0].column), (3, 1));
        assert_eq!(p[0].field, "servers.wokers");
        assert_eq!(p[0].hint.as_deref(), Some("did you mean `workers`?"));
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = "naem = \"x\"\n[servers]\ncount = \"three\"\n[balancer]\npolicy = \"fastest\"\n[[profiles]]\nname = \"a\"\nlatency = 5\n";
        let p = problems(text);
        let lines: Vec<usize> = p.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 3, 5, 8], "{p:#?}");
        assert!(
            p[1].hint.as_deref().unwrap_or("").contains("whole number"),
            "{:?}",
            p[1]
        );
        assert!(p[2].message.contains("fastest"));
    }

    #[test]
    fn values_are_checked_with_their_place_in_the_file() {
        let text = "time_scale = 0.5\n[[events]]\nat = \"1s\"\ndo = \"explode server-1\"\n";
        let p = problems(text);
        assert_eq!(p.len(), 2, "{p:#?}");
        assert_eq!((p[0].line, p[0].field.as_str()), (1, "time_scale"));
        assert_eq!(p[1].line, 4);
        assert!(p[1].message.contains("unknown command"));
    }

    #[test]
    fn a_time_scale_run_would_not_survive_is_refused_in_the_file_and_in_events() {
        let text = "time_scale = 1e20\n[[events]]\nat = \"1s\"\ndo = \"time_scale 1e20\"\n";
        let p = problems(text);
        assert_eq!(p.len(), 2, "{p:#?}");
        assert_eq!((p[0].line, p[0].field.as_str()), (1, "time_scale"));
        assert!(p[0].message.contains("outside 1 to 1000"), "{:?}", p[0]);
        assert_eq!(p[1].line, 4);
        assert!(p[1].message.contains("from 1 to 1000"), "{:?}", p[1]);
    }

    #[test]
    fn a_zero_duration_is_refused_at_its_place() {
        let p = problems("name = \"x\"\nduration = \"0s\"\n");
        assert_eq!(p.len(), 1, "{p:#?}");
        assert_eq!((p[0].line, p[0].column), (2, 1), "{:?}", p[0]);
        assert_eq!(p[0].field, "duration");
        assert!(p[0].message.contains("zero"), "{:?}", p[0]);
    }

    #[test]
    fn a_file_larger_than_the_limit_is_refused_after_reading_the_limit() {
        let dir = std::env::temp_dir().join(format!("hopscope-big-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let big = dir.join("big.toml");
        let mut text = "name = \"big\"\n".to_string();
        text.push_str(&"#".repeat(MAX_SCENARIO_BYTES as usize - text.len()));
        std::fs::write(&big, &text).expect("write");
        load(&big).expect("exactly the limit is read");
        text.push('\n');
        std::fs::write(&big, &text).expect("write");
        let e = load(&big).expect_err("one byte over").to_string();
        assert!(
            e.contains("big.toml") && e.contains("larger than 4 MiB"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
        // An endless file: only the limit is read, then it is refused.
        #[cfg(unix)]
        {
            let e = load(Path::new("/dev/zero"))
                .expect_err("endless")
                .to_string();
            assert!(e.contains("/dev/zero") && e.contains("4 MiB"), "{e}");
        }
    }

    #[test]
    fn an_empty_key_is_named_in_the_problem() {
        // Found by fuzzing: `'' = ""` was reported with an empty field and "unknown field ``".
        let p = problems("'' = \"\"\n");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].field, "\"\"");
        assert_eq!(p[0].message, "unknown field `\"\"`");
    }

    #[test]
    fn syntax_errors_say_where() {
        let p = problems("name = \"x\"\n[servers\ncount = 3\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].line, 2);
        assert_eq!(p[0].field, "syntax");
    }

    #[test]
    fn the_default_scenario_serialises_only_known_keys() {
        let text = toml::to_string(&Scenario::default()).expect("serialise");
        let back = load_str("roundtrip.toml", &text).expect("reads back");
        assert_eq!(back, Scenario::default());
    }
}
