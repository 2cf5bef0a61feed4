//! Upstream fetches timed, counted and traced by source kind (`proxy`,
//! `file`, `direct`: a bounded label, never the module path or the
//! source's address).

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use tracing::Instrument;

use crate::{FetchError, FetchResult, Fetcher, RevInfo, ZipBody};

/// Records one fetch of `source` in the upstream metrics, inside `span`. A
/// not-found is an answer, not an error of the source.
pub(crate) async fn observe<T>(
    source: &'static str,
    span: tracing::Span,
    fetch: impl Future<Output = FetchResult<T>>,
) -> FetchResult<T> {
    let started = Instant::now();
    metrics::counter!("modvault_upstream_fetches_total", "source" => source).increment(1);
    let in_flight = InFlight::start();
    let result = fetch.instrument(span).await;
    drop(in_flight);
    metrics::histogram!("modvault_upstream_fetch_duration_seconds", "source" => source)
        .record(started.elapsed().as_secs_f64());
    if matches!(&result, Err(e) if !matches!(e, FetchError::NotFound(_))) {
        metrics::counter!("modvault_upstream_errors_total", "source" => source).increment(1);
    }
    result
}

/// One upstream fetch under way, until dropped (also when the request that
/// wanted it goes away).
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        metrics::gauge!("modvault_upstream_fetches_in_flight").increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("modvault_upstream_fetches_in_flight").decrement(1.0);
    }
}

/// A [`Fetcher`] whose every call is an observed fetch of `source`: for the
/// sources that make no HTTP requests of their own to count (`file://`
/// trees, version control). The span names the file kind asked for, not
/// the module: a direct module is often a private one.
pub struct Observed {
    inner: Arc<dyn Fetcher>,
    source: &'static str,
}

impl Observed {
    pub fn wrap(inner: Arc<dyn Fetcher>, source: &'static str) -> Arc<dyn Fetcher> {
        Arc::new(Observed { inner, source })
    }

    fn span(&self, file: &'static str) -> tracing::Span {
        tracing::info_span!("upstream", source = self.source, file)
    }
}

#[async_trait]
impl Fetcher for Observed {
    async fn list(&self, module: &str) -> FetchResult<String> {
        observe(self.source, self.span("list"), self.inner.list(module)).await
    }
    async fn latest(&self, module: &str) -> FetchResult<RevInfo> {
        observe(self.source, self.span("latest"), self.inner.latest(module)).await
    }
    async fn info(&self, module: &str, query: &str) -> FetchResult<RevInfo> {
        observe(
            self.source,
            self.span("info"),
            self.inner.info(module, query),
        )
        .await
    }
    async fn go_mod(&self, module: &str, version: &str) -> FetchResult<Bytes> {
        observe(
            self.source,
            self.span("mod"),
            self.inner.go_mod(module, version),
        )
        .await
    }
    async fn zip(&self, module: &str, version: &str) -> FetchResult<ZipBody> {
        observe(
            self.source,
            self.span("zip"),
            self.inner.zip(module, version),
        )
        .await
    }
    async fn expire(&self, module: &str) {
        self.inner.expire(module).await
    }
}
