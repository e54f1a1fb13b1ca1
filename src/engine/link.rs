//! Links: the network between two hops. A link has a one-way latency, jitter and a packet
//! loss share, all adjustable while traffic flows. Connecting over a link pays the TCP
//! three-way handshake (one round trip, with SYN retransmissions when packets are lost), and
//! every byte then travels with the link's delay in both directions: a real TCP stream whose
//! reads and writes are held back in order, so TLS handshakes and HTTP exchanges cost the
//! round trips they cost on a real network.
//!
//! A link with no latency, jitter or loss hands back the plain socket: no cost at all.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::{Instant, Sleep};
use tokio_util::sync::PollSender;

use super::Env;

/// Linux's initial retransmission timeout for a lost SYN.
const SYN_RTO: Duration = Duration::from_secs(1);
/// The smallest retransmission timeout for lost data (RFC 6298 suggests 1 s; Linux uses 200 ms).
const DATA_RTO: Duration = Duration::from_millis(200);
/// Chunks in flight per direction before the sender is held back (like a send window).
const WINDOW_CHUNKS: usize = 64;

/// One hop's network conditions, shared by every connection over it and adjustable live.
#[derive(Debug, Default)]
pub struct LinkState {
    latency_micros: AtomicU64,
    jitter_micros: AtomicU64,
    loss_bits: AtomicU64,
}

impl LinkState {
    /// A link with these conditions.
    pub fn new(latency: Duration, jitter: Duration, loss: f64) -> Arc<LinkState> {
        let link = LinkState::default();
        link.set_latency(latency);
        link.set_jitter(jitter);
        link.set_loss(loss);
        Arc::new(link)
    }

    /// One-way latency.
    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    /// Sets the one-way latency.
    pub fn set_latency(&self, d: Duration) {
        self.latency_micros
            .store(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Largest random extra delay per packet.
    pub fn jitter(&self) -> Duration {
        Duration::from_micros(self.jitter_micros.load(Ordering::Relaxed))
    }

    /// Sets the jitter.
    pub fn set_jitter(&self, d: Duration) {
        self.jitter_micros
            .store(d.as_micros() as u64, Ordering::Relaxed);
    }

    /// Share of packets lost (0..=1).
    pub fn loss(&self) -> f64 {
        f64::from_bits(self.loss_bits.load(Ordering::Relaxed))
    }

    /// Sets the loss share (clamped to 0..=1).
    pub fn set_loss(&self, share: f64) {
        let s = if share.is_finite() {
            share.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self.loss_bits.store(s.to_bits(), Ordering::Relaxed);
    }

    /// Whether the link costs nothing (bytes can go straight to the socket).
    pub fn is_direct(&self) -> bool {
        self.latency_micros.load(Ordering::Relaxed) == 0
            && self.jitter_micros.load(Ordering::Relaxed) == 0
            && self.loss() == 0.0
    }

    /// One packet's one-way delay: latency plus a random share of the jitter.
    fn one_way(&self) -> Duration {
        let jitter = self.jitter_micros.load(Ordering::Relaxed);
        let extra = if jitter == 0 {
            0
        } else {
            rand::random_range(0..=jitter)
        };
        self.latency() + Duration::from_micros(extra)
    }

    fn lost(&self) -> bool {
        let loss = self.loss();
        loss > 0.0 && (loss >= 1.0 || rand::random::<f64>() < loss)
    }
}

/// Why a connection over a link failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Nothing listens on the address: the peer answered with a reset.
    #[error("connection refused")]
    Refused,
    /// No answer to the SYNs in time (a firewall dropping packets, or a lossy link).
    #[error("connection timed out")]
    Timeout,
    #[error("connect failed: {0}")]
    Io(#[from] io::Error),
}

/// A connected stream over a link: the plain socket, or one whose bytes are delayed.
#[derive(Debug)]
pub enum LinkStream {
    Plain(TcpStream),
    Delayed(DelayedStream),
}

/// Connects to `addr` over `link`, paying the handshake's round trip, within `timeout` (of
/// simulated time: it is stretched by the time scale).
pub async fn connect(
    env: &Arc<Env>,
    addr: SocketAddr,
    link: &Arc<LinkState>,
    timeout: Duration,
) -> Result<LinkStream, ConnectError> {
    let deadline = Instant::now() + env.scale.apply(timeout);
    let attempt = async {
        // Lost SYNs are retransmitted after 1 s, 2 s, 4 s, … as the kernel does.
        let mut rto = SYN_RTO;
        while link.lost() {
            env.delay(rto).await;
            rto *= 2;
        }
        env.delay(link.one_way()).await; // the SYN travels
        let stream = match TcpStream::connect(addr).await {
            Ok(s) => s,
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                env.delay(link.one_way()).await; // the RST travels back
                return Err(ConnectError::Refused);
            }
            Err(e) => return Err(ConnectError::Io(e)),
        };
        stream.set_nodelay(true)?;
        env.delay(link.one_way()).await; // the SYN-ACK travels back
        Ok(stream)
    };
    let stream = tokio::time::timeout_at(deadline, attempt)
        .await
        .map_err(|_| ConnectError::Timeout)??;
    Ok(wrap(env, stream, link))
}

/// Puts an already connected socket on a link (no handshake cost).
pub fn wrap(env: &Arc<Env>, stream: TcpStream, link: &Arc<LinkState>) -> LinkStream {
    if link.is_direct() {
        LinkStream::Plain(stream)
    } else {
        LinkStream::Delayed(DelayedStream::new(env.clone(), stream, link.clone()))
    }
}

enum Inbound {
    Data(Instant, Bytes),
    Eof(Instant),
    Error(io::ErrorKind),
}

enum Outbound {
    Data(Instant, Bytes),
    Shutdown(Instant),
}

/// A TCP stream whose bytes arrive and leave with the link's delay, in order.
pub struct DelayedStream {
    inbound: mpsc::Receiver<Inbound>,
    current: Option<(Instant, Bytes)>,
    eof: bool,
    timer: Pin<Box<Sleep>>,
    outbound: PollSender<Outbound>,
    env: Arc<Env>,
    link: Arc<LinkState>,
    last_send: Instant,
}

impl std::fmt::Debug for DelayedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DelayedStream")
            .field("link", &self.link)
            .finish()
    }
}

