//! The load balancer: an HTTP reverse proxy with a keep-alive pool to each API server. For
//! every request it picks a server by policy (and says why), forwards it, and answers 502
//! when the server refuses or drops the connection, 504 when it is too slow, 503 when no
//! server is healthy. Active health checks (`GET /health`) and passive ejection on connect
//! errors decide who is eligible. Servers come and go while traffic flows.
//!
//! `policy` holds the pickers, `health` the health state machine and `service` starts it in
//! the one component shape (`engine::component`); this file is the proxy.

pub mod health;
pub mod policy;
mod service;

pub use service::BalancerSetup;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{COOKIE, HOST, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};

use self::health::{Health, HealthRules, Transition};
use self::policy::{Candidate, Pick, Picker};
use super::forward::{self, Arrival, Failure, Forward, Took};
use super::http::{self, Body, CLIENT_ID, TraceCtx};
use super::link::LinkState;
use super::listener::{Handler, Peer};
use super::upstream::{Answer, Upstream, UpstreamError};
use super::{Env, HopCounters, HopCounts};
use crate::scenario::{BalancerConfig, Policy, server_name};
use crate::trace::{Attr, Component, Marker, Phase, TraceEvent};

/// Random stream of the picker.
const PICKER_STREAM: u64 = 0x21;

/// One server behind the load balancer.
struct Backend {
    number: u16,
    name: String,
    upstream: Upstream,
    active: AtomicU32,
    health: Mutex<Health>,
    weight: u32,
}

/// A backend as the window shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendView {
    pub number: u16,
    pub name: String,
    pub addr: SocketAddr,
    pub active: u32,
    pub healthy: bool,
    pub ejected: bool,
    /// Peak-EWMA latency estimate, when measured.
    pub latency_estimate_ms: Option<f64>,
}

/// The load balancer.
pub struct Balancer {
    env: Arc<Env>,
    config: BalancerConfig,
    link: Arc<LinkState>,
    backends: RwLock<Vec<Arc<Backend>>>,
    picker: Mutex<Picker>,
    counters: HopCounters,
}

impl Balancer {
    /// A load balancer in front of `servers` (number and address).
    pub fn new(
        env: Arc<Env>,
        config: &BalancerConfig,
        servers: &[(u16, SocketAddr)],
    ) -> Arc<Balancer> {
        let lb = Arc::new(Balancer {
            link: LinkState::new(config.latency.get(), config.jitter.get(), 0.0),
            picker: Mutex::new(Picker::new(config.policy, env.rng(PICKER_STREAM))),
            backends: RwLock::new(Vec::new()),
            counters: HopCounters::default(),
            config: config.clone(),
            env,
        });
        for (number, addr) in servers {
            lb.add_backend(*number, *addr);
        }
        let this = lb.clone();
        tokio::spawn(async move { this.health_loop().await });
        lb
    }

    /// The request handler, for the load balancer's listeners.
    pub fn handler(self: &Arc<Self>) -> Handler {
        let this = self.clone();
        Arc::new(move |req, peer| {
            let this = this.clone();
            Box::pin(async move { this.handle(req, peer).await })
        })
    }

    /// The link from the load balancer to the servers.
    pub fn link(&self) -> &Arc<LinkState> {
        &self.link
    }

    /// Requests counted at this hop.
    pub fn counts(&self) -> HopCounts {
        self.counters.read()
    }

    /// Puts a server behind the load balancer.
    pub fn add_backend(&self, number: u16, addr: SocketAddr) {
        let weight = self
            .config
            .weights
            .get(usize::from(number) - 1)
            .copied()
            .unwrap_or(1)
            .max(1);
        let backend = Arc::new(Backend {
            number,
            name: server_name(number),
            upstream: Upstream::new(
                self.env.clone(),
                addr,
                self.link.clone(),
                64,
                self.config.upstream_timeout.get(),
            ),
            active: AtomicU32::new(0),
            health: Mutex::new(Health::new(HealthRules::from_config(&self.config))),
            weight,
        });
        let mut list = self.backends.write().expect("backends lock");
        list.retain(|b| b.number != number);
        list.push(backend);
        list.sort_by_key(|b| b.number);
    }

    /// Takes a server out; false if it was not there.
    pub fn remove_backend(&self, number: u16) -> bool {
        let mut list = self.backends.write().expect("backends lock");
        let before = list.len();
        list.retain(|b| b.number != number);
        self.picker
            .lock()
            .expect("picker lock")
            .forget(u32::from(number));
        list.len() != before
    }

    /// Forgets pooled connections to a server (it restarted).
    pub fn reset_backend(&self, number: u16) {
        if let Some(b) = self.backend(number) {
            b.upstream.drop_idle();
        }
    }

