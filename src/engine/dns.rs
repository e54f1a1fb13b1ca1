//! The DNS stub: an authoritative-only name server for the scenario's zone, speaking the real
//! DNS wire format (hickory-proto) over UDP on 127.0.0.1, so `dig` works against it.
//!
//! It owns its socket and guarantees:
//! - every configured name `N` answers `A 127.0.0.1` and `_http._tcp.N` answers an SRV record
//!   carrying the edge's port; other types of an existing name get an empty NOERROR (NODATA),
//!   unknown names in the zone get NXDOMAIN (with the zone's SOA for negative caching), and
//!   names outside the zone get REFUSED: it never recurses, so it cannot be used to amplify;
//! - bad input never stops it: an unparsable query gets FORMERR (or is dropped when not even
//!   the 12-byte header is there), other opcodes get NOTIMP, responses sent to it are dropped;
//! - injected latency is served from a bounded set of spawned tasks, so one slow answer never
//!   delays the others; loss and [`DnsMode`] decide which queries are silently dropped;
//! - every datagram it receives is reported as one [`TraceEvent::Dns`], with the request's
//!   trace id when the sender put one in EDNS option [`TRACE_ID_OPTION`].

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hickory_proto::op::{Edns, Header, Message, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::rr::rdata::{A, SOA, SRV};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use rand::RngExt;
use rand::rngs::StdRng;
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Env;
use crate::scenario::{DnsConfig, DnsMode};
use crate::trace::{DnsQuery, TraceEvent, TraceId};

/// EDNS option code in which simulated clients send their request's 128-bit trace id
/// (16 bytes, big-endian). Taken from the range RFC 6891 leaves for local use.
pub const TRACE_ID_OPTION: u16 = 65001;

/// Answers waiting out their injected latency at most; queries beyond this are dropped.
pub const MAX_OUTSTANDING_ANSWERS: usize = 1024;

/// The UDP payload size the stub advertises in its own OPT record.
const EDNS_PAYLOAD_BYTES: u16 = 1232;
/// Largest answer to a query without EDNS (RFC 1035).
const PLAIN_UDP_BYTES: usize = 512;
const RECV_BUFFER_BYTES: usize = 4096;
/// Seed purpose of the stream that decides which queries are lost.
const LOSS_RNG_PURPOSE: u64 = 0x646e_735f_6c6f_7373;

/// Why the stub could not start or restart.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The UDP port could not be bound.
    #[error(
        "cannot bind the DNS stub to UDP 127.0.0.1:{port}: {source} (is another program using that port?)"
    )]
    Bind { port: u16, source: io::Error },
    /// The zone or one of its names is not a valid domain name.
    #[error("`{name}` is not a valid DNS name: {reason}")]
    BadName { name: String, reason: String },
    /// The run is stopping, so the stub cannot come back.
    #[error("the run is shutting down: the DNS stub cannot restart")]
    ShuttingDown,
}

/// What the stub has done so far, as plain numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DnsCounts {
    /// Datagrams received (every one, including junk and dropped ones).
    pub queries: u64,
    pub noerror: u64,
    pub nxdomain: u64,
    pub refused: u64,
    pub formerr: u64,
    pub notimp: u64,
    /// Answers with any other response code (BADVERS).
    pub other_rcode: u64,
    /// Queries that got no answer: lost, dropped by mode, junk, or over the outstanding limit.
    pub dropped: u64,
}

impl DnsCounts {
    /// Answers sent, whatever their response code.
    pub fn answered(&self) -> u64 {
        self.noerror + self.nxdomain + self.refused + self.formerr + self.notimp + self.other_rcode
    }
}

impl DnsCounts {
    fn answered_with(&mut self, rcode: ResponseCode) {
        *match rcode {
            ResponseCode::NoError => &mut self.noerror,
            ResponseCode::NXDomain => &mut self.nxdomain,
            ResponseCode::Refused => &mut self.refused,
            ResponseCode::FormErr => &mut self.formerr,
            ResponseCode::NotImp => &mut self.notimp,
            _ => &mut self.other_rcode,
        } += 1;
    }
}

