//! Shared state behind small traits.
//!
//! Module *files* live in a `modvault_store::Store`. Everything else that
//! several requests (and, with a shared database, several replicas) must
//! agree on is here, behind four traits kept as small as the callers need:
//!
//! | trait | what it holds | who uses it |
//! |---|---|---|
//! | [`Tokens`] | client tokens (hashed) | the HTTP edge, `modvault token` |
//! | [`ChecksumLog`] | the records and tree hashes of modvault's own checksum database | `modvault_checksum::OwnSumdb` |
//! | [`FetchLeases`] | who fetches a version from upstream while others wait | the proxy's zip fetches |
//! | [`Catalog`] | every stored version: module, version, origin, size, when stored and last served, downloads | the proxy, operations, the UI |
//!
//! [`embedded`] implements all four in the data directory (a token file, an
//! append-only log, in-process leases, SQLite); [`SharedState::embedded`]
//! opens them. A second implementation (PostgreSQL, for replicas) goes
//! beside it behind exactly these traits.

pub mod embedded;
pub mod postgres;
mod sql;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use modvault_access::{Principal, Scope, SecretToken, TokenInfo};
use modvault_error::{Cause, ErrorKind, HasKind};
use modvault_sumdb::tlog::Hash;

/// A failure of shared state, with its kind and cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct StateError {
    kind: ErrorKind,
    message: String,
    #[source]
    source: Option<Cause>,
}

impl StateError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> StateError {
        StateError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A storage failure caused by `source`.
    pub fn storage(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> StateError {
        StateError {
            kind: ErrorKind::Storage,
            message: message.into(),
            source: Some(Arc::new(source)),
        }
    }
}

impl HasKind for StateError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl From<modvault_access::AccessError> for StateError {
    fn from(e: modvault_access::AccessError) -> StateError {
        let kind = e.kind();
        StateError {
            kind,
            message: e.to_string(),
            source: Some(Arc::new(e)),
        }
    }
}

pub type StateResult<T> = Result<T, StateError>;

/// Client tokens. Only digests are kept; a token is shown once, by
/// `create`. Changes made by one process (the CLI, another replica) are
/// seen by every server within about a second.
#[async_trait]
pub trait Tokens: Send + Sync {
    async fn create(
        &self,
        name: &str,
        scope: Scope,
        matches: Vec<String>,
    ) -> StateResult<SecretToken>;
    async fn list(&self) -> StateResult<Vec<TokenInfo>>;
    /// `false` when no token has that name.
    async fn revoke(&self, name: &str) -> StateResult<bool>;
    /// The caller a presented token belongs to; `None` for an unknown or
    /// revoked token. Compared in constant time.
    async fn authenticate(&self, token: &str) -> StateResult<Option<Principal>>;
}

/// The storage of modvault's own transparent log: records and the tree's
/// stored hashes (`tlog.StoredHashIndex` order). The signing, tiles and
/// proofs above it are `modvault_checksum::OwnSumdb`'s; the read side is
/// the async form of `modvault_sumdb::tlog::HashReader`.
#[async_trait]
pub trait ChecksumLog: Send + Sync {
    /// Appends the record of `path@version` (its go.sum lines) unless the
    /// log has one, and returns its id. Durable once it returns; one writer
    /// at a time, never two records for one version.
    async fn append(&self, path: &str, version: &str, text: &str) -> StateResult<i64>;
    /// The id of the record of `path@version`.
    async fn find(&self, path: &str, version: &str) -> StateResult<Option<i64>>;
    /// The number of records: the tree size.
    async fn size(&self) -> StateResult<i64>;
    async fn read_hashes(&self, indexes: &[i64]) -> StateResult<Vec<Hash>>;
    /// The texts of records `start..start + count`.
    async fn read_records(&self, start: i64, count: i64) -> StateResult<Vec<Vec<u8>>>;
}

/// Who fetches a version from upstream. The holder of a key's lease fetches
/// and stores; everyone else asking for the key waits in `acquire` until it
/// is released and then usually finds the version stored. Within one
/// process the proxy already joins concurrent requests to one fetch; the
/// lease extends that to every process sharing the store.
#[async_trait]
pub trait FetchLeases: Send + Sync {
    async fn acquire(&self, key: &str) -> StateResult<Lease>;
}

/// The right to fetch one key, released when dropped.
pub struct Lease {
    _held: Box<dyn Send + Sync>,
}

impl Lease {
    pub fn new(held: impl Send + Sync + 'static) -> Lease {
        Lease {
            _held: Box::new(held),
        }
    }
}

/// Where a stored version came from. Eviction relies on it: only what can
/// be fetched again may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An upstream proxy.
    Upstream,
    /// Built from version control by the `direct` source.
    Git,
    /// Uploaded to this server.
    Published,
    /// Stored before the catalog existed; treated as irreplaceable.
    Unknown,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Upstream => "upstream",
            Origin::Git => "git",
            Origin::Published => "published",
            Origin::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Origin {
        match text {
            "upstream" => Origin::Upstream,
            "git" => Origin::Git,
            "published" => Origin::Published,
            _ => Origin::Unknown,
        }
    }
}

