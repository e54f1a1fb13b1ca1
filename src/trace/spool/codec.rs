//! One journey as a compact binary record: times as differences (a span's start from the
//! previous span's, its end from its start), every text through [`StringWriter`] (so names,
//! URLs, SQL, attribute keys and header names cost a byte or two once seen), and the
//! components, phases, outcomes and cache results by their trace names, so that a name
//! added later needs no change here. Records are read back exactly as they were written.

use std::fmt::Write as _;
use std::io;

use serde::Deserialize;
use serde::de::value::{Error as ValueError, StrDeserializer};

use super::strings::{StringReader, StringWriter};
use super::wire::{Input, diff, put_signed, put_varint};
use crate::trace::{
    Attr, CacheStatus, Component, Exchange, Journey, Outcome, Phase, Span, TraceId,
};

const EXTERNAL: u64 = 1;
const REUSED: u64 = 2;
const EXCHANGE: u64 = 4;

/// Outcome forms: none, a status code (`STATUS + code`), or another outcome by name.
const OUTCOME_NONE: u64 = 0;
const OUTCOME_NAMED: u64 = 1;
const OUTCOME_STATUS: u64 = 2;

/// Writes journeys as records.
#[derive(Default)]
pub struct Encoder {
    strings: StringWriter,
    prev_start: u64,
    id_hex: String,
    name: String,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("damaged spool: {what}"))
}

impl Encoder {
    /// Appends `j` to `out`.
    pub fn journey(&mut self, out: &mut Vec<u8>, j: &Journey) {
        self.id_hex.clear();
        let _ = write!(self.id_hex, "{}", j.id);
        out.extend_from_slice(&j.id.0.to_le_bytes());
        put_signed(out, diff(self.prev_start, j.start_micros));
        self.prev_start = j.start_micros;
        match j.end_micros {
            None => put_varint(out, 0),
            Some(end) => {
                put_varint(out, 1);
                put_signed(out, diff(j.start_micros, end));
            }
        }
        let id = std::mem::take(&mut self.id_hex);
        let text =
            |this: &mut Encoder, out: &mut Vec<u8>, s: Option<&str>| this.strings.put(out, s, &id);
        text(self, out, Some(&j.profile));
        text(self, out, Some(&j.client));
        text(self, out, Some(&j.method));
        text(self, out, Some(&j.url));
        let flags = (u64::from(j.external) * EXTERNAL)
            | (u64::from(j.reused) * REUSED)
            | (u64::from(j.exchange.is_some()) * EXCHANGE);
        put_varint(out, flags);
        match j.outcome {
            None => put_varint(out, OUTCOME_NONE),
            Some(Outcome::Status(code)) => put_varint(out, OUTCOME_STATUS + u64::from(code)),
            Some(other) => {
                put_varint(out, OUTCOME_NAMED);
                self.name.clear();
                let _ = write!(self.name, "{other}");
                let name = std::mem::take(&mut self.name);
                text(self, out, Some(&name));
                self.name = name;
            }
        }
        text(self, out, j.cache.map(CacheStatus::as_str));
        text(self, out, j.served_by.as_deref());
        put_varint(out, j.bytes);
        put_varint(out, j.arrivals.len() as u64);
        let mut at = j.start_micros;
        for &(component, t) in &j.arrivals {
            self.component(out, component, &id);
            put_signed(out, diff(at, t));
            at = t;
        }
        put_varint(out, j.spans.len() as u64);
        let mut at = j.start_micros;
        for span in &j.spans {
            self.component(out, span.component, &id);
            self.strings.put(out, Some(span.phase.name()), &id);
            put_signed(out, diff(at, span.start_micros));
            put_signed(out, diff(span.start_micros, span.end_micros));
            at = span.start_micros;
            put_varint(out, span.attrs.len() as u64);
            for a in &span.attrs {
                self.strings.put(out, Some(&a.key), &id);
                self.strings.put(out, Some(&a.value), &id);
            }
        }
        if let Some(x) = &j.exchange {
            for (headers, body) in [
                (&x.request_headers, &x.request_body),
                (&x.response_headers, &x.response_body),
            ] {
                put_varint(out, headers.len() as u64);
                for (name, value) in headers {
                    self.strings.put(out, Some(name), &id);
                    self.strings.put(out, Some(value), &id);
                }
                self.strings.put(out, Some(body), &id);
            }
        }
        self.id_hex = id;
    }

