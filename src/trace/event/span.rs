//! Time a request spent in one phase at one component (`Span`), with its key/value details
//! (`Attr`: the SQL text, the balancer's choice, HIT or MISS).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::{Component, Phase};
use crate::trace::TraceId;

/// A key/value detail of a span: the SQL text, the LB's choice and reason, HIT or MISS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attr {
    pub key: Cow<'static, str>,
    pub value: String,
}

impl Attr {
    /// A detail with a fixed key.
    pub fn new(key: &'static str, value: impl Into<String>) -> Attr {
        Attr {
            key: Cow::Borrowed(key),
            value: value.into(),
        }
    }
}

/// Time a request spent in one phase at one component.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub id: TraceId,
    pub component: Component,
    pub phase: Phase,
    pub start_micros: u64,
    pub end_micros: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attrs: Vec<Attr>,
}

impl Span {
    /// The value of attribute `key`, if the span has it.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str())
    }

    /// Length in microseconds.
    pub fn micros(&self) -> u64 {
        self.end_micros.saturating_sub(self.start_micros)
    }
}
