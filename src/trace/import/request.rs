//! One request of a JSON trace, read field by field as `docs/trace.schema.json` describes it:
//! every required field present, no field the schema does not know, each of its type and
//! range, and the derived fields (`status`, `latency_micros`) agreeing with the fields they
//! derive from. A problem is a message naming the field and what is wrong, never quoting
//! more than a few dozen characters of the file; the caller adds the file and the request.

use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde_json::{Map, Value};

use crate::trace::export::{ArrivalIn, ExchangeIn, RequestIn, SpanIn};
use crate::trace::{Outcome, TraceId};

/// One request as read from the file: its lists of spans and arrivals and its exchange
/// parsed as they stream past (in their order, attributes included), every other field kept
/// as a JSON value to be checked by [`read`].
#[derive(Default)]
pub(super) struct Raw {
    fields: Map<String, Value>,
    arrivals: Option<Vec<ArrivalIn>>,
    spans: Option<Vec<SpanIn>>,
    exchange: Option<Option<ExchangeIn>>,
}

/// Reads a [`Raw`] request; sets `field` to the key being read, for error paths.
pub(super) struct RawSeed<'a>(pub &'a std::cell::RefCell<Option<String>>);

impl<'de> DeserializeSeed<'de> for RawSeed<'_> {
    type Value = Raw;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RawSeed<'_> {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a request (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut raw = Raw::default();
        while let Some(key) = map.next_key::<String>()? {
            *self.0.borrow_mut() = Some(clip(&key, 40));
            let again = match key.as_str() {
                "arrivals" => raw.arrivals.replace(map.next_value()?).is_some(),
                "spans" => raw.spans.replace(map.next_value()?).is_some(),
                "exchange" => raw.exchange.replace(map.next_value()?).is_some(),
                _ => {
                    let value = map.next_value::<Value>()?;
                    raw.fields.insert(key.clone(), value).is_some()
                }
            };
            if again {
                return Err(serde::de::Error::custom(format!(
                    "`{}` appears twice",
                    clip(&key, 40)
                )));
            }
        }
        *self.0.borrow_mut() = None;
        Ok(raw)
    }
}

/// The fields every request has, in the order the exporter writes them.
pub const REQUIRED: [&str; 17] = [
    "id",
    "profile",
    "client",
    "method",
    "url",
    "external",
    "start_micros",
    "end_micros",
    "latency_micros",
    "outcome",
    "status",
    "cache",
    "served_by",
    "bytes",
    "reused",
    "arrivals",
    "spans",
];

/// The one field a request may leave out (headers and bodies, when they were captured).
const OPTIONAL: &str = "exchange";

/// The lowest and highest HTTP status code.
pub const STATUS_RANGE: std::ops::RangeInclusive<u64> = 100..=599;

