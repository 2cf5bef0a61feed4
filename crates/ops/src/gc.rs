//! Eviction by policy: while the store holds more than `max_size`, the
//! least recently served versions that can be fetched again go, oldest
//! first, none used within `min_idle`.
//!
//! What can be fetched again: a version that came from an upstream proxy
//! (catalog origin `upstream`) while the configured upstream list still
//! names a proxy, or that was built from a public repository (origin
//! `git`) while the list still names `direct`; and only for modules whose
//! route is public. Never: published versions, private modules, versions
//! of unknown origin, versions recorded in modvault's own checksum
//! database. With `upstream = "off"` nothing is evicted.
//!
//! A version being served is not cut short: on the filesystem an open file
//! outlives its unlinking; and every store is protected by `min_idle`, as a
//! download notes the version as served when it starts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::{StreamExt, TryStreamExt};

use modvault_core::escape::{escape_path, escape_version};
use modvault_rules::RuleSet;
use modvault_state::{last_used, Catalog, CatalogEntry, ChecksumLog, Origin, StateError};
use modvault_store::{layout, Store, StoreError};
use modvault_upstream::{ChainEntry, EntrySource};

/// Catalog entries read per page.
const PAGE: usize = 2000;
/// Store deletions at once.
const DELETE_CONCURRENCY: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum GcError {
    #[error("catalog: {0}")]
    State(#[from] StateError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("git mirrors: {0}")]
    Io(#[from] std::io::Error),
}

/// The `[gc]` policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// `None`: nothing is evicted.
    pub max_size: Option<u64>,
    pub min_idle: Duration,
}

/// Which origins the configured upstream list can fetch again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Refetchable {
    /// A proxy (URL or file) is in the list.
    pub upstream: bool,
    /// `direct` is in the list.
    pub git: bool,
}

impl Refetchable {
    /// From the upstream list: entries after `off` are never reached.
    pub fn of(chain: &[ChainEntry]) -> Refetchable {
        let mut out = Refetchable::default();
        for entry in chain {
            match entry.source {
                EntrySource::Url(_) | EntrySource::File(_) => out.upstream = true,
                EntrySource::Direct => out.git = true,
                EntrySource::Off => break,
            }
        }
        out
    }

    /// Whether a version of this origin can be fetched again (the route
    /// must still be public: the caller checks that).
    pub fn covers(self, origin: Origin) -> bool {
        match origin {
            Origin::Upstream => self.upstream,
            Origin::Git => self.git,
            Origin::Published | Origin::Unknown => false,
        }
    }
}

/// Everything eviction reads and changes.
pub struct Gc {
    pub store: Arc<dyn Store>,
    pub catalog: Arc<dyn Catalog>,
    /// modvault's own checksum log, if it runs one: what it recorded stays.
    pub own_log: Option<Arc<dyn ChecksumLog>>,
    pub rules: Arc<RuleSet>,
    pub refetchable: Refetchable,
    pub policy: Policy,
    /// The git mirrors' directory, pruned of mirrors idle for `min_idle`;
    /// `None` while a server may be using them.
    pub mirror_root: Option<PathBuf>,
}

/// One version removed (or, in a dry run, that would be).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evicted {
    pub module: String,
    pub version: String,
    pub size: u64,
    pub reason: String,
}

#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Bytes of zips stored before and after.
    pub stored_before: u64,
    pub stored_after: u64,
    pub evicted: Vec<Evicted>,
    /// Idle upstream and git versions that had to stay, counted by why
    /// (published and unknown-origin versions are never candidates; the
    /// two counts are for callers that pass such entries).
    pub kept_published: u64,
    pub kept_private: u64,
    pub kept_unknown: u64,
    pub kept_own_log: u64,
    pub kept_not_refetchable: u64,
    pub mirrors_pruned: Vec<PathBuf>,
}