/// The mnemonic dig prints for a response code (`NOERROR`, `NXDOMAIN`, …).
pub fn rcode_name(rcode: ResponseCode) -> String {
    let name = match rcode {
        ResponseCode::NoError => "NOERROR",
        ResponseCode::FormErr => "FORMERR",
        ResponseCode::ServFail => "SERVFAIL",
        ResponseCode::NXDomain => "NXDOMAIN",
        ResponseCode::NotImp => "NOTIMP",
        ResponseCode::Refused => "REFUSED",
        ResponseCode::BADVERS => "BADVERS",
        other => return format!("RCODE{}", u16::from(other)),
    };
    name.to_string()
}

/// The EDNS option that carries `id` from a simulated client to the stub.
pub fn trace_id_option(id: TraceId) -> EdnsOption {
    EdnsOption::Unknown(TRACE_ID_OPTION, id.0.to_be_bytes().to_vec())
}

/// The trace id a query carries in EDNS option [`TRACE_ID_OPTION`], if any.
pub fn trace_id_of(message: &Message) -> Option<TraceId> {
    let option = message
        .edns
        .as_ref()?
        .option(EdnsCode::from(TRACE_ID_OPTION))?;
    match option {
        EdnsOption::Unknown(_, data) => {
            let bytes: [u8; 16] = data.as_slice().try_into().ok()?;
            Some(TraceId(u128::from_be_bytes(bytes)))
        }
        _ => None,
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a name sits in the zone.
enum Found<'a> {
    Outside,
    Apex,
    /// A host with an A record.
    Host,
    /// An SRV name, pointing at this host.
    Service(&'a Name),
    /// An ancestor of existing names with no records of its own (RFC 8020: not NXDOMAIN).
    EmptyNonTerminal,
    Missing,
}

/// The zone's data, fixed at start.
#[derive(Debug)]
struct Zone {
    origin: Name,
    /// The zone's SOA record, sent with negative answers.
    soa: Record,
    hosts: Vec<Name>,
    /// `_http._tcp.N.<zone>.` and the host it points at.
    services: Vec<(Name, Name)>,
    ttl_secs: u32,
}

fn fqdn(text: &str) -> Result<Name, DnsError> {
    let trimmed = text.trim_end_matches('.');
    let written = if trimmed.is_empty() {
        ".".to_string()
    } else {
        format!("{trimmed}.")
    };
    Name::from_ascii(&written)
        .map(|n| n.to_lowercase())
        .map_err(|e| DnsError::BadName {
            name: text.to_string(),
            reason: e.to_string(),
        })
}

impl Zone {
    fn new(config: &DnsConfig) -> Result<Zone, DnsError> {
        let zone = config.zone.trim_end_matches('.');
        let origin = fqdn(zone)?;
        let mut hosts = Vec::new();
        let mut services = Vec::new();
        for name in &config.names {
            let host = fqdn(&format!("{}.{zone}", name.trim_end_matches('.')))?;
            let service = fqdn(&format!("_http._tcp.{host}"))?;
            if !hosts.contains(&host) {
                hosts.push(host.clone());
            }
            services.push((service, host));
        }
        // DNS TTLs count whole seconds: a part of a second rounds up so it is not lost.
        let ttl = config.ttl.get();
        let ttl_secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let ttl_secs = u32::try_from(ttl_secs).unwrap_or(u32::MAX);
        let (ns, hostmaster) = (
            fqdn(&format!("ns.{zone}"))?,
            fqdn(&format!("hostmaster.{zone}"))?,
        );
        let soa = SOA::new(ns, hostmaster, 1, 3600, 600, 86_400, ttl_secs);
        Ok(Zone {
            soa: Record::from_rdata(origin.clone(), ttl_secs, RData::SOA(soa)),
            origin,
            hosts,
            services,
            ttl_secs,
        })
    }

    fn find(&self, name: &Name) -> Found<'_> {
        if !self.origin.zone_of(name) {
            return Found::Outside;
        }
        if *name == self.origin {
            return Found::Apex;
        }
        if self.hosts.contains(name) {
            return Found::Host;
        }
        if let Some((_, host)) = self.services.iter().find(|(s, _)| s == name) {
            return Found::Service(host);
        }
        let existing = self
            .hosts
            .iter()
            .chain(self.services.iter().map(|(s, _)| s));
        if existing.clone().any(|e| name.zone_of(e)) {
            return Found::EmptyNonTerminal;
        }
        Found::Missing
    }

    fn a(&self, owner: Name) -> Record {
        Record::from_rdata(owner, self.ttl_secs, RData::A(A(Ipv4Addr::LOCALHOST)))
    }

    /// The answer to a well-formed message, given the stub's mode and the edge's port.
    fn respond(&self, request: &Message, mode: DnsMode, edge_port: u16) -> Message {
        let mut response = Message::new(request.id, MessageType::Response, request.op_code);
        response.metadata = Metadata::response_from_request(&request.metadata);
        response.add_queries(request.queries.iter().cloned());
        if let Some(edns) = &request.edns {
            let mut ours = Edns::new();
            ours.set_max_payload(EDNS_PAYLOAD_BYTES);
            response.set_edns(ours);
            if edns.version() > 0 {
                response.metadata.response_code = ResponseCode::BADVERS;
                return response;
            }
        }
        if request.op_code != OpCode::Query {
            response.metadata.response_code = ResponseCode::NotImp;
            return response;
        }
        let [query] = request.queries.as_slice() else {
            response.metadata.response_code = ResponseCode::FormErr;
            return response;
        };
        let qtype = query.query_type();
        let transfer = matches!(qtype, RecordType::AXFR | RecordType::IXFR);
        let found = self.find(query.name());
        if query.query_class() != DNSClass::IN || transfer || matches!(found, Found::Outside) {
            response.metadata.response_code = ResponseCode::Refused;
            return response;
        }
        response.metadata.authoritative = true;
        let owner = query.name().clone();
        let any = qtype == RecordType::ANY;
        match (mode, found) {
            (DnsMode::Nxdomain, _) | (_, Found::Missing) => {
                response.metadata.response_code = ResponseCode::NXDomain;
            }
            (_, Found::Host) if any || qtype == RecordType::A => {
                response.add_answer(self.a(owner));
            }
            (_, Found::Service(host)) if any || qtype == RecordType::SRV => {
                let srv = SRV::new(0, 0, edge_port, host.clone());
                response.add_answer(Record::from_rdata(owner, self.ttl_secs, RData::SRV(srv)));
                response.add_additional(self.a(host.clone()));
            }
            (_, Found::Apex) if any || qtype == RecordType::SOA => {
                response.add_answer(self.soa.clone());
            }
            _ => {}
        }
        if response.answers.is_empty() {
            // NXDOMAIN or NODATA: the SOA tells resolvers how long to remember it (RFC 2308).
            response.add_authority(self.soa.clone());
        }
        response
    }
}

/// A header-only error answer (the question is not echoed when it could not be read).
fn error_reply(request: &Metadata, rcode: ResponseCode) -> Message {
    let mut response = Message::error_msg(request.id, request.op_code, rcode);
    response.metadata.recursion_desired = request.recursion_desired;
    response
}

/// Encodes `message`; when it does not fit `limit` bytes, sends only the question with TC set.
fn encode(mut message: Message, limit: usize) -> Option<Vec<u8>> {
    let bytes = message.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(bytes);
    }
    message.answers.clear();
    message.authorities.clear();
    message.additionals.clear();
    message.metadata.truncation = true;
    message.to_vec().ok()
}