    fn component(&mut self, out: &mut Vec<u8>, c: Component, id: &str) {
        self.name.clear();
        let _ = write!(self.name, "{c}");
        let name = std::mem::take(&mut self.name);
        self.strings.put(out, Some(&name), id);
        self.name = name;
    }
}

/// Reads records written by [`Encoder`], in the order they were written.
#[derive(Default)]
pub struct Decoder {
    strings: StringReader,
    prev_start: u64,
}

fn named<'de, T: Deserialize<'de>>(text: &'de str, what: &str) -> io::Result<T> {
    T::deserialize(StrDeserializer::<ValueError>::new(text))
        .map_err(|_| bad(&format!("unknown {what} `{text}`")))
}

impl Decoder {
    /// Reads one journey.
    pub fn journey(&mut self, input: &mut Input<'_>) -> io::Result<Journey> {
        let raw: [u8; 16] = input.take(16)?.try_into().map_err(|_| bad("a short id"))?;
        let id = TraceId(u128::from_le_bytes(raw));
        let hex = id.to_string();
        let start_micros = input.after(self.prev_start)?;
        self.prev_start = start_micros;
        let end_micros = match input.varint()? {
            0 => None,
            1 => Some(input.after(start_micros)?),
            _ => return Err(bad("an unknown end form")),
        };
        let profile = self.strings.text(input, &hex)?;
        let client = self.strings.text(input, &hex)?;
        let method = self.strings.text(input, &hex)?;
        let url = self.strings.text(input, &hex)?;
        let flags = input.varint()?;
        let outcome = match input.varint()? {
            OUTCOME_NONE => None,
            OUTCOME_NAMED => {
                let name = self.strings.text(input, &hex)?;
                Some(name.parse::<Outcome>().map_err(|e| bad(&e))?)
            }
            code => Some(Outcome::Status(
                u16::try_from(code - OUTCOME_STATUS).map_err(|_| bad("a status out of range"))?,
            )),
        };
        let cache = match self.strings.get(input, &hex)? {
            Some(s) => Some(CacheStatus::parse(&s).ok_or_else(|| bad("an unknown cache result"))?),
            None => None,
        };
        let served_by = self.strings.get(input, &hex)?;
        let bytes = input.varint()?;
        let n = input.count()?;
        let mut arrivals = Vec::with_capacity(n);
        let mut at = start_micros;
        for _ in 0..n {
            let component = self.component(input, &hex)?;
            at = input.after(at)?;
            arrivals.push((component, at));
        }
        let n = input.count()?;
        let mut spans = Vec::with_capacity(n);
        let mut at = start_micros;
        for _ in 0..n {
            let component = self.component(input, &hex)?;
            let phase_name = self.strings.text(input, &hex)?;
            let phase: Phase = named(&phase_name, "phase")?;
            let start = input.after(at)?;
            let end = input.after(start)?;
            at = start;
            let k = input.count()?;
            let mut attrs = Vec::with_capacity(k);
            for _ in 0..k {
                let key = self.strings.text(input, &hex)?;
                let value = self.strings.text(input, &hex)?;
                attrs.push(Attr {
                    key: key.into(),
                    value,
                });
            }
            spans.push(Span {
                id,
                component,
                phase,
                start_micros: start,
                end_micros: end,
                attrs,
            });
        }
        let exchange = if flags & EXCHANGE != 0 {
            let mut x = Exchange {
                id,
                ..Exchange::default()
            };
            for (headers, body) in [
                (&mut x.request_headers, &mut x.request_body),
                (&mut x.response_headers, &mut x.response_body),
            ] {
                let k = input.count()?;
                headers.reserve(k);
                for _ in 0..k {
                    let name = self.strings.text(input, &hex)?;
                    let value = self.strings.text(input, &hex)?;
                    headers.push((name, value));
                }
                *body = self.strings.text(input, &hex)?;
            }
            Some(Box::new(x))
        } else {
            None
        };
        Ok(Journey {
            id,
            profile,
            client,
            method,
            url,
            external: flags & EXTERNAL != 0,
            start_micros,
            end_micros,
            outcome,
            cache,
            served_by,
            bytes,
            reused: flags & REUSED != 0,
            spans,
            arrivals,
            exchange,
        })
    }