impl Gc {
    /// Evicts (or with `dry_run` only lists) what the policy lets go.
    pub async fn run(&self, dry_run: bool) -> Result<Report, GcError> {
        let total = self.catalog.total_size().await?;
        metrics::gauge!("modvault_store_bytes").set(total as f64);
        let mut report = Report {
            stored_before: total,
            stored_after: total,
            ..Report::default()
        };
        let Some(max_size) = self.policy.max_size else {
            return Ok(report);
        };
        if !self.refetchable.upstream && !self.refetchable.git {
            tracing::info!("upstream is off: nothing can be fetched again, nothing is evicted");
            return Ok(report);
        }
        if !dry_run {
            if let Some(root) = &self.mirror_root {
                report.mirrors_pruned = prune_mirrors(root, self.policy.min_idle)?;
            }
        }
        let now = SystemTime::now();
        let idle_before = now.checked_sub(self.policy.min_idle).unwrap_or(now);
        let mut over = total.saturating_sub(max_size);
        let mut after: Option<CatalogEntry> = None;
        while over > 0 {
            let page = self
                .catalog
                .eviction_candidates(idle_before, after.as_ref(), PAGE)
                .await?;
            let Some(last) = page.last().cloned() else {
                break;
            };
            after = Some(last);
            let mut batch = Vec::new();
            for entry in page {
                if over == 0 {
                    break;
                }
                if !self.may_evict(&entry, &mut report).await? {
                    continue;
                }
                over = over.saturating_sub(entry.size);
                let reason = format!(
                    "{} version, last used {} ago; store {} over gc.max_size {}",
                    entry.origin.as_str(),
                    humantime::format_duration(Duration::from_secs(
                        now.duration_since(last_used(&entry))
                            .unwrap_or_default()
                            .as_secs()
                    )),
                    total.saturating_sub(max_size),
                    max_size
                );
                batch.push(Evicted {
                    module: entry.module,
                    version: entry.version,
                    size: entry.size,
                    reason,
                });
            }
            if !dry_run {
                self.remove(&batch).await?;
            }
            report.evicted.extend(batch);
        }
        let freed: u64 = report.evicted.iter().map(|e| e.size).sum();
        report.stored_after = total.saturating_sub(freed);
        if !dry_run {
            metrics::gauge!("modvault_store_bytes").set(report.stored_after as f64);
        }
        Ok(report)
    }

    /// Whether an idle upstream/git entry may go; counts why not.
    async fn may_evict(&self, entry: &CatalogEntry, report: &mut Report) -> Result<bool, GcError> {
        let refetchable = match entry.origin {
            Origin::Upstream => self.refetchable.upstream,
            Origin::Git => self.refetchable.git,
            Origin::Published => {
                report.kept_published += 1;
                return Ok(false);
            }
            Origin::Unknown => {
                report.kept_unknown += 1;
                return Ok(false);
            }
        };
        if !refetchable {
            report.kept_not_refetchable += 1;
            return Ok(false);
        }
        if self.rules.route(&entry.module).is_private() {
            report.kept_private += 1;
            return Ok(false);
        }
        if let Some(log) = &self.own_log {
            if log.find(&entry.module, &entry.version).await?.is_some() {
                report.kept_own_log += 1;
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Store files first, then the catalog entries in one transaction: a
    /// failure in between leaves entries whose files are gone, which the
    /// proxy fetches again on demand; never files nobody accounts for.
    async fn remove(&self, batch: &[Evicted]) -> Result<(), GcError> {
        let keys: Vec<String> = batch
            .iter()
            .filter_map(|e| {
                let path = escape_path(&e.module).ok()?;
                let version = escape_version(&e.version).ok()?;
                Some([
                    layout::zip(&path, &version),
                    layout::zip_hash(&path, &version),
                    layout::go_mod(&path, &version),
                    layout::info(&path, &version),
                ])
            })
            .flatten()
            .collect();
        futures::stream::iter(keys)
            .map(|key| {
                let store = self.store.clone();
                async move { store.delete(&key).await }
            })
            .buffer_unordered(DELETE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        let names: Vec<(String, String)> = batch
            .iter()
            .map(|e| (e.module.clone(), e.version.clone()))
            .collect();
        self.catalog.remove_many(&names).await?;
        let bytes: u64 = batch.iter().map(|e| e.size).sum();
        metrics::counter!("modvault_evicted_versions_total").increment(batch.len() as u64);
        metrics::counter!("modvault_evicted_bytes_total").increment(bytes);
        for e in batch {
            tracing::info!(
                target: "modvault::audit",
                event = "eviction",
                module = %e.module,
                version = %e.version,
                size = e.size,
                reason = %e.reason,
            );
        }
        Ok(())
    }
}

/// Removes mirrors not fetched into for `min_idle` (git updates a
/// mirror's `FETCH_HEAD` on every fetch): the next request that needs one
/// clones it again. Only while no server uses the mirrors.
fn prune_mirrors(root: &Path, min_idle: Duration) -> Result<Vec<PathBuf>, GcError> {
    let entries = match std::fs::read_dir(root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let now = SystemTime::now();
    let mut pruned = Vec::new();
    for entry in entries {
        let dir = entry?.path();
        if !dir.join("objects").is_dir() {
            continue;
        }
        let used = ["FETCH_HEAD", "packed-refs", "HEAD", "."]
            .iter()
            .filter_map(|name| std::fs::metadata(dir.join(name)).ok()?.modified().ok())
            .max();
        let idle = used.is_some_and(|at| now.duration_since(at).unwrap_or_default() >= min_idle);
        if idle {
            std::fs::remove_dir_all(&dir)?;
            tracing::info!(mirror = %dir.display(), "idle git mirror pruned");
            pruned.push(dir);
        }
    }
    Ok(pruned)
}
