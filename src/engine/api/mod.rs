//! The API servers (`server-1`, `server-2`, …): HTTP/1.1 on their own loopback port, REST
//! over the shared database, and the lessons a server teaches.
//!
//! - Worker model, like a thread pool: at most `workers` requests are in a handler at once,
//!   up to `queue` more wait in line (FIFO), and one more is refused at once with
//!   `503 Service Unavailable` and `Retry-After: 1`. A handler holds its worker for its
//!   whole service time (drawn per request from the configured distribution, times the
//!   server's slowdown, plus any injected slowness) and its database queries.
//! - Faults: `kill` (connection refused; requests in progress are cut), `hang` (connections
//!   and requests are accepted but never answered, `/health` included), `slow`, an error
//!   rate (that share of requests answer 500), and `restart`, which is a fresh process: the
//!   old connections are cut, the faults cleared, in-memory carts forgotten.
//! - Trace: `Queue` then `Handler` spans on `Component::Server(n)`, the database's spans
//!   inside the handler, all reported before the response leaves. A request from outside
//!   (curl straight at a server) begins and ends its journey here. `/health` is not traced
//!   and is counted apart from requests.
//! - Every answer says `X-Served-By: server-N`.
//!
//! `routes` has the REST semantics, `resources` the schemas and SQL, `list` the list
//! queries, `carts` the sessions; `service` starts, kills and restarts a server in the one
//! component shape (`engine::component`).

mod carts;
mod list;
mod resources;
mod routes;
mod service;

pub use service::ServerSetup;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{ALLOW, HeaderValue, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Distribution as _, Exp, LogNormal};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::db::Db;
use super::http::{self, Body, Outside, SERVED_BY, trace_context};
use super::listener::{Listener, Peer};
use super::{Env, HopCounters, HopCounts};
use crate::scenario::{ApiConfig, Distribution, ServersConfig, ServiceTime};
use crate::trace::{Attr, Component, Phase, ServerGauge};
use carts::MemoryCarts;

/// Purpose codes for the servers' random streams (`Env::rng`), mixed with the number.
const SERVICE_PURPOSE: u64 = 0x5E_1C00;
const FAULT_PURPOSE: u64 = 0xFA_0700;
/// The most injected slowness `slow` accepts.
const MAX_SLOW: Duration = Duration::from_secs(3600);

/// What every API server shares: the database, the settings, and where carts live.
#[derive(Debug)]
pub struct ApiShared {
    pub db: Db,
    pub servers: ServersConfig,
    pub api: ApiConfig,
    stateless: AtomicBool,
}

impl ApiShared {
    /// Shared state for servers configured by `servers` and `api`.
    pub fn new(db: Db, servers: ServersConfig, api: ApiConfig) -> Arc<ApiShared> {
        let stateless = AtomicBool::new(servers.stateless);
        Arc::new(ApiShared {
            db,
            servers,
            api,
            stateless,
        })
    }

    /// Whether carts live in the database (every server sees them).
    pub fn stateless(&self) -> bool {
        self.stateless.load(Ordering::Relaxed)
    }

    /// Moves carts to the database (`true`) or back to each server's memory.
    pub fn set_stateless(&self, on: bool) {
        self.stateless.store(on, Ordering::Relaxed);
    }
}

/// One server's state, shared by its handler and its handle.
struct ServerInner {
    env: Arc<Env>,
    number: u16,
    name: String,
    shared: Arc<ApiShared>,
    workers: Arc<Semaphore>,
    in_flight: AtomicU32,
    queued: AtomicU32,
    max_queue: AtomicU32,
    hung: AtomicBool,
    slow_micros: AtomicU64,
    error_rate_bits: AtomicU64,
    service_rng: Mutex<StdRng>,
    fault_rng: Mutex<StdRng>,
    counters: HopCounters,
    health_checks: AtomicU64,
    carts: MemoryCarts,
}

/// A running API server.
pub struct ApiServer {
    inner: Arc<ServerInner>,
    listener: Arc<Listener>,
}

impl std::fmt::Debug for ApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiServer")
            .field("name", &self.inner.name)
            .field("addr", &self.listener.addr())
            .finish()
    }
}

