//! Human-written durations (`500ms`, `10s`, `2m`, `250us`, `1.5s`) used everywhere a time
//! is configured: scenario files, the CLI and control commands.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A duration written the way people write them: a number followed by `us`, `ms`, `s`, `m` or `h`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub Duration);

/// Why a duration could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a duration: write a number and a unit, like `500ms`, `10s` or `2m`")]
pub struct DurError {
    /// The text that was given.
    pub text: String,
}

impl Dur {
    /// No time at all.
    pub const ZERO: Dur = Dur(Duration::ZERO);

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Dur {
        Dur(Duration::from_millis(millis))
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Dur {
        Dur(Duration::from_secs(secs))
    }

    /// The standard library value.
    pub fn get(self) -> Duration {
        self.0
    }

    /// Whole milliseconds, as a float (for display and maths).
    pub fn as_millis_f64(self) -> f64 {
        self.0.as_secs_f64() * 1000.0
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl From<Duration> for Dur {
    fn from(d: Duration) -> Self {
        Dur(d)
    }
}

impl FromStr for Dur {
    type Err = DurError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || DurError {
            text: text.to_string(),
        };
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(err)?;
        let (num, unit) = t.split_at(split);
        let value: f64 = num.parse().map_err(|_| err())?;
        let unit_secs = match unit.trim() {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(err()),
        };
        let secs = value * unit_secs;
        if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
            return Err(err());
        }
        // Kept to the microsecond, the smallest unit there is to write: a finer value
        // would be shown (in commands, markers, saved scenarios) as something else.
        Ok(Dur(Duration::from_micros((secs * 1e6).round() as u64)))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0.as_micros();
        if micros == 0 {
            write!(f, "0ms")
        } else if micros.is_multiple_of(60_000_000) {
            write!(f, "{}m", micros / 60_000_000)
        } else if micros.is_multiple_of(1_000_000) {
            write!(f, "{}s", micros / 1_000_000)
        } else if micros.is_multiple_of(1000) {
            write!(f, "{}ms", micros / 1000)
        } else if micros > 1000 {
            write!(f, "{}ms", micros as f64 / 1000.0)
        } else {
            write!(f, "{micros}us")
        }
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_units_people_write() {
        assert_eq!("500ms".parse::<Dur>(), Ok(Dur::from_millis(500)));
        assert_eq!("10s".parse::<Dur>(), Ok(Dur::from_secs(10)));
        assert_eq!("2m".parse::<Dur>(), Ok(Dur::from_secs(120)));
        assert_eq!("250us".parse::<Dur>(), Ok(Dur(Duration::from_micros(250))));
        assert_eq!("1.5s".parse::<Dur>(), Ok(Dur::from_millis(1500)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in ["", "10", "ms", "10 parsecs", "-5s", "1e400s"] {
            assert!(bad.parse::<Dur>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn finer_than_a_microsecond_rounds_and_displays_as_what_it_is() {
        // Found by fuzzing: `slow server-1 1.8888888s` printed as `1888.888ms`, which
        // reads back as a different duration.
        let d: Dur = "1.8888888s".parse().expect("a duration");
        assert_eq!(d, Dur(Duration::from_micros(1_888_889)));
        for text in [
            "1.8888888s",
            "0.0000004s",
            "2.5us",
            "123456.7891234ms",
            "999999999.9999999s",
        ] {
            let d: Dur = text.parse().expect("a duration");
            assert_eq!(d.to_string().parse::<Dur>(), Ok(d), "{text} shown as {d}");
        }
    }

    #[test]
    fn displays_back_in_the_same_form() {
        for text in ["500ms", "10s", "2m", "250us", "1.5ms"] {
            assert_eq!(
                text.parse::<Dur>().map(|d| d.to_string()),
                Ok(text.to_string())
            );
        }
    }
}
