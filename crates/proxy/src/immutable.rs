//! Files that never change once stored: `.info` of a canonical version,
//! `.mod` and `.zip`. Served from the store; a miss fetches the version's
//! `.info` and `.mod` (one request each, however many clients ask) and its
//! zip (spooled, verified, committed), so that after its first request a
//! version is complete in the store.

use std::time::SystemTime;

use bytes::Bytes;
use futures::future::FutureExt;
use futures::StreamExt;

use modvault_checksum::HashKind;
use modvault_core::dirhash::hash_go_mod;
use modvault_core::path::{check, is_canonical_version};
use modvault_rules::Route;
use modvault_state::ServedFrom;
use modvault_store::{read_to_bytes, PutBody, PutMode};
use modvault_upstream::RevInfo;

use crate::zipflight::{GoModFuture, Joined, ZipJob};
use crate::{
    Answer, Body, FetchPolicy, Freshness, ModVersion, Module, ModuleProxy, ProxyError, ProxyResult,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VersionFile {
    Info,
    GoMod,
    Zip,
}

impl VersionFile {
    /// As a metric label.
    fn kind(self) -> &'static str {
        match self {
            VersionFile::Info => "info",
            VersionFile::GoMod => "mod",
            VersionFile::Zip => "zip",
        }
    }
}

impl ModuleProxy {
    pub(crate) async fn version_file(
        &self,
        version: &ModVersion,
        route: &Route,
        file: VersionFile,
        policy: FetchPolicy,
    ) -> ProxyResult<Answer> {
        let key = match file {
            VersionFile::Info => version.info_key(),
            VersionFile::GoMod => version.mod_key(),
            VersionFile::Zip => version.zip_key(),
        };
        let stored = self.inner.store.head(&key).await?;
        self.inner.metrics.cache(file.kind(), stored.is_some());
        if let Some(meta) = stored {
            if file == VersionFile::Zip {
                self.note_served(version, ServedFrom::Store).await;
            }
            return Ok(Answer {
                body: Body::Stored { key, meta },
                freshness: Freshness::Immutable,
            });
        }
        if policy == FetchPolicy::CachedOnly {
            return Err(ProxyError::NotFound(format!(
                "{version}: not cached and fetching is disabled for this request"
            )));
        }
        match file {
            VersionFile::Zip => {
                if let Some(e) = self.inner.failures.get(&key).await {
                    return Err(e);
                }
                let served = self.fetch_zip(version, route).await;
                match &served {
                    Ok(_) => self.note_served(version, ServedFrom::Fetch).await,
                    Err(e) => self.inner.failures.insert(&key, e).await,
                }
                served
            }
            VersionFile::Info | VersionFile::GoMod => {
                let (info, go_mod) = self.ensure_metadata(version, route).await?;
                self.start_zip_prefetch(version, route, go_mod.clone());
                let bytes = if file == VersionFile::Info {
                    info
                } else {
                    go_mod
                };
                Ok(self.stored_or_bytes(key, bytes, Freshness::Immutable).await)
            }
        }
    }

    /// A zip miss: joins (or starts) the version's zip fetch.
    async fn fetch_zip(&self, version: &ModVersion, route: &Route) -> ProxyResult<Answer> {
        // .info and .mod follow in the background; our own log needs the
        // go.mod once the zip is stored.
        let go_mod = self.spawn_metadata(version, route);
        let job = self.zip_job(version, route, go_mod)?;
        if !self.inner.integrity.verifies(route) {
            // Nothing to verify: the zip streams as it arrives.
            if let Joined::Streaming(stream) = self.inner.zip_flights.join(job).await? {
                return Ok(Answer {
                    body: Body::Streaming(stream),
                    freshness: Freshness::Immutable,
                });
            }
        } else {
            // A checksum mismatch must be a status code (403), so the
            // answer waits until the zip is verified and committed.
            self.inner.zip_flights.wait_committed(job).await?;
        }
        let key = version.zip_key();
        let meta = self
            .inner
            .store
            .head(&key)
            .await?
            .ok_or_else(|| ProxyError::Corrupt(format!("{key}: missing after commit")))?;
        Ok(Answer {
            body: Body::Stored { key, meta },
            freshness: Freshness::Immutable,
        })
    }

    /// Fetches and stores `.info` and `.mod` of a canonical version (one
    /// upstream request each, however many clients ask at once).
    pub(crate) async fn ensure_metadata(
        &self,
        version: &ModVersion,
        route: &Route,
    ) -> ProxyResult<(Bytes, Bytes)> {
        let info_key = version.info_key();
        if let Some(e) = self.inner.failures.get(&info_key).await {
            return Err(e);
        }
        let source = self.inner.sources.for_route(version.path(), route)?.clone();
        let (this, v) = (self.clone(), version.clone());
        let info = self
            .inner
            .metadata_flights
            .run(info_key.clone(), async move {
                let _permit = this.inner.fetch_permits.enter().await?;
                let fetched = source
                    .info(v.path(), &v.version)
                    .await
                    .map_err(ProxyError::from);
                let checked =
                    fetched.and_then(|info| checked_info(&v.module, info, Some(&v.version)));
                match checked {
                    Ok(info) => {
                        this.store_best_effort(&info_key, info.raw.clone(), PutMode::CreateOnly)
                            .await;
                        Ok(info.raw)
                    }
                    Err(e) => {
                        this.inner.failures.insert(&info_key, &e).await;
                        Err(e)
                    }
                }
            })
            .await?;
        let mod_key = version.mod_key();
        let go_mod = match self.stored_bytes(&mod_key).await {
            Some(bytes) => bytes,
            None => {
                let source = self.inner.sources.for_route(version.path(), route)?.clone();
                let (this, v, route) = (self.clone(), version.clone(), *route);
                self.inner
                    .metadata_flights
                    .run(mod_key.clone(), async move {
                        let _permit = this.inner.fetch_permits.enter().await?;
                        let go_mod = source.go_mod(v.path(), &v.version).await?;
                        let hash = hash_go_mod(&go_mod);
                        this.inner
                            .integrity
                            .check(&route, &v, HashKind::GoMod, &hash, &this.inner.metrics)
                            .await?;
                        this.store_best_effort(&mod_key, go_mod.clone(), PutMode::CreateOnly)
                            .await;
                        Ok(go_mod)
                    })
                    .await?
            }
        };
        Ok((info, go_mod))
    }

