//! What a lesson's steps do to the world: the actions a step plays when it becomes current
//! (timed from that moment, never from the launch), the buttons a learner presses, and the
//! predictions asked before a step's action and set beside what the trace measured after
//! it. Plain data; docs/scenarios.md documents every field.
//!
//! An action or a button may be written as a bare command (`"kill server-2"`) or as a table
//! (`{ at = "2s", do = "kill server-2" }`, `{ label = "Break it", do = ["…", "…"] }`).

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::scenario::{Dur, SendRequest};

/// Something a step does when it becomes current, `at` after that moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Action {
    /// How long after the step became current (simulated time, stretched by the time
    /// scale); at once when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<Dur>,
    /// A control command, as `hopscope serve` reads them.
    #[serde(rename = "do", skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Or a specific request, as a scenario event's `send`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<SendRequest>,
}

impl Action {
    /// What it does, in the words of its trace marker (`kill server-2`, `send GET /users/1`).
    pub fn text(&self) -> String {
        match (&self.action, &self.send) {
            (Some(a), _) => canonical(a),
            (None, Some(s)) => format!("send {} {}", s.method, s.path),
            (None, None) => String::new(),
        }
    }
}

#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
struct ActionTable {
    at: Option<Dur>,
    #[serde(rename = "do")]
    action: Option<String>,
    send: Option<SendRequest>,
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Action;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a command such as \"kill server-2\", or a table like { at = \"2s\", do = \"kill server-2\" }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Action, E> {
                Ok(Action {
                    action: Some(s.to_string()),
                    ..Action::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Action, A::Error> {
                let t = ActionTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Action {
                    at: t.at,
                    action: t.action,
                    send: t.send,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A button the learner presses: one or more control commands, or a specific request.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Button {
    /// What the button says (default: its commands).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Control commands, done in order.
    #[serde(rename = "do", skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// Or a specific request to send.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub send: Option<SendRequest>,
}

impl Button {
    /// What the button says.
    pub fn label(&self) -> String {
        if let Some(l) = &self.label {
            return l.clone();
        }
        self.texts().join(" + ")
    }

    /// What it does, in the words of the trace markers it leaves.
    pub fn texts(&self) -> Vec<String> {
        let mut out: Vec<String> = self.commands.iter().map(|c| canonical(c)).collect();
        if let Some(s) = &self.send {
            out.push(format!("send {} {}", s.method, s.path));
        }
        out
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct ButtonTable {
    label: Option<String>,
    #[serde(rename = "do", deserialize_with = "one_or_many")]
    commands: Vec<String>,
    send: Option<SendRequest>,
}

impl<'de> Deserialize<'de> for Button {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Button;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a command such as \"kill server-2\", or a table like { label = \"Break it\", do = [\"kill server-2\"] }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Button, E> {
                Ok(Button {
                    commands: vec![s.to_string()],
                    ..Button::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Button, A::Error> {
                let t = ButtonTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Button {
                    label: t.label,
                    commands: t.commands,
                    send: t.send,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A string or a list of strings.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a command, or a list of commands")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Vec<String>, E> {
            Ok(vec![s.to_string()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}

/// A command as its trace marker writes it (`slow server-1 200ms`), or as written.
pub fn canonical(text: &str) -> String {
    text.parse::<crate::scenario::Command>()
        .map_or_else(|_| text.trim().to_string(), |c| c.to_string())
}

/// What a prediction is about: a number the trace measures before and after the step's
/// action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// Median latency, in milliseconds.
    P50,
    /// 95th percentile latency, in milliseconds.
    P95,
    /// 99th percentile latency, in milliseconds.
    P99,
    /// Share of cacheable lookups answered from the cache, in percent.
    HitRatio,
    /// Share of requests answered by `server`, in percent.
    Share,
    /// Share of requests that failed (5xx or no answer), in percent.
    Errors,
    /// The longest server queue, in requests.
    Queue,
}

impl Measure {
    /// Every measure, in documentation order.
    pub const ALL: [Measure; 7] = [
        Measure::P50,
        Measure::P95,
        Measure::P99,
        Measure::HitRatio,
        Measure::Share,
        Measure::Errors,
        Measure::Queue,
    ];

    /// The name written in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Measure::P50 => "p50",
            Measure::P95 => "p95",
            Measure::P99 => "p99",
            Measure::HitRatio => "hit_ratio",
            Measure::Share => "share",
            Measure::Errors => "errors",
            Measure::Queue => "queue",
        }
    }

    /// The unit a prediction is written in.
    pub fn unit(self) -> &'static str {
        match self {
            Measure::P50 | Measure::P95 | Measure::P99 => "ms",
            Measure::HitRatio | Measure::Share | Measure::Errors => "%",
            Measure::Queue => "requests",
        }
    }

    /// In words (`p99 latency`, `the hit ratio`).
    pub fn words(self) -> &'static str {
        match self {
            Measure::P50 => "median latency",
            Measure::P95 => "p95 latency",
            Measure::P99 => "p99 latency",
            Measure::HitRatio => "hit ratio",
            Measure::Share => "share of the requests",
            Measure::Errors => "share of failed requests",
            Measure::Queue => "longest queue",
        }
    }
}

/// Predict, then observe: asked before the step's action (its buttons wait, its actions
/// hold), then the measured number is shown beside the learner's prediction once the
/// action has run and the step's checkpoint passed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Predict {
    /// The question.
    pub ask: String,
    /// Choices to pick from; without any, the learner types a number in the measure's unit.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// The right choice (0-based), for choices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<usize>,
    /// What the trace measures, before and after the action.
    pub measure: Option<Measure>,
    /// The server a `share` is measured for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Only requests for this path (as a check's `url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// How long each of the two windows is (default 3s, stretched by the time scale).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within: Option<Dur>,
    /// Why it came out so, shown with the measurement.
    pub explain: String,
}
