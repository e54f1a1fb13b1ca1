//! The clients' side of DNS: a stub resolver like the one in an operating system. Each
//! simulated client owns one, so each has its own cache.
//!
//! A lookup asks the DNS stub for an A record over UDP: every attempt uses a fresh socket on
//! 127.0.0.1 (a new source port) and a random 16-bit id, carries the request's trace id in
//! EDNS option `TRACE_ID_OPTION` of the DNS stub, and waits for the configured timeout (stretched by the
//! time scale) before the next attempt. Datagrams whose id or question do not match are
//! ignored and counted. An ICMP "port unreachable" (nothing listening) fails the attempt at
//! once.
//!
//! Positive answers are cached for their TTL, measured on the run's clock. Negative answers
//! (NXDOMAIN, NODATA) are not cached, so a name that comes back (`dns ok` after
//! `dns nxdomain`) resolves on the next lookup.
//!
//! Trace: before each attempt the request arrives at [`Component::Dns`]; a lookup that sent
//! at least one query reports one client span [`Phase::Dns`] with attributes `name`, `answer`
//! (the address, or what went wrong) and `attempts`. A cache hit reports nothing: no packet
//! left the machine.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::Env;
use super::dns::{rcode_name, trace_id_option};
use crate::trace::{Attr, Component, Phase, TraceId};

const RECV_BUFFER_BYTES: usize = 4096;
/// The UDP payload size the resolver advertises.
const EDNS_PAYLOAD_BYTES: u16 = 1232;

/// Why a name could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The name does not exist (NXDOMAIN).
    #[error("no such name (NXDOMAIN)")]
    NxDomain,
    /// The server will not answer for this name (REFUSED): it is outside its zone.
    #[error("the DNS server refused the query (REFUSED)")]
    Refused,
    /// The server answered with SERVFAIL or another error code.
    #[error("the DNS server failed ({rcode})")]
    ServerFailure { rcode: String },
    /// The name exists but has no address (NODATA).
    #[error("the name has no IPv4 address (NODATA)")]
    NoAddress,
    /// No answer came within the timeout, on any attempt.
    #[error("no answer from the DNS server after {attempts} attempts (timed out)")]
    Timeout { attempts: u32 },
    /// Nothing listens at the server's address (ICMP port unreachable on every attempt).
    #[error("the DNS server is unreachable: nothing listens there ({attempts} attempts)")]
    Unreachable { attempts: u32 },
    /// The answer could not be read.
    #[error("the DNS answer was malformed")]
    Malformed,
    /// The name is not a valid domain name.
    #[error("`{name}` is not a valid domain name")]
    InvalidName { name: String },
    /// The resolver's own socket failed.
    #[error("DNS socket error: {0}")]
    Io(#[from] io::Error),
}

impl ResolveError {
    /// A short label for traces and summaries (`NXDOMAIN`, `timeout`, `unreachable`, …).
    pub fn label(&self) -> String {
        match self {
            ResolveError::NxDomain => "NXDOMAIN".into(),
            ResolveError::Refused => "REFUSED".into(),
            ResolveError::ServerFailure { rcode } => rcode.clone(),
            ResolveError::NoAddress => "NODATA".into(),
            ResolveError::Timeout { .. } => "timeout".into(),
            ResolveError::Unreachable { .. } => "unreachable".into(),
            ResolveError::Malformed => "malformed".into(),
            ResolveError::InvalidName { .. } => "invalid name".into(),
            ResolveError::Io(_) => "socket error".into(),
        }
    }
}

/// A resolved name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolution {
    pub addr: IpAddr,
    /// Answered from this resolver's cache: nothing was sent.
    pub from_cache: bool,
    /// Queries sent for it (0 for a cache hit).
    pub attempts: u32,
    /// Seconds it may still be cached (for a cache hit: what is left of the TTL).
    pub ttl_secs: u32,
}

