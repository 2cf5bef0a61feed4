//! Where a module's misses are fetched: the source its route names.

use std::sync::Arc;

use modvault_rules::{Route, Source};
use modvault_upstream::Fetcher;

use crate::{ProxyError, ProxyResult};

/// The two places modules come from.
#[derive(Clone)]
pub struct Sources {
    /// The configured upstream chain (GOPROXY list syntax).
    pub upstream: Arc<dyn Fetcher>,
    /// Version control, by modvault itself; never an upstream proxy.
    pub direct: Arc<dyn Fetcher>,
}

impl Sources {
    /// The source for `module` on `route`: published-only modules have
    /// none (what is stored is all there is), and denied ones are refused.
    pub fn for_route(&self, module: &str, route: &Route) -> ProxyResult<&Arc<dyn Fetcher>> {
        match route.source {
            Source::Upstream => Ok(&self.upstream),
            Source::Direct => Ok(&self.direct),
            Source::Published => Err(ProxyError::NotFound(format!(
                "{module}: only versions published here are served"
            ))),
            Source::Deny => Err(ProxyError::Denied(format!(
                "{module} is denied by this proxy{}",
                route.rule_label()
            ))),
        }
    }

    /// The same source for both, for tests and single-source setups.
    pub fn single(fetcher: Arc<dyn Fetcher>) -> Sources {
        Sources {
            upstream: fetcher.clone(),
            direct: fetcher,
        }
    }
}
