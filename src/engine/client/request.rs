//! One request from a simulated client, hop by hop as a browser makes it: wait for a
//! connection slot (blocked), look the name up over UDP (dns), open TCP over the client's
//! link (connect) and TLS over that (ssl), write the request (send), wait for the first
//! byte (wait) and read the rest (receive). Each phase is a span; the request ends with
//! exactly one outcome: a status code or the named failure a user would see.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::rt::TokioIo;

use super::session::{Conn, Session};
use super::timing::Timed;
use super::{ClientsShared, Planned};
use crate::engine::http::{self, Body, CLIENT_ID, HOP_MARK, SERVED_BY, TRACEPARENT, X_CACHE};
use crate::engine::link::{self, ConnectError};
use crate::engine::resolver::ResolveError;
use crate::scenario::Auth;
use crate::trace::{
    Attr, Begin, CacheStatus, Component, End, Exchange, Outcome, Phase, TraceEvent, TraceId,
    TraceParent,
};

/// How much of a response body the inspector keeps.
const BODY_PREVIEW: usize = 4096;

/// Why a request ended without a response.
struct Failed(Outcome, String);

fn user_agent(profile: &str) -> String {
    match profile {
        "browser" => "Mozilla/5.0 (X11; Linux x86_64) hopscope-browser/1.0".into(),
        "mobile" => "hopscope-mobile/1.0 (Android 14)".into(),
        "cli" => "hopscope-cli/1.0 (a command-line tool, like curl)".into(),
        "server" => "hopscope-server/1.0 (server-to-server)".into(),
        "iot" => "hopscope-iot/1.0 (thermostat)".into(),
        other => format!("hopscope-{other}/1.0"),
    }
}

/// What one response came to.
struct Done {
    status: u16,
    cache: Option<CacheStatus>,
    served_by: Option<String>,
    bytes: u64,
    reused: bool,
}

/// Sends one request and reports its whole journey. Returns its outcome.
pub async fn perform(
    shared: Arc<ClientsShared>,
    plan: Planned,
    id: TraceId,
    stepped: bool,
) -> Outcome {
    let env = shared.env.clone();
    let profile = &shared.profiles[plan.profile];
    let session = shared.session(plan.profile, plan.client);
    let tls = shared.uses_tls(plan.profile);
    let (scheme, port) = match (tls, shared.edge_tls()) {
        (true, Some(addr)) => ("https", addr.port()),
        _ => ("http", shared.edge.port()),
    };
    let host = plan.host.as_deref().unwrap_or(&shared.host);
    let url = format!("{scheme}://{host}:{port}{}", plan.path);
    shared
        .open_requests
        .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    let started = env.now();
    env.sink.emit(TraceEvent::Begin(Begin {
        id,
        at_micros: started,
        profile: profile.profile.name.clone(),
        client: session.name.clone(),
        method: plan.method.clone(),
        url,
        external: false,
    }));
    if stepped {
        env.gate.mark(id);
    }
    let work = exchange(
        &shared,
        &session,
        &plan,
        id,
        scheme == "https",
        port,
        started,
    );
    let timed = async {
        if stepped {
            work.await
        } else {
            match tokio::time::timeout(env.scale.apply(shared.timeout), work).await {
                Ok(r) => r,
                Err(_) => Err(Failed(Outcome::Timeout, "no answer in time".into())),
            }
        }
    };
    // A run that stops ends what is still open after its grace, and says so in the trace.
    let result = tokio::select! {
        r = timed => r,
        () = env.cancel_requests.cancelled() => {
            Err(Failed(Outcome::Cancelled, "the run stopped".into()))
        }
    };
    if stepped {
        env.gate.unmark(id);
    }
    let end = match result {
        Ok(done) => End {
            id,
            at_micros: env.now(),
            outcome: Outcome::Status(done.status),
            cache: done.cache,
            served_by: done.served_by,
            bytes: done.bytes,
            reused: done.reused,
        },
        Err(Failed(outcome, _why)) => End {
            id,
            at_micros: env.now(),
            outcome,
            cache: None,
            served_by: None,
            bytes: 0,
            reused: false,
        },
    };
    let outcome = end.outcome;
    env.sink.end(end);
    shared
        .open_requests
        .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    outcome
}

/// Waits for its slots, takes or opens a connection, sends the request, reads the answer
/// and traces each phase.
async fn exchange(
    shared: &Arc<ClientsShared>,
    session: &Arc<Session>,
    plan: &Planned,
    id: TraceId,
    tls: bool,
    port: u16,
    started: u64,
) -> Result<Done, Failed> {
    let env = &shared.env;
    let keep_alive = shared.keeps_alive(plan.profile);
    // Blocked: a slot among the requests in flight, and a connection slot for keep-alive.
    let _in_flight = shared
        .in_flight
        .acquire()
        .await
        .map_err(|_| Failed(Outcome::Timeout, "shutting down".into()))?;
    let _slot = if keep_alive {
        Some(
            session
                .slots
                .acquire()
                .await
                .map_err(|_| Failed(Outcome::Timeout, "shutting down".into()))?,
        )
    } else {
        None
    };
    let now = env.now();
    if now > started + 50 {
        env.span_between(id, Component::Client, Phase::Blocked, started, now, vec![]);
    }
    let attempt = Attempt {
        shared,
        session,
        plan,
        id,
        tls,
        port,
    };
    let idle = if keep_alive {
        session.take_idle(tls)
    } else {
        None
    };
    let (conn, reused) = match idle {
        Some(c) => (c, true),
        None => (attempt.open().await?, false),
    };
    let req = build_request(shared, session, plan, id, port, keep_alive);
    let request_headers = env
        .capture_headers()
        .then(|| http::header_pairs(req.headers()));
    let sent = attempt.send(conn, reused, req).await?;
    attempt.trace_phases(&sent);
    Ok(attempt.finish(sent, keep_alive, request_headers))
}

