//! Tests of `store.rs`: behaviour a user of the component would notice.
use super::super::rules::*;
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
