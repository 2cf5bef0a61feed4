//! Accepting connections: a bound on how many are open, and timeouts so
//! that idle, slow or stalled clients cannot hold them for ever.
//!
//! - `max_connections`: past it a new connection is answered at once (a
//!   plain-HTTP 503, or a close for TLS) instead of waiting in the backlog.
//! - `header_timeout`: a request's headers must arrive within it, counted
//!   from when the connection starts waiting for a request, so it also
//!   closes idle keep-alive connections (hyper's header read timer).
//! - `idle_timeout`: a connection that moves no byte either way for this
//!   long is closed (a client that stopped reading a download, say).
//! - `max_header_bytes`: the largest request head.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use axum_server::Handle;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;

/// How connections are bounded; see the module docs.
#[derive(Clone, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_header_bytes: usize,
}

/// Serves `app` on `listener` until `handle` shuts it down. The peer's
/// address is available to handlers as `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: std::net::TcpListener,
    app: Router,
    tls: Option<RustlsConfig>,
    limits: &Limits,
    handle: Handle<SocketAddr>,
) -> io::Result<()> {
    let gate = Gate {
        permits: Arc::new(Semaphore::new(limits.max_connections.max(1))),
        idle: limits.idle_timeout,
        plain: tls.is_none(),
    };
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(config) => {
            let mut server = axum_server::from_tcp(listener)?
                .acceptor(RustlsAcceptor::new(config).acceptor(gate));
            configure(server.http_builder(), limits);
            server.handle(handle).serve(service).await
        }
        None => {
            let mut server = axum_server::from_tcp(listener)?.acceptor(gate);
            configure(server.http_builder(), limits);
            server.handle(handle).serve(service).await
        }
    }
}

fn configure(builder: &mut Builder<TokioExecutor>, limits: &Limits) {
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(limits.max_header_bytes as u32);
}

const BUSY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n\
Content-Length: 51\r\nRetry-After: 1\r\nConnection: close\r\n\r\n\
too many connections: max_connections is reached\n\n";

/// Admits a connection if a permit is free; the permit lives as long as
/// the connection.
#[derive(Clone)]
struct Gate {
    permits: Arc<Semaphore>,
    idle: Duration,
    plain: bool,
}

impl<S: Send + 'static> Accept<TcpStream, S> for Gate {
    type Stream = Guarded;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Guarded, S)>> + Send>>;

    fn accept(&self, mut stream: TcpStream, service: S) -> Self::Future {
        let permit = self.permits.clone().try_acquire_owned();
        let (idle, plain) = (self.idle, self.plain);
        Box::pin(async move {
            let Ok(permit) = permit else {
                tracing::debug!("connection shed: max_connections is reached");
                if plain {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
                }
                return Err(io::Error::other("max_connections is reached"));
            };
            // Answers are written whole; waiting to fill a packet only
            // adds latency.
            let _ = stream.set_nodelay(true);
            Ok((Guarded::new(stream, permit, idle), service))
        })
    }
}

/// A connection that holds its permit and fails once it has moved no byte
/// for `idle`.
pub struct Guarded {
    io: TcpStream,
    _permit: OwnedSemaphorePermit,
    idle: Duration,
    last_progress: Instant,
    timer: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(io: TcpStream, permit: OwnedSemaphorePermit, idle: Duration) -> Guarded {
        Guarded {
            io,
            _permit: permit,
            idle,
            last_progress: Instant::now(),
            timer: Box::pin(tokio::time::sleep(idle)),
        }
    }

    /// Called when the I/O is pending. The timer is re-armed lazily, only
    /// when it fires, so progress costs a clock read, not a timer reset.
    fn check_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let deadline = self.last_progress + self.idle;
            if Instant::now() >= deadline {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle for idle_timeout",
                ));
            }
            self.timer.as_mut().reset(deadline.into());
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match Pin::new(&mut self.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                self.last_progress = Instant::now();
                Poll::Ready(result)
            }
            Poll::Pending => self.check_idle(cx).map(Err),
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.io).poll_write(cx, buf) {
            Poll::Ready(result) => {
                self.last_progress = Instant::now();
                Poll::Ready(result)
            }
            Poll::Pending => self.check_idle(cx).map(Err),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.io).poll_write_vectored(cx, bufs) {
            Poll::Ready(result) => {
                self.last_progress = Instant::now();
                Poll::Ready(result)
            }
            Poll::Pending => self.check_idle(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
