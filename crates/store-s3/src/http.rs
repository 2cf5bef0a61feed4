//! The HTTP client for the bucket.
//!
//! hyper with a fixed read buffer per connection, rather than reqwest: a
//! warm zip streamed to 256 slow clients keeps 256 bucket connections open,
//! and reqwest's client lets each connection's read buffer grow to about
//! 400 KiB whenever the bucket sends faster than the client reads (about
//! 100 MiB in all, measured in `bench/results-s3.md`). A fixed 64 KiB buffer
//! holds that at 16 MiB; the kernel's socket buffers and TCP flow control
//! do the rest of the waiting.
//!
//! With a proxy in the environment (HTTPS_PROXY and the like) the bucket
//! is reached through reqwest instead, which speaks to proxies.
//!
//! Timeouts: a connect timeout, and an idle timeout both for the response
//! head and between body frames, but none on whole requests, because a zip
//! streamed to a slow client may take long (whole-operation limits are set
//! per operation by the store).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpRequestBody,
    HttpResponse, HttpResponseBody, HttpService,
};
use object_store::ClientOptions;
use tokio::time::{sleep, Sleep};

/// Bytes read from a bucket connection at a time, whatever the pace.
const READ_BUFFER: usize = 64 * 1024;

/// Builds the client for `object_store`.
#[derive(Debug)]
pub(crate) struct Connector {
    pub(crate) connect_timeout: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) allow_http: bool,
}

/// Whether the environment names a proxy (as reqwest reads it): then the
/// bucket is reached through reqwest, which speaks to proxies and honours
/// NO_PROXY, at the cost of its growing read buffers.
fn proxy_configured() -> bool {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

impl HttpConnector for Connector {
    fn connect(&self, _options: &ClientOptions) -> object_store::Result<HttpClient> {
        let generic = |e: Box<dyn std::error::Error + Send + Sync>| object_store::Error::Generic {
            store: "S3",
            source: e,
        };
        if proxy_configured() {
            let client = reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .read_timeout(self.idle_timeout)
                .https_only(!self.allow_http)
                .build()
                .map_err(|e| generic(Box::new(e)))?;
            return Ok(HttpClient::new(client));
        }
        let mut tcp = TcpConnector::new();
        tcp.set_connect_timeout(Some(self.connect_timeout));
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        // The system's roots, and SSL_CERT_FILE, as for every other client.
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| generic(Box::new(e)))?;
        let tls = if self.allow_http {
            tls.https_or_http()
        } else {
            tls.https_only()
        };
        let connector = tls.enable_http1().wrap_connector(tcp);
        let client = Client::builder(TokioExecutor::new())
            .http1_read_buf_exact_size(READ_BUFFER)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(HttpClient::new(Service {
            client,
            idle_timeout: self.idle_timeout,
        }))
    }
}

struct Service {
    client: Client<HttpsConnector<TcpConnector>, HttpRequestBody>,
    idle_timeout: Duration,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("idle_timeout", &self.idle_timeout)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("no data from the bucket for {0:?}")]
struct Idle(Duration);

#[async_trait]
impl HttpService for Service {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let response = tokio::time::timeout(self.idle_timeout, self.client.request(request))
            .await
            .map_err(|_| HttpError::new(HttpErrorKind::Timeout, Idle(self.idle_timeout)))?
            .map_err(|e| {
                // object_store retries connect errors and (for idempotent
                // requests) interrupted ones.
                let kind = if e.is_connect() {
                    HttpErrorKind::Connect
                } else {
                    HttpErrorKind::Request
                };
                HttpError::new(kind, e)
            })?;
        let (parts, body) = response.into_parts();
        let body = IdleBody {
            body,
            idle: self.idle_timeout,
            timer: Box::pin(sleep(self.idle_timeout)),
        };
        Ok(HttpResponse::from_parts(parts, HttpResponseBody::new(body)))
    }
}

/// A response body that fails when the bucket sends nothing for `idle`.
struct IdleBody {
    body: Incoming,
    idle: Duration,
    timer: Pin<Box<Sleep>>,
}

impl Body for IdleBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, HttpError>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + this.idle;
                this.timer.as_mut().reset(deadline);
                Poll::Ready(
                    frame.map(|frame| {
                        frame.map_err(|e| HttpError::new(HttpErrorKind::Interrupted, e))
                    }),
                )
            }
            Poll::Pending => match this.timer.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(HttpError::new(
                    HttpErrorKind::Timeout,
                    Idle(this.idle),
                )))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
