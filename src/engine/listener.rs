//! A component's listening socket and its life: bind on 127.0.0.1, serve HTTP/1.1 with
//! hyper on every connection (optionally over TLS), and be killed (the socket closes, open
//! connections are cut: peers see "connection refused" and resets) and restarted on the same
//! port. Limits are enforced here: connections per component (counted as they are accepted,
//! so a burst cannot overshoot), request head size (431: by hyper above its 8 KiB floor,
//! here below it), and how long a request head may take to arrive (then `408 Request
//! Timeout` and the connection closes: see `stalled_head`).

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::Env;
use super::http::{self, Body};
use super::redirect::HttpsRedirect;
use super::stalled_head;

/// A boxed response future.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response<Body>> + Send>>;

/// What the listener's hyper service returns for one request.
type Answer = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

/// Handles one request; `Peer` says who sent it.
pub type Handler = Arc<dyn Fn(Request<Incoming>, Peer) -> ResponseFuture + Send + Sync>;

/// Who is on the other end of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The connection is HTTPS.
    pub tls: bool,
}

/// What a listener does with requests.
#[derive(Clone)]
pub enum Mode {
    /// Hands them to the handler.
    Serve(Handler),
    /// Answers every request `308 Permanent Redirect` to the same path over https, on the
    /// edge's own name and TLS port.
    RedirectToHttps(Arc<HttpsRedirect>),
}

/// Why a component could not start listening.
#[derive(Debug, thiserror::Error)]
#[error("{component} cannot listen on {addr}: {source}{}", hint(source))]
pub struct BindError {
    pub component: String,
    pub addr: SocketAddr,
    #[source]
    pub source: io::Error,
}

fn hint(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::AddrInUse => {
            " (another program uses this port: pick another --port-base, or stop that program)"
        }
        io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need privileges: pick a --port-base above 1024)"
        }
        _ => "",
    }
}

struct Running {
    token: CancellationToken,
}

/// A listening socket that can be killed and restarted.
pub struct Listener {
    name: String,
    addr: SocketAddr,
    env: Arc<Env>,
    mode: RwLock<Mode>,
    tls: Option<TlsAcceptor>,
    running: Mutex<Option<Running>>,
    connections: Arc<AtomicUsize>,
    /// Whether the listening socket is open (it closes shortly after `kill`).
    socket_open: AtomicBool,
    closed: tokio::sync::Notify,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("name", &self.name)
            .field("addr", &self.addr)
            .finish()
    }
}

/// The address to bind: 127.0.0.1 on `port` (0: any free port).
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

async fn bind(name: &str, addr: SocketAddr) -> Result<TcpListener, BindError> {
    if !addr.ip().is_loopback() {
        return Err(BindError {
            component: name.to_string(),
            addr,
            source: io::Error::new(
                io::ErrorKind::InvalidInput,
                "hopscope only listens on loopback addresses",
            ),
        });
    }
    TcpListener::bind(addr).await.map_err(|source| BindError {
        component: name.to_string(),
        addr,
        source,
    })
}

impl Listener {
    /// Binds `addr` and starts serving.
    pub async fn start(
        env: Arc<Env>,
        name: &str,
        addr: SocketAddr,
        mode: Mode,
        tls: Option<TlsAcceptor>,
    ) -> Result<Arc<Listener>, BindError> {
        let socket = bind(name, addr).await?;
        let addr = socket.local_addr().map_err(|source| BindError {
            component: name.to_string(),
            addr,
            source,
        })?;
        let listener = Arc::new(Listener {
            name: name.to_string(),
            addr,
            env,
            mode: RwLock::new(mode),
            tls,
            running: Mutex::new(None),
            connections: Arc::new(AtomicUsize::new(0)),
            socket_open: AtomicBool::new(false),
            closed: tokio::sync::Notify::new(),
        });
        listener.run(socket);
        Ok(listener)
    }

    fn run(self: &Arc<Self>, socket: TcpListener) {
        let token = self.env.shutdown.child_token();
        *self.running.lock().expect("listener lock") = Some(Running {
            token: token.clone(),
        });
        self.socket_open.store(true, Ordering::Release);
        let this = self.clone();
        tokio::spawn(async move { this.accept_loop(socket, token).await });
    }

