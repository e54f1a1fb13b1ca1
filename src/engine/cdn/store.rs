//! The CDN's cache store: which responses a shared cache may keep (RFC 9111, simplified), how
//! long they stay fresh, and which entry goes when the cache is full (LRU, LFU or FIFO).
//!
//! Pure logic: no sockets, no clock. Callers pass `now_micros` from the trace clock, so expiry
//! is testable without waiting. Guarantees:
//! - never more than `capacity` entries (capacity counts responses; the proxy bounds body
//!   size, so memory is bounded by capacity × largest body); with capacity 0 nothing is kept;
//! - every operation is O(log n): a hash map of entries plus an ordered map from eviction rank
//!   to key, where the first key is always the next to go;
//! - eviction follows the policy only: an expired entry stays until the policy picks it, since
//!   it can still be revalidated with its ETag;
//! - deterministic: ranks end in a tick that grows with every touch, so ties never depend on
//!   hash-map order and the same operations evict the same entries on every run;
//! - no input panics: unreadable header values and unknown or malformed directives are ignored.
//!
//! Choices where the RFC leaves room: only GET responses are stored (a HEAD reads the GET
//! entry); statuses 200, 203, 204, 301, 404 and 410 are stored, and only with an explicit
//! lifetime (`s-maxage`, `max-age`) or the CDN's TTL override — there is no heuristic
//! freshness; `Vary`, `Set-Cookie` and any `private` (even with field names) are never stored;
//! `no-cache` stores the response but makes it stale at once, so every use is revalidated.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use hyper::header::{self, HeaderMap};

use crate::scenario::Eviction;

/// Response statuses this cache stores when the response allows it.
pub const STORABLE_STATUSES: [u16; 6] = [200, 203, 204, 301, 404, 410];

const MICROS_PER_SEC: u64 = 1_000_000;
/// RFC 9111 §1.2.2: a delta-seconds value too large to represent counts as 2^31.
const DELTA_SECS_MAX: u64 = 1 << 31;
/// Fields that describe one connection, not the response: never stored or replayed.
const HOP_BY_HOP: &str = "connection keep-alive proxy-connection proxy-authenticate \
    proxy-authorization te trailer transfer-encoding upgrade";
/// Fields of the stored response that a 304 does not replace: they describe the stored body.
const KEPT_ON_REVALIDATION: &str = "content-length content-encoding content-range content-type";

fn listed(list: &str, name: &str) -> bool {
    list.split_ascii_whitespace().any(|n| n == name)
}

/// Where a cached response is filed: the host (lower-cased, port dropped) and the path with
/// its query. The port is dropped because the edge's plain and TLS listeners front one origin.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key for a request, or `None` when its method is not cacheable. GET and HEAD share
    /// one key, so a HEAD is answered from the GET entry.
    pub fn for_request(method: &Method, host: &str, path_and_query: &str) -> Option<CacheKey> {
        if method != Method::GET && method != Method::HEAD {
            return None;
        }
        let host = strip_port(host.trim())
            .to_ascii_lowercase()
            .replace('/', "%2F");
        let slash = if path_and_query.starts_with('/') {
            ""
        } else {
            "/"
        };
        Some(CacheKey(format!("{host}{slash}{path_and_query}")))
    }

    /// The key as text: host followed by path and query.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn strip_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (!name.contains(':') || name.ends_with(']')) =>
        {
            name
        }
        _ => host,
    }
}

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
fn origin_age_secs(headers: &HeaderMap) -> u64 {
    headers
        .get(header::AGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| delta_secs(v.trim()))
        .unwrap_or(0)
}

/// How long a response with these directives stays fresh from now: its lifetime (the
/// override, else `s-maxage`, else `max-age`) less the age it already had. `no-cache` makes it
/// stale at once (0, even without a lifetime); `None` when there is no lifetime at all.
fn fresh_for_micros(
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

/// A response as the cache keeps it. Shared as `Arc`, so serving a hit copies no body.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredResponse {
    pub status: u16,
    /// The origin's end-to-end fields: hop-by-hop fields and `Age` are left out.
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The origin's `ETag`, sent back as `If-None-Match` to revalidate.
    pub etag: Option<String>,
    /// When it was stored or last revalidated.
    pub stored_at_micros: u64,
    /// Fresh for this long after `stored_at_micros` (its lifetime less its origin age).
    pub ttl_micros: u64,
    /// The `Age` the origin reported when it was stored.
    pub origin_age_secs: u64,
}