/// When a packet sent now arrives: after the link's delay (plus retransmission timeouts
/// for lost copies), never before a packet sent earlier.
fn arrival(env: &Env, link: &LinkState, previous: Instant) -> Instant {
    let mut delay = link.one_way();
    let mut rto = DATA_RTO;
    while link.lost() && rto < Duration::from_secs(60) {
        delay += rto;
        rto *= 2;
    }
    // The instant to ask the timer for (it is late by a measured amount), never before an
    // earlier packet.
    env.overshoot
        .plan(Instant::now() + env.scale.apply(delay))
        .max(previous)
}

impl DelayedStream {
    fn new(env: Arc<Env>, stream: TcpStream, link: Arc<LinkState>) -> DelayedStream {
        let (read_half, write_half) = stream.into_split();
        let (in_tx, in_rx) = mpsc::channel(WINDOW_CHUNKS);
        let (out_tx, out_rx) = mpsc::channel(WINDOW_CHUNKS);
        tokio::spawn(pump_in(env.clone(), link.clone(), read_half, in_tx));
        tokio::spawn(pump_out(env.clone(), write_half, out_rx));
        DelayedStream {
            inbound: in_rx,
            current: None,
            eof: false,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            outbound: PollSender::new(out_tx),
            env,
            link,
            last_send: Instant::now(),
        }
    }
}

async fn pump_in(
    env: Arc<Env>,
    link: Arc<LinkState>,
    mut socket: OwnedReadHalf,
    tx: mpsc::Sender<Inbound>,
) {
    let mut last = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            r = socket.read(&mut buf) => r,
            _ = env.shutdown.cancelled() => return,
            _ = tx.closed() => return,
        };
        let message = match read {
            Ok(0) => Inbound::Eof(arrival(&env, &link, last)),
            Ok(n) => {
                last = arrival(&env, &link, last);
                Inbound::Data(last, Bytes::copy_from_slice(&buf[..n]))
            }
            Err(e) => Inbound::Error(e.kind()),
        };
        let done = !matches!(message, Inbound::Data(..));
        if tx.send(message).await.is_err() || done {
            return;
        }
    }
}

async fn pump_out(env: Arc<Env>, mut socket: OwnedWriteHalf, mut rx: mpsc::Receiver<Outbound>) {
    loop {
        let message = tokio::select! {
            m = rx.recv() => m,
            _ = env.shutdown.cancelled() => return,
        };
        match message {
            Some(Outbound::Data(at, bytes)) => {
                tokio::time::sleep_until(at).await;
                if socket.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Some(Outbound::Shutdown(at)) => {
                tokio::time::sleep_until(at).await;
                let _ = socket.shutdown().await;
                return;
            }
            // The stream was dropped: what was sent has been delivered; close.
            None => return,
        }
    }
}

impl AsyncRead for DelayedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            if this.current.is_none() {
                match ready!(this.inbound.poll_recv(cx)) {
                    Some(Inbound::Data(at, bytes)) => this.current = Some((at, bytes)),
                    Some(Inbound::Eof(at)) => {
                        this.current = Some((at, Bytes::new()));
                    }
                    Some(Inbound::Error(kind)) => return Poll::Ready(Err(io::Error::from(kind))),
                    None => return Poll::Ready(Ok(())),
                }
            }
            let Some((at, bytes)) = &mut this.current else {
                continue;
            };
            if Instant::now() < *at {
                // `at` was planned with the timer's lateness already taken off.
                this.timer.as_mut().reset(*at);
                ready!(this.timer.as_mut().poll(cx));
            }
            if bytes.is_empty() {
                this.eof = true;
                this.current = None;
                return Poll::Ready(Ok(()));
            }
            let n = bytes.len().min(buf.remaining());
            buf.put_slice(&bytes.split_to(n));
            if bytes.is_empty() {
                this.current = None;
            }
            return Poll::Ready(Ok(()));
        }
    }
}