/// An answer ready to leave, with its trace record.
struct Reply {
    bytes: Vec<u8>,
    peer: SocketAddr,
    rcode: ResponseCode,
    event: DnsQuery,
    /// Held until the answer is sent, bounding the answers in flight.
    _permit: Option<OwnedSemaphorePermit>,
}

#[derive(Debug)]
struct Running {
    token: CancellationToken,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    env: Arc<Env>,
    zone: Zone,
    latency: Duration,
    loss: f64,
    addr: SocketAddr,
    edge_port: AtomicU16,
    mode: Mutex<DnsMode>,
    rng: Mutex<StdRng>,
    counts: Mutex<DnsCounts>,
    permits: Arc<Semaphore>,
    running: Mutex<Option<Running>>,
    restarting: tokio::sync::Mutex<()>,
}

/// A running DNS stub. Cheap to clone; every clone controls the same server. The server
/// stops on [`DnsStub::kill`] or when the run's shutdown token is cancelled.
#[derive(Clone, Debug)]
pub struct DnsStub {
    shared: Arc<Shared>,
}

async fn bind(port: u16) -> Result<UdpSocket, DnsError> {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|source| DnsError::Bind { port, source })
}

impl DnsStub {
    /// Binds UDP 127.0.0.1:`port` (0: the OS picks) and starts answering for `config.zone`,
    /// pointing SRV answers at `edge_port`.
    pub async fn start(
        env: Arc<Env>,
        config: &DnsConfig,
        port: u16,
        edge_port: u16,
    ) -> Result<DnsStub, DnsError> {
        let zone = Zone::new(config)?;
        let socket = bind(port).await?;
        let addr = socket
            .local_addr()
            .map_err(|source| DnsError::Bind { port, source })?;
        let rng = env.rng(LOSS_RNG_PURPOSE);
        let stub = DnsStub {
            shared: Arc::new(Shared {
                env,
                zone,
                latency: config.latency.get(),
                loss: config.loss,
                addr,
                edge_port: AtomicU16::new(edge_port),
                mode: Mutex::new(DnsMode::Ok),
                rng: Mutex::new(rng),
                counts: Mutex::default(),
                permits: Arc::new(Semaphore::new(MAX_OUTSTANDING_ANSWERS)),
                running: Mutex::new(None),
                restarting: tokio::sync::Mutex::new(()),
            }),
        };
        stub.spawn(socket);
        Ok(stub)
    }