impl StoredResponse {
    /// A response to store at `now_micros`, fresh for `ttl_micros` (from [`storability`]).
    pub fn new(
        status: u16,
        headers: &HeaderMap,
        body: Bytes,
        now_micros: u64,
        ttl_micros: u64,
    ) -> StoredResponse {
        let kept = end_to_end(headers);
        StoredResponse {
            status,
            etag: etag_of(&kept),
            headers: kept,
            body,
            stored_at_micros: now_micros,
            ttl_micros,
            origin_age_secs: origin_age_secs(headers),
        }
    }

    /// Whether it may be served without asking the origin.
    pub fn is_fresh(&self, now_micros: u64) -> bool {
        now_micros.saturating_sub(self.stored_at_micros) < self.ttl_micros
    }

    /// The `Age` to send, in whole seconds: origin age plus time spent in this cache.
    pub fn age_secs(&self, now_micros: u64) -> u64 {
        let resident = now_micros.saturating_sub(self.stored_at_micros) / MICROS_PER_SEC;
        self.origin_age_secs.saturating_add(resident)
    }
}

fn etag_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::ETAG)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `headers` without hop-by-hop fields (standard ones and those named in `Connection`) or `Age`.
fn end_to_end(headers: &HeaderMap) -> HeaderMap {
    let named: Vec<String> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let mut kept = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let name_text = name.as_str();
        if listed(HOP_BY_HOP, name_text)
            || *name == header::AGE
            || named.iter().any(|l| l == name_text)
        {
            continue;
        }
        kept.append(name.clone(), value.clone());
    }
    kept
}

/// What the cache holds for a key.
#[derive(Clone, Debug, PartialEq)]
pub enum Lookup {
    /// A fresh copy: serve it (`HIT`).
    Fresh(Arc<StoredResponse>),
    /// An expired copy: revalidate with its ETag if it has one, else fetch anew.
    Stale(Arc<StoredResponse>),
    /// Nothing stored.
    Miss,
}

/// What the store has done since it was made. Cumulative: a flush does not reset it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheCounters {
    /// Lookups that found a fresh entry.
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Lookups that found an expired entry.
    pub expirations: u64,
    /// Entries stored or replaced.
    pub inserts: u64,
    /// Entries renewed by a 304.
    pub refreshes: u64,
    /// Entries evicted to make room for an insert.
    pub evicted_for_space: u64,
    /// Entries evicted because the capacity was lowered.
    pub evicted_for_shrink: u64,
    /// Entries dropped by `flush`.
    pub flushed: u64,
    /// Entries taken out one by one with `remove`.
    pub removed: u64,
}

struct Entry {
    response: Arc<StoredResponse>,
    inserted_tick: u64,
    used_tick: u64,
    uses: u64,
}

/// An entry's place in the eviction order: the smallest goes first. `used_tick` is unique to
/// each entry, so ranks never collide; LFU breaks ties between equal use counts by least recent.
fn rank(eviction: Eviction, e: &Entry) -> (u64, u64) {
    match eviction {
        Eviction::Lru => (e.used_tick, 0),
        Eviction::Lfu => (e.uses, e.used_tick),
        Eviction::Fifo => (e.inserted_tick, 0),
    }
}

/// The cache: at most `capacity` responses, evicted by the chosen policy.
///
/// A use is a lookup that finds the entry (fresh or stale) or a replacing insert. LRU orders
/// by last use, LFU by number of uses (then last use), FIFO by last insert (uses do not count).
pub struct CacheStore {
    capacity: usize,
    eviction: Eviction,
    entries: HashMap<CacheKey, Entry>,
    order: BTreeMap<(u64, u64), CacheKey>,
    tick: u64,
    counters: CacheCounters,
}

impl CacheStore {
    /// An empty store holding at most `capacity` responses.
    pub fn new(capacity: usize, eviction: Eviction) -> CacheStore {
        CacheStore {
            capacity,
            eviction,
            entries: HashMap::new(),
            order: BTreeMap::new(),
            tick: 0,
            counters: CacheCounters::default(),
        }
    }

    fn next_tick(&mut self) -> u64 {
        self.tick += 1;
        self.tick
    }