/// One request on its way: who sends it, and to which port of the edge.
struct Attempt<'a> {
    shared: &'a Arc<ClientsShared>,
    session: &'a Arc<Session>,
    plan: &'a Planned,
    id: TraceId,
    tls: bool,
    port: u16,
}

/// A request sent and its answer read, with the times of each step.
struct Sent {
    conn: Conn,
    reused: bool,
    send_start: u64,
    headers_at: u64,
    done_at: u64,
    parts: hyper::http::response::Parts,
    body: Bytes,
}

impl Attempt<'_> {
    async fn open(&self) -> Result<Conn, Failed> {
        open(
            self.shared,
            self.session,
            self.plan,
            self.id,
            self.tls,
            self.port,
        )
        .await
    }

    /// Sends `req` on `conn` (on a new connection when step mode held it so long that the
    /// edge has closed this one) and reads the whole answer.
    async fn send(
        &self,
        mut conn: Conn,
        mut reused: bool,
        req: Request<Body>,
    ) -> Result<Sent, Failed> {
        let env = &self.shared.env;
        conn.stamps.reset();
        let mut send_start = env.now();
        env.arrive(self.id, self.shared.edge_component()).await;
        let held = std::time::Duration::from_micros(env.now().saturating_sub(send_start));
        if held >= env.limits.header_timeout.get() / 2 || conn.sender.is_closed() {
            // Held in step mode about as long as the edge waits for a request on an open
            // connection: the edge has closed it (or is about to), so the client connects
            // again, as a browser does with a stale connection.
            conn = self.open().await?;
            reused = false;
            conn.stamps.reset();
            send_start = env.now();
        }
        let response = conn.sender.send_request(req).await.map_err(|e| {
            let outcome = if e.is_timeout() {
                Outcome::Timeout
            } else {
                Outcome::ConnectionReset
            };
            Failed(outcome, e.to_string())
        })?;
        let headers_at = env.now();
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| Failed(Outcome::ConnectionReset, e.to_string()))?
            .to_bytes();
        Ok(Sent {
            conn,
            reused,
            send_start,
            headers_at,
            done_at: env.now(),
            parts,
            body,
        })
    }

    /// The client's send, wait and receive spans, from the connection's stamps of its
    /// last write and first read.
    fn trace_phases(&self, sent: &Sent) {
        let (env, id) = (&self.shared.env, self.id);
        let written = sent
            .conn
            .stamps
            .last_write()
            .unwrap_or(sent.send_start)
            .max(sent.send_start);
        let first_byte = sent
            .conn
            .stamps
            .first_read()
            .unwrap_or(sent.headers_at)
            .clamp(written, sent.headers_at.max(written));
        env.span_between(
            id,
            Component::Client,
            Phase::Send,
            sent.send_start,
            written,
            vec![],
        );
        env.span_between(
            id,
            Component::Client,
            Phase::Wait,
            written,
            first_byte,
            vec![],
        );
        env.span_between(
            id,
            Component::Client,
            Phase::Receive,
            first_byte,
            sent.done_at,
            vec![Attr::new("bytes", sent.body.len().to_string())],
        );
    }

    /// Keeps the cookie, traces the headers and body when they are captured, and puts the
    /// connection back for the next request unless the answer closes it.
    fn finish(
        &self,
        sent: Sent,
        keep_alive: bool,
        request_headers: Option<Vec<(String, String)>>,
    ) -> Done {
        let env = &self.shared.env;
        let Sent {
            conn,
            reused,
            parts,
            body,
            ..
        } = sent;
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if let Some(cookie) = header("set-cookie") {
            self.session.remember_cookie(&cookie);
        }
        if let Some(request_headers) = request_headers {
            env.sink.emit(TraceEvent::Exchange(Box::new(Exchange {
                id: self.id,
                request_headers,
                request_body: self.plan.body.clone().unwrap_or_default(),
                response_headers: http::header_pairs(&parts.headers),
                response_body: String::from_utf8_lossy(&body[..body.len().min(BODY_PREVIEW)])
                    .into_owned(),
            })));
        }
        let closes = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let done = Done {
            status: parts.status.as_u16(),
            cache: header(X_CACHE).as_deref().and_then(CacheStatus::parse),
            served_by: header(SERVED_BY),
            bytes: body.len() as u64,
            reused,
        };
        if keep_alive && !closes {
            self.session.put_idle(conn);
        }
        done
    }
}