    async fn accept_loop(self: Arc<Self>, socket: TcpListener, token: CancellationToken) {
        self.accept_until_killed(&socket, &token).await;
        drop(socket); // the port is closed from here on: connections are refused
        self.socket_open.store(false, Ordering::Release);
        self.closed.notify_waiters();
    }

    async fn accept_until_killed(
        self: &Arc<Self>,
        socket: &TcpListener,
        token: &CancellationToken,
    ) {
        loop {
            let accepted = tokio::select! {
                a = socket.accept() => a,
                _ = token.cancelled() => return,
            };
            let (stream, addr) = match accepted {
                Ok(a) => a,
                // Out of descriptors or a connection reset before accept: keep serving.
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
            };
            if self.connections.load(Ordering::Acquire) >= self.env.limits.max_connections {
                drop(stream); // over the limit: closed at once
                continue;
            }
            // Counted here, not in the connection's task: a burst accepted before any task
            // ran would otherwise all pass the check above.
            self.connections.fetch_add(1, Ordering::AcqRel);
            let slot = Decrement(self.connections.clone());
            let this = self.clone();
            let token = token.clone();
            tokio::spawn(async move { this.connection(stream, addr, token, slot).await });
        }
    }

    async fn connection(
        self: Arc<Self>,
        stream: TcpStream,
        addr: SocketAddr,
        token: CancellationToken,
        _slot: Decrement,
    ) {
        let _ = stream.set_nodelay(true);
        let header_timeout = self.env.limits.header_timeout.get();
        match &self.tls {
            None => {
                let peer = Peer { addr, tls: false };
                self.serve(stream, peer, token).await;
            }
            Some(acceptor) => {
                let handshake = tokio::time::timeout(header_timeout, acceptor.accept(stream));
                let tls_stream = tokio::select! {
                    r = handshake => match r {
                        Ok(Ok(s)) => s,
                        _ => return, // a failed or stalled handshake just closes
                    },
                    _ = token.cancelled() => return,
                };
                let peer = Peer { addr, tls: true };
                self.serve(tls_stream, peer, token).await;
            }
        }
    }

    async fn serve<S>(self: &Arc<Self>, stream: S, peer: Peer, token: CancellationToken)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let this = self.clone();
        let max_head = self.env.limits.max_header_bytes;
        let header_timeout = self.env.limits.header_timeout.get();
        let service = service_fn(move |req: Request<Incoming>| {
            let mode = this.mode.read().expect("mode lock").clone();
            // hyper's own limit cannot go below 8 KiB: a smaller configured limit is
            // enforced here, with the same answer hyper gives.
            let head = head_bytes(&req);
            // Boxed so the connection is `Unpin` and can be polled without its shutdown.
            let answer: Answer = Box::pin(async move {
                Ok(match mode {
                    _ if head > max_head => head_too_large(max_head),
                    Mode::Serve(handler) => handler(req, peer).await,
                    Mode::RedirectToHttps(redirect) => redirect.response(&req),
                })
            });
            answer
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(self.env.limits.max_header_bytes.max(8192) + 1024)
            .max_headers(128)
            .keep_alive(true);
        let mut conn = builder.serve_connection(TokioIo::new(stream), service);
        // Without hyper's shutdown, so the stream comes back: a head cut short by the
        // deadline still gets its 408 (hyper itself would close without an answer).
        let done = tokio::select! {
            done = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => done,
            _ = token.cancelled() => return, // killed: the connection is cut mid-flight
        };
        let parts = conn.into_parts();
        let stalled_head = matches!(&done, Err(e) if e.is_timeout()) && !parts.read_buf.is_empty();
        tokio::select! {
            _ = stalled_head::close(parts.io.into_inner(), stalled_head.then_some(header_timeout)) => {}
            _ = token.cancelled() => {}
        }
    }

    /// Changes what it does with requests from now on (open connections included).
    pub fn set_mode(&self, mode: Mode) {
        *self.mode.write().expect("mode lock") = mode;
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether it is accepting connections.
    pub fn is_alive(&self) -> bool {
        self.running.lock().expect("listener lock").is_some()
    }

    /// Open connections now.
    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Closes the socket and cuts every open connection.
    pub fn kill(&self) {
        if let Some(running) = self.running.lock().expect("listener lock").take() {
            running.token.cancel();
        }
    }

    /// Waits until the listening socket is closed (after `kill`).
    pub async fn wait_closed(&self) {
        loop {
            let closed = self.closed.notified();
            if !self.socket_open.load(Ordering::Acquire) {
                return;
            }
            closed.await;
        }
    }

    /// Closes the socket, cuts every connection, and returns once the port is closed.
    pub async fn kill_and_wait(&self) {
        self.kill();
        self.wait_closed().await;
    }

    /// Listens again on the same address (does nothing if alive).
    pub async fn restart(self: &Arc<Self>) -> Result<(), BindError> {
        if self.is_alive() {
            return Ok(());
        }
        self.wait_closed().await;
        let socket = bind(&self.name, self.addr).await?;
        self.run(socket);
        Ok(())
    }
}

struct Decrement(Arc<AtomicUsize>);

impl Drop for Decrement {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// About how many bytes a request's head took on the wire: request line and headers.
fn head_bytes<B>(req: &Request<B>) -> usize {
    let line = req.method().as_str().len()
        + req.uri().path_and_query().map_or(1, |p| p.as_str().len())
        + " HTTP/1.1\r\n ".len();
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + ": \r\n".len())
        .sum();
    line + headers + 2
}

/// `431 Request Header Fields Too Large`, closing the connection as hyper does.
fn head_too_large(limit: usize) -> Response<Body> {
    let mut resp = http::error(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        &format!(
            "the request line and headers are larger than this server accepts ({limit} bytes)"
        ),
    );
    resp.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Limits;
    use crate::trace::{Clock, EventSink};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn env() -> Arc<Env> {
        let (sink, _rx) = EventSink::new(Clock::start(), 16);
        Env::new(sink, 1.0, Limits::default(), 1)
    }

    fn hello() -> Mode {
        Mode::Serve(Arc::new(|_req, peer| {
            Box::pin(async move {
                http::json(
                    StatusCode::OK,
                    &serde_json::json!({ "peer": peer.addr.to_string() }),
                )
            })
        }))
    }

    async fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(raw).await.expect("write");
        let mut out = Vec::new();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(2), s.read_to_end(&mut out)).await;
        String::from_utf8_lossy(&out).into_owned()
    }