    /// Fetches `.info` and `.mod` on their own task (a zip miss should not
    /// wait for them); the go.mod is what our own log needs after the zip.
    fn spawn_metadata(&self, version: &ModVersion, route: &Route) -> GoModFuture {
        let (this, v, route) = (self.clone(), version.clone(), *route);
        let task = tokio::spawn(tracing::Instrument::in_current_span(async move {
            let fetched = this
                .ensure_metadata(&v, &route)
                .await
                .map(|(_, go_mod)| go_mod);
            if let Err(e) = &fetched {
                tracing::debug!(module = %v.path(), version = %v.version, error = %e, "background metadata fetch failed");
            }
            fetched
        }));
        async move {
            task.await.unwrap_or_else(|e| {
                Err(ProxyError::spool("metadata task", std::io::Error::other(e)))
            })
        }
        .boxed()
        .shared()
    }

    pub(crate) fn zip_job(
        &self,
        version: &ModVersion,
        route: &Route,
        go_mod: GoModFuture,
    ) -> ProxyResult<ZipJob> {
        Ok(ZipJob {
            version: version.clone(),
            route: *route,
            source: self.inner.sources.for_route(version.path(), route)?.clone(),
            store: self.inner.store.clone(),
            integrity: self.inner.integrity.clone(),
            leases: self.inner.state.leases.clone(),
            catalog: self.inner.state.catalog.clone(),
            go_mod,
            metrics: self.inner.metrics.clone(),
        })
    }

    /// Starts fetching a zip nobody is waiting for yet, so that a version is
    /// complete in the store after its first request.
    fn start_zip_prefetch(&self, version: &ModVersion, route: &Route, go_mod: Bytes) {
        let Ok(job) = self.zip_job(
            version,
            route,
            futures::future::ready(Ok(go_mod)).boxed().shared(),
        ) else {
            return;
        };
        let this = self.clone();
        tokio::spawn(tracing::Instrument::in_current_span(async move {
            let key = job.version.zip_key();
            if this.inner.store.head(&key).await.ok().flatten().is_some() {
                return;
            }
            match this.inner.zip_flights.join(job).await {
                // Draining our own reader waits for the outcome without
                // holding any bytes.
                Ok(Joined::Streaming(mut stream)) => {
                    while let Some(chunk) = stream.next().await {
                        if let Err(e) = chunk {
                            tracing::warn!(%key, error = %e, "zip prefetch failed");
                            break;
                        }
                    }
                }
                Ok(Joined::Stored) => {}
                Err(e) => tracing::debug!(%key, error = %e, "zip prefetch failed"),
            }
        }));
    }

    /// Also files an `@latest` or query answer under its canonical version,
    /// which never changes.
    pub(crate) async fn remember_canonical_info(&self, module: &Module, info: &RevInfo) {
        if let Ok(version) = ModVersion::new(module, &info.version) {
            self.store_best_effort(&version.info_key(), info.raw.clone(), PutMode::CreateOnly)
                .await;
        }
    }

    /// Eviction takes the least recently served first; the UI counts
    /// downloads and the hit ratio.
    async fn note_served(&self, version: &ModVersion, from: ServedFrom) {
        let catalog = &self.inner.state.catalog;
        if let Err(e) = catalog
            .served(version.path(), &version.version, SystemTime::now(), from)
            .await
        {
            tracing::warn!(%version, error = %modvault_error::chain(&e), "could not note the download in the catalog");
        }
    }

    /// Storage failures must not fail the request that fetched the data:
    /// the client still gets its answer, and the next request tries again.
    pub(crate) async fn store_best_effort(&self, key: &str, bytes: Bytes, mode: PutMode) {
        if let Err(e) = self.inner.store.put(key, PutBody::Bytes(bytes), mode).await {
            tracing::error!(%key, error = %e, "could not store fetched file");
        }
    }

    pub(crate) async fn stored_bytes(&self, key: &str) -> Option<Bytes> {
        read_to_bytes(self.inner.store.as_ref(), key)
            .await
            .ok()
            .flatten()
            .map(|(_, bytes)| bytes)
    }

    pub(crate) async fn stored_or_bytes(
        &self,
        key: String,
        bytes: Bytes,
        freshness: Freshness,
    ) -> Answer {
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

/// Checks an info answer as the go command would before trusting it: the
/// version must be canonical and valid for the module, and a canonical
/// request must be echoed exactly.
pub(crate) fn checked_info(
    module: &Module,
    info: RevInfo,
    requested: Option<&str>,
) -> ProxyResult<RevInfo> {
    if !is_canonical_version(&info.version) || check(&module.path, &info.version).is_err() {
        return Err(ProxyError::BadUpstream(format!(
            "{}: upstream returned invalid version {:?}",
            module.path, info.version
        )));
    }
    if let Some(requested) = requested {
        if info.version != requested {
            return Err(ProxyError::BadUpstream(format!(
                "{}: upstream returned info for version {} instead of requested version {requested}",
                module.path, info.version
            )));
        }
    }
    Ok(info)
}