/// Resolves the edge's name, connects over the client's link and, for HTTPS, shakes hands.
async fn open(
    shared: &Arc<ClientsShared>,
    session: &Arc<Session>,
    plan: &Planned,
    id: TraceId,
    tls: bool,
    port: u16,
) -> Result<Conn, Failed> {
    let env = &shared.env;
    let host = plan.host.as_deref().unwrap_or(&shared.host);
    let resolved = session.resolver.resolve(id, host).await.map_err(|e| {
        let why = match &e {
            ResolveError::Timeout { .. } | ResolveError::Unreachable { .. } => {
                format!("could not resolve host: {e}")
            }
            _ => format!("could not resolve host {host}: {e}"),
        };
        Failed(Outcome::DnsFailure, why)
    })?;
    let addr = std::net::SocketAddr::new(resolved.addr, port);
    let link = shared.profiles[plan.profile].link.clone();
    let connect_start = env.now();
    let stream = link::connect(env, addr, &link, shared.timeout)
        .await
        .map_err(|e| match e {
            ConnectError::Refused => Failed(
                Outcome::ConnectionRefused,
                format!("connection refused by {addr}"),
            ),
            ConnectError::Timeout => {
                Failed(Outcome::Timeout, format!("connecting to {addr} timed out"))
            }
            ConnectError::Io(e) => Failed(Outcome::ConnectionReset, e.to_string()),
        })?;
    let tcp_done = env.now();
    let conn = if tls {
        let Some(connector) = shared.tls_connector() else {
            return Err(Failed(Outcome::TlsError, "TLS is not set up".into()));
        };
        let tls_stream = connector
            .connect(crate::engine::tls::server_name(host), stream)
            .await
            .map_err(|e| Failed(Outcome::TlsError, e.to_string()))?;
        let tls_done = env.now();
        let version = tls_stream
            .get_ref()
            .1
            .protocol_version()
            .map(|v| format!("{v:?}"))
            .unwrap_or_default();
        env.span_between(
            id,
            Component::Client,
            Phase::Ssl,
            tcp_done,
            tls_done,
            vec![Attr::new("version", version)],
        );
        http1(env, tls_stream, true).await?
    } else {
        http1(env, stream, false).await?
    };
    env.span_between(
        id,
        Component::Client,
        Phase::Connect,
        connect_start,
        env.now(),
        vec![
            Attr::new("address", addr.to_string()),
            Attr::new(
                "tcp_ms",
                format!("{:.3}", (tcp_done - connect_start) as f64 / 1000.0),
            ),
        ],
    );
    Ok(conn)
}

/// Starts HTTP/1.1 over an open stream (TCP, or TLS over TCP), timing its bytes for the
/// send, wait and receive phases; the connection runs on its own task until it closes or
/// the engine stops.
async fn http1<S>(env: &Arc<crate::engine::Env>, stream: S, tls: bool) -> Result<Conn, Failed>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (timed, stamps) = Timed::new(stream, env.clock);
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(timed))
        .await
        .map_err(|e| Failed(Outcome::ConnectionReset, e.to_string()))?;
    let shutdown = env.shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = connection => {}
            _ = shutdown.cancelled() => {}
        }
    });
    Ok(Conn {
        sender,
        stamps,
        tls,
    })
}

fn build_request(
    shared: &ClientsShared,
    session: &Session,
    plan: &Planned,
    id: TraceId,
    port: u16,
    keep_alive: bool,
) -> Request<Body> {
    let host = plan.host.as_deref().unwrap_or(&shared.host);
    let mut builder = Request::builder()
        .method(plan.method.as_str())
        .uri(plan.path.as_str())
        .header("host", format!("{host}:{port}"))
        .header(
            "user-agent",
            user_agent(&shared.profiles[plan.profile].profile.name),
        )
        .header("accept", "application/json")
        .header(TRACEPARENT, TraceParent::new(id).to_string())
        .header(HOP_MARK, shared.env.run_token.as_str())
        .header(CLIENT_ID, session.name.as_str());
    match plan.auth {
        Auth::None => {}
        Auth::Allowed => {
            builder = builder.header("authorization", format!("Bearer {}", shared.tokens.0))
        }
        Auth::Forbidden => {
            builder = builder.header("authorization", format!("Bearer {}", shared.tokens.1))
        }
    }
    if let Some(cookie) = session.cookie() {
        builder = builder.header("cookie", cookie);
    }
    if !keep_alive {
        builder = builder.header("connection", "close");
    }
    let body = match &plan.body {
        Some(b) => {
            builder = builder.header("content-type", "application/json");
            Bytes::from(b.clone())
        }
        None => Bytes::new(),
    };
    for (k, v) in &plan.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            builder = builder.header(name, value);
        }
    }
    builder.body(Full::new(body)).unwrap_or_else(|_| {
        let mut fallback = Request::new(Full::new(Bytes::new()));
        *fallback.uri_mut() = hyper::Uri::from_static("/");
        fallback
    })
}
