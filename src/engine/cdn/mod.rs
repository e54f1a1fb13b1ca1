//! The CDN: an HTTP caching reverse proxy in front of the load balancer. A fresh copy is
//! served from the cache (`X-Cache: HIT`, with `Age`); an expired one is revalidated with
//! `If-None-Match` (304: `REVALIDATED`, 200: `EXPIRED`); a missing one is fetched (`MISS`);
//! what must not be shared passes through (`BYPASS`). Concurrent misses for one URL all go
//! to the origin (no request collapsing), so a flush shows the thundering herd.
//!
//! `store` holds the cache's rules and eviction, `service` starts the CDN in the one
//! component shape (`engine::component`); this file is the proxy around the cache.

pub mod rules;
mod service;
pub mod store;

pub use service::CdnSetup;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{AGE, HOST, HeaderValue, IF_NONE_MATCH};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};

use self::rules::{Storability, storability};
use self::store::{CacheKey, CacheStore, Lookup, StoredResponse};
use super::forward::{self, Arrival, Failure, Forward};
use super::http::{self, Body, SERVED_BY, TraceCtx, X_CACHE};
use super::link::LinkState;
use super::listener::{Handler, Peer};
use super::upstream::{Upstream, UpstreamError};
use super::{Env, HopCounters, HopCounts};
use crate::scenario::{CacheCommand, CdnConfig, Eviction};
use crate::trace::{Attr, CacheStatus, Component, Phase};

/// The CDN's view of its cache, for the window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CacheView {
    pub enabled: bool,
    pub entries: usize,
    pub capacity: usize,
    pub eviction: Eviction,
    /// The TTL override, if set (`None`: the origin's max-age is honoured).
    pub ttl_override: Option<Duration>,
}

/// The caching proxy.
pub struct Cdn {
    env: Arc<Env>,
    upstream: Upstream,
    store: Mutex<CacheStore>,
    enabled: AtomicBool,
    ttl_override: Mutex<Option<Duration>>,
    counters: HopCounters,
    timeout: Duration,
}

/// How the CDN names itself in `Via`, on the way in and on the way out.
const VIA_CDN: &str = "1.1 hopscope-cdn";

/// What came back from the load balancer, or the error response made here.
type Fetched = Result<super::upstream::Answer, Response<Body>>;

impl Cdn {
    /// A CDN in front of the load balancer at `lb`, waiting at most `timeout` for it.
    pub fn new(env: Arc<Env>, lb: SocketAddr, config: &CdnConfig, timeout: Duration) -> Arc<Cdn> {
        let link = LinkState::new(config.latency.get(), config.jitter.get(), 0.0);
        Arc::new(Cdn {
            upstream: Upstream::new(env.clone(), lb, link, 256, timeout),
            store: Mutex::new(CacheStore::new(config.capacity.max(1), config.eviction)),
            enabled: AtomicBool::new(config.cache_enabled),
            ttl_override: Mutex::new(config.ttl.map(|d| d.get())),
            counters: HopCounters::default(),
            timeout,
            env,
        })
    }

    /// The request handler, for the CDN's listeners.
    pub fn handler(self: &Arc<Self>) -> Handler {
        let this = self.clone();
        Arc::new(move |req, peer| {
            let this = this.clone();
            Box::pin(async move { this.handle(req, peer).await })
        })
    }

    /// The link from the CDN to the load balancer.
    pub fn link(&self) -> &Arc<LinkState> {
        self.upstream.link()
    }

    /// Requests counted at this hop.
    pub fn counts(&self) -> HopCounts {
        self.counters.read()
    }

    /// The cache's settings and size now.
    pub fn view(&self) -> CacheView {
        let store = self.store.lock().expect("cache lock");
        CacheView {
            enabled: self.enabled.load(Ordering::Relaxed),
            entries: store.len(),
            capacity: store.capacity(),
            eviction: store.eviction(),
            ttl_override: *self.ttl_override.lock().expect("ttl lock"),
        }
    }

    /// Applies a cache command; returns what happened, in words.
    pub fn command(&self, command: CacheCommand) -> String {
        let mut store = self.store.lock().expect("cache lock");
        match command {
            CacheCommand::On => {
                self.enabled.store(true, Ordering::Relaxed);
                "cache on: cacheable answers are stored again".into()
            }
            CacheCommand::Off => {
                self.enabled.store(false, Ordering::Relaxed);
                "cache off: every request goes to the origin (BYPASS)".into()
            }
            CacheCommand::Flush => format!(
                "cache flushed: {} entries dropped; the next requests all miss",
                store.flush()
            ),
            CacheCommand::Capacity(n) => {
                let evicted = store.set_capacity(n.max(1));
                format!("cache capacity {}: {evicted} entries evicted", n.max(1))
            }
            CacheCommand::Eviction(e) => {
                store.set_eviction(e);
                format!("cache eviction {}", e.name())
            }
            CacheCommand::Ttl(ttl) => {
                *self.ttl_override.lock().expect("ttl lock") = ttl.map(|d| d.get());
                match ttl {
                    Some(d) => format!("cache ttl {d}: cacheable answers stay fresh this long"),
                    None => "cache ttl origin: the origin's max-age decides".into(),
                }
            }
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: Peer) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let (arrival, read) = Arrival::take(
            &self.env,
            &self.counters,
            Component::Cdn,
            &parts,
            body,
            peer,
        )
        .await;
        let (resp, cache) = match read {
            Ok(body) => self.serve(&parts, body, &arrival.ctx, peer).await,
            Err(e) => (e.response(), None),
        };
        arrival.answer(&resp, cache);
        resp
    }

