//! Human-written sizes (`500MiB`, `4GiB`, `2GB`, `64kB`, or a plain number of bytes), used
//! where a scenario bounds something on disk (`trace.spool_limit`).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A number of bytes, written the way people write sizes: `1.5GiB`, `500MB`, `4096`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Why a size could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a size: write a number and a unit, like `500MiB`, `4GiB` or `2GB` (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"
)]
pub struct SizeError {
    /// The text that was given.
    pub text: String,
}

const UNITS: [(&str, u64); 10] = [
    ("B", 1),
    ("kB", 1000),
    ("MB", 1000 * 1000),
    ("GB", 1000 * 1000 * 1000),
    ("TB", 1000 * 1000 * 1000 * 1000),
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1000),
];

impl ByteSize {
    /// `n` gibibytes.
    pub const fn gib(n: u64) -> ByteSize {
        ByteSize(n << 30)
    }

    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = SizeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || SizeError {
            text: text.to_string(),
        };
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let value: f64 = num.parse().map_err(|_| err())?;
        let unit = unit.trim();
        let scale = if unit.is_empty() {
            1
        } else {
            UNITS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(unit) && name.len() == unit.len())
                .map(|(_, scale)| *scale)
                .ok_or_else(err)?
        };
        let bytes = value * scale as f64;
        if !bytes.is_finite() || !(0.0..=u64::MAX as f64).contains(&bytes) {
            return Err(err());
        }
        Ok(ByteSize(bytes.round() as u64))
    }
}

impl fmt::Display for ByteSize {
    /// Exact when it can be (`4GiB`, `500MB`), else to a tenth (`1.3GiB`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (name, scale) in [
            ("TiB", 1u64 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
            ("TB", 1_000_000_000_000),
            ("GB", 1_000_000_000),
            ("MB", 1_000_000),
            ("kB", 1000),
        ] {
            if n >= scale && n.is_multiple_of(scale) {
                return write!(f, "{}{name}", n / scale);
            }
        }
        for (name, scale) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if n >= scale {
                return write!(f, "{:.1}{name}", n as f64 / scale as f64);
            }
        }
        write!(f, "{n}B")
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Written exactly, so a saved scenario reads back the same size.
        if self.to_string().parse::<ByteSize>() == Ok(*self) {
            s.collect_str(self)
        } else {
            s.serialize_u64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like \"4GiB\" or a number of bytes")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v).map(ByteSize).map_err(|_| {
                    E::custom(format!("a size of {v} bytes: a size cannot be negative"))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                v.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_units_people_write() {
        assert_eq!("4GiB".parse(), Ok(ByteSize::gib(4)));
        assert_eq!("4 GiB".parse(), Ok(ByteSize::gib(4)));
        assert_eq!("500MB".parse(), Ok(ByteSize(500_000_000)));
        assert_eq!("64kb".parse(), Ok(ByteSize(64_000)));
        assert_eq!("1.5KiB".parse(), Ok(ByteSize(1536)));
        assert_eq!("4096".parse(), Ok(ByteSize(4096)));
        assert_eq!("0".parse(), Ok(ByteSize(0)));
        for bad in ["", "GiB", "4 parsecs", "-1GiB", "1e30TiB", "4GiBs"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_back_to_the_same_size() {
        for text in ["4GiB", "500MB", "64kB", "1536B", "3KiB", "0B"] {
            let size: ByteSize = text.parse().expect("a size");
            assert_eq!(size.to_string(), text.replace("1536B", "1.5KiB"));
        }
        assert_eq!(ByteSize(1_400_000_000).to_string(), "1400MB");
        assert_eq!(ByteSize(1_234_567_891).to_string(), "1.1GiB");
    }
}
