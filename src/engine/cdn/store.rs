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

use super::rules::{CacheControl, MICROS_PER_SEC, fresh_for_micros, origin_age_secs};
use crate::scenario::Eviction;

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
    /// A response to store at `now_micros`, fresh for `ttl_micros` (from `rules::storability`).
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
#[path = "store_tests.rs"]
mod tests;