/// `text`, cut to `max_chars` characters (with an ellipsis when cut).
pub(super) fn clip(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// A JSON value as a message quotes it.
fn shown(v: &Value) -> String {
    clip(&v.to_string(), 40)
}

/// The id a request claims, for messages, before it is checked.
pub(super) fn claimed_id(raw: &Raw) -> Option<String> {
    raw.fields
        .get("id")
        .and_then(Value::as_str)
        .map(|s| clip(s, 32))
}

/// The fields of one request, taken out one at a time.
struct Fields(Map<String, Value>);

impl Fields {
    fn take(&mut self, name: &str) -> Value {
        self.0.remove(name).unwrap_or(Value::Null)
    }

    fn string(&mut self, name: &str) -> Result<String, String> {
        match self.take(name) {
            Value::String(s) => Ok(s),
            v => Err(format!("`{name}` must be a string, not {}", shown(&v))),
        }
    }

    fn optional_string(&mut self, name: &str) -> Result<Option<String>, String> {
        match self.take(name) {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            v => Err(format!(
                "`{name}` must be a string or null, not {}",
                shown(&v)
            )),
        }
    }

    fn boolean(&mut self, name: &str) -> Result<bool, String> {
        match self.take(name) {
            Value::Bool(b) => Ok(b),
            v => Err(format!("`{name}` must be true or false, not {}", shown(&v))),
        }
    }

    fn count(&mut self, name: &str, unit: &str) -> Result<u64, String> {
        let v = self.take(name);
        v.as_u64().ok_or_else(|| {
            format!(
                "`{name}` must be a whole number of {unit}, 0 or more, not {}",
                shown(&v)
            )
        })
    }

    fn optional_count(&mut self, name: &str, unit: &str) -> Result<Option<u64>, String> {
        let v = self.take(name);
        if v.is_null() {
            return Ok(None);
        }
        v.as_u64().map(Some).ok_or_else(|| {
            format!(
                "`{name}` must be a whole number of {unit}, 0 or more, or null, not {}",
                shown(&v)
            )
        })
    }

    fn parsed<T: DeserializeOwned>(&mut self, name: &str) -> Result<T, String> {
        serde_json::from_value(self.take(name))
            .map_err(|e| format!("`{name}`: {}", clip(&e.to_string(), 160)))
    }
}

/// Checks one request: each field present, known and of its type.
pub(super) fn read(raw: Raw) -> Result<RequestIn, String> {
    let Raw {
        fields: map,
        arrivals,
        spans,
        exchange,
    } = raw;
    if let Some(extra) = map
        .keys()
        .find(|k| *k != OPTIONAL && !REQUIRED.contains(&k.as_str()))
    {
        return Err(format!(
            "unknown field `{}`: a request has {} and, optionally, {OPTIONAL}",
            clip(extra, 40),
            REQUIRED.join(", ")
        ));
    }
    let missing: Vec<String> = REQUIRED
        .iter()
        .filter(|k| match **k {
            "arrivals" => arrivals.is_none(),
            "spans" => spans.is_none(),
            k => !map.contains_key(k),
        })
        .map(|k| format!("`{k}`"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "missing {} (every request has all of {})",
            missing.join(", "),
            REQUIRED.join(", ")
        ));
    }
    let mut f = Fields(map);
    let status = match f.take("status") {
        Value::Null => None,
        v => match v.as_u64().filter(|s| STATUS_RANGE.contains(s)) {
            Some(s) => Some(s),
            None => {
                return Err(format!(
                    "`status` {} is not an HTTP status: write a whole number from 100 to 599, or null",
                    shown(&v)
                ));
            }
        },
    };
    Ok(RequestIn {
        id: f.parsed::<TraceId>("id")?,
        profile: f.string("profile")?,
        client: f.string("client")?,
        method: f.string("method")?,
        url: f.string("url")?,
        external: f.boolean("external")?,
        start_micros: f.count("start_micros", "microseconds")?,
        end_micros: f.optional_count("end_micros", "microseconds")?,
        latency_micros: f.optional_count("latency_micros", "microseconds")?,
        outcome: f.parsed("outcome")?,
        status,
        cache: f.parsed("cache")?,
        served_by: f.optional_string("served_by")?,
        bytes: f.count("bytes", "bytes")?,
        reused: f.boolean("reused")?,
        arrivals: arrivals.unwrap_or_default(),
        spans: spans.unwrap_or_default(),
        exchange: exchange.flatten(),
    })
}

