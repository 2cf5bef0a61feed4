//! Active refresh: a module's `list` and `@latest` asked again now, not
//! after `list_ttl` (an admin's request, a repository's webhook).

use modvault_rules::Route;

use crate::{FetchPolicy, Module, ModuleProxy, ProxyResult, Sources};

impl ModuleProxy {
    /// Makes the module's source forget how fresh its refs are (a git
    /// mirror lists the remote's again) and fetches `list` and `@latest`
    /// again, replacing the stored copies. Fails if `list` cannot be
    /// fetched; a module without a latest version is no failure.
    pub async fn refresh(&self, module: &Module, route: &Route) -> ProxyResult<()> {
        // A published module has no source: its list is rebuilt from what
        // is stored, as `list` does for it anyway.
        if let Ok(source) = self.inner.sources.for_route(&module.path, route) {
            source.expire(&module.path).await;
        }
        self.list(module, route, FetchPolicy::Refresh).await?;
        if let Err(e) = self.latest(module, route, FetchPolicy::Refresh).await {
            tracing::info!(module = %module.path, error = %e, "no @latest after a refresh");
        }
        Ok(())
    }

    /// Where misses are fetched.
    pub fn sources(&self) -> &Sources {
        &self.inner.sources
    }
}