    fn backend(&self, number: u16) -> Option<Arc<Backend>> {
        self.backends
            .read()
            .expect("backends lock")
            .iter()
            .find(|b| b.number == number)
            .cloned()
    }

    /// The policy in force.
    pub fn policy(&self) -> Policy {
        self.picker.lock().expect("picker lock").policy()
    }

    /// Changes the policy live.
    pub fn set_policy(&self, policy: Policy) {
        self.picker.lock().expect("picker lock").set_policy(policy);
    }

    /// Sets the one-way latency to the servers.
    pub fn set_latency(&self, d: Duration) {
        self.link.set_latency(d);
    }

    /// Every backend as the load balancer sees it.
    pub fn view(&self) -> Vec<BackendView> {
        let now = self.env.now();
        let picker = self.picker.lock().expect("picker lock");
        self.backends
            .read()
            .expect("backends lock")
            .iter()
            .map(|b| {
                let health = b.health.lock().expect("health lock");
                BackendView {
                    number: b.number,
                    name: b.name.clone(),
                    addr: b.upstream.addr(),
                    active: b.active.load(Ordering::Relaxed),
                    healthy: health.is_healthy(),
                    ejected: health.is_ejected(now),
                    latency_estimate_ms: picker
                        .latency_estimate_micros(u32::from(b.number), now)
                        .map(|m| m / 1000.0),
                }
            })
            .collect()
    }

    /// Whether server `number` may take requests.
    pub fn is_eligible(&self, number: u16) -> bool {
        let now = self.env.now();
        self.backend(number)
            .is_some_and(|b| b.health.lock().expect("health lock").is_eligible(now))
    }

    fn marker(&self, backend: &Backend, transition: &Transition) {
        self.env.sink.emit(TraceEvent::Marker(Marker {
            at_micros: self.env.now(),
            component: Some(Component::Server(backend.number)),
            text: transition.marker_text(&backend.name),
        }));
    }

    async fn health_loop(self: Arc<Self>) {
        let env = self.env.clone();
        loop {
            tokio::select! {
                _ = env.delay(self.config.health_interval.get()) => {}
                _ = env.shutdown.cancelled() => return,
            }
            // Every backend is checked at once, so a hung one delays nobody else's check.
            let backends: Vec<Arc<Backend>> = self.backends.read().expect("backends lock").clone();
            let mut checks = tokio::task::JoinSet::new();
            for b in backends {
                let this = self.clone();
                checks.spawn(async move { this.check(&b).await });
            }
            while checks.join_next().await.is_some() {}
        }
    }

    async fn check(&self, backend: &Backend) {
        let req = Request::get("/health")
            .header(HOST, "health-check")
            .header("user-agent", "hopscope-lb-health-check")
            .body(Full::new(Bytes::new()));
        let Ok(req) = req else { return };
        let timeout = self.env.scale.apply(self.config.health_timeout.get());
        let ok = matches!(
            tokio::time::timeout(timeout, backend.upstream.send(req)).await,
            Ok(Ok(answer)) if answer.status.is_success()
        );
        let now = self.env.now();
        let transition = {
            let mut health = backend.health.lock().expect("health lock");
            let t = health.record_check(ok, now);
            t.or_else(|| health.tick(now))
        };
        if let Some(t) = transition {
            self.marker(backend, &t);
        }
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, peer: Peer) -> Response<Body> {
        let (parts, body) = req.into_parts();
        let (arrival, read) =
            Arrival::take(&self.env, &self.counters, Component::Lb, &parts, body, peer).await;
        let resp = match read {
            Ok(body) => self.forward(&parts, body, &arrival.ctx, peer).await,
            Err(e) => e.response(),
        };
        arrival.answer(&resp, None);
        resp
    }

    /// Who a request is from, for client-hash stickiness.
    fn client_key(parts: &Parts, peer: Peer) -> String {
        if let Some(id) = parts.headers.get(CLIENT_ID).and_then(|v| v.to_str().ok()) {
            return id.to_string();
        }
        let session = parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(str::trim)
            .find(|c| c.starts_with("session="));
        session.map_or_else(|| peer.addr.to_string(), str::to_string)
    }