    /// Finds `key`, counts the lookup, and records the use for the eviction policy.
    pub fn lookup(&mut self, key: &CacheKey, now_micros: u64) -> Lookup {
        let Some(entry) = self.entries.get_mut(key) else {
            self.counters.misses += 1;
            return Lookup::Miss;
        };
        self.tick += 1;
        let old = rank(self.eviction, entry);
        entry.used_tick = self.tick;
        entry.uses = entry.uses.saturating_add(1);
        let owned = self.order.remove(&old).unwrap_or_else(|| key.clone());
        self.order.insert(rank(self.eviction, entry), owned);
        let response = Arc::clone(&entry.response);
        if response.is_fresh(now_micros) {
            self.counters.hits += 1;
            Lookup::Fresh(response)
        } else {
            self.counters.expirations += 1;
            Lookup::Stale(response)
        }
    }

    /// The entry for `key`, without counting a lookup or a use.
    pub fn peek(&self, key: &CacheKey) -> Option<&Arc<StoredResponse>> {
        self.entries.get(key).map(|e| &e.response)
    }

    /// Stores `response` under `key`, replacing any older copy (which keeps its use count).
    /// When the store is full, the policy's first entry is evicted and its key returned.
    pub fn insert(&mut self, key: CacheKey, response: StoredResponse) -> Option<CacheKey> {
        if self.capacity == 0 {
            return None;
        }
        let tick = self.next_tick();
        self.counters.inserts += 1;
        let response = Arc::new(response);
        if let Some(entry) = self.entries.get_mut(&key) {
            let old = rank(self.eviction, entry);
            entry.response = response;
            entry.inserted_tick = tick;
            entry.used_tick = tick;
            entry.uses = entry.uses.saturating_add(1);
            self.order.remove(&old);
            self.order.insert(rank(self.eviction, entry), key);
            return None;
        }
        let evicted = if self.entries.len() >= self.capacity {
            self.counters.evicted_for_space += 1;
            self.evict_first()
        } else {
            None
        };
        let entry = Entry {
            response,
            inserted_tick: tick,
            used_tick: tick,
            uses: 1,
        };
        self.order.insert(rank(self.eviction, &entry), key.clone());
        self.entries.insert(key, entry);
        evicted
    }

    fn evict_first(&mut self) -> Option<CacheKey> {
        let (_, key) = self.order.pop_first()?;
        self.entries.remove(&key);
        Some(key)
    }

    /// After the origin answered 304 to a revalidation: takes the 304's end-to-end fields
    /// (except those describing the body), restarts freshness from them and `ttl_override`,
    /// and returns the renewed response to serve (`REVALIDATED`). If the renewed fields now
    /// forbid storing, the entry is dropped but the response is still returned. `None` when
    /// nothing is stored under `key`. Its place in the eviction order is unchanged.
    pub fn refresh(
        &mut self,
        key: &CacheKey,
        now_micros: u64,
        not_modified_headers: &HeaderMap,
        ttl_override: Option<Duration>,
    ) -> Option<Arc<StoredResponse>> {
        let entry = self.entries.get_mut(key)?;
        let update = end_to_end(not_modified_headers);
        let mut renewed = StoredResponse::clone(&entry.response);
        for name in update.keys() {
            if listed(KEPT_ON_REVALIDATION, name.as_str()) {
                continue;
            }
            renewed.headers.remove(name);
            for value in update.get_all(name) {
                renewed.headers.append(name.clone(), value.clone());
            }
        }
        let cc = CacheControl::from_headers(&renewed.headers);
        let age = origin_age_secs(not_modified_headers);
        renewed.etag = etag_of(&renewed.headers);
        renewed.stored_at_micros = now_micros;
        renewed.origin_age_secs = age;
        renewed.ttl_micros = fresh_for_micros(&cc, age, ttl_override).unwrap_or(0);
        let renewed = Arc::new(renewed);
        self.counters.refreshes += 1;
        if cc.no_store || cc.private {
            self.remove(key);
        } else {
            entry.response = Arc::clone(&renewed);
        }
        Some(renewed)
    }

    /// Drops the entry for `key`; whether there was one. The proxy calls it after a successful
    /// write (POST, PUT, PATCH, DELETE) to that URL, as RFC 9111 §4.4 asks.
    pub fn remove(&mut self, key: &CacheKey) -> bool {
        let Some(entry) = self.entries.remove(key) else {
            return false;
        };
        self.order.remove(&rank(self.eviction, &entry));
        self.counters.removed += 1;
        true
    }