    fn spawn(&self, socket: UdpSocket) {
        let token = self.shared.env.shutdown.child_token();
        let task = tokio::spawn(serve(self.shared.clone(), socket, token.clone()));
        *lock(&self.shared.running) = Some(Running { token, task });
    }

    /// Where it listens (the same address after a restart).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// Closes the socket: from now on queries get ICMP port unreachable. Answers still
    /// waiting out their latency are lost (and traced as `DROPPED`). The socket is closed by
    /// the serve task a moment later, not inside this call.
    pub fn kill(&self) {
        if let Some(running) = lock(&self.shared.running).as_ref() {
            running.token.cancel();
        }
    }

    /// Stops the server if it runs, waits until its socket is closed, binds the same port
    /// again and serves with the mode back to [`DnsMode::Ok`].
    pub async fn restart(&self) -> Result<(), DnsError> {
        let _one_at_a_time = self.shared.restarting.lock().await;
        if self.shared.env.shutdown.is_cancelled() {
            return Err(DnsError::ShuttingDown);
        }
        let old = lock(&self.shared.running).take();
        if let Some(old) = old {
            old.token.cancel();
            // The task only ends by returning; a join error would mean it panicked, and
            // either way its socket is gone.
            let _ = old.task.await;
        }
        let socket = bind(self.shared.addr.port()).await?;
        self.set_mode(DnsMode::Ok);
        self.spawn(socket);
        Ok(())
    }

    /// Changes how it answers from the next query on.
    pub fn set_mode(&self, mode: DnsMode) {
        *lock(&self.shared.mode) = mode;
    }

    /// How it answers now.
    pub fn mode(&self) -> DnsMode {
        *lock(&self.shared.mode)
    }

    /// The port SRV answers carry from now on (the edge moved).
    pub fn set_edge_port(&self, port: u16) {
        self.shared.edge_port.store(port, Ordering::Relaxed);
    }

    /// Whether the socket is open and being served.
    pub fn is_alive(&self) -> bool {
        lock(&self.shared.running)
            .as_ref()
            .is_some_and(|r| !r.token.is_cancelled() && !r.task.is_finished())
    }

    /// The counters now.
    pub fn counts(&self) -> DnsCounts {
        *lock(&self.shared.counts)
    }
}

/// The receive loop: the only owner of the socket, so the socket closes when it returns.
async fn serve(shared: Arc<Shared>, socket: UdpSocket, token: CancellationToken) {
    let (tx, mut rx) = mpsc::channel::<Reply>(MAX_OUTSTANDING_ANSWERS);
    let mut buf = vec![0u8; RECV_BUFFER_BYTES];
    loop {
        tokio::select! {
            biased;
            () = token.cancelled() => break,
            Some(reply) = rx.recv() => shared.send(&socket, reply).await,
            received = socket.recv_from(&mut buf) => {
                // An error here (Windows reports an earlier answer's ICMP error this way)
                // concerns one datagram, not the socket: keep serving.
                if let Ok((len, peer)) = received {
                    shared.on_datagram(&socket, &tx, &token, &buf[..len], peer).await;
                }
            }
        }
    }
    drop(socket);
    rx.close();
    while let Ok(reply) = rx.try_recv() {
        shared.drop_query(reply.event);
    }
}

