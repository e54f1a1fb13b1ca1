//! The spool's text: every string of a journey (names, URLs, attributes, headers, bodies)
//! written in the shortest of a few forms, the same way for every field.
//!
//! - a string seen twice is *interned*: given a number on its second sighting and written as
//!   that number from then on (the table is shared by the whole file and bounded);
//! - a decimal number (`"380"`, `"4.983"`) is written as the number;
//! - a long run of lowercase hex digits (a `traceparent`, an ETag) is written as bytes, and
//!   as nothing at all when it is the journey's own id;
//! - anything else is written as it is.
//!
//! Writer and reader grow the same table in the same order, so the reader needs no table
//! up front and the file can be read while it is still being written.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::io;

use super::wire::{Input, put_bytes, put_varint};

/// Longest string that is interned; longer ones (bodies) are left to the compressor.
const MAX_INTERNED_LEN: usize = 1024;
/// The table stops growing at this many strings…
const MAX_ENTRIES: usize = 1 << 18;
/// …or this much text, so memory stays bounded however long the run.
const MAX_TABLE_BYTES: usize = 16 << 20;
/// Strings seen once are remembered (by hash) up to this many, then forgotten.
const MAX_CANDIDATES: usize = 1 << 16;
/// Shortest hex run written as bytes.
const MIN_HEX_RUN: usize = 16;

// Tags. A tag of `REF` or more is a reference to table entry `tag - REF`.
const NONE: u64 = 0;
const LITERAL: u64 = 1;
const DEFINE: u64 = 2;
const INTEGER: u64 = 3;
const DECIMAL: u64 = 4;
const HEX: u64 = 5;
const REF: u64 = 6;

/// What the middle of a `HEX` string is.
const HEX_IS_ID: u8 = 0;
const HEX_BYTES: u8 = 1;

/// Writes strings, interning the ones that repeat.
#[derive(Default)]
pub struct StringWriter {
    table: HashMap<Box<str>, u64>,
    table_bytes: usize,
    seen_once: HashSet<u64>,
    hasher: RandomState,
}

/// A decimal string that is exactly `digits` or `digits.digits` (no sign, no leading zero),
/// as (mantissa, digits after the point); `None` if it is not one or would not read back
/// the same.
fn as_decimal(s: &str) -> Option<(u64, u32)> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    if int.is_empty() || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) {
        return None;
    }
    let mut mantissa: u64 = int.parse().ok()?;
    let scale = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && digits(f) => {
            let scale = f.len() as u32;
            mantissa = mantissa
                .checked_mul(10u64.pow(scale))?
                .checked_add(f.parse().ok()?)?;
            scale
        }
        Some(_) => return None,
    };
    Some((mantissa, scale))
}

fn decimal_text(mantissa: u64, scale: u32) -> String {
    if scale == 0 {
        return mantissa.to_string();
    }
    let unit = 10u64.pow(scale);
    format!(
        "{}.{:0width$}",
        mantissa / unit,
        mantissa % unit,
        width = scale as usize
    )
}

/// The first run of at least `MIN_HEX_RUN` lowercase hex digits, of even length, as a byte
/// range.
fn hex_run(s: &str) -> Option<(usize, usize)> {
    let bytes = s.as_bytes();
    let is_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    let mut i = 0;
    while i < bytes.len() {
        if !is_hex(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && is_hex(bytes[i]) {
            i += 1;
        }
        let len = (i - start) & !1;
        if len >= MIN_HEX_RUN {
            return Some((start, start + len));
        }
    }
    None
}

fn unhex(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        _ => digit - b'a' + 10,
    }
}