impl ApiServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// `server-N`.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// N.
    pub fn number(&self) -> u16 {
        self.inner.number
    }

    /// Returns once the listening port is closed (after `kill`): connections are refused.
    pub async fn wait_closed(&self) {
        self.listener.wait_closed().await;
    }

    /// From now on, requests (and health checks) are accepted but never answered, until
    /// `restart` or `kill`.
    pub fn hang(&self) {
        self.inner.hung.store(true, Ordering::Relaxed);
    }

    /// Adds `extra` (at most an hour) to every request's service time (zero: back to
    /// normal).
    pub fn slow(&self, extra: Duration) {
        let micros = u64::try_from(extra.min(MAX_SLOW).as_micros()).unwrap_or(u64::MAX);
        self.inner.slow_micros.store(micros, Ordering::Relaxed);
    }

    /// Makes `share` (0 to 1) of requests answer 500.
    pub fn set_error_rate(&self, share: f64) {
        self.inner.set_error_rate(share);
    }

    /// Its load and faults now (`healthy` is left true: the load balancer knows better).
    pub fn gauge(&self) -> ServerGauge {
        let i = &self.inner;
        ServerGauge {
            name: i.name.clone(),
            address: self.addr().to_string(),
            in_flight: i.in_flight.load(Ordering::Relaxed),
            queued: i.queued.load(Ordering::Relaxed),
            max_queue: i.max_queue.load(Ordering::Relaxed),
            alive: self.listener.is_alive(),
            hung: i.hung.load(Ordering::Relaxed),
            slow_millis: i.slow_micros.load(Ordering::Relaxed) as f64 / 1000.0,
            error_rate: i.error_rate(),
            healthy: true,
        }
    }

    /// Requests received, answered and aborted (health checks excluded).
    pub fn counts(&self) -> HopCounts {
        self.inner.counters.read()
    }

    /// Health checks answered or held (not counted as requests).
    pub fn health_checks(&self) -> u64 {
        self.inner.health_checks.load(Ordering::Relaxed)
    }

    /// Carts held in this server's memory.
    pub fn carts_in_memory(&self) -> usize {
        self.inner.carts.sessions()
    }
}

/// Counts a request as aborted unless it was answered (the connection was cut, the client
/// left, the server hung).
struct Pending {
    server: Arc<ServerInner>,
    answered: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        let c = &self.server.counters;
        HopCounters::bump(if self.answered {
            &c.answered
        } else {
            &c.aborted
        });
    }
}

/// A request waiting in the queue (leaves the count however the wait ends).
struct InQueue(Arc<ServerInner>);

impl Drop for InQueue {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A worker held by a request.
struct Worker {
    server: Arc<ServerInner>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.server.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why a request got no worker: the queue already held this many.
struct QueueFull(u32);

impl ServerInner {
    fn error_rate(&self) -> f64 {
        f64::from_bits(self.error_rate_bits.load(Ordering::Relaxed))
    }

    fn set_error_rate(&self, share: f64) {
        let share = if share.is_finite() {
            share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.error_rate_bits
            .store(share.to_bits(), Ordering::Relaxed);
    }

    fn is_hung(&self) -> bool {
        self.hung.load(Ordering::Relaxed)
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: Peer) -> Response<Body> {
        if req.uri().path() == "/health" {
            return self.health(req.method()).await;
        }
        let (parts, body) = req.into_parts();
        let ctx = trace_context(&parts.headers, &self.env.run_token);
        let outside = Outside::begin(&self.env, &ctx, &parts, peer.addr);
        HopCounters::bump(&self.counters.received);
        let mut pending = Pending {
            server: self.clone(),
            answered: false,
        };
        let component = Component::Server(self.number);
        self.env.arrive(ctx.id, component).await;
        if self.is_hung() {
            std::future::pending::<()>().await;
        }
        let queue_start = self.env.now();
        let route = routes::label(&parts.method, parts.uri.path());
        let mut resp = match self.admit().await {
            Err(QueueFull(waiting)) => {
                let attrs = vec![
                    Attr::new("rejected", format!("queue full ({waiting} waiting)")),
                    Attr::new("status", "503"),
                ];
                self.env
                    .span(ctx.id, component, Phase::Queue, queue_start, attrs);
                let mut resp = http::error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &format!(
                        "{} is overloaded: every worker is busy and {waiting} requests are waiting; try again shortly",
                        self.name
                    ),
                );
                let h = resp.headers_mut();
                h.insert(RETRY_AFTER, HeaderValue::from_static("1"));
                h.insert(
                    hyper::header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                );
                resp
            }
            Ok((worker, position)) => {
                let attrs = position
                    .map(|p| vec![Attr::new("position", p.to_string())])
                    .unwrap_or_default();
                self.env
                    .span(ctx.id, component, Phase::Queue, queue_start, attrs);
                let handler_start = self.env.now();
                let service = self.draw_service_time();
                self.env.delay(service).await;
                let mut attrs = vec![
                    Attr::new("route", route.clone()),
                    Attr::new("service_micros", service.as_micros().to_string()),
                ];
                let reply = if self.draw_failure() {
                    attrs.push(Attr::new("fault", "injected error"));
                    routes::Reply::error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("{} failed on purpose (injected error rate)", self.name),
                    )
                } else {
                    let rctx = routes::Ctx {
                        id: ctx.id,
                        shared: &self.shared,
                        carts: &self.carts,
                        server: &self.name,
                        max_body_bytes: self.env.limits.max_body_bytes,
                        body_timeout: self.env.limits.body_timeout.get(),
                    };
                    routes::route(&rctx, &parts, body).await
                };
                let resp = routes::finish(
                    reply,
                    &parts.method,
                    &parts.headers,
                    self.shared.api.max_age.get(),
                );
                drop(worker);
                if self.is_hung() {
                    std::future::pending::<()>().await;
                }
                attrs.push(Attr::new("status", resp.status().as_str().to_string()));
                self.env
                    .span(ctx.id, component, Phase::Handler, handler_start, attrs);
                resp
            }
        };
        if let Ok(v) = HeaderValue::from_str(&self.name) {
            resp.headers_mut().insert(SERVED_BY, v);
        }
        if let Some(o) = outside {
            o.finish(&resp, None, Some(self.name.clone()));
        }
        pending.answered = true;
        resp
    }

