//! Versions this server holds, whatever the source says: published
//! versions live only here, and the data directory must stay a complete
//! GOPROXY tree on its own.

use bytes::Bytes;

use modvault_core::escape::{unescape_path, unescape_version};
use modvault_core::path::is_canonical_version;
use modvault_core::pseudo::is_pseudo_version;
use modvault_state::{CatalogEntry, Origin};
use modvault_store::{layout, PutMode};

use crate::{ModVersion, Module, ModuleProxy, ProxyResult};

impl ModuleProxy {
    /// The `.info` of the highest stored version (a release before a
    /// pre-release), for modules only this modvault has.
    pub(crate) async fn latest_stored(&self, module: &Module) -> Option<Bytes> {
        let versions = self.local_versions(module).await;
        let best = versions
            .iter()
            .rfind(|v| modvault_core::semver::prerelease(v).is_empty())
            .or_else(|| versions.last())?;
        self.stored_bytes(&ModVersion::new(module, best).ok()?.info_key())
            .await
    }

    /// The source's list plus the canonical versions stored here.
    pub(crate) async fn merge_local_versions(&self, module: &Module, upstream: String) -> String {
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
    pub(crate) async fn local_versions(&self, module: &Module) -> Vec<String> {
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
    pub(crate) async fn refresh_list(&self, module: &Module) {
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
}

impl ModuleProxy {
    /// Fills an empty catalog from what the store holds: the first start
    /// after an upgrade, or with a new catalog database. Where those
    /// versions came from is unknown, so they are never evicted.
    pub async fn backfill_catalog(&self) -> ProxyResult<u64> {
        let catalog = &self.inner.state.catalog;
        if catalog.count().await? > 0 {
            return Ok(0);
        }
        let mut added = 0;
        for key in self.inner.store.list("").await? {
            let Some((module, version)) = zip_key_version(&key) else {
                continue;
            };
            let Some(meta) = self.inner.store.head(&key).await? else {
                continue;
            };
            let entry = CatalogEntry {
                module,
                version,
                origin: Origin::Unknown,
                size: meta.size,
                stored_at: meta.modified,
                last_served: None,
            };
            catalog.record(entry).await?;
            added += 1;
        }
        Ok(added)
    }
}

/// The module and version a stored zip's key names, if it is one.
fn zip_key_version(key: &str) -> Option<(String, String)> {
    let (escaped_path, file) = key.split_once("/@v/")?;
    let escaped_version = file.strip_suffix(".zip")?;
    let path = unescape_path(escaped_path).ok()?;
    let version = unescape_version(escaped_version).ok()?;
    // Checked like a request, so nothing but module zips is listed.
    let module = Module::new(&path).ok()?;
    ModVersion::new(&module, &version).ok()?;
    Some((path, version))
}