/// The derived fields agree with what they derive from: `status` is the outcome's HTTP
/// status (null for a failure without an answer), `latency_micros` is null exactly when the
/// request has not ended and never longer than from start to end.
pub(super) fn check_derived(r: &RequestIn) -> Result<(), String> {
    let expected = r.outcome.and_then(Outcome::status).map(u64::from);
    if r.status != expected {
        let show = |s: Option<u64>| s.map_or("null".to_string(), |s| s.to_string());
        let outcome = r.outcome.map_or("null".to_string(), |o| format!("\"{o}\""));
        return Err(format!(
            "`status` is {} but `outcome` is {outcome}: the status must be {}",
            show(r.status),
            show(expected)
        ));
    }
    match (r.end_micros, r.latency_micros) {
        (None, None) => Ok(()),
        (None, Some(l)) => Err(format!(
            "`latency_micros` is {l} but the request has not ended (`end_micros` is null)"
        )),
        (Some(_), None) => {
            Err("`latency_micros` is null but the request has ended (`end_micros` is set)".into())
        }
        (Some(end), Some(l)) => {
            let span = end.saturating_sub(r.start_micros);
            if l > span {
                Err(format!(
                    "`latency_micros` is {l}, longer than the request took from start to end ({span} µs)"
                ))
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Raw {
        let text = r#"{"id":"0000000000000000000000000000002a","profile":"p","client":"c","method":"GET",
            "url":"/","external":false,"start_micros":5,"end_micros":9,"latency_micros":4,
            "outcome":"200","status":200,"cache":null,"served_by":null,"bytes":0,"reused":false,
            "arrivals":[],"spans":[{"component":"client","phase":"wait","start_micros":5,"end_micros":9,"attrs":{"z":"1","a":"2"}}]}"#;
        let field = std::cell::RefCell::new(None);
        RawSeed(&field)
            .deserialize(&mut serde_json::Deserializer::from_str(text))
            .expect("json")
    }

    fn with(key: &str, value: Value) -> Result<RequestIn, String> {
        let mut raw = request();
        raw.fields.insert(key.to_string(), value);
        read(raw).and_then(|r| check_derived(&r).map(|()| r))
    }

    #[test]
    fn a_complete_request_reads() {
        let r = read(request()).expect("valid");
        check_derived(&r).expect("consistent");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.latency_micros, Some(4));
        let keys: Vec<&str> = r.spans[0].attrs.0.iter().map(|a| a.key.as_ref()).collect();
        assert_eq!(keys, ["z", "a"], "attributes keep their order");
    }

    #[test]
    fn a_status_out_of_range_is_refused() {
        for bad in [
            serde_json::json!(99999),
            serde_json::json!(99),
            serde_json::json!(600),
            serde_json::json!(-200),
            serde_json::json!(200.5),
            serde_json::json!("200"),
        ] {
            let e = with("status", bad.clone()).expect_err("out of range");
            assert!(
                e.contains("`status`") && e.contains("100 to 599"),
                "{bad}: {e}"
            );
        }
        let e = with("status", serde_json::json!(404)).expect_err("disagrees");
        assert!(e.contains("`outcome` is \"200\""), "{e}");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let e = with("latency_micros", "fast".into()).expect_err("a string");
        assert!(
            e.contains("`latency_micros`") && e.contains("\"fast\""),
            "{e}"
        );
        let e = with("latency_micros", serde_json::json!(-3)).expect_err("negative");
        assert!(
            e.contains("`latency_micros`") && e.contains("0 or more"),
            "{e}"
        );
        let e = with("latency_micros", serde_json::json!(1_000_000)).expect_err("too long");
        assert!(e.contains("longer than the request took"), "{e}");
        let e = with("external", "yes".into()).expect_err("not a bool");
        assert!(e.contains("`external` must be true or false"), "{e}");
        let e = with("cache", "WARM".into()).expect_err("not a cache status");
        assert!(e.starts_with("`cache`:") && e.contains("WARM"), "{e}");
        let huge = "x".repeat(100_000);
        let e = with("id", huge.into()).expect_err("not an id");
        assert!(
            e.len() < 400,
            "quotes at most a little of the file: {} bytes",
            e.len()
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_refused() {
        let mut raw = request();
        raw.fields.remove("status");
        raw.fields.remove("reused");
        let e = read(raw).expect_err("missing");
        assert!(e.starts_with("missing `status`, `reused`"), "{e}");
        let e = with("colour", "red".into()).expect_err("unknown");
        assert!(e.starts_with("unknown field `colour`"), "{e}");
    }
}