    async fn serve(
        &self,
        parts: &Parts,
        body: Bytes,
        ctx: &TraceCtx,
        peer: Peer,
    ) -> (Response<Body>, Option<CacheStatus>) {
        let env = &self.env;
        let started = env.now();
        let host = parts
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let key = if self.enabled.load(Ordering::Relaxed) {
            CacheKey::for_request(&parts.method, host, path)
        } else {
            None
        };
        let Some(key) = key else {
            // A write to a URL makes any stored copy of it stale (RFC 9111 §4.4).
            if !parts.method.is_safe()
                && let Some(k) = CacheKey::for_request(&Method::GET, host, path)
            {
                self.store.lock().expect("cache lock").remove(&k);
            }
            let why = if self.enabled.load(Ordering::Relaxed) {
                "method is not cacheable"
            } else {
                "cache is off"
            };
            let bypass = CacheStatus::Bypass.as_str();
            self.lookup_span(ctx, (started, env.now()), bypass, path, Some(why));
            let (resp, _) = self.pass_through(parts, body, ctx, peer, None).await;
            return (resp, Some(CacheStatus::Bypass));
        };
        let found = self
            .store
            .lock()
            .expect("cache lock")
            .lookup(&key, env.now());
        let looked_up = env.now();
        let (resp, status, why) = match found {
            Lookup::Fresh(entry) => {
                let resp =
                    self.cached_response(&entry, CacheStatus::Hit, parts.method == Method::HEAD);
                (resp, Some(CacheStatus::Hit), None)
            }
            Lookup::Stale(entry) => {
                let fetched = self
                    .fetch(parts, body, ctx, peer, entry.etag.as_deref())
                    .await;
                match fetched {
                    Ok(answer)
                        if answer.status == StatusCode::NOT_MODIFIED && entry.etag.is_some() =>
                    {
                        let renewed = self.store.lock().expect("cache lock").refresh(
                            &key,
                            env.now(),
                            &answer.headers,
                            *self.ttl_override.lock().expect("ttl lock"),
                        );
                        let renewed = renewed.unwrap_or(entry);
                        let mut resp = self.cached_response(
                            &renewed,
                            CacheStatus::Revalidated,
                            parts.method == Method::HEAD,
                        );
                        copy_served_by(&answer.headers, &mut resp);
                        (
                            resp,
                            Some(CacheStatus::Revalidated),
                            Some("the origin said 304: not modified".to_string()),
                        )
                    }
                    other => self.store_and_answer(parts, key, other, CacheStatus::Expired),
                }
            }
            Lookup::Miss => {
                let fetched = self.fetch(parts, body, ctx, peer, None).await;
                self.store_and_answer(parts, key, fetched, CacheStatus::Miss)
            }
        };
        let result = status.map_or("ERROR", CacheStatus::as_str);
        self.lookup_span(ctx, (started, looked_up), result, path, why);
        (resp, status)
    }

    /// The `cache` span: the verdict (`result`), the URL, why, and the cache's size now.
    fn lookup_span(
        &self,
        ctx: &TraceCtx,
        (started, ended): (u64, u64),
        result: &'static str,
        path: &str,
        why: Option<impl Into<String>>,
    ) {
        let mut attrs = vec![Attr::new("result", result), Attr::new("url", path)];
        if let Some(why) = why {
            attrs.push(Attr::new("why", why));
        }
        attrs.push(self.entries_attr());
        self.env
            .span_between(ctx.id, Component::Cdn, Phase::Cache, started, ended, attrs);
    }

    /// How many answers the cache holds now, for the trace: a replay shows the cache's
    /// size as it was from it.
    fn entries_attr(&self) -> Attr {
        let entries = self.store.lock().map_or(0, |s| s.len());
        Attr::new("entries", entries.to_string())
    }

