//! Forwarding, the part every reverse proxy shares: what the CDN and the load balancer do to a
//! request on its way through them to the next hop, and to the answer on its way back.
//!
//! A reverse proxy answers in the origin's name: the client talks to it as if it were the
//! server, and it opens a second, separate HTTP exchange with the next hop. So the request is
//! not passed along byte for byte; it is rebuilt:
//!
//! 1. Only end-to-end headers travel on. Hop-by-hop ones (`Connection`, `Keep-Alive`,
//!    `Transfer-Encoding`, `Upgrade`, `TE`, `Trailer` and whatever `Connection` names) describe
//!    the client's connection to this proxy, not the message, and the proxy's own connection
//!    to the next hop has its own (RFC 9110 §7.6.1). `Content-Length` is recomputed from the
//!    body actually sent.
//! 2. `Host` is kept: the next hop routes and caches by the name the client asked for.
//! 3. The trace context moves one hop down: a new `traceparent` with the same trace id and a
//!    new parent span, so the next hop's spans hang under this one, plus the run's hop mark
//!    that says "traced already" (see `http`).
//! 4. The proxy says who it is: it appends the client's address to `X-Forwarded-For` (the next
//!    hop sees only the proxy's address on its socket) and itself to `Via` (RFC 9110 §7.6.3),
//!    so a loop or a chain of proxies can be seen.
//! 5. The proxy waits for the answer at most a set time. No answer at all is the proxy's to
//!    explain: 502 Bad Gateway when the next hop refused, dropped or spoiled the exchange, 504
//!    Gateway Timeout when it was too slow. Which words and which code fit each failure
//!    depends on who is behind, so each proxy writes those answers itself from a [`Failure`].
//! 6. On the way back, hop-by-hop headers are dropped again for the same reason as in 1.
//!
//! Before any of that, a proxy takes the request in like any server: it decides the trace id
//! (and begins the journey of a request from outside), counts it, reports its arrival and
//! reads the body within the limits ([`Arrival`]); after, it counts the answer and ends an
//! outside request's journey with it.
//!
//! Each forward is one `forward` span on the proxy's lane, with the next hop's status and
//! whether a kept-alive connection was reused, or the error. Bodies are small and buffered
//! (`Bytes`): they are handed on, never copied.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue, VIA};
use hyper::http::request::Parts;
use hyper::{Request, Response, StatusCode};

use super::http::{self, Body, BodyError, HOP_MARK, Outside, SERVED_BY, TRACEPARENT, TraceCtx};
use super::listener::Peer;
use super::upstream::{Answer, Upstream, UpstreamError};
use super::{Env, HopCounters, Taken};
use crate::trace::{Attr, CacheStatus, Component, Phase};

/// `X-Forwarded-For`: the addresses a request came through, the client first.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// A request a proxy has taken in, until it answers: its trace context, its place in the
/// proxy's counts and, if it came from outside, the journey begun here. Dropped unanswered
/// (the client left, the proxy was killed), it counts as aborted and the journey ends as a
/// reset connection.
pub struct Arrival<'a> {
    pub ctx: TraceCtx,
    taken: Taken<'a>,
    outside: Option<Outside>,
}

impl<'a> Arrival<'a> {
    /// Takes a request in at `component`: decides its trace id, begins its journey if it
    /// comes from outside, counts it, reports its arrival (holding it there while it is
    /// stepped), then reads its body within the size and time limits.
    pub async fn take(
        env: &Arc<Env>,
        counters: &'a HopCounters,
        component: Component,
        parts: &Parts,
        body: Incoming,
        peer: Peer,
    ) -> (Arrival<'a>, Result<Bytes, BodyError>) {
        let ctx = http::trace_context(&parts.headers, &env.run_token);
        let outside = Outside::begin(env, &ctx, parts, peer.addr);
        let taken = counters.take();
        env.arrive(ctx.id, component).await;
        let limits = &env.limits;
        let read = http::read_body(
            &parts.headers,
            body,
            limits.max_body_bytes,
            limits.body_timeout.get(),
        )
        .await;
        let arrival = Arrival {
            ctx,
            taken,
            outside,
        };
        (arrival, read)
    }

    /// `resp` is about to be written: counts the request as answered and ends an outside
    /// request's journey with it. `cache` is the CDN's verdict: a HIT was answered by no
    /// server, whatever `X-Served-By` the stored copy carries.
    pub fn answer(self, resp: &Response<Body>, cache: Option<CacheStatus>) {
        let Arrival { taken, outside, .. } = self;
        taken.answer();
        if let Some(o) = outside {
            let served_by = match cache {
                Some(CacheStatus::Hit) => None,
                _ => resp
                    .headers()
                    .get(SERVED_BY)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            };
            o.finish(resp, cache, served_by);
        }
    }
}

/// One request being passed on by one proxy.
pub struct Forward<'a> {
    pub env: &'a Env,
    pub ctx: &'a TraceCtx,
    /// The proxy passing it on: the lane of the `forward` span.
    pub component: Component,
    /// The proxy's counters: `forwarded`, and `upstream_failed` when no answer came.
    pub counters: &'a HopCounters,
}

/// Why the next hop gave no usable answer.
#[derive(Debug)]
pub enum Failure {
    /// The exchange failed: refused, dropped, too large.
    Upstream(UpstreamError),
    /// Nothing came back within the proxy's upstream timeout.
    TimedOut,
}

/// The request could not be rebuilt for the next hop.
#[derive(Debug)]
pub struct Unforwardable;

impl Unforwardable {
    /// The answer to the client: 400, the request is at fault.
    pub fn response(&self) -> Response<Body> {
        http::error(
            StatusCode::BAD_REQUEST,
            "the request could not be forwarded",
        )
    }
}

