//! The HTTP caching rules a shared cache follows (RFC 9111, simplified): reading
//! `Cache-Control`, deciding whether a response may be stored, and for how long it stays
//! fresh. Pure functions over headers; `store.rs` keeps what these rules allow.

use std::fmt;
use std::time::Duration;

use hyper::Method;
use hyper::header::{self, HeaderMap};

/// Response statuses this cache stores when the response allows it.
pub const STORABLE_STATUSES: [u16; 6] = [200, 203, 204, 301, 404, 410];

pub(super) const MICROS_PER_SEC: u64 = 1_000_000;
/// RFC 9111 §1.2.2: a delta-seconds value too large to represent counts as 2^31.
pub(super) const DELTA_SECS_MAX: u64 = 1 << 31;

/// The `Cache-Control` directives this cache acts on, gathered from every `Cache-Control`
/// field of a request or a response. The first value of a repeated directive wins. On a
/// request, `no-cache` (as `curl -H 'Cache-Control: no-cache'` sends) is the proxy's cue to
/// revalidate even a fresh entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheControl {
    /// `no-store`: keep no copy at all.
    pub no_store: bool,
    /// `no-cache`: a copy may be kept, but must be revalidated before every use.
    pub no_cache: bool,
    /// `private`: for one user's cache only, never a shared one like the CDN.
    pub private: bool,
    /// `public`: storable even when the request carried `Authorization`.
    pub public: bool,
    /// `must-revalidate` or `proxy-revalidate`.
    pub must_revalidate: bool,
    /// `max-age=N`: fresh for N seconds.
    pub max_age_secs: Option<u64>,
    /// `s-maxage=N`: fresh for N seconds in shared caches; wins over `max-age`.
    pub s_maxage_secs: Option<u64>,
}

impl CacheControl {
    /// Reads every `Cache-Control` field in `headers`; values that are not text are skipped.
    pub fn from_headers(headers: &HeaderMap) -> CacheControl {
        let mut cc = CacheControl::default();
        for value in headers.get_all(header::CACHE_CONTROL) {
            if let Ok(text) = value.to_str() {
                cc.add(text);
            }
        }
        cc
    }

    /// Reads one field value such as `public, max-age=60`.
    pub fn parse(text: &str) -> CacheControl {
        let mut cc = CacheControl::default();
        cc.add(text);
        cc
    }

    fn add(&mut self, text: &str) {
        for directive in text.split(',') {
            let (name, arg) = match directive.split_once('=') {
                Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
                None => (directive.trim(), None),
            };
            let is = |wanted: &str| name.eq_ignore_ascii_case(wanted);
            if is("no-store") {
                self.no_store = true;
            } else if is("no-cache") {
                self.no_cache = true;
            } else if is("private") {
                self.private = true;
            } else if is("public") {
                self.public = true;
            } else if is("must-revalidate") || is("proxy-revalidate") {
                self.must_revalidate = true;
            } else if is("max-age") && self.max_age_secs.is_none() {
                self.max_age_secs = arg.and_then(delta_secs);
            } else if is("s-maxage") && self.s_maxage_secs.is_none() {
                self.s_maxage_secs = arg.and_then(delta_secs);
            }
        }
    }
}

/// Non-negative whole seconds; anything else is unreadable and ignored.
fn delta_secs(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        text.parse::<u64>()
            .map_or(DELTA_SECS_MAX, |n| n.min(DELTA_SECS_MAX)),
    )
}

/// The origin's `Age` in seconds (0 when absent or unreadable).
pub(super) fn origin_age_secs(headers: &HeaderMap) -> u64 {
    headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| delta_secs(v.trim()))
        .unwrap_or(0)
}