    #[tokio::test]
    async fn kill_refuses_connections_and_restart_serves_on_the_same_port() {
        let l = Listener::start(env(), "server-1", loopback(0), hello(), None)
            .await
            .expect("start");
        let addr = l.addr();
        let ok = exchange(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
        l.kill();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let refused = TcpStream::connect(addr).await;
        assert_eq!(
            refused.expect_err("killed").kind(),
            io::ErrorKind::ConnectionRefused
        );
        l.restart().await.expect("restart");
        assert_eq!(l.addr(), addr);
        let again = exchange(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    }

    #[tokio::test]
    async fn malformed_and_oversized_requests_get_protocol_errors_and_service_goes_on() {
        let l = Listener::start(env(), "lb", loopback(0), hello(), None)
            .await
            .expect("start");
        let garbage = exchange(l.addr(), b"\x16\x03\x01garbage\r\n\r\n").await;
        assert!(garbage.starts_with("HTTP/1.1 400"), "{garbage}");
        let big = format!(
            "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(40 * 1024)
        );
        let too_large = exchange(l.addr(), big.as_bytes()).await;
        assert!(too_large.starts_with("HTTP/1.1 431"), "{too_large}");
        let ok = exchange(
            l.addr(),
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    }

    #[tokio::test]
    async fn a_restart_right_after_a_kill_rebinds_the_port() {
        let l = Listener::start(env(), "server-1", loopback(0), hello(), None)
            .await
            .expect("start");
        let open = TcpStream::connect(l.addr()).await.expect("connect");
        l.kill();
        l.restart()
            .await
            .expect("restart waits for the old socket to close");
        l.kill_and_wait().await;
        let refused = TcpStream::connect(l.addr()).await;
        assert_eq!(
            refused.expect_err("closed").kind(),
            io::ErrorKind::ConnectionRefused
        );
        drop(open);
    }

    #[tokio::test]
    async fn only_loopback_addresses_are_accepted() {
        let err = Listener::start(
            env(),
            "lb",
            "0.0.0.0:0".parse().expect("addr"),
            hello(),
            None,
        )
        .await
        .expect_err("refused");
        assert!(err.to_string().contains("loopback"), "{err}");
    }
}
