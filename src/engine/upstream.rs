//! A proxy's connections to one next hop: a keep-alive pool of HTTP/1.1 connections over a
//! link. A request takes an idle connection (or opens one, paying the handshake), the
//! response body is read whole, and the connection goes back to the pool. A request that
//! could not be written on a reused connection (the peer closed it meanwhile) is retried
//! once on a fresh one; nothing is retried once it may have reached the peer.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::Env;
use super::http::Body;
use super::link::{self, ConnectError, LinkState};

/// Why a request to the next hop got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// Nothing listens there.
    #[error("connection refused by {0}")]
    Refused(SocketAddr),
    /// The handshake did not complete in time.
    #[error("connecting to {0} timed out")]
    ConnectTimeout(SocketAddr),
    /// The connection closed before a whole answer came back.
    #[error("{0} closed the connection before answering")]
    Closed(SocketAddr),
    /// The answer was larger than the limit.
    #[error("the answer from {0} was too large")]
    TooLarge(SocketAddr),
    #[error("talking to {addr} failed: {message}")]
    Other { addr: SocketAddr, message: String },
}

/// A whole answer from the next hop.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// It went over a connection that was already open.
    pub reused: bool,
    /// Time spent opening a new connection, if one was opened.
    pub connect_micros: Option<u64>,
}

/// The pool of connections to one address.
pub struct Upstream {
    env: Arc<Env>,
    addr: SocketAddr,
    link: Arc<LinkState>,
    idle: Mutex<Vec<SendRequest<Body>>>,
    max_idle: usize,
    open: Arc<AtomicUsize>,
    connect_timeout: Duration,
    max_body: usize,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("addr", &self.addr)
            .finish()
    }
}

struct Closing(Arc<AtomicUsize>);

impl Drop for Closing {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Upstream {
    /// A pool to `addr` over `link`, keeping at most `max_idle` idle connections.
    pub fn new(
        env: Arc<Env>,
        addr: SocketAddr,
        link: Arc<LinkState>,
        max_idle: usize,
        connect_timeout: Duration,
    ) -> Upstream {
        let max_body = env.limits.max_body_bytes.max(1024 * 1024);
        Upstream {
            env,
            addr,
            link,
            idle: Mutex::new(Vec::new()),
            max_idle,
            open: Arc::new(AtomicUsize::new(0)),
            connect_timeout,
            max_body,
        }
    }

    /// Where it connects.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The link it connects over.
    pub fn link(&self) -> &Arc<LinkState> {
        &self.link
    }

    /// Connections open now (idle or busy).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Closes every idle connection (after the peer restarted, say).
    pub fn drop_idle(&self) {
        self.idle.lock().expect("pool lock").clear();
    }

    fn take_idle(&self) -> Option<SendRequest<Body>> {
        let mut idle = self.idle.lock().expect("pool lock");
        while let Some(sender) = idle.pop() {
            if sender.is_ready() && !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    fn put_idle(&self, sender: SendRequest<Body>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < self.max_idle {
            idle.push(sender);
        }
    }

    async fn connect(&self) -> Result<SendRequest<Body>, UpstreamError> {
        let stream = link::connect(&self.env, self.addr, &self.link, self.connect_timeout)
            .await
            .map_err(|e| match e {
                ConnectError::Refused => UpstreamError::Refused(self.addr),
                ConnectError::Timeout => UpstreamError::ConnectTimeout(self.addr),
                ConnectError::Io(e) => UpstreamError::Other {
                    addr: self.addr,
                    message: e.to_string(),
                },
            })?;
        let (sender, conn) =
            http1::handshake(TokioIo::new(stream))
                .await
                .map_err(|e| UpstreamError::Other {
                    addr: self.addr,
                    message: e.to_string(),
                })?;
        self.open.fetch_add(1, Ordering::Relaxed);
        let closing = Closing(self.open.clone());
        let shutdown = self.env.shutdown.clone();
        tokio::spawn(async move {
            let _closing = closing;
            tokio::select! {
                _ = conn => {}
                _ = shutdown.cancelled() => {}
            }
        });
        Ok(sender)
    }

    /// Sends `req` and reads the whole answer.
    pub async fn send(&self, req: Request<Body>) -> Result<Answer, UpstreamError> {
        let mut req = req;
        let mut reused_attempt = true;
        loop {
            let (mut sender, reused, connect_micros) =
                match self.take_idle().filter(|_| reused_attempt) {
                    Some(s) => (s, true, None),
                    None => {
                        let started = self.env.now();
                        let s = self.connect().await?;
                        (s, false, Some(self.env.now() - started))
                    }
                };
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let (parts, body) = resp.into_parts();
                    let body = Limited::new(body, self.max_body)
                        .collect()
                        .await
                        .map_err(|e| {
                            if e.downcast_ref::<http_body_util::LengthLimitError>()
                                .is_some()
                            {
                                UpstreamError::TooLarge(self.addr)
                            } else {
                                UpstreamError::Closed(self.addr)
                            }
                        })?;
                    self.put_idle(sender);
                    return Ok(Answer {
                        status: parts.status,
                        headers: parts.headers,
                        body: body.to_bytes(),
                        reused,
                        connect_micros,
                    });
                }
                Err(mut e) => match e.take_message() {
                    // Never written: safe to try once more on a fresh connection.
                    Some(back) if reused => {
                        req = back;
                        reused_attempt = false;
                    }
                    _ => {
                        let err = e.into_error();
                        return Err(
                            if err.is_incomplete_message() || err.is_canceled() || err.is_closed() {
                                UpstreamError::Closed(self.addr)
                            } else {
                                UpstreamError::Other {
                                    addr: self.addr,
                                    message: err.to_string(),
                                }
                            },
                        );
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::listener::{Listener, Mode, loopback};
    use crate::scenario::Limits;
    use crate::trace::{Clock, EventSink};
    use http_body_util::Full;

    fn env() -> Arc<Env> {
        let (sink, _rx) = EventSink::new(Clock::start(), 16);
        Env::new(sink, 1.0, Limits::default(), 1)
    }

    fn get(path: &str) -> Request<Body> {
        Request::get(path)
            .header("host", "test")
            .body(Full::new(Bytes::new()))
            .expect("request")
    }

    #[tokio::test]
    async fn connections_are_reused_and_a_dead_peer_is_refused() {
        let env = env();
        let mode = Mode::Serve(Arc::new(|req, _| {
            Box::pin(async move {
                crate::engine::http::json(
                    StatusCode::OK,
                    &serde_json::json!({ "path": req.uri().path() }),
                )
            })
        }));
        let server = Listener::start(env.clone(), "server-1", loopback(0), mode, None)
            .await
            .expect("start");
        let link = LinkState::new(Duration::ZERO, Duration::ZERO, 0.0);
        let up = Upstream::new(env.clone(), server.addr(), link, 8, Duration::from_secs(1));
        let first = up.send(get("/a")).await.expect("first");
        assert_eq!(first.status, StatusCode::OK);
        assert!(!first.reused && first.connect_micros.is_some());
        let second = up.send(get("/b")).await.expect("second");
        assert!(second.reused, "keep-alive reuses the connection");
        assert_eq!(&second.body[..], br#"{"path":"/b"}"#);
        assert_eq!(up.open_connections(), 1);

        server.kill();
        tokio::time::sleep(Duration::from_millis(20)).await;
        let dead = up.send(get("/c")).await;
        assert!(matches!(dead, Err(UpstreamError::Refused(_))), "{dead:?}");

        server.restart().await.expect("restart");
        let back = up.send(get("/d")).await.expect("after restart");
        assert_eq!(back.status, StatusCode::OK);
    }
}
