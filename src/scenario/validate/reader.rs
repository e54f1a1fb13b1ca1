//! The reader that goes through a scenario file's parsed TOML section by section and
//! element by element, collecting every problem with its place instead of stopping at the
//! first; steps are also checked for their values as they are read.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::hints::{first_line, hint_for, suggest};
use super::locate::{line_col, path_at, span_of};
use super::{Problem, steps};
use crate::scenario::{
    ApiConfig, BalancerConfig, CdnConfig, DatabaseConfig, DnsConfig, Dur, Event, Limits,
    NetworkConfig, Profile, ServersConfig, Step, TlsConfig, TraceConfig, TrafficConfig,
};

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

/// Goes through the sections of one file, collecting problems.
pub struct Reader<'a, 'i> {
    /// The file's text (for lines and columns).
    pub text: &'a str,
    /// The parsed file.
    pub root: &'a Spanned<DeTable<'i>>,
    /// Problems in the shape of sections and elements.
    pub problems: Vec<Problem>,
    /// Problems in the values of steps that were read (see `steps.rs`).
    pub step_problems: Vec<Problem>,
    /// The client profiles' names (steps' `weight` commands and `send`s name them).
    pub profiles: Vec<String>,
}

/// The names of the scenario's client profiles (the standard ones when it has none, or
/// when they cannot be read: that problem is reported where they are).
pub fn profile_names(root: &Spanned<DeTable<'_>>) -> Vec<String> {
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
    pub fn section(
        &mut self,
        key: &Spanned<std::borrow::Cow<'i, str>>,
        value: &Spanned<DeValue<'i>>,
    ) {
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
    pub fn events_in_a_lesson(&mut self) {
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
