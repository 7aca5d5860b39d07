//! A connection's socket that gives up when no byte has moved either way for the idle timeout
//! while someone waits on it: a client that stops reading its answers, or a socket gone quiet
//! after an upgrade, cannot hold a file descriptor forever.
//!
//! Nothing waits on the socket while a handler works (a long poll, say), so only a wait for
//! the peer counts; the timeout must still exceed the longest long poll, since hyper watches a
//! busy connection for the peer hanging up.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::per_ip::IpPermit;

pub struct IdleTimeout<T> {
    io: T,
    idle: Duration,
    last_moved: Instant,
    /// One timer per direction: after an upgrade, reading and writing may wait in two tasks.
    read_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
    /// The connection's place in its address's count, given back when the socket closes.
    _permit: IpPermit,
}

impl<T> IdleTimeout<T> {
    pub fn new(io: T, idle: Duration, permit: IpPermit) -> Self {
        IdleTimeout {
            io,
            idle,
            last_moved: Instant::now(),
            read_timer: None,
            write_timer: None,
            _permit: permit,
        }
    }

    fn moved(&mut self) {
        self.last_moved = Instant::now();
    }

    /// Called when a read or write would wait: an error once the socket has been idle too long.
    fn poll_idle<R>(&mut self, writing: bool, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        let deadline = self.last_moved + self.idle;
        let timer = if writing {
            &mut self.write_timer
        } else {
            &mut self.read_timer
        };
        let timer = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        ready!(timer.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no byte moved on the connection for {} s",
                self.idle.as_secs()
            ),
        )))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_idle(false, cx),
        }
    }
}

impl<T> IdleTimeout<T> {
    /// A write that moved bytes resets the clock; one that waits runs it.
    fn after_write(
        &mut self,
        polled: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    self.moved();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_idle(true, cx),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write(cx, buf);
        this.after_write(polled, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.after_write(polled, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