/// One stored version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogEntry {
    pub module: String,
    pub version: String,
    pub origin: Origin,
    /// Size of the zip, in bytes.
    pub size: u64,
    pub stored_at: SystemTime,
    pub last_served: Option<SystemTime>,
}

/// How [`CatalogQuery::text`] matches module paths.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Match {
    /// Exactly this module: its versions.
    Module,
    Prefix,
    Substring,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogQuery {
    pub text: String,
    pub matching: Match,
    pub limit: usize,
    pub offset: usize,
}

impl CatalogQuery {
    /// Every stored version of `module`.
    pub fn module(module: &str) -> CatalogQuery {
        CatalogQuery {
            text: module.to_owned(),
            matching: Match::Module,
            limit: usize::MAX,
            offset: 0,
        }
    }
}

/// Every stored version with where it came from. Entries are ordered by
/// module path, then by when they were stored.
#[async_trait]
pub trait Catalog: Send + Sync {
    /// Adds or replaces the entry of `entry.module@entry.version`.
    async fn record(&self, entry: CatalogEntry) -> StateResult<()>;
    async fn remove(&self, module: &str, version: &str) -> StateResult<()>;
    /// Notes that a version's zip was downloaded, from the store or just
    /// fetched; implementations may batch these.
    async fn served(
        &self,
        module: &str,
        version: &str,
        at: SystemTime,
        from: ServedFrom,
    ) -> StateResult<()>;
    async fn search(&self, query: &CatalogQuery) -> StateResult<Vec<CatalogEntry>>;
    /// How many versions are stored.
    async fn count(&self) -> StateResult<u64>;
    /// Versions stored at or after `since`, oldest first (then by module
    /// and version), at most `limit`: the index feed. Paging goes on from
    /// the last entry's `stored_at`, so entries sharing that instant come
    /// again and a reader drops what it has seen, as index.golang.org's
    /// readers do.
    async fn stored_since(&self, since: SystemTime, limit: usize)
        -> StateResult<Vec<CatalogEntry>>;
    /// Versions that may be fetched again (origin upstream or git) and
    /// were last used (served, or else stored) before `idle_before`, least
    /// recently used first, at most `limit`, after `after` (the last entry
    /// of the previous page). Whether the configured sources can really
    /// serve one again is the caller's decision.
    async fn eviction_candidates(
        &self,
        idle_before: SystemTime,
        after: Option<&CatalogEntry>,
        limit: usize,
    ) -> StateResult<Vec<CatalogEntry>>;
    /// Removes many entries in one transaction.
    async fn remove_many(&self, versions: &[(String, String)]) -> StateResult<()>;
    /// The sum of the stored zips' sizes, in bytes.
    async fn total_size(&self) -> StateResult<u64>;
    /// Zip downloads of each catalogued version of `module` (versions
    /// never downloaded are left out).
    async fn downloads(&self, module: &str) -> StateResult<Vec<(String, u64)>>;
    /// Zip downloads per UTC day for the last `days` days up to today,
    /// oldest first, days without any included.
    async fn daily_downloads(&self, days: u32) -> StateResult<Vec<DailyDownloads>>;
}

/// Where a downloaded zip came from: the store (a cache hit) or a fetch
/// (a miss).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServedFrom {
    Store,
    Fetch,
}

/// Zip downloads on one UTC day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DailyDownloads {
    /// The day's first instant (midnight UTC).
    pub day: SystemTime,
    /// Served from the store.
    pub hits: u64,
    /// Fetched for the request.
    pub misses: u64,
}

/// When an entry was last used: served or stored, whichever is later (a
/// version fetched again after eviction is new). Eviction orders by it.
pub fn last_used(entry: &CatalogEntry) -> SystemTime {
    entry
        .last_served
        .map_or(entry.stored_at, |served| served.max(entry.stored_at))
}

/// An answer a source gave that is remembered for a while: not-found for
/// `not_found_ttl`, a failure for `upstream_failure_ttl`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Remembered {
    /// `NotFound` or `Unavailable`.
    pub kind: ErrorKind,
    /// The one-line reason clients are given.
    pub reason: String,
}

/// Negative answers shared by replicas, so that they agree on them and a
/// source is asked once per TTL whichever replica a client reaches. One
/// process needs none: the proxy keeps its own in memory.
#[async_trait]
pub trait FailureMemory: Send + Sync {
    async fn remember(&self, key: &str, answer: &Remembered, ttl: Duration) -> StateResult<()>;
    /// The answer remembered for `key`, if it has not expired.
    async fn recall(&self, key: &str) -> StateResult<Option<Remembered>>;
}

/// The pieces of shared state, wired once at start-up.
#[derive(Clone)]
pub struct SharedState {
    pub tokens: Arc<dyn Tokens>,
    /// `None` when modvault runs no checksum database of its own.
    pub log: Option<Arc<dyn ChecksumLog>>,
    pub leases: Arc<dyn FetchLeases>,
    pub catalog: Arc<dyn Catalog>,
    /// `None` in one process (the proxy's own memory suffices).
    pub failures: Option<Arc<dyn FailureMemory>>,
}
