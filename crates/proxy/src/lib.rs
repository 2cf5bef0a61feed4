//! The caching module proxy: the store first, the module's source on a
//! miss.
//!
//! A request arrives as a [`Request`]: the module, the file asked for, and
//! the [`Route`] the edge decided once from the rules. From there:
//!
//! | file | where |
//! |---|---|
//! | `.info` of a canonical version, `.mod`, `.zip` (never change) | [`immutable`](crate::immutable): store, else fetch, verify, commit |
//! | `list`, `@latest`, query `.info` (change upstream) | [`mutable`](crate::mutable): fresh copy, else refetch, else stale copy |
//! | versions only this server has | [`local`](crate::local) |
//! | uploads | [`publish`](crate::publish) |
//!
//! beside: [`sources`](crate::sources) (which fetcher a route names),
//! [`integrity`](crate::integrity) (checksum verification and our own log),
//! [`zipflight`](crate::zipflight) and [`flight`](crate::flight) (one fetch
//! per file however many wait), [`negative`](crate::negative) (not-found
//! answers remembered briefly).

mod error;
mod flight;
mod immutable;
mod integrity;
mod local;
mod metrics;
mod mutable;
mod negative;
mod pool;
mod publish;
mod refresh;
mod request;
mod sources;
mod verify;
mod zipflight;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use modvault_checksum::OwnSumdb;
use modvault_core::path::{check, is_canonical_version};
use modvault_state::{Catalog, FailureMemory, FetchLeases};
use modvault_store::Store;

use flight::Flights;
use negative::NegativeCache;
use pool::FetchPool;
use zipflight::ZipFlights;

pub use error::{ProxyError, ProxyResult};
pub use integrity::Integrity;
pub use metrics::Metrics;
pub use modvault_rules::{Route, RuleSet, Source};
pub use publish::{PublishError, Published};
pub use request::{Answer, Body, FetchPolicy, FileRequest, Freshness, ModVersion, Module, Request};
pub use sources::Sources;
pub use verify::verify_zip_file;

/// Tunables of the caching layer.
#[derive(Clone, Debug)]
pub struct ProxySettings {
    /// How long `list`, `@latest` and query `.info` answers are fresh.
    pub list_ttl: Duration,
    /// How long a not-found answer from upstream is remembered.
    pub not_found_ttl: Duration,
    /// How long a failed source (5xx, connection error) is remembered.
    pub failure_ttl: Duration,
    /// Local directory for zips on their way into the store.
    pub spool_dir: PathBuf,
    /// Upper bound on concurrent upstream fetches of `list`, `.info`,
    /// `.mod` and `@latest`.
    pub max_concurrent_fetches: usize,
    /// Upper bound on concurrent zip fetches (a pool of its own: slow zips
    /// must not hold up small fetches).
    pub max_concurrent_zip_fetches: usize,
    /// Longest wait for a fetch slot before the request fails.
    pub fetch_slot_wait: Duration,
    /// A zip arriving slower than this (bytes per second, averaged over
    /// `rate_window`) is abandoned; 0: no minimum.
    pub zip_min_rate: u64,
    pub rate_window: Duration,
}

impl ProxySettings {
    /// The defaults of the server's settings, spooling in `spool_dir`.
    pub fn new(spool_dir: PathBuf) -> ProxySettings {
        ProxySettings {
            list_ttl: Duration::from_secs(60),
            not_found_ttl: Duration::from_secs(60),
            failure_ttl: Duration::from_secs(5),
            spool_dir,
            max_concurrent_fetches: 64,
            max_concurrent_zip_fetches: 32,
            fetch_slot_wait: Duration::from_secs(60),
            zip_min_rate: 1024,
            rate_window: Duration::from_secs(30),
        }
    }
}

/// What the proxy shares with other processes: who fetches what, and the
/// catalog of stored versions (see `modvault_state`).
#[derive(Clone)]
pub struct ProxyState {
    pub leases: Arc<dyn FetchLeases>,
    pub catalog: Arc<dyn Catalog>,
    /// Negative answers shared with other replicas; `None`: this process's
    /// memory only.
    pub failures: Option<Arc<dyn FailureMemory>>,
}

#[derive(Clone)]
pub struct ModuleProxy {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    sources: Sources,
    settings: ProxySettings,
    state: ProxyState,
    failures: NegativeCache,
    metadata_flights: Flights<ProxyResult<Bytes>>,
    zip_flights: ZipFlights,
    fetch_permits: FetchPool,
    integrity: Integrity,
    metrics: Arc<Metrics>,
}

impl ModuleProxy {
    pub fn new(
        store: Arc<dyn Store>,
        sources: Sources,
        settings: ProxySettings,
        integrity: Integrity,
        state: ProxyState,
    ) -> std::io::Result<ModuleProxy> {
        zipflight::prepare_spool_dir(&settings.spool_dir)?;
        let fetch_permits = FetchPool::new(
            settings.max_concurrent_fetches,
            settings.fetch_slot_wait,
            "metadata fetch",
        );
        let zip_permits = FetchPool::new(
            settings.max_concurrent_zip_fetches,
            settings.fetch_slot_wait,
            "zip fetch",
        );
        let rate = zipflight::MinRate {
            bytes_per_second: settings.zip_min_rate,
            window: settings.rate_window,
        };
        Ok(ModuleProxy {
            inner: Arc::new(Inner {
                failures: NegativeCache::new(settings.not_found_ttl, settings.failure_ttl)
                    .with_shared(state.failures.clone()),
                zip_flights: ZipFlights::new(settings.spool_dir.clone(), zip_permits, rate),
                store,
                sources,
                settings,
                state,
                metadata_flights: Flights::new(),
                fetch_permits,
                integrity,
                metrics: Arc::new(Metrics::default()),
            }),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Waits until no zip fetch is in flight (those started in the
    /// background too): a zip is visible in the store a moment before its
    /// flight has catalogued it and recorded it in our log, and a command
    /// that exits must not cut that short.
    pub async fn settled(&self) {
        self.inner.zip_flights.settled().await
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    pub fn own_sumdb(&self) -> Option<&Arc<OwnSumdb>> {
        self.inner.integrity.own.as_ref()
    }

    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.inner.state.catalog
    }

    /// Answers one protocol request.
    pub async fn serve(&self, request: &Request) -> ProxyResult<Answer> {
        let (module, route, policy) = (&request.module, &request.route, request.policy);
        match &request.file {
            FileRequest::List => self.list(module, route, policy).await,
            FileRequest::Latest => self.latest(module, route, policy).await,
            FileRequest::Info(query)
                if is_canonical_version(query) && check(&module.path, query).is_ok() =>
            {
                self.version_file(
                    &ModVersion::new(module, query)?,
                    route,
                    immutable::VersionFile::Info,
                    policy,
                )
                .await
            }
            FileRequest::Info(query) => self.query_info(module, route, query, policy).await,
            FileRequest::GoMod(version) => {
                self.version_file(
                    &ModVersion::new(module, version)?,
                    route,
                    immutable::VersionFile::GoMod,
                    policy,
                )
                .await
            }
            FileRequest::Zip(version) => {
                self.version_file(
                    &ModVersion::new(module, version)?,
                    route,
                    immutable::VersionFile::Zip,
                    policy,
                )
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests;