use std::future::Future;

impl AsyncWrite for DelayedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if ready!(this.outbound.poll_reserve(cx)).is_err() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        let at = arrival(&this.env, &this.link, this.last_send);
        this.last_send = at;
        this.outbound
            .send_item(Outbound::Data(at, Bytes::copy_from_slice(data)))
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Bytes handed over are on the wire, as after a write to a kernel socket.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.outbound.is_closed() {
            return Poll::Ready(Ok(()));
        }
        if ready!(this.outbound.poll_reserve(cx)).is_err() {
            return Poll::Ready(Ok(()));
        }
        let at = arrival(&this.env, &this.link, this.last_send);
        let _ = this.outbound.send_item(Outbound::Shutdown(at));
        this.outbound.close();
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for LinkStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            LinkStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            LinkStream::Delayed(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for LinkStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            LinkStream::Plain(s) => Pin::new(s).poll_write(cx, data),
            LinkStream::Delayed(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            LinkStream::Plain(s) => Pin::new(s).poll_flush(cx),
            LinkStream::Delayed(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            LinkStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            LinkStream::Delayed(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Limits;
    use crate::trace::{Clock, EventSink};
    use tokio::net::TcpListener;

    fn env() -> Arc<Env> {
        let (sink, _rx) = EventSink::new(Clock::start(), 16);
        Env::new(sink, 1.0, Limits::default(), 1)
    }

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    #[tokio::test]
    async fn a_round_trip_costs_two_one_way_delays() {
        let env = env();
        let addr = echo_server().await;
        let link = LinkState::new(Duration::from_millis(20), Duration::ZERO, 0.0);
        let started = std::time::Instant::now();
        let mut stream = connect(&env, addr, &link, Duration::from_secs(5))
            .await
            .expect("connect");
        let handshake = started.elapsed();
        // Two one-way delays of 20 ms; the timer correction may end each up to 2 ms early.
        assert!(
            handshake >= Duration::from_millis(36),
            "handshake took {handshake:?}"
        );
        let started = std::time::Instant::now();
        stream.write_all(b"ping").await.expect("write");
        let mut buf = [0u8; 4];
        stream.read_exact(&mut buf).await.expect("read");
        let rtt = started.elapsed();
        assert_eq!(&buf, b"ping");
        assert!(rtt >= Duration::from_millis(36), "round trip took {rtt:?}");
        assert!(rtt < Duration::from_millis(400), "round trip took {rtt:?}");
    }

    #[tokio::test]
    async fn bytes_keep_their_order_under_jitter() {
        let env = env();
        let addr = echo_server().await;
        let link = LinkState::new(Duration::from_millis(1), Duration::from_millis(5), 0.0);
        let mut stream = connect(&env, addr, &link, Duration::from_secs(5))
            .await
            .expect("connect");
        let sent: Vec<u8> = (0..200u8).collect();
        for chunk in sent.chunks(7) {
            stream.write_all(chunk).await.expect("write");
        }
        let mut back = vec![0u8; sent.len()];
        stream.read_exact(&mut back).await.expect("read");
        assert_eq!(back, sent);
    }

    #[tokio::test]
    async fn nothing_listening_is_refused_and_a_firewall_times_out() {
        let env = env();
        let unused = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = unused.local_addr().expect("addr");
        drop(unused);
        let link = LinkState::new(Duration::from_millis(1), Duration::ZERO, 0.0);
        let refused = connect(&env, addr, &link, Duration::from_secs(2)).await;
        assert!(matches!(refused, Err(ConnectError::Refused)), "{refused:?}");
        let firewall = LinkState::new(Duration::ZERO, Duration::ZERO, 1.0);
        let live = echo_server().await;
        let blocked = connect(&env, live, &firewall, Duration::from_millis(50)).await;
        assert!(matches!(blocked, Err(ConnectError::Timeout)), "{blocked:?}");
    }

    #[tokio::test]
    async fn a_direct_link_is_the_plain_socket() {
        let env = env();
        let addr = echo_server().await;
        let link = LinkState::new(Duration::ZERO, Duration::ZERO, 0.0);
        let stream = connect(&env, addr, &link, Duration::from_secs(1))
            .await
            .expect("connect");
        assert!(matches!(stream, LinkStream::Plain(_)));
    }
}