    /// Drops every entry and says how many there were.
    pub fn flush(&mut self) -> usize {
        let dropped = self.entries.len();
        self.entries.clear();
        self.order.clear();
        self.counters.flushed += dropped as u64;
        dropped
    }

    /// Changes the capacity, evicting by the policy at once down to `capacity`; says how many
    /// entries went.
    pub fn set_capacity(&mut self, capacity: usize) -> usize {
        self.capacity = capacity;
        let mut evicted = 0;
        while self.entries.len() > capacity && self.evict_first().is_some() {
            evicted += 1;
        }
        self.counters.evicted_for_shrink += evicted as u64;
        evicted
    }

    /// Changes the policy. Every entry's history (insert time, last use, use count) is kept
    /// whatever the policy, so existing entries are ranked as if the new policy had always run.
    pub fn set_eviction(&mut self, eviction: Eviction) {
        if eviction == self.eviction {
            return;
        }
        self.eviction = eviction;
        self.order = self
            .entries
            .iter()
            .map(|(key, entry)| (rank(eviction, entry), key.clone()))
            .collect();
    }

    /// The keys in eviction order: the first goes next.
    pub fn eviction_order(&self) -> impl Iterator<Item = &CacheKey> {
        self.order.values()
    }

    /// How many responses are stored.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The most responses it holds.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The eviction policy in force.
    pub fn eviction(&self) -> Eviction {
        self.eviction
    }

