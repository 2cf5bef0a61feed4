//! The caching module proxy: store first, upstream on a miss.

mod flight;
mod metrics;
mod negative;
mod publish;
mod routing;
mod verify;
mod zipflight;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::sync::Semaphore;

use modvault_checksum::{HashKind, OwnSumdb, SumdbVerifier, VerifyError};
use modvault_core::dirhash::hash_go_mod;
use modvault_core::escape::{escape_path, escape_version, unescape_version};
use modvault_core::path::{check, check_path, is_canonical_version};
use modvault_core::pseudo::is_pseudo_version;
use modvault_core::ModuleVersion;
use modvault_store::{layout, ObjectMeta, PutBody, PutMode, Store, StoreError};
use modvault_upstream::{ByteStream, FetchError, Fetcher, RevInfo};

use flight::Flights;
use negative::NegativeCache;
use zipflight::ZipFlights;

pub use metrics::Metrics;
pub use modvault_rules::{RuleSet, Source};
pub use publish::{PublishError, Published};
pub use routing::RoutedFetcher;
pub use verify::verify_zip_file;

/// What protects the integrity of stored modules: a checksum database that
/// verifies everything fetched (except paths matching `nosumdb`), and
/// modvault's own log that records everything stored.
#[derive(Clone, Default)]
pub struct Integrity {
    pub verifier: Option<Arc<SumdbVerifier>>,
    /// GONOSUMDB-style patterns.
    pub nosumdb: Vec<String>,
    pub own: Option<Arc<OwnSumdb>>,
    /// Routing rules: private paths are never verified against a public
    /// database.
    pub rules: Arc<RuleSet>,
}

impl Integrity {
    /// The database to verify `path` against, unless it is exempt: matched
    /// by `nosumdb`, or private by a routing rule.
    fn verifier_for(&self, path: &str) -> Option<Arc<SumdbVerifier>> {
        let exempt = modvault_core::pattern::match_prefix_patterns(&self.nosumdb.join(","), path)
            || self.rules.is_private(path);
        if exempt {
            None
        } else {
            self.verifier.clone()
        }
    }
}

/// Tunables of the caching layer.
#[derive(Clone, Debug)]
pub struct ProxySettings {
    /// How long `list`, `@latest` and query `.info` answers are fresh.
    pub list_ttl: Duration,
    /// How long a not-found answer from upstream is remembered.
    pub not_found_ttl: Duration,
    /// Local directory for zips on their way into the store.
    pub spool_dir: PathBuf,
    /// Upper bound on concurrent upstream fetches.
    pub max_concurrent_fetches: usize,
}

/// Which file of the protocol a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileRequest {
    List,
    Latest,
    /// `.info` for a version or any query string the origin understands.
    Info(String),
    GoMod(String),
    Zip(String),
}

/// Whether a miss may go upstream (`Disable-Module-Fetch`, `/cached-only/`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FetchPolicy {
    FetchOnMiss,
    CachedOnly,
}

/// How long a client may reuse an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Freshness {
    /// Never changes (`.mod`, `.zip`, `.info` of a canonical version).
    Immutable,
    /// May change; fresh for this long.
    For(Duration),
}

pub enum Body {
    /// In the store: the caller reads it, with ranges if it likes.
    Stored { key: String, meta: ObjectMeta },
    /// Fetched but not stored (for instance the disk is full): still served.
    Bytes(Bytes),
    /// A zip still arriving from upstream; ends in an error if it fails
    /// verification, so no client mistakes a bad zip for a good one.
    Streaming(ByteStream),
}

pub struct Answer {
    pub body: Body,
    pub freshness: Freshness,
}