#[derive(Clone, Copy, Debug)]
struct Cached {
    addr: IpAddr,
    expires_micros: u64,
}

/// What one attempt came to.
enum Attempt {
    Answer(Message),
    TimedOut,
    PortUnreachable,
    Malformed,
}

/// A client's stub resolver with its own cache.
#[derive(Debug)]
pub struct Resolver {
    env: Arc<Env>,
    server: SocketAddr,
    timeout: Duration,
    retries: u32,
    cache: Mutex<HashMap<String, Cached>>,
    sent: AtomicU64,
    mismatched: AtomicU64,
}

impl Resolver {
    /// A resolver asking the stub at `server`, waiting `timeout` per attempt and retrying
    /// `retries` times after the first attempt.
    pub fn new(env: Arc<Env>, server: SocketAddr, timeout: Duration, retries: u32) -> Resolver {
        Resolver {
            env,
            server,
            timeout,
            retries,
            cache: Mutex::new(HashMap::new()),
            sent: AtomicU64::new(0),
            mismatched: AtomicU64::new(0),
        }
    }

    /// Queries sent so far.
    pub fn queries_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Datagrams ignored because their id or question did not match the query.
    pub fn mismatched(&self) -> u64 {
        self.mismatched.load(Ordering::Relaxed)
    }

    /// Forgets every cached answer.
    pub fn flush(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The IPv4 address of `name`, from the cache or from the stub, for request `id`.
    pub async fn resolve(&self, id: TraceId, name: &str) -> Result<Resolution, ResolveError> {
        let key = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(hit) = self.cached(&key, self.env.now()) {
            return Ok(hit);
        }
        let qname = Name::from_ascii(format!("{key}.")).map_err(|_| ResolveError::InvalidName {
            name: name.to_string(),
        })?;
        let start_micros = self.env.now();
        let (attempts, result) = self.lookup(id, &qname).await;
        let resolution = result.map(|(addr, ttl_secs)| {
            if ttl_secs > 0 {
                let expires_micros = self.env.now() + u64::from(ttl_secs) * 1_000_000;
                let entry = Cached {
                    addr,
                    expires_micros,
                };
                self.cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(key, entry);
            }
            Resolution {
                addr,
                from_cache: false,
                attempts,
                ttl_secs,
            }
        });
        if attempts > 0 {
            let answer = match &resolution {
                Ok(r) => r.addr.to_string(),
                Err(e) => e.label(),
            };
            let mut attrs = vec![
                Attr::new("name", name),
                Attr::new("answer", answer),
                Attr::new("attempts", attempts.to_string()),
            ];
            if let Ok(r) = &resolution {
                attrs.push(Attr::new("ttl", r.ttl_secs.to_string()));
            }
            self.env
                .span(id, Component::Client, Phase::Dns, start_micros, attrs);
        }
        resolution
    }

    /// A live cache entry for `key` at `now_micros`; expired entries are removed.
    fn cached(&self, key: &str, now_micros: u64) -> Option<Resolution> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = *cache.get(key)?;
        if entry.expires_micros <= now_micros {
            cache.remove(key);
            return None;
        }
        let left_micros = entry.expires_micros - now_micros;
        Some(Resolution {
            addr: entry.addr,
            from_cache: true,
            attempts: 0,
            ttl_secs: u32::try_from(left_micros.div_ceil(1_000_000)).unwrap_or(u32::MAX),
        })
    }

    /// Up to `retries + 1` attempts; the attempts made and the address with its TTL.
    async fn lookup(
        &self,
        id: TraceId,
        qname: &Name,
    ) -> (u32, Result<(IpAddr, u32), ResolveError>) {
        let mut timed_out = false;
        let mut malformed = false;
        let mut attempts = 0;
        while attempts <= self.retries {
            attempts += 1;
            self.env.arrive(id, Component::Dns).await;
            match self.attempt(id, qname).await {
                Ok(Attempt::Answer(message)) => return (attempts, interpret(&message)),
                Ok(Attempt::TimedOut) => timed_out = true,
                Ok(Attempt::Malformed) => malformed = true,
                Ok(Attempt::PortUnreachable) => {}
                Err(e) => return (attempts, Err(e)),
            }
        }
        let error = if malformed {
            ResolveError::Malformed
        } else if timed_out {
            ResolveError::Timeout { attempts }
        } else {
            ResolveError::Unreachable { attempts }
        };
        (attempts, Err(error))
    }