impl Shared {
    fn emit(&self, mut event: DnsQuery) {
        event.at_micros = self.env.now();
        self.env.sink.emit(TraceEvent::Dns(Box::new(event)));
    }

    fn drop_query(&self, mut event: DnsQuery) {
        lock(&self.counts).dropped += 1;
        event.rcode = "DROPPED".into();
        event.answers.clear();
        self.emit(event);
    }

    /// Whether this query is lost: the configured loss and a `Drop` mode both apply.
    fn lost(&self) -> bool {
        let share = match *lock(&self.mode) {
            DnsMode::Drop(share) => share.clamp(0.0, 1.0),
            _ => 0.0,
        };
        let keep = (1.0 - self.loss.clamp(0.0, 1.0)) * (1.0 - share);
        if keep >= 1.0 {
            return false;
        }
        let draw: f64 = lock(&self.rng).random();
        draw >= keep
    }

    /// The answer to a datagram and the size it must fit, or `None` to drop it.
    fn answer(&self, bytes: &[u8], event: &mut DnsQuery) -> Option<(Message, usize)> {
        // Shorter than a header, or a response rather than a query: not worth an answer.
        let header = Header::read(&mut BinDecoder::new(bytes)).ok()?.metadata;
        if header.message_type == MessageType::Response {
            return None;
        }
        let Ok(request) = Message::from_vec(bytes) else {
            let rcode = match header.op_code {
                OpCode::Query => ResponseCode::FormErr,
                _ => ResponseCode::NotImp,
            };
            return Some((error_reply(&header, rcode), PLAIN_UDP_BYTES));
        };
        event.id = trace_id_of(&request);
        if let Some(query) = request.queries.first() {
            event.name = query.name().to_string();
            event.qtype = query.query_type().to_string();
        }
        let mode = *lock(&self.mode);
        let edge_port = self.edge_port.load(Ordering::Relaxed);
        let limit = match &request.edns {
            Some(edns) => usize::from(edns.max_payload().clamp(512, EDNS_PAYLOAD_BYTES)),
            None => PLAIN_UDP_BYTES,
        };
        Some((self.zone.respond(&request, mode, edge_port), limit))
    }

    async fn on_datagram(
        self: &Arc<Self>,
        socket: &UdpSocket,
        tx: &mpsc::Sender<Reply>,
        token: &CancellationToken,
        bytes: &[u8],
        peer: SocketAddr,
    ) {
        lock(&self.counts).queries += 1;
        let now = self.env.now();
        let mut event = DnsQuery {
            id: None,
            received_micros: now,
            at_micros: now,
            peer: peer.to_string(),
            name: String::new(),
            qtype: String::new(),
            rcode: String::new(),
            answers: Vec::new(),
        };
        let answer = self.answer(bytes, &mut event);
        let Some((message, limit)) = answer.filter(|_| !self.lost()) else {
            return self.drop_query(event);
        };
        let rcode = message.response_code;
        event.rcode = rcode_name(rcode);
        event.answers = message.answers.iter().map(|r| r.data.to_string()).collect();
        let Some(bytes) = encode(message, limit) else {
            return self.drop_query(event);
        };
        let mut reply = Reply {
            bytes,
            peer,
            rcode,
            event,
            _permit: None,
        };
        if self.latency.is_zero() {
            return self.send(socket, reply).await;
        }
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            return self.drop_query(reply.event);
        };
        reply._permit = Some(permit);
        let shared = self.clone();
        let tx = tx.clone();
        let token = token.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = token.cancelled() => shared.drop_query(reply.event),
                () = shared.env.delay(shared.latency) => {
                    if let Err(unsent) = tx.send(reply).await {
                        shared.drop_query(unsent.0.event);
                    }
                }
            }
        });
    }

    async fn send(&self, socket: &UdpSocket, reply: Reply) {
        match socket.send_to(&reply.bytes, reply.peer).await {
            Ok(_) => {
                lock(&self.counts).answered_with(reply.rcode);
                self.emit(reply.event);
            }
            Err(_) => self.drop_query(reply.event),
        }
    }
}

#[cfg(test)]
#[path = "dns_tests.rs"]
pub(crate) mod tests;