/// Errors as the protocol needs to tell them apart; `modvault-server` maps
/// each kind to one status code.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProxyError {
    /// Not a module, not a valid version, or not available anywhere: 404,
    /// so that the client's `,` chain falls through.
    #[error("{0}")]
    NotFound(String),
    /// Every upstream failed (or lied) and nothing is cached.
    #[error("{0}")]
    Upstream(String),
    /// The store failed.
    #[error("{0}")]
    Storage(String),
    /// The store could not be reached, after its retries: try again later.
    #[error("{0}")]
    StorageUnavailable(String),
    #[error("range not satisfiable")]
    RangeNotSatisfiable { size: u64 },
    /// The data does not match the checksum database: never stored, and
    /// never a not-found (the message starts with "SECURITY ERROR").
    #[error("{0}")]
    Security(String),
}

impl From<VerifyError> for ProxyError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Security(_) => ProxyError::Security(e.to_string()),
            // Fail closed: nothing unverified is stored or served.
            VerifyError::Unavailable { .. } => ProxyError::Upstream(e.to_string()),
        }
    }
}

impl From<StoreError> for ProxyError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::RangeNotSatisfiable { size } => ProxyError::RangeNotSatisfiable { size },
            e @ StoreError::Unavailable { .. } => ProxyError::StorageUnavailable(e.to_string()),
            other => ProxyError::Storage(other.to_string()),
        }
    }
}

impl From<FetchError> for ProxyError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::NotFound(reason) => ProxyError::NotFound(reason),
            FetchError::Upstream(reason) => ProxyError::Upstream(reason),
        }
    }
}

pub type ProxyResult<T> = Result<T, ProxyError>;

/// A module path, validated, with its escaped form.
#[derive(Clone, Debug)]
pub struct Module {
    pub path: String,
    pub escaped: String,
}

impl Module {
    /// Validates an unescaped module path.
    pub fn new(path: &str) -> ProxyResult<Module> {
        check_path(path).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        let escaped = escape_path(path).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        Ok(Module {
            path: path.to_owned(),
            escaped,
        })
    }
}

#[derive(Clone)]
pub struct ModuleProxy {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    fetcher: Arc<dyn Fetcher>,
    settings: ProxySettings,
    not_found: NegativeCache,
    metadata_flights: Flights<ProxyResult<Bytes>>,
    zip_flights: ZipFlights,
    fetch_permits: Arc<Semaphore>,
    integrity: Integrity,
    metrics: Arc<Metrics>,
}

