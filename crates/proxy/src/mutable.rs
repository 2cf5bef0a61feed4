//! Files that may change at the source: `list`, `@latest` and `.info` of a
//! query (a branch, a commit, `v1.2`). Served from the store while fresh
//! (`list_ttl`), refetched after that, and served stale when the refetch
//! fails, so an upstream outage does not break builds.

use std::future::Future;
use std::time::SystemTime;

use bytes::Bytes;

use modvault_core::escape::escape_version;
use modvault_rules::Route;
use modvault_store::{layout, PutMode};

use crate::immutable::checked_info;
use crate::{Answer, Body, FetchPolicy, Freshness, Module, ModuleProxy, ProxyError, ProxyResult};

impl ModuleProxy {
    pub(crate) async fn list(
        &self,
        module: &Module,
        route: &Route,
        policy: FetchPolicy,
    ) -> ProxyResult<Answer> {
        let key = layout::list(&module.escaped);
        let (this, m, route) = (self.clone(), module.clone(), *route);
        self.mutable_file("list", key, policy, async move {
            let fetched = match this.inner.sources.for_route(&m.path, &route) {
                Ok(source) => source.list(&m.path).await.map_err(ProxyError::from),
                Err(e) => Err(e),
            };
            let upstream = match fetched {
                Ok(upstream) => upstream,
                // Published here and unknown at the source (or a module
                // with no source): what is stored is the whole list.
                Err(e) if is_not_found(&e) => {
                    if this.local_versions(&m).await.is_empty() {
                        return Err(e);
                    }
                    String::new()
                }
                Err(e) => return Err(e),
            };
            Ok(Bytes::from(
                this.merge_local_versions(&m, only_versions(&upstream))
                    .await,
            ))
        })
        .await
    }

    pub(crate) async fn latest(
        &self,
        module: &Module,
        route: &Route,
        policy: FetchPolicy,
    ) -> ProxyResult<Answer> {
        let key = layout::latest(&module.escaped);
        let (this, m, route) = (self.clone(), module.clone(), *route);
        self.mutable_file("latest", key, policy, async move {
            let fetched = match this.inner.sources.for_route(&m.path, &route) {
                Ok(source) => source.latest(&m.path).await.map_err(ProxyError::from),
                Err(e) => Err(e),
            };
            match fetched {
                Ok(info) => {
                    let info = checked_info(&m, info, None)?;
                    this.remember_canonical_info(&m, &info).await;
                    Ok(info.raw)
                }
                Err(e) if is_not_found(&e) => this.latest_stored(&m).await.ok_or(e),
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// `.info` for something that is not a canonical version of this module:
    /// a branch, a commit, `v1.2`, or `v2.0.0` for a path without `/v2`.
    pub(crate) async fn query_info(
        &self,
        module: &Module,
        route: &Route,
        query: &str,
        policy: FetchPolicy,
    ) -> ProxyResult<Answer> {
        let escaped_query = escape_version(query)
            .map_err(|e| ProxyError::NotFound(format!("{}@{query}: {e}", module.path)))?;
        let key = layout::info(&module.escaped, &escaped_query);
        let source = self.inner.sources.for_route(&module.path, route)?.clone();
        let (this, m, query) = (self.clone(), module.clone(), query.to_owned());
        self.mutable_file("query", key, policy, async move {
            let info = source.info(&m.path, &query).await?;
            let info = checked_info(&m, info, None)?;
            this.remember_canonical_info(&m, &info).await;
            Ok(info.raw)
        })
        .await
    }

    /// A file that may change upstream: served from the store while fresh,
    /// refetched after that, served stale if the refetch fails.
    /// `kind` labels the cache metrics: `list`, `latest` or `query`.
    async fn mutable_file(
        &self,
        kind: &'static str,
        key: String,
        policy: FetchPolicy,
        fetch: impl Future<Output = ProxyResult<Bytes>> + Send + 'static,
    ) -> ProxyResult<Answer> {
        let ttl = self.inner.settings.list_ttl;
        let fresh = Freshness::For(ttl);
        let stored = self.inner.store.head(&key).await?;
        if let Some(meta) = &stored {
            let age = SystemTime::now()
                .duration_since(meta.modified)
                .unwrap_or_default();
            let refresh = policy == FetchPolicy::Refresh;
            if (age < ttl && !refresh) || policy == FetchPolicy::CachedOnly {
                self.inner.metrics.cache(kind, true);
                return Ok(Answer {
                    body: Body::Stored {
                        key,
                        meta: meta.clone(),
                    },
                    freshness: fresh,
                });
            }
        }
        self.inner.metrics.cache(kind, false);
        if policy == FetchPolicy::CachedOnly {
            return Err(ProxyError::NotFound(format!(
                "{key}: not cached and fetching is disabled for this request"
            )));
        }
        // A refresh asks again whatever failed a moment ago.
        let remembered = match policy {
            FetchPolicy::Refresh => None,
            _ => self.inner.failures.get(&key).await,
        };
        if let Some(e) = remembered {
            // Asked and failed a moment ago: the stale copy, or the answer.
            return match stored {
                Some(meta) => Ok(Answer {
                    body: Body::Stored { key, meta },
                    freshness: fresh,
                }),
                None => Err(e),
            };
        }
        let this = self.clone();
        let flight_key = key.clone();
        let fetched = self
            .inner
            .metadata_flights
            .run(flight_key.clone(), async move {
                let bytes = match this.inner.fetch_permits.enter().await {
                    Ok(_permit) => fetch.await,
                    Err(e) => Err(e),
                };
                match &bytes {
                    Ok(bytes) => {
                        this.store_best_effort(&flight_key, bytes.clone(), PutMode::Overwrite)
                            .await
                    }
                    Err(e) => this.inner.failures.insert(&flight_key, e).await,
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
}

/// The lines of a `list` answer the go command would read: those whose
/// first field is a valid semantic version (it ignores the rest); anything
/// else a source sends is dropped rather than stored and served.
fn only_versions(list: &str) -> String {
    list.lines()
        .filter(|line| {
            line.split_whitespace()
                .next()
                .is_some_and(modvault_core::semver::is_valid)
        })
        .flat_map(|line| [line, "\n"])
        .collect()
}

/// "Not here" from a source or from the rules: a `,` chain may go on, and
/// the answer is remembered for `not_found_ttl`.
fn is_not_found(e: &ProxyError) -> bool {
    match e {
        ProxyError::NotFound(_) => true,
        ProxyError::Fetch(fetch) => fetch.is_not_found(),
        _ => false,
    }
}
