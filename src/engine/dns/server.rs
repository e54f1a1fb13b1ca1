//! The stub's UDP server: it owns the socket, receives each datagram, draws loss, holds
//! answers for their injected latency on a bounded set of tasks, sends them and traces
//! every query; kill, restart and live changes of mode and edge port go through
//! [`DnsStub`].

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hickory_proto::op::{Header, Message, MessageType, OpCode, ResponseCode};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use rand::RngExt;
use rand::rngs::StdRng;
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::wire::{
    EDNS_PAYLOAD_BYTES, PLAIN_UDP_BYTES, encode, error_reply, rcode_name, trace_id_of,
};
use super::zone::Zone;
use super::{DnsCounts, DnsError, MAX_OUTSTANDING_ANSWERS};
use crate::engine::Env;
use crate::engine::component::{Service, ServiceHandle};
use crate::scenario::{DnsConfig, DnsMode};
use crate::trace::Component;
use crate::trace::{DnsQuery, TraceEvent};

const RECV_BUFFER_BYTES: usize = 4096;
/// Seed purpose of the stream that decides which queries are lost.
const LOSS_RNG_PURPOSE: u64 = 0x646e_735f_6c6f_7373;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
    fn spawn(&self, socket: UdpSocket) {
        let token = self.shared.env.shutdown.child_token();
        let task = tokio::spawn(serve(self.shared.clone(), socket, token.clone()));
        *lock(&self.shared.running) = Some(Running { token, task });
    }

    /// Where it listens (the same address after a restart).
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
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

/// What the DNS stub starts with.
#[derive(Clone, Debug)]
pub struct DnsSetup {
    /// The scenario's `[dns]`: the zone, its names, latency and loss.
    pub dns: DnsConfig,
    /// The UDP port on 127.0.0.1 (0: the OS picks).
    pub port: u16,
    /// The port SRV answers carry: the edge's.
    pub edge_port: u16,
}

impl Service for DnsStub {
    type Config = DnsSetup;
    type Handle = DnsStub;
    type Error = DnsError;

    /// Binds UDP 127.0.0.1:`port` (0: the OS picks) and starts answering for the zone,
    /// pointing SRV answers at `edge_port`.
    async fn start(env: Arc<Env>, config: DnsSetup) -> Result<DnsStub, DnsError> {
        let DnsSetup {
            dns: config,
            port,
            edge_port,
        } = config;
        let zone = Zone::new(&config)?;
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
}

impl ServiceHandle for DnsStub {
    type Error = DnsError;

    fn component(&self) -> Component {
        Component::Dns
    }

    fn address(&self) -> SocketAddr {
        self.addr()
    }

    fn is_alive(&self) -> bool {
        DnsStub::is_alive(self)
    }

    /// Closes the socket: from now on queries get ICMP port unreachable. Answers still
    /// waiting out their latency are lost (and traced as `DROPPED`). The socket is closed by
    /// the serve task a moment later, not inside this call.
    fn kill(&self) {
        if let Some(running) = lock(&self.shared.running).as_ref() {
            running.token.cancel();
        }
    }

    /// Stops the server if it runs, waits until its socket is closed, binds the same port
    /// again and serves with the mode back to [`DnsMode::Ok`].
    async fn restart(&self) -> Result<(), DnsError> {
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