    /// Picks a server for the request and forwards it there; 503 when no server may take it.
    async fn forward(
        &self,
        parts: &Parts,
        body: Bytes,
        ctx: &TraceCtx,
        peer: Peer,
    ) -> Response<Body> {
        let pick_start = self.env.now();
        let backends: Vec<Arc<Backend>> = self.backends.read().expect("backends lock").clone();
        let pick = self.pick(&backends, &Self::client_key(parts, peer), pick_start);
        let policy = self.policy();
        let choice = match pick {
            Pick::Backend(c) => c,
            Pick::NoHealthyBackend { reason } => {
                return self.no_healthy_backend(ctx, pick_start, policy, reason);
            }
        };
        let backend = backends[choice.index].clone();
        self.env.span(
            ctx.id,
            Component::Lb,
            Phase::Pick,
            pick_start,
            vec![
                Attr::new("server", backend.name.clone()),
                Attr::new("policy", policy.name()),
                Attr::new("reason", choice.reason),
            ],
        );
        self.send_to(&backend, parts, body, ctx, peer).await
    }

    /// The picker's choice among `backends`, health and load as they stand at `now_micros`.
    fn pick(&self, backends: &[Arc<Backend>], client_key: &str, now_micros: u64) -> Pick {
        let names: Vec<String> = backends.iter().map(|b| b.name.clone()).collect();
        let candidates: Vec<Candidate<'_>> = backends
            .iter()
            .zip(&names)
            .map(|(b, name)| Candidate {
                name,
                number: u32::from(b.number),
                weight: b.weight,
                active: b.active.load(Ordering::Relaxed),
                eligible: b
                    .health
                    .lock()
                    .expect("health lock")
                    .is_eligible(now_micros),
            })
            .collect();
        self.picker
            .lock()
            .expect("picker lock")
            .pick(&candidates, client_key, now_micros)
    }

    /// The pick span that says why nobody was picked, and the 503 that follows.
    fn no_healthy_backend(
        &self,
        ctx: &TraceCtx,
        pick_start: u64,
        policy: Policy,
        reason: String,
    ) -> Response<Body> {
        self.env.span(
            ctx.id,
            Component::Lb,
            Phase::Pick,
            pick_start,
            vec![
                Attr::new("policy", policy.name()),
                Attr::new("reason", reason.clone()),
            ],
        );
        let mut resp = http::error(StatusCode::SERVICE_UNAVAILABLE, &reason);
        resp.headers_mut()
            .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
        resp
    }

    /// Forwards the request to `backend` (counted as active meanwhile) and answers with what
    /// came back.
    async fn send_to(
        &self,
        backend: &Backend,
        parts: &Parts,
        body: Bytes,
        ctx: &TraceCtx,
        peer: Peer,
    ) -> Response<Body> {
        let hop = Forward {
            env: &self.env,
            ctx,
            component: Component::Lb,
            counters: &self.counters,
        };
        let req = match hop.request(parts, body, peer, "1.1 hopscope-lb") {
            Ok(req) => req,
            Err(e) => return e.response(),
        };
        backend.active.fetch_add(1, Ordering::Relaxed);
        let _active = Active(&backend.active);
        let attrs = vec![Attr::new("server", backend.name.clone())];
        let timeout = self.config.upstream_timeout.get();
        hop.send(&backend.upstream, req, timeout, attrs, |sent, took| {
            self.answer(backend, sent, took)
        })
        .await
    }

    /// The response for what came back from `backend`; feeds the picker's latency estimate
    /// and, when nothing listened, passive health.
    fn answer(
        &self,
        backend: &Backend,
        sent: Result<Answer, Failure>,
        took: Took,
    ) -> Response<Body> {
        let now = took.back_micros;
        match sent {
            Ok(answer) => {
                self.picker.lock().expect("picker lock").observe(
                    u32::from(backend.number),
                    now - took.sent_micros,
                    now,
                );
                forward::response(answer.status, &answer.headers, answer.body)
            }
            Err(Failure::Upstream(e)) => {
                if matches!(
                    e,
                    UpstreamError::Refused(_) | UpstreamError::ConnectTimeout(_)
                ) {
                    let t = backend
                        .health
                        .lock()
                        .expect("health lock")
                        .record_connect_failure(now);
                    if let Some(t) = t {
                        self.marker(backend, &t);
                    }
                }
                let why = match e {
                    UpstreamError::Refused(_) => format!(
                        "{} refused the connection: nothing is listening",
                        backend.name
                    ),
                    UpstreamError::Closed(_) => {
                        format!("{} closed the connection without answering", backend.name)
                    }
                    other => format!("{}: {other}", backend.name),
                };
                http::error(StatusCode::BAD_GATEWAY, &why)
            }
            Err(Failure::TimedOut) => {
                let why = format!(
                    "{} did not answer within {}",
                    backend.name, self.config.upstream_timeout
                );
                http::error(StatusCode::GATEWAY_TIMEOUT, &why)
            }
        }
    }
}

/// Lowers a backend's active count when the request is over, however it ends.
struct Active<'a>(&'a AtomicU32);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
