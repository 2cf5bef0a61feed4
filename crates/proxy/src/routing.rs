//! Which source serves a module: the routing rules in front of the sources.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use modvault_rules::{RuleSet, Source};
use modvault_upstream::{FetchError, FetchResult, Fetcher, RevInfo, ZipBody};

/// A [`Fetcher`] that sends each module to the source its rule names: the
/// upstream chain, version control directly (never an upstream proxy), or
/// nowhere (published-only and denied modules).
pub struct RoutedFetcher {
    rules: Arc<RuleSet>,
    upstream: Arc<dyn Fetcher>,
    direct: Arc<dyn Fetcher>,
}

impl RoutedFetcher {
    pub fn new(
        rules: Arc<RuleSet>,
        upstream: Arc<dyn Fetcher>,
        direct: Arc<dyn Fetcher>,
    ) -> RoutedFetcher {
        RoutedFetcher {
            rules,
            upstream,
            direct,
        }
    }

    fn source(&self, module: &str) -> FetchResult<&Arc<dyn Fetcher>> {
        match self.rules.route(module).source {
            Source::Upstream => Ok(&self.upstream),
            Source::Direct => Ok(&self.direct),
            Source::Published => Err(FetchError::NotFound(format!(
                "{module}: only versions published here are served"
            ))),
            Source::Deny => Err(FetchError::NotFound(format!(
                "{module}: denied by a routing rule"
            ))),
        }
    }
}

#[async_trait]
impl Fetcher for RoutedFetcher {
    async fn list(&self, module: &str) -> FetchResult<String> {
        self.source(module)?.list(module).await
    }
    async fn latest(&self, module: &str) -> FetchResult<RevInfo> {
        self.source(module)?.latest(module).await
    }
    async fn info(&self, module: &str, query: &str) -> FetchResult<RevInfo> {
        self.source(module)?.info(module, query).await
    }
    async fn go_mod(&self, module: &str, version: &str) -> FetchResult<Bytes> {
        self.source(module)?.go_mod(module, version).await
    }
    async fn zip(&self, module: &str, version: &str) -> FetchResult<ZipBody> {
        self.source(module)?.zip(module, version).await
    }
}