/// How long a response with these directives stays fresh from now: its lifetime (the
/// override, else `s-maxage`, else `max-age`) less the age it already had. `no-cache` makes it
/// stale at once (0, even without a lifetime); `None` when there is no lifetime at all.
pub(super) fn fresh_for_micros(
    cc: &CacheControl,
    age_secs: u64,
    ttl_override: Option<Duration>,
) -> Option<u64> {
    if cc.no_cache {
        return Some(0);
    }
    let lifetime = match ttl_override {
        Some(ttl) => u64::try_from(ttl.as_micros()).unwrap_or(u64::MAX),
        None => cc
            .s_maxage_secs
            .or(cc.max_age_secs)?
            .saturating_mul(MICROS_PER_SEC),
    };
    Some(lifetime.saturating_sub(age_secs.saturating_mul(MICROS_PER_SEC)))
}

/// Why a response is passed through without being stored (`X-Cache: BYPASS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotStored {
    /// Only GET responses are stored.
    Method,
    /// A status this cache does not store (see [`STORABLE_STATUSES`]).
    Status(u16),
    /// The request or the response said `no-store`.
    NoStore,
    /// The response said `private`.
    Private,
    /// The response sets a cookie, which belongs to one client.
    SetCookie,
    /// The request carried `Authorization` and the response did not allow sharing it.
    Authorization,
    /// The response varies with request fields this cache does not key on.
    Vary,
    /// Neither `max-age`, `s-maxage` nor a TTL override says how long it stays fresh.
    NoLifetime,
}

impl fmt::Display for NotStored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotStored::Method => f.write_str("only GET responses are cached"),
            NotStored::Status(s) => write!(f, "status {s} is not cached"),
            NotStored::NoStore => f.write_str("Cache-Control: no-store"),
            NotStored::Private => f.write_str("Cache-Control: private"),
            NotStored::SetCookie => f.write_str("response sets a cookie"),
            NotStored::Authorization => f.write_str("authorized request, response not public"),
            NotStored::Vary => f.write_str("response has Vary"),
            NotStored::NoLifetime => f.write_str("no max-age or s-maxage"),
        }
    }
}

/// The verdict on one response: keep it and for how long, or pass it through and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Storability {
    /// Store it; it is fresh for `ttl_micros` from now (0: revalidate before every use).
    Store { ttl_micros: u64 },
    /// Do not store it.
    Bypass(NotStored),
}

/// May this response be stored by a shared cache, and for how long? Refused, in this order:
/// a method other than GET, a status outside [`STORABLE_STATUSES`], `no-store` on either side,
/// `private`, `Set-Cookie`, a request with `Authorization` unless the response says `public`,
/// `s-maxage` or `must-revalidate` (RFC 9111 §3.5), `Vary`, and no lifetime. `ttl_override`
/// is the CDN's `cache ttl` setting: it replaces the response's own lifetime (and gives one to
/// responses without), but never makes a refused response storable nor cancels `no-cache`.
pub fn storability(
    method: &Method,
    request_headers: &HeaderMap,
    status: u16,
    response_headers: &HeaderMap,
    ttl_override: Option<Duration>,
) -> Storability {
    let req = CacheControl::from_headers(request_headers);
    let cc = CacheControl::from_headers(response_headers);
    let shareable = cc.public || cc.s_maxage_secs.is_some() || cc.must_revalidate;
    let refusal = if method != Method::GET {
        Some(NotStored::Method)
    } else if !STORABLE_STATUSES.contains(&status) {
        Some(NotStored::Status(status))
    } else if req.no_store || cc.no_store {
        Some(NotStored::NoStore)
    } else if cc.private {
        Some(NotStored::Private)
    } else if response_headers.contains_key(header::SET_COOKIE) {
        Some(NotStored::SetCookie)
    } else if request_headers.contains_key(header::AUTHORIZATION) && !shareable {
        Some(NotStored::Authorization)
    } else if response_headers.contains_key(header::VARY) {
        Some(NotStored::Vary)
    } else {
        None
    };
    if let Some(reason) = refusal {
        return Storability::Bypass(reason);
    }
    match fresh_for_micros(&cc, origin_age_secs(response_headers), ttl_override) {
        Some(ttl_micros) => Storability::Store { ttl_micros },
        None => Storability::Bypass(NotStored::NoLifetime),
    }
}