impl StringWriter {
    /// Writes `s` (or its absence) to `out`. `id_hex` is the journey's id as 32 hex digits.
    pub fn put(&mut self, out: &mut Vec<u8>, s: Option<&str>, id_hex: &str) {
        let Some(s) = s else {
            put_varint(out, NONE);
            return;
        };
        if let Some((mantissa, scale)) = as_decimal(s) {
            if scale == 0 {
                put_varint(out, INTEGER);
            } else {
                put_varint(out, DECIMAL);
                put_varint(out, u64::from(scale));
            }
            put_varint(out, mantissa);
            return;
        }
        if s.len() <= MAX_INTERNED_LEN {
            if let Some(&n) = self.table.get(s) {
                put_varint(out, REF + n);
                return;
            }
            let hash = self.hasher.hash_one(s);
            if self.seen_once.contains(&hash) && self.has_room(s) {
                self.seen_once.remove(&hash);
                let n = self.table.len() as u64;
                self.table.insert(s.into(), n);
                self.table_bytes += s.len();
                put_varint(out, DEFINE);
                put_bytes(out, s.as_bytes());
                return;
            }
            if self.seen_once.len() >= MAX_CANDIDATES {
                self.seen_once.clear();
            }
            self.seen_once.insert(hash);
        }
        if let Some((start, end)) = hex_run(s) {
            put_varint(out, HEX);
            self.put(out, Some(&s[..start]), id_hex);
            let run = &s[start..end];
            if run == id_hex {
                out.push(HEX_IS_ID);
            } else {
                out.push(HEX_BYTES);
                let packed: Vec<u8> = run
                    .as_bytes()
                    .chunks_exact(2)
                    .map(|pair| unhex(pair[0]) << 4 | unhex(pair[1]))
                    .collect();
                put_bytes(out, &packed);
            }
            self.put(out, Some(&s[end..]), id_hex);
            return;
        }
        put_varint(out, LITERAL);
        put_bytes(out, s.as_bytes());
    }

    fn has_room(&self, s: &str) -> bool {
        self.table.len() < MAX_ENTRIES && self.table_bytes + s.len() <= MAX_TABLE_BYTES
    }

    /// Strings interned so far.
    #[cfg(test)]
    pub fn interned(&self) -> usize {
        self.table.len()
    }
}

/// Reads strings written by [`StringWriter`], growing the same table.
#[derive(Default)]
pub struct StringReader {
    table: Vec<Box<str>>,
    table_bytes: usize,
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("damaged spool: {what}"))
}

fn utf8(bytes: &[u8]) -> io::Result<&str> {
    std::str::from_utf8(bytes).map_err(|_| bad("text is not UTF-8"))
}

impl StringReader {
    /// Reads one string (or its absence).
    pub fn get(&mut self, input: &mut Input<'_>, id_hex: &str) -> io::Result<Option<String>> {
        let mut out = String::new();
        if self.get_into(input, id_hex, &mut out, 0)? {
            Ok(Some(out))
        } else {
            Ok(None)
        }
    }

    /// Reads a string that must be there.
    pub fn text(&mut self, input: &mut Input<'_>, id_hex: &str) -> io::Result<String> {
        self.get(input, id_hex)?
            .ok_or_else(|| bad("a required text is missing"))
    }