    /// `/health`: untraced, counted apart; held forever while hung.
    async fn health(&self, method: &Method) -> Response<Body> {
        self.health_checks.fetch_add(1, Ordering::Relaxed);
        if self.is_hung() {
            std::future::pending::<()>().await;
        }
        let mut resp = if matches!(*method, Method::GET | Method::HEAD) {
            http::json(
                StatusCode::OK,
                &json!({ "status": "ok", "server": self.name }),
            )
        } else {
            let mut r = http::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "/health answers GET and HEAD",
            );
            r.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            r
        };
        let h = resp.headers_mut();
        h.insert(
            hyper::header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        );
        if let Ok(v) = HeaderValue::from_str(&self.name) {
            h.insert(SERVED_BY, v);
        }
        resp
    }

    /// A worker at once, or a place in the queue and then a worker, or `QueueFull`. Returns
    /// the queue position the request started at, when it had to wait.
    async fn admit(self: &Arc<Self>) -> Result<(Worker, Option<u32>), QueueFull> {
        let permit = match self.workers.clone().try_acquire_owned() {
            Ok(p) => (p, None),
            Err(_) => {
                let position = self.queued.fetch_add(1, Ordering::Relaxed) + 1;
                let slot = InQueue(self.clone());
                if position as usize > self.shared.servers.queue {
                    drop(slot);
                    return Err(QueueFull(position - 1));
                }
                self.max_queue.fetch_max(position, Ordering::Relaxed);
                let p = self
                    .workers
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the worker pool is never closed");
                drop(slot);
                (p, Some(position))
            }
        };
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Ok((
            Worker {
                server: self.clone(),
                _permit: permit.0,
            },
            permit.1,
        ))
    }

    /// This request's service time: drawn around the mean, times this server's slowdown,
    /// plus injected slowness.
    fn draw_service_time(&self) -> Duration {
        let cfg = &self.shared.servers;
        let base_secs = {
            let mut rng = self.service_rng.lock().expect("service rng lock");
            sample_service_secs(&cfg.service, &mut rng)
        };
        let factor = cfg.slowdown_of(usize::from(self.number.saturating_sub(1)));
        let secs = base_secs
            * if factor.is_finite() {
                factor.max(0.0)
            } else {
                1.0
            };
        // Cap a freak draw of the tail at an hour: beyond it nothing is being taught.
        let drawn = if secs.is_finite() && secs > 0.0 {
            Duration::from_secs_f64(secs.min(3600.0))
        } else {
            Duration::ZERO
        };
        drawn + Duration::from_micros(self.slow_micros.load(Ordering::Relaxed))
    }

    /// Whether this request fails on purpose (the injected error rate).
    fn draw_failure(&self) -> bool {
        let rate = self.error_rate();
        rate > 0.0
            && self
                .fault_rng
                .lock()
                .expect("fault rng lock")
                .random_bool(rate)
    }
}

/// One service time in seconds drawn from `service`, before any slowdown: constant,
/// exponential or lognormal, each with the configured mean.
fn sample_service_secs(service: &ServiceTime, rng: &mut StdRng) -> f64 {
    let mean_secs = service.mean.get().as_secs_f64();
    if mean_secs <= 0.0 {
        return 0.0;
    }
    match service.distribution {
        Distribution::Constant => mean_secs,
        Distribution::Exponential => Exp::new(1.0 / mean_secs).map_or(mean_secs, |d| d.sample(rng)),
        Distribution::Lognormal => {
            let sigma = service.sigma;
            let sigma = if sigma.is_finite() && sigma > 0.0 {
                sigma
            } else {
                0.0
            };
            // mu is chosen so that the mean stays `mean`: E[X] = exp(mu + sigma^2 / 2).
            LogNormal::new(mean_secs.ln() - sigma * sigma / 2.0, sigma)
                .map_or(mean_secs, |d| d.sample(rng))
        }
    }
}

#[cfg(test)]
mod tests;