    /// One query on a fresh socket, and the wait for its answer.
    async fn attempt(&self, id: TraceId, qname: &Name) -> Result<Attempt, ResolveError> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        socket.connect(self.server).await?;
        let txid: u16 = rand::random();
        let bytes = query(txid, qname, id)
            .to_vec()
            .map_err(|_| ResolveError::InvalidName {
                name: qname.to_string(),
            })?;
        match socket.send(&bytes).await {
            Ok(_) => {}
            Err(e) if refused(&e) => return Ok(Attempt::PortUnreachable),
            Err(e) => return Err(e.into()),
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        let deadline = Instant::now() + self.env.scale.apply(self.timeout);
        let mut buf = vec![0u8; RECV_BUFFER_BYTES];
        loop {
            let len = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
                Err(_) => return Ok(Attempt::TimedOut),
                Ok(Err(e)) if refused(&e) => return Ok(Attempt::PortUnreachable),
                Ok(Err(e)) => return Err(e.into()),
                Ok(Ok(len)) => len,
            };
            match check(&buf[..len], txid, qname) {
                Some(Ok(message)) => return Ok(Attempt::Answer(message)),
                Some(Err(())) => return Ok(Attempt::Malformed),
                None => {
                    self.mismatched.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

/// Whether an I/O error is the ICMP "port unreachable" of a connected UDP socket (Windows
/// reports it as a reset).
fn refused(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
    )
}

/// An A query for `qname` with id `txid`, asking for recursion as OS resolvers do, and
/// carrying `id` in EDNS.
fn query(txid: u16, qname: &Name, id: TraceId) -> Message {
    let mut message = Message::new(txid, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = true;
    message.add_query(Query::query(qname.clone(), RecordType::A));
    let mut edns = Edns::new();
    edns.set_max_payload(EDNS_PAYLOAD_BYTES);
    edns.options_mut().insert(trace_id_option(id));
    message.set_edns(edns);
    message
}

/// Reads a datagram: `None` if it is not the answer to our query (wrong id, not a response,
/// another question), `Some(Err)` if it is ours but unreadable.
fn check(bytes: &[u8], txid: u16, qname: &Name) -> Option<Result<Message, ()>> {
    let header = Header::read(&mut BinDecoder::new(bytes)).ok()?.metadata;
    if header.id != txid || header.message_type != MessageType::Response {
        return None;
    }
    let Ok(message) = Message::from_vec(bytes) else {
        return Some(Err(()));
    };
    let ours = match message.queries.as_slice() {
        // An error answer may leave the question out.
        [] => message.response_code != ResponseCode::NoError,
        [q] => q.name() == qname && q.query_type() == RecordType::A,
        _ => false,
    };
    ours.then_some(Ok(message))
}

/// The address and TTL an answer gives, or why it gives none.
fn interpret(message: &Message) -> Result<(IpAddr, u32), ResolveError> {
    match message.response_code {
        ResponseCode::NoError => {}
        ResponseCode::NXDomain => return Err(ResolveError::NxDomain),
        ResponseCode::Refused => return Err(ResolveError::Refused),
        other => {
            return Err(ResolveError::ServerFailure {
                rcode: rcode_name(other),
            });
        }
    }
    message
        .answers
        .iter()
        .find_map(|r| match &r.data {
            RData::A(a) => Some((IpAddr::V4(a.0), r.ttl)),
            _ => None,
        })
        .ok_or(ResolveError::NoAddress)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::component::ServiceHandle;
    use crate::engine::dns::tests::{dns_events, env, stub};
    use crate::scenario::DnsMode;
    use crate::trace::{Span, TraceEvent};

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn resolver(env: &Arc<Env>, server: SocketAddr) -> Resolver {
        Resolver::new(env.clone(), server, Duration::from_millis(40), 2)
    }

    fn dns_spans(events: &[TraceEvent]) -> Vec<&Span> {
        let spans = events.iter().filter_map(|e| match e {
            TraceEvent::Span(s) if s.phase == Phase::Dns => Some(s),
            _ => None,
        });
        spans.collect()
    }

    #[tokio::test]
    async fn resolves_once_then_answers_from_its_cache() {
        let (env, rx) = env();
        let stub = stub(&env, 30, 20).await;
        let resolver = resolver(&env, stub.addr());
        let id = TraceId(0xfeed);
        let first = resolver
            .resolve(id, "API.example.test")
            .await
            .expect("resolves");
        let expected = Resolution {
            addr: LOCALHOST,
            from_cache: false,
            attempts: 1,
            ttl_secs: 30,
        };
        assert_eq!(first, expected);
        let events: Vec<TraceEvent> = rx.try_iter().collect();
        let arrive = TraceEvent::Arrive {
            id,
            component: Component::Dns,
            at_micros: events[0].at_micros(),
        };
        assert_eq!(events[0], arrive);
        let span = dns_spans(&events)[0];
        assert_eq!((span.id, span.component), (id, Component::Client));
        assert_eq!(span.attr("name"), Some("API.example.test"));
        assert_eq!(
            (span.attr("answer"), span.attr("attempts")),
            (Some("127.0.0.1"), Some("1"))
        );
        assert!(
            span.micros() >= 20_000,
            "the span covers the stub's latency"
        );
        let query = events.iter().find_map(|e| match e {
            TraceEvent::Dns(q) => Some(q),
            _ => None,
        });
        assert_eq!(query.expect("the stub traced it").id, Some(id));

        let again = resolver.resolve(TraceId(2), "api.example.test.").await;
        let again = again.expect("cached");
        assert!(again.from_cache && again.attempts == 0 && again.ttl_secs <= 30);
        assert_eq!(stub.counts().queries, 1, "no packet for a cache hit");
        assert_eq!(rx.try_iter().count(), 0, "a cache hit is not traced");
    }

    #[tokio::test]
    async fn asks_again_when_the_ttl_runs_out() {
        let (env, _rx) = env();
        let stub = stub(&env, 1, 0).await;
        let resolver = resolver(&env, stub.addr());
        let first = resolver.resolve(TraceId(1), "cdn.example.test").await;
        assert_eq!(first.expect("resolves").ttl_secs, 1);
        let cached = resolver.resolve(TraceId(2), "cdn.example.test").await;
        assert!(cached.expect("resolves").from_cache);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let fresh = resolver.resolve(TraceId(3), "cdn.example.test").await;
        assert!(!fresh.expect("resolves").from_cache);
        assert_eq!(stub.counts().queries, 2);
    }

    #[tokio::test]
    async fn retries_then_times_out_when_queries_are_dropped() {
        let (env, rx) = env();
        let stub = stub(&env, 30, 0).await;
        stub.set_mode(DnsMode::Drop(1.0));
        let resolver = resolver(&env, stub.addr());
        let result = resolver.resolve(TraceId(9), "api.example.test").await;
        assert!(
            matches!(result, Err(ResolveError::Timeout { attempts: 3 })),
            "{result:?}"
        );
        assert_eq!((stub.counts().dropped, resolver.queries_sent()), (3, 3));
        let events: Vec<TraceEvent> = rx.try_iter().collect();
        let arrivals = events
            .iter()
            .filter(|e| matches!(e, TraceEvent::Arrive { .. }));
        assert_eq!(arrivals.count(), 3, "one arrival per attempt");
        let span = dns_spans(&events)[0];
        assert_eq!(
            (span.attr("answer"), span.attr("attempts")),
            (Some("timeout"), Some("3"))
        );
        assert!(span.micros() >= 120_000, "three timeouts of 40 ms");
    }

    #[tokio::test]
    async fn nxdomain_and_refused_are_errors_and_not_cached() {
        let (env, _rx) = env();
        let stub = stub(&env, 30, 0).await;
        let resolver = resolver(&env, stub.addr());
        let outside = resolver.resolve(TraceId(1), "google.com").await;
        assert!(matches!(outside, Err(ResolveError::Refused)), "{outside:?}");
        stub.set_mode(DnsMode::Nxdomain);
        let gone = resolver.resolve(TraceId(2), "api.example.test").await;
        assert!(matches!(gone, Err(ResolveError::NxDomain)), "{gone:?}");
        stub.set_mode(DnsMode::Ok);
        let back = resolver.resolve(TraceId(3), "api.example.test").await;
        assert!(!back.expect("resolves again at once").from_cache);
    }

    #[tokio::test]
    async fn a_killed_stub_is_unreachable_until_restarted() {
        let (env, rx) = env();
        let stub = stub(&env, 30, 0).await;
        let addr = stub.addr();
        stub.kill();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!stub.is_alive());
        let resolver = resolver(&env, addr);
        let down = resolver.resolve(TraceId(1), "api.example.test").await;
        assert!(
            matches!(down, Err(ResolveError::Unreachable { attempts: 3 })),
            "{down:?}"
        );

        stub.restart().await.expect("rebinds its port");
        assert!(stub.is_alive() && stub.addr() == addr);
        let up = resolver.resolve(TraceId(2), "api.example.test").await;
        assert_eq!(up.expect("resolves after restart").addr, LOCALHOST);
        let rcodes: Vec<String> = dns_events(&rx).into_iter().map(|q| q.rcode).collect();
        assert_eq!(rcodes, ["NOERROR"]);
    }

    #[tokio::test]
    async fn ignores_datagrams_that_are_not_its_answer() {
        let (env, _rx) = env();
        // A server that first answers with a wrong id and another question, then properly.
        let server = UdpSocket::bind("127.0.0.1:0").await.expect("server socket");
        let addr = server.local_addr().expect("address");
        let resolver = resolver(&env, addr);
        let lookup = resolver.resolve(TraceId(5), "api.example.test");
        let serve = async {
            let mut buf = [0u8; 512];
            let (len, peer) = server.recv_from(&mut buf).await.expect("query");
            let query = Message::from_vec(&buf[..len]).expect("a real query");
            let mut reply = query.clone();
            reply.metadata.message_type = MessageType::Response;
            reply.metadata.id = query.id.wrapping_add(1);
            let wrong_id = reply.to_vec().expect("encodes");
            reply.metadata.id = query.id;
            reply.queries[0].name = Name::from_ascii("other.example.test.").expect("name");
            let wrong_question = reply.to_vec().expect("encodes");
            reply.queries = query.queries.clone();
            let a = RData::A(hickory_proto::rr::rdata::A(Ipv4Addr::new(127, 0, 0, 9)));
            let name = query.queries[0].name.clone();
            reply.add_answer(hickory_proto::rr::Record::from_rdata(name, 5, a));
            for bytes in [wrong_id, wrong_question, reply.to_vec().expect("encodes")] {
                server.send_to(&bytes, peer).await.expect("send");
            }
        };
        let (result, ()) = tokio::join!(lookup, serve);
        let resolution = result.expect("the third datagram answers");
        assert_eq!(
            (resolution.addr, resolution.ttl_secs),
            (Ipv4Addr::new(127, 0, 0, 9).into(), 5)
        );
        assert_eq!(resolver.mismatched(), 2);
        assert_eq!(resolution.attempts, 1);
    }
}