    fn get_into(
        &mut self,
        input: &mut Input<'_>,
        id_hex: &str,
        out: &mut String,
        depth: u32,
    ) -> io::Result<bool> {
        if depth > 64 {
            return Err(bad("text nested too deep"));
        }
        match input.varint()? {
            NONE => return Ok(false),
            LITERAL => out.push_str(utf8(input.bytes()?)?),
            DEFINE => {
                let s = utf8(input.bytes()?)?;
                if self.table.len() >= MAX_ENTRIES || self.table_bytes + s.len() > MAX_TABLE_BYTES {
                    return Err(bad("string table too large"));
                }
                self.table_bytes += s.len();
                self.table.push(s.into());
                out.push_str(s);
            }
            INTEGER => out.push_str(&input.varint()?.to_string()),
            DECIMAL => {
                let scale = input.varint()?;
                if !(1..=9).contains(&scale) {
                    return Err(bad("decimal scale out of range"));
                }
                out.push_str(&decimal_text(input.varint()?, scale as u32));
            }
            HEX => {
                if !self.get_into(input, id_hex, out, depth + 1)? {
                    return Err(bad("hex text without a prefix"));
                }
                match input.byte()? {
                    HEX_IS_ID => out.push_str(id_hex),
                    HEX_BYTES => {
                        for b in input.bytes()? {
                            out.push_str(&format!("{b:02x}"));
                        }
                    }
                    _ => return Err(bad("unknown hex form")),
                }
                if !self.get_into(input, id_hex, out, depth + 1)? {
                    return Err(bad("hex text without a suffix"));
                }
            }
            tag => {
                let entry = usize::try_from(tag - REF)
                    .ok()
                    .and_then(|n| self.table.get(n))
                    .ok_or_else(|| bad("reference to an unknown string"))?;
                out.push_str(entry);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "9e030001a5118ec64f5cf0b38fa0984f";

    fn round_trip(texts: &[Option<&str>]) -> (Vec<Option<String>>, usize) {
        let mut w = StringWriter::default();
        let mut buf = Vec::new();
        for t in texts {
            w.put(&mut buf, *t, ID);
        }
        let mut r = StringReader::default();
        let mut input = Input::new(&buf);
        let back = texts
            .iter()
            .map(|_| r.get(&mut input, ID).expect("reads back"))
            .collect();
        assert!(input.is_empty(), "everything read");
        (back, buf.len())
    }

    #[test]
    fn every_form_reads_back_exactly() {
        let texts = [
            None,
            Some(""),
            Some("0"),
            Some("007"),
            Some("380"),
            Some("18446744073709551615"),
            Some("99999999999999999999"),
            Some("4.983"),
            Some("4.980"),
            Some("0.5"),
            Some("1."),
            Some(".5"),
            Some("-3"),
            Some("1e5"),
            Some("00-9e030001a5118ec64f5cf0b38fa0984f-e48c8f1e2bc617c9-01"),
            Some("\"6f420381b70c1c1f\""),
            Some("ABCDEF0123456789ABCDEF"),
            Some("abcdef0123456789a"),
            Some("Sat, 05 Dec 2026 09:18:49 GMT"),
            Some("Sat, 05 Dec 2026 09:18:49 GMT"),
            Some("Sat, 05 Dec 2026 09:18:49 GMT"),
            Some("héllo wörld"),
        ];
        let (back, _) = round_trip(&texts);
        let want: Vec<Option<String>> = texts.iter().map(|t| t.map(String::from)).collect();
        assert_eq!(back, want);
    }

    #[test]
    fn a_repeated_string_costs_a_byte_or_two() {
        let url = "http://api.example.test:37735/orders?_limit=5";
        let (_, once) = round_trip(&[Some(url), Some(url)]);
        let (_, many) = round_trip(&vec![Some(url); 102]);
        assert!(many - once <= 100 * 2, "{once} then {many}");
    }

    #[test]
    fn the_journeys_own_id_is_not_written_again() {
        let mut w = StringWriter::default();
        let mut buf = Vec::new();
        for parent in ["e48c8f1e2bc617c9", "00125613161d7bf9", "7a0c3e9b5d1f2468"] {
            buf.clear();
            let header = format!("00-{ID}-{parent}-01");
            w.put(&mut buf, Some(&header), ID);
        }
        // The id costs a byte, the parent span id its 8 bytes, the rest a few references.
        assert!(buf.len() <= 16, "{} bytes", buf.len());
    }

    #[test]
    fn damaged_input_is_an_error_not_a_panic() {
        for bytes in [
            &[REF as u8 + 3][..],
            &[LITERAL as u8, 10, b'a'],
            &[LITERAL as u8, 2, 0xff, 0xfe],
            &[DECIMAL as u8, 12, 5],
            &[HEX as u8, NONE as u8],
            &[0xff; 12],
        ] {
            let mut r = StringReader::default();
            assert!(r.get(&mut Input::new(bytes), ID).is_err(), "{bytes:?}");
        }
    }

    #[test]
    fn the_table_stops_growing_at_its_bound() {
        let mut w = StringWriter::default();
        let mut buf = Vec::new();
        for i in 0..(MAX_ENTRIES + 10) {
            let s = format!("name-{i}");
            w.put(&mut buf, Some(&s), ID);
            w.put(&mut buf, Some(&s), ID);
            buf.clear();
        }
        assert_eq!(w.interned(), MAX_ENTRIES);
    }
}
