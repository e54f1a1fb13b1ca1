//! How a request ended (`Outcome`: a status code or a named failure, in classes for the
//! plots), the CDN's cache status of an answer, and which server answered it.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a request ended: exactly one per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// An HTTP response with this status code.
    Status(u16),
    /// The name could not be resolved ("could not resolve host").
    DnsFailure,
    /// Nothing was listening ("connection refused").
    ConnectionRefused,
    /// The peer closed the connection before answering ("connection reset by peer").
    ConnectionReset,
    /// No answer in time ("connection timed out", or the request timed out).
    Timeout,
    /// The TLS handshake failed.
    TlsError,
    /// Still open when the run stopped and its grace was over.
    Cancelled,
}

/// Outcomes grouped as the plots and the palette group them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeClass {
    Success,
    Redirect,
    ClientError,
    ServerError,
    Failure,
}

impl OutcomeClass {
    /// Every class, in display order.
    pub const ALL: [OutcomeClass; 5] = [
        OutcomeClass::Success,
        OutcomeClass::Redirect,
        OutcomeClass::ClientError,
        OutcomeClass::ServerError,
        OutcomeClass::Failure,
    ];

    /// Short label: `2xx`, `3xx`, `4xx`, `5xx`, `failed`.
    pub fn label(self) -> &'static str {
        match self {
            OutcomeClass::Success => "2xx",
            OutcomeClass::Redirect => "3xx",
            OutcomeClass::ClientError => "4xx",
            OutcomeClass::ServerError => "5xx",
            OutcomeClass::Failure => "failed",
        }
    }

    /// Position in `ALL`.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Outcome {
    /// The class used for colour and plots.
    pub fn class(self) -> OutcomeClass {
        match self {
            Outcome::Status(s) if s < 300 => OutcomeClass::Success,
            Outcome::Status(s) if s < 400 => OutcomeClass::Redirect,
            Outcome::Status(s) if s < 500 => OutcomeClass::ClientError,
            Outcome::Status(_) => OutcomeClass::ServerError,
            _ => OutcomeClass::Failure,
        }
    }

    /// The status code, when there is one.
    pub fn status(self) -> Option<u16> {
        match self {
            Outcome::Status(s) => Some(s),
            _ => None,
        }
    }

    /// What a user would see, as curl words it.
    pub fn describe(self) -> String {
        match self {
            Outcome::Status(s) => format!("HTTP {s}"),
            Outcome::DnsFailure => "could not resolve host".into(),
            Outcome::ConnectionRefused => "connection refused".into(),
            Outcome::ConnectionReset => "connection reset by peer".into(),
            Outcome::Timeout => "timed out".into(),
            Outcome::TlsError => "TLS handshake failed".into(),
            Outcome::Cancelled => "cancelled when the run stopped".into(),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Status(s) => write!(f, "{s}"),
            Outcome::DnsFailure => f.write_str("dns_failure"),
            Outcome::ConnectionRefused => f.write_str("connection_refused"),
            Outcome::ConnectionReset => f.write_str("connection_reset"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::TlsError => f.write_str("tls_error"),
            Outcome::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl FromStr for Outcome {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "dns_failure" => Outcome::DnsFailure,
            "connection_refused" => Outcome::ConnectionRefused,
            "connection_reset" => Outcome::ConnectionReset,
            "timeout" => Outcome::Timeout,
            "tls_error" => Outcome::TlsError,
            "cancelled" => Outcome::Cancelled,
            // Exactly three digits, as the schema's pattern says (`+200` and `0200` are not).
            _ => match s.parse::<u16>() {
                Ok(code)
                    if s.len() == 3
                        && s.bytes().all(|b| b.is_ascii_digit())
                        && (100..600).contains(&code) =>
                {
                    Outcome::Status(code)
                }
                _ => return Err(format!("unknown outcome `{s}`")),
            },
        })
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Outcome {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What the CDN did with a request (`X-Cache`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CacheStatus {
    /// Answered from the cache.
    Hit,
    /// Not in the cache: fetched from the origin.
    Miss,
    /// In the cache but too old, and the origin sent a new copy.
    Expired,
    /// Too old, but the origin said it had not changed (304).
    Revalidated,
    /// Not cacheable (a write, or `no-store`): passed straight through.
    Bypass,
}

impl CacheStatus {
    /// The `X-Cache` header value.
    pub fn as_str(self) -> &'static str {
        match self {
            CacheStatus::Hit => "HIT",
            CacheStatus::Miss => "MISS",
            CacheStatus::Expired => "EXPIRED",
            CacheStatus::Revalidated => "REVALIDATED",
            CacheStatus::Bypass => "BYPASS",
        }
    }

    /// Parses an `X-Cache` header value.
    pub fn parse(value: &str) -> Option<CacheStatus> {
        Some(match value {
            "HIT" => CacheStatus::Hit,
            "MISS" => CacheStatus::Miss,
            "EXPIRED" => CacheStatus::Expired,
            "REVALIDATED" => CacheStatus::Revalidated,
            "BYPASS" => CacheStatus::Bypass,
            _ => return None,
        })
    }

    /// Whether the answer came from the cache without the origin sending a body.
    pub fn is_hit(self) -> bool {
        matches!(self, CacheStatus::Hit | CacheStatus::Revalidated)
    }
}

/// The server that answered a request itself, from its answer's `X-Served-By` and
/// `X-Cache`: none for a cache HIT, whose answer is the CDN's copy (it still carries the
/// `X-Served-By` of the server that made it). A MISS, EXPIRED, REVALIDATED (the server
/// answered the conditional request) or BYPASS reached that server. Per-server load (the
/// summary's `served`, the load plot) counts this, never the header alone.
pub fn answered_by(served_by: Option<&str>, cache: Option<CacheStatus>) -> Option<&str> {
    match cache {
        Some(CacheStatus::Hit) => None,
        _ => served_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_classes_follow_status_ranges() {
        assert_eq!(Outcome::Status(204).class(), OutcomeClass::Success);
        assert_eq!(Outcome::Status(308).class(), OutcomeClass::Redirect);
        assert_eq!(Outcome::Status(404).class(), OutcomeClass::ClientError);
        assert_eq!(Outcome::Status(503).class(), OutcomeClass::ServerError);
        assert_eq!(Outcome::Timeout.class(), OutcomeClass::Failure);
    }
}