impl ModuleProxy {
    pub fn new(
        store: Arc<dyn Store>,
        fetcher: Arc<dyn Fetcher>,
        settings: ProxySettings,
        integrity: Integrity,
    ) -> std::io::Result<ModuleProxy> {
        zipflight::prepare_spool_dir(&settings.spool_dir)?;
        let fetch_permits = Arc::new(Semaphore::new(settings.max_concurrent_fetches.max(1)));
        Ok(ModuleProxy {
            inner: Arc::new(Inner {
                not_found: NegativeCache::new(settings.not_found_ttl),
                zip_flights: ZipFlights::new(settings.spool_dir.clone(), fetch_permits.clone()),
                store,
                fetcher,
                settings,
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

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    pub fn own_sumdb(&self) -> Option<&Arc<OwnSumdb>> {
        self.inner.integrity.own.as_ref()
    }

    /// Makes sure `module@version` is stored and recorded in modvault's own
    /// checksum database, fetching it through the normal path if needed
    /// (as sum.golang.org fetches a version on its first lookup).
    pub async fn ensure_recorded(&self, module: &Module, version: &str) -> ProxyResult<()> {
        let Some(own) = self.inner.integrity.own.clone() else {
            return Ok(());
        };
        if own.contains(&module.path, version) {
            return Ok(());
        }
        let zip = self
            .serve(
                module,
                &FileRequest::Zip(version.to_owned()),
                FetchPolicy::FetchOnMiss,
            )
            .await?;
        if let Body::Streaming(mut stream) = zip.body {
            use futures::StreamExt;
            while let Some(chunk) = stream.next().await {
                chunk.map_err(|e| ProxyError::Upstream(e.to_string()))?;
            }
        }
        if own.contains(&module.path, version) {
            return Ok(());
        }
        let target = ModuleVersion {
            path: module.path.clone(),
            version: version.to_owned(),
        };
        let zip_hash = self.stored_zip_hash(module, &target).await?;
        self.record_version(module, &target, &zip_hash).await
    }

    /// The `h1:` of a stored zip: from its `.ziphash`, else recomputed.
    async fn stored_zip_hash(
        &self,
        module: &Module,
        target: &ModuleVersion,
    ) -> ProxyResult<String> {
        let escaped_version =
            escape_version(&target.version).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        if let Some(hash) = self
            .stored_bytes(&layout::zip_hash(&module.escaped, &escaped_version))
            .await
        {
            return Ok(String::from_utf8_lossy(&hash).trim().to_owned());
        }
        let key = layout::zip(&module.escaped, &escaped_version);
        let object = self
            .inner
            .store
            .get(&key, None)
            .await?
            .ok_or_else(|| ProxyError::NotFound(format!("{key}: not stored")))?;
        let spool = self
            .inner
            .settings
            .spool_dir
            .join(format!("rehash-{}", std::process::id()));
        let mut file = tokio::fs::File::create(&spool)
            .await
            .map_err(|e| ProxyError::Storage(e.to_string()))?;
        let mut body = tokio_util::io::StreamReader::new(object.body);
        tokio::io::copy(&mut body, &mut file)
            .await
            .map_err(|e| ProxyError::Storage(e.to_string()))?;
        let (path, t) = (spool.clone(), target.clone());
        let hash = tokio::task::spawn_blocking(move || verify_zip_file(&path, &t)).await;
        let _ = std::fs::remove_file(&spool);
        hash.map_err(|e| ProxyError::Storage(e.to_string()))?
            .map_err(ProxyError::Storage)
    }

    /// Appends a stored version to modvault's own checksum database.
    async fn record_version(
        &self,
        module: &Module,
        target: &ModuleVersion,
        zip_hash: &str,
    ) -> ProxyResult<()> {
        let Some(own) = self.inner.integrity.own.clone() else {
            return Ok(());
        };
        let (_, go_mod) = self.ensure_metadata(module, target).await?;
        own.append(
            &target.path,
            &target.version,
            zip_hash,
            &hash_go_mod(&go_mod),
        )
        .await
        .map_err(ProxyError::Storage)?;
        Ok(())
    }

    /// Checks a fetched hash against the checksum database, unless the path
    /// is exempt; counts and logs every security error.
    async fn check_hash(
        &self,
        path: &str,
        version: &str,
        kind: HashKind,
        hash: &str,
    ) -> ProxyResult<()> {
        let Some(verifier) = self.inner.integrity.verifier_for(path) else {
            return Ok(());
        };
        verifier.verify(path, version, kind, hash).await.map_err(|e| {
            if matches!(e, VerifyError::Security(_)) {
                self.inner.metrics.security_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::error!(module = %path, %version, error = %e, "checksum database verification failed");
            }
            ProxyError::from(e)
        })
    }

    /// Answers one protocol request.
    pub async fn serve(
        &self,
        module: &Module,
        request: &FileRequest,
        policy: FetchPolicy,
    ) -> ProxyResult<Answer> {
        match request {
            FileRequest::List => self.list(module, policy).await,
            FileRequest::Latest => self.latest(module, policy).await,
            FileRequest::Info(query) => {
                if is_canonical_version(query) && check(&module.path, query).is_ok() {
                    self.version_file(module, query, VersionFile::Info, policy)
                        .await
                } else {
                    self.query_info(module, query, policy).await
                }
            }
            FileRequest::GoMod(version) => {
                self.version_file(module, version, VersionFile::GoMod, policy)
                    .await
            }
            FileRequest::Zip(version) => {
                self.version_file(module, version, VersionFile::Zip, policy)
                    .await
            }
        }
    }

    async fn list(&self, module: &Module, policy: FetchPolicy) -> ProxyResult<Answer> {
        let key = layout::list(&module.escaped);
        let this = self.clone();
        let m = module.clone();
        self.mutable_file(key, policy, move || async move {
            let upstream = match this.inner.fetcher.list(&m.path).await {
                Ok(upstream) => upstream,
                // Published here and unknown upstream: what is stored is
                // the whole list.
                Err(FetchError::NotFound(reason)) => {
                    let local = this.local_versions(&m).await;
                    if local.is_empty() {
                        return Err(ProxyError::NotFound(reason));
                    }
                    String::new()
                }
                Err(e) => return Err(e.into()),
            };
            Ok(Bytes::from(this.merge_local_versions(&m, upstream).await))
        })
        .await
    }

    async fn latest(&self, module: &Module, policy: FetchPolicy) -> ProxyResult<Answer> {
        let key = layout::latest(&module.escaped);
        let this = self.clone();
        let m = module.clone();
        self.mutable_file(key, policy, move || async move {
            match this.inner.fetcher.latest(&m.path).await {
                Ok(info) => {
                    let info = checked_info(&m, info, None)?;
                    this.remember_canonical_info(&m, &info).await;
                    Ok(info.raw)
                }
                Err(FetchError::NotFound(reason)) => this
                    .latest_stored(&m)
                    .await
                    .ok_or(ProxyError::NotFound(reason)),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    /// The `.info` of the highest stored version (a release before a
    /// pre-release), for modules only this modvault has.
    async fn latest_stored(&self, module: &Module) -> Option<Bytes> {
        let versions = self.local_versions(module).await;
        let best = versions
            .iter()
            .rfind(|v| modvault_core::semver::prerelease(v).is_empty())
            .or_else(|| versions.last())?;
        let key = layout::info(&module.escaped, &escape_version(best).ok()?);
        self.stored_bytes(&key).await
    }

    /// `.info` for something that is not a canonical version of this module:
    /// a branch, a commit, `v1.2`, or `v2.0.0` for a path without `/v2`.
    async fn query_info(
        &self,
        module: &Module,
        query: &str,
        policy: FetchPolicy,
    ) -> ProxyResult<Answer> {
        let escaped_query = escape_version(query)
            .map_err(|e| ProxyError::NotFound(format!("{}@{query}: {e}", module.path)))?;
        let key = layout::info(&module.escaped, &escaped_query);
        let this = self.clone();
        let m = module.clone();
        let query = query.to_owned();
        self.mutable_file(key, policy, move || async move {
            let info = this.inner.fetcher.info(&m.path, &query).await?;
            let info = checked_info(&m, info, None)?;
            this.remember_canonical_info(&m, &info).await;
            Ok(info.raw)
        })
        .await
    }

    /// A file that may change upstream: served from the store while fresh,
    /// refetched after that, served stale if the refetch fails.
    async fn mutable_file<F, Fut>(
        &self,
        key: String,
        policy: FetchPolicy,
        fetch: F,
    ) -> ProxyResult<Answer>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = ProxyResult<Bytes>> + Send + 'static,
    {
        let ttl = self.inner.settings.list_ttl;
        let fresh = Freshness::For(ttl);
        let stored = self.inner.store.head(&key).await?;
        if let Some(meta) = &stored {
            let age = SystemTime::now()
                .duration_since(meta.modified)
                .unwrap_or_default();
            if age < ttl || policy == FetchPolicy::CachedOnly {
                return Ok(Answer {
                    body: Body::Stored {
                        key,
                        meta: meta.clone(),
                    },
                    freshness: fresh,
                });
            }
        }
        if policy == FetchPolicy::CachedOnly {
            return Err(ProxyError::NotFound(format!(
                "{key}: not cached and fetching is disabled for this request"
            )));
        }
        if stored.is_none() {
            if let Some(reason) = self.inner.not_found.get(&key) {
                return Err(ProxyError::NotFound(reason));
            }
        }
        let this = self.clone();
        let flight_key = key.clone();
        let fetched = self
            .inner
            .metadata_flights
            .run(flight_key.clone(), async move {
                let _permit = this.inner.fetch_permits.acquire().await;
                let bytes = fetch().await;
                match &bytes {
                    Ok(bytes) => {
                        this.store_best_effort(&flight_key, bytes.clone(), PutMode::Overwrite)
                            .await
                    }
                    Err(ProxyError::NotFound(reason)) => {
                        this.inner.not_found.insert(&flight_key, reason)
                    }
                    Err(_) => {}
                }
                bytes
            })
            .await;
        match (fetched, stored) {
            (Ok(bytes), _) => Ok(self.stored_or_bytes(key, bytes, fresh).await),
            (Err(e), Some(meta)) => {
                tracing::warn!(%key, error = %e, "upstream failed; serving the stale copy");
                Ok(Answer {
                    body: Body::Stored { key, meta },
                    freshness: fresh,
                })
            }
            (Err(e), None) => Err(e),
        }
    }

    async fn version_file(
        &self,
        module: &Module,
        version: &str,
        file: VersionFile,
        policy: FetchPolicy,
    ) -> ProxyResult<Answer> {
        if !is_canonical_version(version) {
            return Err(ProxyError::NotFound(format!(
                "{}@{version}: version is not canonical",
                module.path
            )));
        }
        check(&module.path, version).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        let escaped_version =
            escape_version(version).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        let key = file.key(&module.escaped, &escaped_version);
        if let Some(meta) = self.inner.store.head(&key).await? {
            return Ok(Answer {
                body: Body::Stored { key, meta },
                freshness: Freshness::Immutable,
            });
        }
        if policy == FetchPolicy::CachedOnly {
            return Err(ProxyError::NotFound(format!(
                "{}@{version}: not cached and fetching is disabled for this request",
                module.path
            )));
        }
        let target = ModuleVersion {
            path: module.path.clone(),
            version: version.to_owned(),
        };
        match file {
            VersionFile::Zip => {
                // .info and .mod follow in the background.
                self.spawn_ensure_metadata(module.clone(), target.clone());
                let job = self.zip_job(module, &target);
                if self.inner.integrity.verifier_for(&module.path).is_none() {
                    // Nothing to verify: the zip streams as it arrives.
                    let stream = self.inner.zip_flights.join(job).await?;
                    return Ok(Answer {
                        body: Body::Streaming(stream),
                        freshness: Freshness::Immutable,
                    });
                }
                // A checksum mismatch must be a status code (403), so the
                // answer waits until the zip is verified and committed.
                self.inner.zip_flights.wait_committed(job).await?;
                let meta =
                    self.inner.store.head(&key).await?.ok_or_else(|| {
                        ProxyError::Storage(format!("{key}: missing after commit"))
                    })?;
                Ok(Answer {
                    body: Body::Stored { key, meta },
                    freshness: Freshness::Immutable,
                })
            }
            VersionFile::Info | VersionFile::GoMod => {
                let (info, go_mod) = self.ensure_metadata(module, &target).await?;
                self.start_zip_prefetch(module, &target);
                let bytes = if file == VersionFile::Info {
                    info
                } else {
                    go_mod
                };
                Ok(self.stored_or_bytes(key, bytes, Freshness::Immutable).await)
            }
        }
    }

    /// Fetches and stores `.info` and `.mod` of a canonical version (one
    /// upstream request each, however many clients ask at once).
    async fn ensure_metadata(
        &self,
        module: &Module,
        target: &ModuleVersion,
    ) -> ProxyResult<(Bytes, Bytes)> {
        let escaped_version =
            escape_version(&target.version).map_err(|e| ProxyError::NotFound(e.to_string()))?;
        let info_key = layout::info(&module.escaped, &escaped_version);
        let mod_key = layout::go_mod(&module.escaped, &escaped_version);
        if let Some(reason) = self.inner.not_found.get(&info_key) {
            return Err(ProxyError::NotFound(reason));
        }
        let this = self.clone();
        let (m, t, ik) = (module.clone(), target.clone(), info_key.clone());
        let info = self
            .inner
            .metadata_flights
            .run(info_key.clone(), async move {
                let _permit = this.inner.fetch_permits.acquire().await;
                let fetched = this
                    .inner
                    .fetcher
                    .info(&m.path, &t.version)
                    .await
                    .map_err(ProxyError::from);
                let result = fetched.and_then(|info| checked_info(&m, info, Some(&t.version)));
                match result {
                    Ok(info) => {
                        this.store_best_effort(&ik, info.raw.clone(), PutMode::CreateOnly)
                            .await;
                        Ok(info.raw)
                    }
                    Err(e) => {
                        if let ProxyError::NotFound(reason) = &e {
                            this.inner.not_found.insert(&ik, reason);
                        }
                        Err(e)
                    }
                }
            })
            .await?;
        let go_mod = match self.stored_bytes(&mod_key).await {
            Some(bytes) => bytes,
            None => {
                let this = self.clone();
                let (m, t, mk) = (module.clone(), target.clone(), mod_key.clone());
                self.inner
                    .metadata_flights
                    .run(mod_key.clone(), async move {
                        let _permit = this.inner.fetch_permits.acquire().await;
                        let go_mod = this.inner.fetcher.go_mod(&m.path, &t.version).await?;
                        this.check_hash(
                            &m.path,
                            &t.version,
                            HashKind::GoMod,
                            &hash_go_mod(&go_mod),
                        )
                        .await?;
                        this.store_best_effort(&mk, go_mod.clone(), PutMode::CreateOnly)
                            .await;
                        Ok(go_mod)
                    })
                    .await?
            }
        };
        Ok((info, go_mod))
    }

    fn spawn_ensure_metadata(&self, module: Module, target: ModuleVersion) {
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.ensure_metadata(&module, &target).await {
                tracing::debug!(module = %target.path, version = %target.version, error = %e, "background metadata fetch failed");
            }
        });
    }

    fn zip_job(&self, module: &Module, target: &ModuleVersion) -> zipflight::ZipJob {
        let escaped_version = escape_version(&target.version).unwrap_or_default();
        let this = self.clone();
        let (m, t) = (module.clone(), target.clone());
        zipflight::ZipJob {
            key: layout::zip(&module.escaped, &escaped_version),
            hash_key: layout::zip_hash(&module.escaped, &escaped_version),
            target: target.clone(),
            store: self.inner.store.clone(),
            fetcher: self.inner.fetcher.clone(),
            check: Box::new(move |hash: String| {
                let this = this.clone();
                let (m, t) = (m.clone(), t.clone());
                Box::pin(async move {
                    this.check_hash(&m.path, &t.version, HashKind::Zip, &hash)
                        .await
                })
            }),
            metrics: self.inner.metrics.clone(),
            on_commit: {
                let this = self.clone();
                let (m, t) = (module.clone(), target.clone());
                Box::new(move |hash: String| {
                    Box::pin(async move {
                        if let Err(e) = this.record_version(&m, &t, &hash).await {
                            tracing::error!(module = %t.path, version = %t.version, error = %e, "could not record version in the checksum log");
                        }
                    })
                })
            },
        }
    }

    /// Starts fetching a zip nobody is waiting for yet, so that a version is
    /// complete in the store after its first request.
    fn start_zip_prefetch(&self, module: &Module, target: &ModuleVersion) {
        let this = self.clone();
        let job = self.zip_job(module, target);
        tokio::spawn(async move {
            if this
                .inner
                .store
                .head(&job.key)
                .await
                .ok()
                .flatten()
                .is_some()
            {
                return;
            }
            let key = job.key.clone();
            match this.inner.zip_flights.join(job).await {
                Ok(stream) => {
                    // Draining our own reader waits for the outcome without
                    // holding any bytes.
                    use futures::StreamExt;
                    let mut stream = stream;
                    while let Some(chunk) = stream.next().await {
                        if let Err(e) = chunk {
                            tracing::warn!(%key, error = %e, "zip prefetch failed");
                            break;
                        }
                    }
                }
                Err(e) => tracing::debug!(%key, error = %e, "zip prefetch failed"),
            }
        });
    }

    /// Also files an `@latest` or query answer under its canonical version,
    /// which never changes.
    async fn remember_canonical_info(&self, module: &Module, info: &RevInfo) {
        if let Ok(escaped) = escape_version(&info.version) {
            let key = layout::info(&module.escaped, &escaped);
            self.store_best_effort(&key, info.raw.clone(), PutMode::CreateOnly)
                .await;
        }
    }

    /// The upstream list plus the canonical versions stored here, so that the
    /// data directory stays a complete GOPROXY tree on its own.
    async fn merge_local_versions(&self, module: &Module, upstream: String) -> String {
        let mut merged = upstream;
        if !merged.is_empty() && !merged.ends_with('\n') {
            merged.push('\n');
        }
        let listed: std::collections::HashSet<String> = merged
            .lines()
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect();
        for version in self.local_versions(module).await {
            if !listed.contains(&version) {
                merged.push_str(&version);
                merged.push('\n');
            }
        }
        merged
    }

    /// Canonical, non-pseudo versions with a stored `.mod`, sorted.
    async fn local_versions(&self, module: &Module) -> Vec<String> {
        let prefix = layout::versions_prefix(&module.escaped);
        let Ok(keys) = self.inner.store.list(&prefix).await else {
            return Vec::new();
        };
        let mut local: Vec<String> = keys
            .iter()
            .filter_map(|key| key.strip_prefix(&prefix)?.strip_suffix(".mod"))
            .filter_map(|escaped| unescape_version(escaped).ok())
            .filter(|v| is_canonical_version(v) && !is_pseudo_version(v))
            .collect();
        modvault_core::semver::sort(&mut local);
        local
    }

    /// Rewrites the stored list with every stored version, so a version
    /// published here shows at once rather than after `list_ttl`.
    async fn refresh_list(&self, module: &Module) {
        let key = layout::list(&module.escaped);
        let current = self
            .stored_bytes(&key)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let merged = self.merge_local_versions(module, current).await;
        self.store_best_effort(&key, Bytes::from(merged), PutMode::Overwrite)
            .await;
    }

    /// Storage failures must not fail the request that fetched the data:
    /// the client still gets its answer, and the next request tries again.
    async fn store_best_effort(&self, key: &str, bytes: Bytes, mode: PutMode) {
        if let Err(e) = self.inner.store.put(key, PutBody::Bytes(bytes), mode).await {
            tracing::error!(%key, error = %e, "could not store fetched file");
        }
    }

    async fn stored_bytes(&self, key: &str) -> Option<Bytes> {
        modvault_store::read_to_bytes(self.inner.store.as_ref(), key)
            .await
            .ok()
            .flatten()
            .map(|(_, bytes)| bytes)
    }

    async fn stored_or_bytes(&self, key: String, bytes: Bytes, freshness: Freshness) -> Answer {
        match self.inner.store.head(&key).await {
            Ok(Some(meta)) if meta.size == bytes.len() as u64 => Answer {
                body: Body::Stored { key, meta },
                freshness,
            },
            _ => Answer {
                body: Body::Bytes(bytes),
                freshness,
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VersionFile {
    Info,
    GoMod,
    Zip,
}

impl VersionFile {
    fn key(self, escaped_path: &str, escaped_version: &str) -> String {
        match self {
            VersionFile::Info => layout::info(escaped_path, escaped_version),
            VersionFile::GoMod => layout::go_mod(escaped_path, escaped_version),
            VersionFile::Zip => layout::zip(escaped_path, escaped_version),
        }
    }
}

/// Checks an info answer as the go command would before trusting it: the
/// version must be canonical and valid for the module, and a canonical
/// request must be echoed exactly.
fn checked_info(module: &Module, info: RevInfo, requested: Option<&str>) -> ProxyResult<RevInfo> {
    if !is_canonical_version(&info.version) || check(&module.path, &info.version).is_err() {
        return Err(ProxyError::Upstream(format!(
            "{}: upstream returned invalid version {:?}",
            module.path, info.version
        )));
    }
    if let Some(requested) = requested {
        if info.version != requested {
            return Err(ProxyError::Upstream(format!(
                "{}: upstream returned info for version {} instead of requested version {requested}",
                module.path, info.version
            )));
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests;