    /// What it has done so far.
    pub fn counters(&self) -> CacheCounters {
        self.counters
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::{HeaderName, HeaderValue};
    use proptest::prelude::*;

    const SEC: u64 = 1_000_000;
    const GET: Method = Method::GET;

    /// Header fields from `name: value | name: value`.
    fn h(spec: &str) -> HeaderMap {
        let fields = spec.split(" | ").filter_map(|f| f.split_once(": "));
        fields
            .map(|(n, v)| {
                let name = HeaderName::from_bytes(n.as_bytes()).expect("test field name");
                (name, HeaderValue::from_str(v).expect("test field value"))
            })
            .collect()
    }

    fn key(path: &str) -> CacheKey {
        CacheKey::for_request(&GET, "api.example.test", path).expect("GET is cacheable")
    }

    fn k(path: &str) -> String {
        format!("api.example.test{path}")
    }

    fn verdict(request: &str, response: &str) -> Storability {
        storability(&GET, &h(request), 200, &h(response), None)
    }

    fn keep(secs: u64) -> Storability {
        Storability::Store {
            ttl_micros: secs * SEC,
        }
    }

    fn bypass(reason: NotStored) -> Storability {
        Storability::Bypass(reason)
    }

    /// A 200 with these fields, stored at `now` for as long as `storability` allows.
    fn stored(fields: &str, now: u64) -> StoredResponse {
        let headers = h(fields);
        match storability(&GET, &HeaderMap::new(), 200, &headers, None) {
            Storability::Store { ttl_micros } => {
                StoredResponse::new(200, &headers, Bytes::from_static(b"{}"), now, ttl_micros)
            }
            other => panic!("expected storable, got {other:?}"),
        }
    }

    fn public(now: u64) -> StoredResponse {
        stored("cache-control: public, max-age=60 | etag: \"v1\"", now)
    }

    fn filled(eviction: Eviction, paths: &[&str]) -> CacheStore {
        let mut store = CacheStore::new(paths.len(), eviction);
        for p in paths {
            assert_eq!(store.insert(key(p), public(0)), None);
        }
        store
    }

    fn order(store: &CacheStore) -> Vec<&str> {
        store.eviction_order().map(CacheKey::as_str).collect()
    }

    fn fresh(lookup: Lookup) -> bool {
        matches!(lookup, Lookup::Fresh(_))
    }

    fn stale(lookup: Lookup) -> bool {
        matches!(lookup, Lookup::Stale(_))
    }

    #[test]
    fn public_response_is_fresh_until_max_age_then_stale_with_its_etag() {
        let mut store = CacheStore::new(10, Eviction::Lru);
        store.insert(key("/users/1"), public(0));
        assert!(fresh(store.lookup(&key("/users/1"), 59 * SEC)));
        match store.lookup(&key("/users/1"), 60 * SEC) {
            Lookup::Stale(r) => assert_eq!(r.etag.as_deref(), Some("\"v1\"")),
            other => panic!("expected stale, got {other:?}"),
        }
        assert_eq!(store.lookup(&key("/users/2"), 0), Lookup::Miss);
        let c = store.counters();
        assert_eq!((c.hits, c.expirations, c.misses, c.inserts), (1, 1, 1, 1));
    }

    #[test]
    fn responses_a_shared_cache_must_not_keep_are_bypassed() {
        let ok = "cache-control: public, max-age=60";
        let auth = "authorization: Bearer t";
        let no_store = bypass(NotStored::NoStore);
        assert_eq!(verdict("", "cache-control: no-store, max-age=60"), no_store);
        assert_eq!(verdict("cache-control: no-store", ok), no_store);
        let private = verdict("", "cache-control: private, max-age=60");
        assert_eq!(private, bypass(NotStored::Private));
        let cookie = verdict("", &format!("{ok} | set-cookie: s=1"));
        assert_eq!(cookie, bypass(NotStored::SetCookie));
        let authorized = verdict(auth, "cache-control: max-age=60");
        assert_eq!(authorized, bypass(NotStored::Authorization));
        let vary = verdict("", &format!("{ok} | vary: accept"));
        assert_eq!(vary, bypass(NotStored::Vary));
        let plain = verdict("", "content-type: text/plain");
        assert_eq!(plain, bypass(NotStored::NoLifetime));
        let (none, ok) = (HeaderMap::new(), h(ok));
        let post = storability(&Method::POST, &none, 200, &ok, None);
        assert_eq!(post, bypass(NotStored::Method));
        let error = storability(&GET, &none, 500, &ok, None);
        assert_eq!(error, bypass(NotStored::Status(500)));
        assert_eq!(storability(&GET, &none, 404, &ok, None), keep(60));
    }

    #[test]
    fn authorized_requests_are_stored_when_the_response_allows_sharing() {
        for cc in [
            "public, max-age=60",
            "s-maxage=60",
            "must-revalidate, max-age=60",
        ] {
            let response = format!("cache-control: {cc}");
            assert_eq!(verdict("authorization: Bearer t", &response), keep(60));
        }
    }

    #[test]
    fn s_maxage_beats_max_age_and_origin_age_shortens_freshness() {
        assert_eq!(
            verdict("", "cache-control: max-age=10, s-maxage=30"),
            keep(30)
        );
        assert_eq!(verdict("", "cache-control: max-age=60 | age: 20"), keep(40));
        let twice = "cache-control: max-age=10 | cache-control: max-age=99";
        assert_eq!(verdict("", twice), keep(10));
        assert_eq!(verdict("", "cache-control: no-cache, max-age=60"), keep(0));
        assert_eq!(verdict("", "cache-control: no-cache"), keep(0));
    }

    #[test]
    fn ttl_override_replaces_the_lifetime_but_not_no_cache_or_no_store() {
        let five = Some(Duration::from_secs(5));
        let decide = |fields| storability(&GET, &HeaderMap::new(), 200, &h(fields), five);
        assert_eq!(decide("cache-control: max-age=60"), keep(5));
        assert_eq!(decide(""), keep(5));
        assert_eq!(decide("cache-control: no-cache"), keep(0));
        assert_eq!(
            decide("cache-control: no-store"),
            bypass(NotStored::NoStore)
        );
    }

    #[test]
    fn malformed_directives_are_ignored() {
        for text in [
            "max-age=abc",
            "max-age=-1",
            "max-age=",
            "max-age=1.5",
            ",,=,",
            "maxage=5",
        ] {
            assert_eq!(CacheControl::parse(text), CacheControl::default(), "{text}");
        }
        assert_eq!(CacheControl::parse(" Max-Age=\"7\" ").max_age_secs, Some(7));
        let huge = CacheControl::parse("max-age=99999999999999999999999");
        assert_eq!(huge.max_age_secs, Some(DELTA_SECS_MAX));
        let mut raw = h("age: soon");
        let bad = HeaderValue::from_bytes(b"max-age=\xff9").expect("opaque bytes are allowed");
        raw.insert(header::CACHE_CONTROL, bad);
        assert_eq!(CacheControl::from_headers(&raw), CacheControl::default());
        assert_eq!(origin_age_secs(&raw), 0);
    }

    #[test]
    fn keys_share_get_and_head_and_ignore_host_case_and_port() {
        let get = CacheKey::for_request(&GET, "API.example.test:8080", "/users?id=1");
        let head = CacheKey::for_request(&Method::HEAD, "api.example.test", "/users?id=1");
        assert_eq!(get, head);
        assert_eq!(head.map(|k| k.to_string()), Some(k("/users?id=1")));
        let v6 = CacheKey::for_request(&GET, "[::1]:80", "");
        assert_eq!(v6.as_ref().map(CacheKey::as_str), Some("[::1]/"));
        assert_eq!(CacheKey::for_request(&Method::POST, "h", "/users"), None);
    }

    #[test]
    fn lru_evicts_the_least_recently_used() {
        let mut store = filled(Eviction::Lru, &["/a", "/b", "/c"]);
        store.lookup(&key("/a"), SEC);
        assert_eq!(store.insert(key("/d"), public(SEC)), Some(key("/b")));
        assert_eq!(order(&store), [k("/c"), k("/a"), k("/d")]);
        assert_eq!(store.counters().evicted_for_space, 1);
    }

    #[test]
    fn lfu_evicts_the_least_used_breaking_ties_by_least_recent() {
        let mut store = filled(Eviction::Lfu, &["/a", "/b", "/c"]);
        for p in ["/a", "/a", "/c", "/b"] {
            store.lookup(&key(p), SEC);
        }
        // Uses: a 3, c 2, b 2 with b used last, so c goes first.
        assert_eq!(store.insert(key("/d"), public(SEC)), Some(key("/c")));
        // The newcomer has the fewest uses: it goes next.
        assert_eq!(store.insert(key("/e"), public(SEC)), Some(key("/d")));
    }

    #[test]
    fn fifo_evicts_the_oldest_insert_whatever_its_hits() {
        let mut store = filled(Eviction::Fifo, &["/a", "/b", "/c"]);
        for _ in 0..3 {
            store.lookup(&key("/a"), SEC);
        }
        assert_eq!(store.insert(key("/d"), public(SEC)), Some(key("/a")));
        store.insert(key("/b"), public(2 * SEC)); // a new copy is a new insert
        assert_eq!(store.insert(key("/e"), public(SEC)), Some(key("/c")));
    }

    #[test]
    fn set_capacity_shrinks_at_once_and_zero_stores_nothing() {
        let mut store = filled(Eviction::Lru, &["/a", "/b", "/c", "/d"]);
        assert_eq!(store.set_capacity(1), 3);
        assert_eq!(order(&store), [k("/d")]);
        assert_eq!(store.set_capacity(0), 1);
        assert_eq!(store.insert(key("/e"), public(0)), None);
        assert!(store.is_empty());
        assert_eq!(store.counters().evicted_for_shrink, 4);
    }

    #[test]
    fn flush_empties_the_store_and_reports_the_count() {
        let mut store = filled(Eviction::Lfu, &["/a", "/b", "/c"]);
        assert!(store.remove(&key("/b")));
        assert!(!store.remove(&key("/b")));
        assert_eq!(store.flush(), 2);
        assert_eq!((store.len(), store.flush()), (0, 0));
        assert_eq!(store.lookup(&key("/a"), 0), Lookup::Miss);
        assert_eq!((store.counters().flushed, store.counters().removed), (2, 1));
    }

    #[test]
    fn switching_policy_reranks_existing_entries() {
        let mut store = filled(Eviction::Lru, &["/a", "/b", "/c"]);
        for p in ["/a", "/b", "/a"] {
            store.lookup(&key(p), SEC);
        }
        assert_eq!(order(&store), [k("/c"), k("/b"), k("/a")]);
        store.set_eviction(Eviction::Fifo);
        assert_eq!(order(&store), [k("/a"), k("/b"), k("/c")]);
        store.set_eviction(Eviction::Lfu);
        assert_eq!(order(&store), [k("/c"), k("/b"), k("/a")]);
    }

    #[test]
    fn age_counts_origin_age_plus_whole_seconds_in_cache() {
        let r = stored("cache-control: max-age=60 | age: 5", 10 * SEC);
        assert_eq!(r.age_secs(10 * SEC), 5);
        assert_eq!(r.age_secs(12 * SEC + SEC / 2), 7);
        assert_eq!(r.age_secs(0), 5);
        assert!(r.is_fresh(64 * SEC) && !r.is_fresh(65 * SEC));
        assert!(!r.headers.contains_key(header::AGE));
    }

    #[test]
    fn revalidation_renews_freshness_and_takes_the_304_fields() {
        let mut store = CacheStore::new(4, Eviction::Lru);
        let first = "cache-control: max-age=10 | etag: \"v1\" | content-type: a/json";
        store.insert(key("/u"), stored(first, 0));
        assert!(stale(store.lookup(&key("/u"), 20 * SEC)));
        let update = h("cache-control: max-age=30 | etag: \"v2\" | content-type: t/plain");
        let renewed = store.refresh(&key("/u"), 20 * SEC, &update, None);
        let renewed = renewed.expect("an entry was stored");
        assert_eq!(renewed.etag.as_deref(), Some("\"v2\""));
        assert_eq!(renewed.ttl_micros, 30 * SEC);
        let kept = renewed.headers.get(header::CONTENT_TYPE);
        assert_eq!(kept, Some(&HeaderValue::from_static("a/json")));
        assert_eq!(renewed.body, Bytes::from_static(b"{}"));
        assert!(fresh(store.lookup(&key("/u"), 49 * SEC)));
        assert!(stale(store.lookup(&key("/u"), 50 * SEC)));
        let gone = h("cache-control: no-store");
        assert!(store.refresh(&key("/u"), 50 * SEC, &gone, None).is_some());
        assert!(store.is_empty());
        assert_eq!(store.refresh(&key("/u"), 50 * SEC, &gone, None), None);
        assert_eq!(store.counters().refreshes, 2);
    }

    #[test]
    fn hop_by_hop_fields_are_not_stored() {
        let fields = "cache-control: max-age=60 | connection: keep-alive, x-hop | x-hop: 1 \
            | keep-alive: timeout=5 | transfer-encoding: chunked | x-served-by: server-2";
        let r = stored(fields, 0);
        let names: Vec<&str> = r.headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["cache-control", "x-served-by"]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random inserts, lookups, removals and resizes under every policy: the store never
        /// holds more than its capacity and finds a key just inserted; under LRU its eviction
        /// order matches a plain list kept least recently used first.
        #[test]
        fn store_keeps_its_invariants_and_lru_matches_a_model(
            policy in 0usize..3,
            capacity in 0usize..5,
            ops in proptest::collection::vec((0u8..4, 0u8..8), 0..60),
        ) {
            let eviction = Eviction::ALL[policy];
            let lru = eviction == Eviction::Lru;
            let mut store = CacheStore::new(capacity, eviction);
            let mut cap = capacity;
            let mut model: Vec<u8> = Vec::new();
            for (step, (op, id)) in ops.into_iter().enumerate() {
                let (now, path) = (step as u64 * SEC, format!("/{id}"));
                let found = model.iter().position(|&m| m == id);
                match op {
                    0 => {
                        let evicted = store.insert(key(&path), public(now));
                        if cap > 0 {
                            prop_assert!(store.peek(&key(&path)).is_some());
                            let mut expected = None;
                            if let Some(i) = found {
                                model.remove(i);
                            } else if model.len() >= cap {
                                expected = Some(key(&format!("/{}", model.remove(0))));
                            }
                            model.push(id);
                            prop_assert!(!lru || evicted == expected);
                        }
                    }
                    1 => {
                        let hit = store.lookup(&key(&path), now) != Lookup::Miss;
                        if let Some(i) = found {
                            model.remove(i);
                            model.push(id);
                        }
                        prop_assert!(!lru || hit == found.is_some());
                    }
                    2 => {
                        store.remove(&key(&path));
                        if let Some(i) = found {
                            model.remove(i);
                        }
                    }
                    _ => {
                        cap = usize::from(id % 5);
                        store.set_capacity(cap);
                        model.drain(..model.len().saturating_sub(cap));
                    }
                }
                prop_assert!(store.len() <= cap);
                prop_assert_eq!(store.eviction_order().count(), store.len());
                if lru {
                    let expected: Vec<String> = model.iter().map(|m| k(&format!("/{m}"))).collect();
                    prop_assert_eq!(order(&store), expected);
                }
            }
        }

        #[test]
        fn any_cache_control_text_parses_without_panic(text in "\\PC{0,40}") {
            let cc = CacheControl::parse(&text);
            prop_assert!(cc.max_age_secs.is_none_or(|s| s <= DELTA_SECS_MAX));
        }
    }
}