/// When the request went to the next hop and when its fate was known, in trace time.
#[derive(Clone, Copy, Debug)]
pub struct Took {
    pub sent_micros: u64,
    pub back_micros: u64,
}

impl Forward<'_> {
    /// The request to send on: `parts` rebuilt with end-to-end headers only, `Host` kept, a
    /// child `traceparent` and the hop mark, the client's address added to
    /// `X-Forwarded-For` and `via` (e.g. `"1.1 hopscope-lb"`) to `Via`.
    pub fn request(
        &self,
        parts: &Parts,
        body: Bytes,
        peer: Peer,
        via: &'static str,
    ) -> Result<Request<Body>, Unforwardable> {
        // Origin form: the next hop is a server, not a proxy, so it gets the path alone.
        let mut builder = Request::builder()
            .method(parts.method.clone())
            .uri(parts.uri.path_and_query().map_or("/", |p| p.as_str()));
        if let Some(headers) = builder.headers_mut() {
            copy_end_to_end(&parts.headers, headers);
            // The incoming trace headers are replaced below, never forwarded as they came.
            headers.remove(TRACEPARENT);
            headers.remove(HOP_MARK);
            // `Host` is end to end in meaning though `copy_end_to_end` leaves it to the
            // caller: the next hop still serves the site the client named.
            if let Some(host) = parts.headers.get(HOST) {
                headers.insert(HOST, host.clone());
            }
            // A new span id under the same trace id: the next hop's spans nest under ours.
            let child = self.ctx.parent.child(rand::random()).to_string();
            if let Ok(v) = HeaderValue::from_str(&child) {
                headers.insert(TRACEPARENT, v);
            }
            // The run's token: the next hop must not begin a second journey for it.
            if let Ok(v) = HeaderValue::from_str(&self.env.run_token) {
                headers.insert(HOP_MARK, v);
            }
            // Appended, not replaced: earlier proxies' entries stay, the client's first.
            if let Ok(v) = HeaderValue::from_str(&peer.addr.ip().to_string()) {
                headers.append(X_FORWARDED_FOR, v);
            }
            headers.append(VIA, HeaderValue::from_static(via));
        }
        builder.body(Full::new(body)).map_err(|_| Unforwardable)
    }

    /// Sends `req` to `upstream`, waiting at most `timeout` (scaled; no limit while the request
    /// is stepped, since a learner may take their time between hops). Counts it, adds the
    /// outcome to `attrs`, lets `answer` turn it into the caller's result, then reports the
    /// `forward` span with `attrs`: whatever `answer` reports (a health marker) comes first.
    pub async fn send<T>(
        &self,
        upstream: &Upstream,
        req: Request<Body>,
        timeout: Duration,
        mut attrs: Vec<Attr>,
        answer: impl FnOnce(Result<Answer, Failure>, Took) -> T,
    ) -> T {
        let env = self.env;
        HopCounters::bump(&self.counters.forwarded);
        let sent_micros = env.now();
        let sent = if env.gate.is_stepped(self.ctx.id) {
            Ok(upstream.send(req).await)
        } else {
            tokio::time::timeout(env.scale.apply(timeout), upstream.send(req)).await
        };
        let took = Took {
            sent_micros,
            back_micros: env.now(),
        };
        let result = match sent {
            Ok(Ok(answer)) => {
                attrs.push(Attr::new("status", answer.status.as_u16().to_string()));
                attrs.push(Attr::new("reused", answer.reused.to_string()));
                Ok(answer)
            }
            Ok(Err(e)) => {
                HopCounters::bump(&self.counters.upstream_failed);
                attrs.push(Attr::new("error", e.to_string()));
                Err(Failure::Upstream(e))
            }
            Err(_) => {
                HopCounters::bump(&self.counters.upstream_failed);
                attrs.push(Attr::new("error", "timed out"));
                Err(Failure::TimedOut)
            }
        };
        let out = answer(result, took);
        env.span(
            self.ctx.id,
            self.component,
            Phase::Forward,
            sent_micros,
            attrs,
        );
        out
    }
}

/// The response to send back for the next hop's answer: its status, end-to-end headers and
/// body (moved, not copied).
pub fn response(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Response<Body> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    copy_end_to_end(headers, resp.headers_mut());
    resp
}

/// Copies headers that describe a message end to end, dropping hop-by-hop ones
/// (RFC 9110 §7.6.1) and the ones a proxy recomputes (`Content-Length`, `Host`).
pub fn copy_end_to_end(from: &HeaderMap, to: &mut HeaderMap) {
    // `Connection: close, x-secret` makes `x-secret` hop-by-hop too.
    let connection_listed: Vec<String> = from
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    for (name, value) in from {
        let n = name.as_str();
        let hop_by_hop = matches!(
            n,
            "connection"
                | "keep-alive"
                | "proxy-connection"
                | "te"
                | "trailer"
                | "transfer-encoding"
                | "upgrade"
                | "content-length"
                | "host"
        ) || connection_listed.iter().any(|c| c == n);
        if !hop_by_hop {
            to.append(name.clone(), value.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_are_not_forwarded() {
        let mut from = HeaderMap::new();
        for (k, v) in [
            ("connection", "close, x-secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("etag", "\"abc\""),
            ("content-length", "3"),
        ] {
            from.insert(k, HeaderValue::from_static(v));
        }
        let mut to = HeaderMap::new();
        copy_end_to_end(&from, &mut to);
        assert_eq!(to.len(), 1);
        assert!(to.contains_key("etag"));
    }
}
