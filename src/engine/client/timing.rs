//! Measuring a request the way a browser's network panel does: a stream wrapper that notes
//! when the request's last byte was written and when the response's first byte was read, so
//! `send`, `wait` and `receive` are real measurements on the socket, not estimates.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::trace::Clock;

/// Timestamps of one exchange on a connection, in trace microseconds (0: not yet).
#[derive(Debug, Default)]
pub struct Stamps {
    last_write: AtomicU64,
    first_read: AtomicU64,
}

impl Stamps {
    /// Forgets the previous exchange (call before sending a request).
    pub fn reset(&self) {
        self.last_write.store(0, Ordering::Relaxed);
        self.first_read.store(0, Ordering::Relaxed);
    }

    /// When the last byte of the request was written.
    pub fn last_write(&self) -> Option<u64> {
        Some(self.last_write.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }

    /// When the first byte after the request arrived.
    pub fn first_read(&self) -> Option<u64> {
        Some(self.first_read.load(Ordering::Relaxed)).filter(|t| *t > 0)
    }
}

/// A stream that stamps its reads and writes.
#[derive(Debug)]
pub struct Timed<S> {
    inner: S,
    clock: Clock,
    stamps: Arc<Stamps>,
}

impl<S> Timed<S> {
    /// Wraps `inner`; the stamps are shared with whoever sends on it.
    pub fn new(inner: S, clock: Clock) -> (Timed<S>, Arc<Stamps>) {
        let stamps = Arc::new(Stamps::default());
        (
            Timed {
                inner,
                clock,
                stamps: stamps.clone(),
            },
            stamps,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Timed<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            let now = this.clock.now_micros().max(1);
            let _ = this.stamps.first_read.compare_exchange(
                0,
                now,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Timed<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.stamps
                .last_write
                .store(this.clock.now_micros().max(1), Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