    fn component(&mut self, input: &mut Input<'_>, hex: &str) -> io::Result<Component> {
        let name = self.strings.text(input, hex)?;
        name.parse().map_err(|e: String| bad(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample(n: u64) -> Journey {
        let id = TraceId(0x9e03_0001_a511_8ec6_4f5c_f0b3_8fa0_9840 + u128::from(n));
        let start = 105_279 + n * 1000;
        let span = |component, phase, s: u64, e: u64, attrs: Vec<Attr>| Span {
            id,
            component,
            phase,
            start_micros: start + s,
            end_micros: start + e,
            attrs,
        };
        Journey {
            id,
            profile: "browser".into(),
            client: format!("browser-{}", n % 4),
            method: "GET".into(),
            url: format!("http://api.example.test:37735/users/{}", n % 7),
            external: n.is_multiple_of(5),
            start_micros: start,
            end_micros: Some(start + 24_107),
            outcome: Some(match n % 4 {
                0 => Outcome::Status(200),
                1 => Outcome::Timeout,
                2 => Outcome::Status(503),
                _ => Outcome::ConnectionRefused,
            }),
            cache: [
                Some(CacheStatus::Miss),
                None,
                Some(CacheStatus::Revalidated),
            ][(n % 3) as usize],
            served_by: n.is_multiple_of(2).then(|| "server-2".into()),
            bytes: 380 + n,
            reused: n.is_multiple_of(3),
            spans: vec![
                span(
                    Component::Client,
                    Phase::Dns,
                    17,
                    2380,
                    vec![
                        Attr::new("name", "api.example.test"),
                        Attr::new("ttl", "30"),
                    ],
                ),
                span(
                    Component::Client,
                    Phase::Connect,
                    2380,
                    7373,
                    vec![Attr::new("tcp_ms", "4.983")],
                ),
                span(Component::Server(12), Phase::Queue, 14_417, 14_423, vec![]),
                // A span that ends before it starts still comes back as it was.
                span(Component::Db, Phase::Db, 16_607, 16_600, vec![]),
            ],
            arrivals: vec![(Component::Dns, start + 17), (Component::Cdn, start + 7405)],
            exchange: (n % 2 == 1).then(|| {
                Box::new(Exchange {
                    id,
                    request_headers: vec![
                        ("host".into(), "api.example.test:37735".into()),
                        ("traceparent".into(), format!("00-{id}-00125613161d7bf9-01")),
                    ],
                    request_body: String::new(),
                    response_headers: vec![("etag".into(), "\"6f420381b70c1c1f\"".into())],
                    response_body: "{\"id\":2,\"name\":\"Omar Varga\"}".into(),
                })
            }),
        }
    }

    #[test]
    fn journeys_read_back_exactly_and_repeats_get_cheap() {
        let journeys: Vec<Journey> = (0..40).map(sample).collect();
        let mut enc = Encoder::default();
        let mut buf = Vec::new();
        let mut sizes = Vec::new();
        for j in &journeys {
            let before = buf.len();
            enc.journey(&mut buf, j);
            sizes.push(buf.len() - before);
        }
        let mut dec = Decoder::default();
        let mut input = Input::new(&buf);
        for j in &journeys {
            assert_eq!(&dec.journey(&mut input).expect("decodes"), j);
        }
        assert!(input.is_empty());
        assert!(
            sizes[39] * 2 < sizes[1],
            "a later journey costs far less than an early one: {sizes:?}"
        );
    }

    #[test]
    fn damaged_records_are_errors() {
        let mut enc = Encoder::default();
        let mut buf = Vec::new();
        enc.journey(&mut buf, &sample(1));
        for cut in [0, 5, 16, buf.len() / 2, buf.len() - 1] {
            let mut dec = Decoder::default();
            assert!(dec.journey(&mut Input::new(&buf[..cut])).is_err(), "{cut}");
        }
        let mut flipped = buf.clone();
        flipped[20] ^= 0x55;
        // Either an error or a different journey; never a panic.
        let _ = Decoder::default().journey(&mut Input::new(&flipped));
    }
}