    /// Stores a fresh answer if it may be stored; answers with `fresh_status` if it was
    /// stored, BYPASS (and why) if not.
    fn store_and_answer(
        &self,
        parts: &Parts,
        key: CacheKey,
        fetched: Fetched,
        fresh_status: CacheStatus,
    ) -> (Response<Body>, Option<CacheStatus>, Option<String>) {
        let answer = match fetched {
            Ok(a) => a,
            Err(resp) => return (resp, None, Some("the origin could not be reached".into())),
        };
        let verdict = storability(
            &parts.method,
            &parts.headers,
            answer.status.as_u16(),
            &answer.headers,
            *self.ttl_override.lock().expect("ttl lock"),
        );
        let (status, why) = match verdict {
            Storability::Store { ttl_micros } => {
                let stored = StoredResponse::new(
                    answer.status.as_u16(),
                    &answer.headers,
                    answer.body.clone(),
                    self.env.now(),
                    ttl_micros,
                );
                self.store.lock().expect("cache lock").insert(key, stored);
                let why = match fresh_status {
                    CacheStatus::Expired => "stored copy was too old: fetched and stored anew",
                    _ => "not in the cache: fetched and stored",
                };
                (fresh_status, why.to_string())
            }
            Storability::Bypass(reason) => (CacheStatus::Bypass, format!("not stored: {reason}")),
        };
        let mut resp = respond(
            answer.status,
            &answer.headers,
            if parts.method == Method::HEAD {
                Bytes::new()
            } else {
                answer.body
            },
        );
        set(&mut resp, X_CACHE, status.as_str());
        (resp, Some(status), Some(why))
    }

    async fn pass_through(
        &self,
        parts: &Parts,
        body: Bytes,
        ctx: &TraceCtx,
        peer: Peer,
        etag: Option<&str>,
    ) -> (Response<Body>, Option<CacheStatus>) {
        match self.fetch(parts, body, ctx, peer, etag).await {
            Ok(answer) => {
                let mut resp = respond(answer.status, &answer.headers, answer.body);
                set(&mut resp, X_CACHE, CacheStatus::Bypass.as_str());
                (resp, Some(CacheStatus::Bypass))
            }
            Err(resp) => (resp, None),
        }
    }

    /// Forwards the request to the load balancer (with `If-None-Match` when revalidating).
    async fn fetch(
        &self,
        parts: &Parts,
        body: Bytes,
        ctx: &TraceCtx,
        peer: Peer,
        etag: Option<&str>,
    ) -> Fetched {
        let hop = Forward {
            env: &self.env,
            ctx,
            component: Component::Cdn,
            counters: &self.counters,
        };
        let mut req = hop
            .request(parts, body, peer, VIA_CDN)
            .map_err(|e| e.response())?;
        // Revalidation: "send it only if it changed since this version".
        if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(t).ok()) {
            req.headers_mut().insert(IF_NONE_MATCH, tag);
        }
        let attrs = vec![Attr::new("to", "lb")];
        // The next hop's failure is worded once the forward span is reported: nothing here
        // needs to happen before it.
        hop.send(&self.upstream, req, self.timeout, attrs, |sent, _| sent)
            .await
            .map_err(failure_response)
    }

    fn cached_response(
        &self,
        entry: &StoredResponse,
        status: CacheStatus,
        head: bool,
    ) -> Response<Body> {
        let code = StatusCode::from_u16(entry.status).unwrap_or(StatusCode::OK);
        let body = if head {
            Bytes::new()
        } else {
            entry.body.clone()
        };
        let mut resp = respond(code, &entry.headers, body);
        set(&mut resp, X_CACHE, status.as_str());
        if let Ok(v) = HeaderValue::from_str(&entry.age_secs(self.env.now()).to_string()) {
            resp.headers_mut().insert(AGE, v);
        }
        resp
    }
}

fn respond(status: StatusCode, headers: &hyper::HeaderMap, body: Bytes) -> Response<Body> {
    let mut resp = forward::response(status, headers, body);
    // An `Age` from behind is not ours to pass on; a cached answer gets its own.
    resp.headers_mut().remove(AGE);
    resp.headers_mut()
        .append(hyper::header::VIA, HeaderValue::from_static(VIA_CDN));
    resp
}

/// The CDN's answer when the load balancer gave none: 502, or 504 when it could not be
/// reached or did not answer in time.
fn failure_response(failure: Failure) -> Response<Body> {
    match failure {
        Failure::Upstream(UpstreamError::TooLarge(_)) => http::error(
            StatusCode::BAD_GATEWAY,
            "the load balancer's answer was too large",
        ),
        Failure::Upstream(UpstreamError::ConnectTimeout(_)) => http::error(
            StatusCode::GATEWAY_TIMEOUT,
            "the CDN could not reach the load balancer in time",
        ),
        Failure::Upstream(other) => http::error(
            StatusCode::BAD_GATEWAY,
            &format!("the CDN got no answer from the load balancer: {other}"),
        ),
        Failure::TimedOut => http::error(
            StatusCode::GATEWAY_TIMEOUT,
            "the load balancer did not answer the CDN in time",
        ),
    }
}

fn copy_served_by(from: &hyper::HeaderMap, resp: &mut Response<Body>) {
    if let Some(v) = from.get(SERVED_BY) {
        resp.headers_mut().insert(SERVED_BY, v.clone());
    }
}

fn set(resp: &mut Response<Body>, name: &'static str, value: &'static str) {
    resp.headers_mut()
        .insert(name, HeaderValue::from_static(value));
}
