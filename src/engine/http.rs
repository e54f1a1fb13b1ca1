//! HTTP plumbing shared by the servers and proxies: body types, reading a body within the
//! size limit (413) and the time limit (408), small response builders, the header names hopscope uses, and the rule
//! that decides a request's trace id.
//!
//! Trace ids: a request carries its id in the W3C `traceparent` header. Simulated clients and
//! hopscope's own proxies also send `x-hopscope-hop` with the run's token, which marks the
//! request as already traced. Any request without both (curl, a browser, wrk) is *outside*
//! traffic: the first component that sees it begins and ends its journey in the trace,
//! keeping the caller's trace-id when it sent a valid `traceparent`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use super::Env;
use crate::trace::{Begin, CacheStatus, End, Exchange, Outcome, TraceEvent, TraceId, TraceParent};

/// The body of every response hopscope writes (bodies are small and buffered).
pub type Body = Full<Bytes>;

/// `X-Served-By: server-N` on every API response.
pub const SERVED_BY: &str = "x-served-by";
/// `X-Cache: HIT|MISS|EXPIRED|REVALIDATED|BYPASS` from the CDN.
pub const X_CACHE: &str = "x-cache";
/// `X-Client-Id`: which simulated client sent the request.
pub const CLIENT_ID: &str = "x-client-id";
/// W3C trace context.
pub const TRACEPARENT: &str = "traceparent";
/// Marks a request that comes from inside the running topology (value: the run token).
pub const HOP_MARK: &str = "x-hopscope-hop";

/// How a component should treat a request in the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceCtx {
    pub id: TraceId,
    /// The traceparent to send on to the next hop.
    pub parent: TraceParent,
    /// The request came from outside the topology: this component begins and ends it.
    pub external: bool,
}

/// Decides the trace id of a request arriving at a component.
pub fn trace_context(headers: &HeaderMap, run_token: &str) -> TraceCtx {
    let parent = headers
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse);
    let marked = headers
        .get(HOP_MARK)
        .is_some_and(|v| v.as_bytes() == run_token.as_bytes());
    match parent {
        Some(p) if marked => TraceCtx {
            id: p.trace_id,
            parent: p,
            external: false,
        },
        Some(p) => TraceCtx {
            id: p.trace_id,
            parent: p,
            external: true,
        },
        None => {
            let id = TraceId::random();
            TraceCtx {
                id,
                parent: TraceParent::new(id),
                external: true,
            }
        }
    }
}

/// The journey of an outside request, begun at the first component that saw it. Exactly one
/// end is reported: `finish` with the response, or, if the request is dropped unanswered
/// (the client went away, the component was killed), `connection_reset` on drop.
pub struct Outside {
    env: Arc<Env>,
    id: TraceId,
    request_headers: Option<Vec<(String, String)>>,
    finished: bool,
}

impl Outside {
    /// Begins the journey if `ctx` says the request came from outside.
    pub fn begin(
        env: &Arc<Env>,
        ctx: &TraceCtx,
        parts: &hyper::http::request::Parts,
        peer: SocketAddr,
    ) -> Option<Outside> {
        if !ctx.external {
            return None;
        }
        let url = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        env.sink.emit(TraceEvent::Begin(Begin {
            id: ctx.id,
            at_micros: env.now(),
            profile: "outside".into(),
            client: client_label(&parts.headers, peer),
            method: parts.method.to_string(),
            url,
            external: true,
        }));
        let request_headers = env.capture_headers().then(|| header_pairs(&parts.headers));
        Some(Outside {
            env: env.clone(),
            id: ctx.id,
            request_headers,
            finished: false,
        })
    }

    /// Ends the journey with the response about to be sent.
    pub fn finish(
        mut self,
        resp: &Response<Body>,
        cache: Option<CacheStatus>,
        served_by: Option<String>,
    ) {
        self.finished = true;
        let body = hyper::body::Body::size_hint(resp.body())
            .exact()
            .unwrap_or(0);
        if let Some(request_headers) = self.request_headers.take() {
            self.env.sink.emit(TraceEvent::Exchange(Box::new(Exchange {
                id: self.id,
                request_headers,
                request_body: String::new(),
                response_headers: header_pairs(resp.headers()),
                response_body: String::new(),
            })));
        }
        self.env.sink.end(End {
            id: self.id,
            at_micros: self.env.now(),
            outcome: Outcome::Status(resp.status().as_u16()),
            cache,
            served_by,
            bytes: body,
            reused: false,
        });
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        if !self.finished {
            self.env.sink.end(End {
                id: self.id,
                at_micros: self.env.now(),
                outcome: Outcome::ConnectionReset,
                cache: None,
                served_by: None,
                bytes: 0,
                reused: false,
            });
        }
    }
}

/// Headers as text pairs, in order (values that are not text are shown lossily).
pub fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Who sent an outside request: its `X-Client-Id`, else its address.
pub fn client_label(headers: &HeaderMap, peer: SocketAddr) -> String {
    headers
        .get(CLIENT_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .map_or_else(|| peer.to_string(), str::to_string)
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request body did not arrive whole within {}", crate::scenario::Dur(*.after))]
    TimedOut { after: Duration },
    #[error("request body could not be read: {0}")]
    Aborted(String),
}

impl BodyError {
    /// The response a server gives for it.
    pub fn response(&self) -> Response<Body> {
        match self {
            BodyError::TooLarge { limit } => error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the request body is larger than this server accepts ({limit} bytes)"),
            ),
            BodyError::TimedOut { .. } => {
                let mut resp = error(StatusCode::REQUEST_TIMEOUT, &self.to_string());
                resp.headers_mut()
                    .insert(CONNECTION, HeaderValue::from_static("close"));
                resp
            }
            BodyError::Aborted(why) => error(
                StatusCode::BAD_REQUEST,
                &format!("the request body could not be read: {why}"),
            ),
        }
    }
}

/// Reads a whole body, refusing more than `limit` bytes (checked against `Content-Length`
/// first, then while reading) and giving up on a body that has not arrived whole within
/// `timeout` (a slow sender would otherwise hold the handler, and a server's worker, for as
/// long as it likes).
pub async fn read_body(
    headers: &HeaderMap,
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, BodyError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let Ok(collected) = tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await
    else {
        return Err(BodyError::TimedOut { after: timeout });
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(BodyError::TooLarge { limit })
        }
        Err(e) => Err(BodyError::Aborted(e.to_string())),
    }
}

/// A response with a JSON body.
pub fn json(status: StatusCode, body: &serde_json::Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A JSON error body `{"error": message, "status": code}`.
pub fn error(status: StatusCode, message: &str) -> Response<Body> {
    json(
        status,
        &serde_json::json!({ "error": message, "status": status.as_u16() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("valid header"));
        }
        h
    }

    #[test]
    fn requests_from_inside_keep_their_id_and_outside_ones_begin_here() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let inside = trace_context(&headers(&[(TRACEPARENT, tp), (HOP_MARK, "tok")]), "tok");
        assert!(!inside.external);
        assert_eq!(inside.id.to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");

        let curl_with_tp = trace_context(&headers(&[(TRACEPARENT, tp)]), "tok");
        assert!(
            curl_with_tp.external,
            "no hop mark: outside traffic, traced from here"
        );
        assert_eq!(curl_with_tp.id, inside.id, "the caller's trace id is kept");

        let forged = trace_context(&headers(&[(TRACEPARENT, tp), (HOP_MARK, "guess")]), "tok");
        assert!(forged.external);

        let plain = trace_context(&HeaderMap::new(), "tok");
        assert!(plain.external);
        assert_ne!(plain.id.0, 0);
    }
}
