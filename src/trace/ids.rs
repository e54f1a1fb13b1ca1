//! Request ids and the W3C `traceparent` header that carries them from hop to hop.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A request's id: the 128-bit W3C trace-id, shown as 32 hex digits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TraceId(pub u128);

impl TraceId {
    /// A fresh random id (never zero, which W3C reserves as invalid).
    pub fn random() -> TraceId {
        loop {
            let id: u128 = rand::random();
            if id != 0 {
                return TraceId(id);
            }
        }
    }

    /// The last 8 hex digits: enough to tell requests apart on screen.
    pub fn short(self) -> String {
        format!("{:08x}", self.0 as u32)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl FromStr for TraceId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{s}` is not a 32-digit hex trace id"));
        }
        u128::from_str_radix(s, 16)
            .map(TraceId)
            .map_err(|e| e.to_string())
    }
}

impl Serialize for TraceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TraceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A parsed W3C `traceparent` header: `00-<trace-id>-<parent-id>-<flags>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceParent {
    pub trace_id: TraceId,
    /// The id of the span that sent the request.
    pub parent_id: u64,
}

impl TraceParent {
    /// A new header for `trace_id`, with a random parent span id.
    pub fn new(trace_id: TraceId) -> TraceParent {
        TraceParent {
            trace_id,
            parent_id: rand::random::<u64>() | 1,
        }
    }

    /// Parses the header value; `None` when it is not a valid version-00 traceparent.
    pub fn parse(value: &str) -> Option<TraceParent> {
        let mut parts = value.trim().split('-');
        let version = parts.next()?;
        let trace = parts.next()?;
        let parent = parts.next()?;
        let flags = parts.next()?;
        if version.len() != 2 || version == "ff" || parent.len() != 16 || flags.len() != 2 {
            return None;
        }
        let trace_id: TraceId = trace.parse().ok()?;
        let parent_id = u64::from_str_radix(parent, 16).ok()?;
        if trace_id.0 == 0 || parent_id == 0 {
            return None;
        }
        Some(TraceParent {
            trace_id,
            parent_id,
        })
    }

    /// The same trace, sent on by the hop with span id `span_id`.
    pub fn child(self, span_id: u64) -> TraceParent {
        TraceParent {
            trace_id: self.trace_id,
            parent_id: span_id | 1,
        }
    }
}

impl fmt::Display for TraceParent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "00-{}-{:016x}-01", self.trace_id, self.parent_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips() {
        let tp = TraceParent::new(TraceId(0x4bf92f3577b34da6a3ce929d0e0e4736));
        let text = tp.to_string();
        assert!(text.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert_eq!(TraceParent::parse(&text), Some(tp));
    }

    #[test]
    fn rejects_invalid_traceparents() {
        for bad in [
            "",
            "garbage",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(bad), None, "{bad}");
        }
    }
}
