//! One persistent bare mirror per repository: the port of the go command's
//! `codehost/git.go` (`gitRepo`), adapted to a cache that lives longer than
//! one command.
//!
//! Like the go command, a mirror fetches what a question needs and keeps
//! it: the refs come from `git ls-remote` (no objects), a commit reached
//! through a tag, a branch or HEAD comes with a `--depth=1` fetch of that
//! ref (Go's `stat`), and only a question about ancestry (a pseudo-version's
//! base tag, `DescendsFrom`) or a commit no ref names fetches every branch
//! and tag with their history, once (Go's `fetchRefsLocked`), into a side
//! repository that the mirror then adopts, so that tags asked for meanwhile
//! are not held behind it. After that the mirror is deep and later fetches
//! are plain incremental ones. Fetches
//! for several refs asked for at once share one `git fetch` with several
//! refspecs. A repository whose old history cannot be transferred (an
//! object missing on the server) still serves every commit whose own tree
//! can be, as the go command does.
//!
//! Only heads, tags and HEAD are ever fetched, so commits reachable only
//! from other refs (pull requests, Gerrit changes) are never known, exactly
//! as in Go's `stat`.
//!
//! The refs snapshot (what Go's `loadRefs` takes from `git ls-remote`) is
//! refreshed when it is older than the refs TTL and someone asks a question
//! whose answer can change (`list`, `@latest`, a branch or hash query), or
//! when a revision is not in it. After a restart the mirror's own refs
//! stand in for it until the first refresh.
//!
//! Answers are memoized where they cannot change: what depends on the refs
//! (a revision's commit, the tags merged into a commit, ancestry of a tag)
//! lives with the snapshot and goes when a refresh replaces it; commit times
//! and small files at a commit, keyed by full hash, live in the shared
//! [`ObjectCache`].

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use modvault_core::modzip::MAX_ZIP_FILE;
use modvault_core::semver;

use crate::cache::{BlobEntry, ObjectCache};
use crate::command::{GitError, GitRunner, Sink};
use crate::credentials::Credentials;
use crate::error::{RepoError, RepoResult};
use modvault_error::redact_urls;

/// Written to `info/attributes` so that `export-subst` and `export-ignore`
/// in the repository do not change archives (Go's `ensureGitAttributes`,
/// golang.org/issue/27153).
const EXPORT_ATTRIBUTES: &str = "\n* -export-subst -export-ignore\n";

/// Where the mirror keeps the remote's HEAD commit.
const HEAD_REF: &str = "refs/modvault/HEAD";

/// A repository whose depth-1 fetch of one version received at most this
/// much is small enough that a later tag fetch brings its other release
/// tags along (see [`Mirror::sibling_tags`]).
const SMALL_VERSION_BYTES: u64 = 4 << 20;

/// What such a fetch may bring beyond what was asked for, estimated from
/// the first fetch's size, and at most this many tags.
const PREFETCH_BYTES: u64 = 64 << 20;
const PREFETCH_TAGS: usize = 64;
/// Brought along by a repository's first fetch when it is for several tags.
const FIRST_PREFETCH_TAGS: usize = 8;

/// Upper bound for listings such as `for-each-ref` output.
const LISTING_LIMIT: u64 = 256 << 20;

/// Go's `minHashDigits`: shorter hex strings are never taken as hashes.
const MIN_HASH_DIGITS: usize = 7;

/// Entries of each per-snapshot memo; past it the memo starts over.
const SNAPSHOT_MEMO_LIMIT: usize = 4096;

/// The branches, tags and HEAD of the remote as of the last fetch. Tags
/// map to the commit they peel to (Go records `refs/tags/x^{}` in place of
/// the tag object).
#[derive(Debug, Default)]
pub(crate) struct RefSnapshot {
    pub(crate) head: Option<String>,
    pub(crate) branches: BTreeMap<String, String>,
    pub(crate) tags: BTreeMap<String, String>,
    /// Answers that depend on the refs, valid as long as this snapshot is
    /// the mirror's (a fetch publishes a new, empty one).
    memo: Mutex<SnapshotMemo>,
}

/// What git said while a snapshot was current.
#[derive(Debug, Default)]
struct SnapshotMemo {
    /// `git log -n1 <rev>`: the commit and its committer time, or `None`
    /// for an unknown revision.
    resolved: HashMap<String, Option<(String, i64)>>,
    /// `for-each-ref --merged=<commit> refs/tags`.
    merged: HashMap<String, Arc<Vec<String>>>,
    /// `merge-base --is-ancestor refs/tags/<tag> <commit>`, by (commit, tag).
    descends: HashMap<(String, String), bool>,
}

/// Inserts into a per-snapshot memo, starting over when it is full.
fn remember<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>, key: K, value: V) {
    if map.len() >= SNAPSHOT_MEMO_LIMIT {
        map.clear();
    }
    map.insert(key, value);
}

impl RefSnapshot {
    fn memo(&self) -> std::sync::MutexGuard<'_, SnapshotMemo> {
        self.memo
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every ref Go's `loadRefs` keeps, as (full ref name, hash).
    fn all_refs(&self) -> impl Iterator<Item = (String, &String)> {
        self.head
            .iter()
            .map(|h| ("HEAD".to_owned(), h))
            .chain(
                self.branches
                    .iter()
                    .map(|(b, h)| (format!("refs/heads/{b}"), h)),
            )
            .chain(self.tags.iter().map(|(t, h)| (format!("refs/tags/{t}"), h)))
    }

    fn same_refs(&self, other: &RefSnapshot) -> bool {
        self.head == other.head && self.branches == other.branches && self.tags == other.tags
    }

    /// Go's `Tags(prefix)`: tag names with the prefix, sorted by name.
    pub(crate) fn tags_with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a String)> + 'a {
        self.tags
            .range(prefix.to_owned()..)
            .take_while(move |(name, _)| name.starts_with(prefix))
    }
}

/// What the mirror knows about a commit (Go's `codehost.RevInfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitInfo {
    /// The full hash.
    pub(crate) name: String,
    /// The 12-digit short hash used in pseudo-versions.
    pub(crate) short: String,
    /// Committer time, Unix seconds.
    pub(crate) time: i64,
    /// The revision as looked up: a tag name if the query named a tag on
    /// this commit, otherwise the full hash.
    pub(crate) version: String,
    /// Tags on this commit, sorted.
    pub(crate) tags: Vec<String>,
    /// The ref the query resolved through (`refs/tags/v1.0.0`,
    /// `refs/heads/main`, `HEAD`), for `Origin.Ref`.
    pub(crate) origin_ref: Option<String>,
    /// The commit was found through a branch, tag or HEAD (or a prefix of
    /// one's hash). A fresh go command then fetches just that commit
    /// (`fetch --depth=1 <ref>`), which matters for the pseudo-version base
    /// (see `CodeRepo::convert`).
    pub(crate) reached_through_ref: bool,
}

struct State {
    snapshot: Option<Arc<RefSnapshot>>,
    refreshed_at: Option<Instant>,
    /// Counts refreshes of the refs, so that callers queued behind one can
    /// tell that it happened while they waited.
    generation: u64,
    /// 40 (SHA-1) or 64 (SHA-256).
    hex_len: usize,
    /// The last failure to reach the remote and when it happened: answered
    /// again, without contacting the remote, for the failure TTL.
    failed: Option<(Instant, RepoError)>,
    /// The refs generation at which every branch and tag was last fetched
    /// with its whole history: ancestry answers are final for that
    /// snapshot.
    deep_generation: Option<u64>,
    /// The last failure to fetch the whole history (damaged history on the
    /// server, say): remembered for the failure TTL without blocking the
    /// shallow fetches that still work.
    deep_failed: Option<(Instant, RepoError)>,
    /// Whether tag fetches bring the repository's other release tags along.
    prefetch: Prefetch,
    /// Whether the commit time of every commit in the mirror is in the
    /// cache (as far as it keeps them): true for a mirror made or loaded by
    /// this process while it is shallow, see [`Mirror::needs_fetch`].
    times_recorded: bool,
}

/// Learned from the first depth-1 tag fetch of a repository (in this
/// process): how many other release tags a later one may bring along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefetch {
    Unknown,
    Upto(usize),
    /// A large repository, or a prefetch that failed (a damaged tree).
    Off,
}

/// A ref some request needs the commit of, for a batched fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Want {
    /// `HEAD`, `refs/heads/<b>` or `refs/tags/<t>`.
    reference: String,
    hash: String,
}

impl Want {
    /// The ref is kept under its own name (Go: `ref:ref`), so that a tag
    /// fetched once is a local tag afterwards; HEAD under a private name.
    fn refspec(&self) -> String {
        if self.reference == "HEAD" {
            format!("+HEAD:{HEAD_REF}")
        } else {
            format!("+{0}:{0}", self.reference)
        }
    }
}

/// What all mirrors share.
#[derive(Clone)]
pub(crate) struct MirrorContext {
    pub(crate) git: Arc<GitRunner>,
    pub(crate) cache: Arc<ObjectCache>,
    pub(crate) refs_ttl: Duration,
    /// How long a failure to reach a remote is answered from memory.
    pub(crate) failure_ttl: Duration,
    pub(crate) http: reqwest::Client,
    pub(crate) http_timeout: Duration,
    pub(crate) credentials: Arc<Credentials>,
}

pub(crate) struct Mirror {
    /// The URL git fetches from, possibly with credentials.
    remote_url: String,
    /// The URL without credentials, for messages and `Origin.URL`.
    shown_url: String,
    dir: PathBuf,
    /// Names this mirror in the shared [`ObjectCache`].
    cache_key: Arc<str>,
    cache: Arc<ObjectCache>,
    git: Arc<GitRunner>,
    refs_ttl: Duration,
    failure_ttl: Duration,
    /// Used to tell "not found" from "not allowed" when git fails to reach
    /// an http(s) remote, as Go's `loadRefs` does.
    http: reqwest::Client,
    http_timeout: Duration,
    credentials: Arc<Credentials>,
    /// One `ls-remote` at a time per repository.
    refs_lock: tokio::sync::Mutex<()>,
    /// One fetch at a time per repository: concurrent shallow fetches
    /// would race for git's `shallow.lock`. Requests that arrive while a
    /// fetch runs are gathered in `pending` and served by the next one.
    fetch_lock: tokio::sync::Mutex<()>,
    /// One whole-history fetch at a time per repository; into a side
    /// repository while the mirror is shallow, so that it holds
    /// `fetch_lock` only to adopt what it brought.
    deep_lock: tokio::sync::Mutex<()>,
    pending: Mutex<Vec<Want>>,
    state: Mutex<State>,
}

/// Written into a mirror made by this version: `shallow` while only
/// single commits were fetched, `deep` once the whole history was. A
/// mirror without it was made with the whole history.
const DEPTH_FILE: &str = "modvault-depth";

impl Mirror {
    pub(crate) fn new(remote_url: &str, mirror_root: &Path, context: &MirrorContext) -> Mirror {
        let dir_name = mirror_dir_name(remote_url);
        let context = context.clone();
        Mirror {
            remote_url: remote_url.to_owned(),
            shown_url: redact_urls(remote_url),
            dir: mirror_root.join(&dir_name),
            cache_key: dir_name.into(),
            cache: context.cache,
            git: context.git,
            refs_ttl: context.refs_ttl,
            failure_ttl: context.failure_ttl,
            http: context.http,
            http_timeout: context.http_timeout,
            credentials: context.credentials,
            refs_lock: tokio::sync::Mutex::new(()),
            fetch_lock: tokio::sync::Mutex::new(()),
            deep_lock: tokio::sync::Mutex::new(()),
            pending: Mutex::new(Vec::new()),
            state: Mutex::new(State {
                snapshot: None,
                refreshed_at: None,
                generation: 0,
                hex_len: 40,
                failed: None,
                deep_generation: None,
                deep_failed: None,
                prefetch: Prefetch::Unknown,
                times_recorded: false,
            }),
        }
    }

    /// The next question that needs fresh refs lists the remote's, however
    /// recently they were listed; a remembered failure is forgotten.
    pub(crate) fn expire(&self) {
        let mut state = self.state();
        state.refreshed_at = None;
        state.failed = None;
    }

    pub(crate) fn shown_url(&self) -> &str {
        &self.shown_url
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Vec<Want>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn hex_len(&self) -> usize {
        self.state().hex_len
    }

    fn is_initialized(&self) -> bool {
        self.dir.join("objects").is_dir()
    }

    /// Whether the mirror holds the whole history of what it has fetched,
    /// so that a fetch without `--depth` brings only what is new.
    fn is_deep(&self) -> bool {
        match std::fs::read_to_string(self.dir.join(DEPTH_FILE)) {
            Ok(depth) => depth.trim() == "deep",
            Err(_) => !self.dir.join("shallow").exists(),
        }
    }

    // -----------------------------------------------------------------
    // Freshness

    /// The refs as last listed, reading the mirror's own refs (after a
    /// restart) or listing the remote's the first time.
    pub(crate) async fn snapshot(&self) -> RepoResult<Arc<RefSnapshot>> {
        if let Some(snapshot) = self.state().snapshot.clone() {
            return Ok(snapshot);
        }
        let generation = self.state().generation;
        let _listing = self.refs_lock.lock().await;
        if let Some(snapshot) = self.state().snapshot.clone() {
            return Ok(snapshot);
        }
        if self.is_initialized() {
            // A mirror from an earlier run: usable as is for immutable
            // answers; `refreshed_at` stays unset so that the first
            // list/latest/query lists the remote's refs.
            ensure_export_attributes(&self.dir)?;
            self.load_local_snapshot().await
        } else {
            self.refresh_locked(generation).await
        }
    }

    /// Lists the remote's refs unless they are younger than the TTL.
    /// Returns whether the refs changed since the call started (a refresh
    /// happened, here or in a call this one waited for).
    pub(crate) async fn refresh_if_stale(&self) -> RepoResult<bool> {
        let generation = {
            let state = self.state();
            let fresh = state.snapshot.is_some()
                && state
                    .refreshed_at
                    .is_some_and(|at| at.elapsed() < self.refs_ttl);
            if fresh {
                return Ok(false);
            }
            state.generation
        };
        let _listing = self.refs_lock.lock().await;
        if self.state().generation != generation {
            return Ok(true);
        }
        self.refresh_locked(generation).await?;
        Ok(true)
    }

    /// Creates the mirror or lists the remote's refs (`ls-remote`: no
    /// objects move), and publishes them. The caller holds `refs_lock`. A
    /// failure to reach the remote is logged once and answered from memory
    /// for the failure TTL, so that clients retrying (or queued behind the
    /// failed listing) do not each contact the remote again.
    async fn refresh_locked(&self, generation: u64) -> RepoResult<Arc<RefSnapshot>> {
        if let Some((at, error)) = &self.state().failed {
            if at.elapsed() < self.failure_ttl {
                return Err(error.clone());
            }
        }
        tracing::debug!(repo = %self.shown_url, "listing refs");
        let started = Instant::now();
        let listed = if self.is_initialized() {
            match self.ls_remote(&self.dir).await {
                Ok(listing) => Ok(listing),
                Err(e) => Err(self.remote_failure(e).await),
            }
        } else {
            self.create().await
        };
        let listing = match listed {
            Ok(listing) => listing,
            Err(error) => {
                tracing::warn!(repo = %self.shown_url, error = %error, retry_after = ?self.failure_ttl, "cannot fetch from the repository");
                self.state().failed = Some((Instant::now(), error.clone()));
                return Err(error);
            }
        };
        let hex_len = hex_len_from_config(&self.dir)?;
        let snapshot = Arc::new(parse_ls_remote(&listing));
        let mut state = self.state();
        // Unchanged refs keep the whole history as fetched for the last
        // snapshot: no need to fetch it again for ancestry questions.
        let unchanged = state
            .snapshot
            .as_deref()
            .is_some_and(|old| old.same_refs(&snapshot));
        if unchanged && state.deep_generation == Some(generation) {
            state.deep_generation = Some(generation + 1);
        }
        state.failed = None;
        state.hex_len = hex_len;
        state.snapshot = Some(snapshot.clone());
        state.generation = generation + 1;
        state.refreshed_at = Some(Instant::now());
        tracing::debug!(repo = %self.shown_url, elapsed = ?started.elapsed(), tags = snapshot.tags.len(), "listed refs");
        Ok(snapshot)
    }

    /// `git ls-remote origin`: the remote's refs, no objects.
    async fn ls_remote(&self, dir: &Path) -> Result<String, GitError> {
        let out = self
            .git
            .remote_output(
                Some(dir),
                &[
                    "-c",
                    "protocol.version=2",
                    "ls-remote",
                    "-q",
                    "--end-of-options",
                    "origin",
                ],
                LISTING_LIMIT,
            )
            .await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Creates the bare repository (Go's `newGitRepo`) and lists the
    /// remote's refs in a temporary directory, renamed into place once the
    /// remote answered: a crash or a failed first contact never leaves a
    /// half-made mirror behind. The listing also tells the remote's object
    /// format (64-digit hashes): the mirror is then made again as SHA-256.
    /// Returns the listing.
    async fn create(&self) -> RepoResult<String> {
        let parent = self.dir.parent().expect("mirror dir has a parent");
        std::fs::create_dir_all(parent)
            .map_err(|e| RepoError::Failed(format!("creating {}: {e}", parent.display())))?;
        let mut sha256 = false;
        let (staging, listing) = loop {
            let staging = self.bare_beside(".init-", sha256).await?;
            match self.ls_remote(staging.path()).await {
                Ok(listing)
                    if !sha256
                        && listing
                            .split_whitespace()
                            .next()
                            .is_some_and(|hash| hash.len() == 64 && all_hex(hash)) =>
                {
                    sha256 = true;
                }
                Ok(listing) => break (staging, listing),
                Err(e)
                    if !sha256
                        && e.stderr()
                            .contains("mismatched algorithms: client sha1; server sha256") =>
                {
                    sha256 = true;
                }
                Err(e) => return Err(self.remote_failure(e).await),
            }
        };
        let failed = |e: std::io::Error| {
            RepoError::Failed(format!("writing {}: {e}", staging.path().display()))
        };
        std::fs::write(staging.path().join(DEPTH_FILE), "shallow\n").map_err(failed)?;
        let staging_path = staging.keep();
        match std::fs::rename(&staging_path, &self.dir) {
            Ok(()) => self.state().times_recorded = true,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging_path);
                if !self.is_initialized() {
                    return Err(RepoError::Failed(format!(
                        "creating mirror {}: {e}",
                        self.dir.display()
                    )));
                }
            }
        }
        Ok(listing)
    }

    /// A new bare repository next to the mirror, removed when dropped (and
    /// at start, after a crash: the `.init-` prefix).
    async fn bare_beside(&self, prefix: &str, sha256: bool) -> RepoResult<tempfile::TempDir> {
        let parent = self.dir.parent().expect("mirror dir has a parent");
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(parent)
            .map_err(|e| {
                RepoError::Failed(format!("creating a directory in {}: {e}", parent.display()))
            })?;
        self.init_bare(dir.path(), sha256).await?;
        Ok(dir)
    }

    /// `git init --bare` without the template's sample hooks, and the
    /// remote as a named one, as in Go (golang.org/issue/25605: Git LFS).
    async fn init_bare(&self, dir: &Path, sha256: bool) -> RepoResult<()> {
        let dir_arg = dir.to_string_lossy();
        let mut init = vec!["init", "--bare", "-q", "--template="];
        if sha256 {
            init.push("--object-format=sha256");
        }
        init.push(&dir_arg);
        self.git.output(None, &init, 1 << 20).await?;
        let remote = remote_config_section("origin", &self.remote_url)?;
        let config = dir.join("config");
        let failed =
            |e: std::io::Error| RepoError::Failed(format!("writing {}: {e}", config.display()));
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&config)
            .map_err(failed)?;
        std::io::Write::write_all(&mut file, remote.as_bytes()).map_err(failed)?;
        ensure_export_attributes(dir)?;
        let _ = std::fs::write(dir.join("modvault-remote"), format!("{}\n", self.shown_url));
        Ok(())
    }

    /// Makes sure the mirror holds `hash`, the commit `reference` pointed
    /// at when the refs were listed: a fetch of just that ref, with depth 1
    /// unless the mirror is deep (Go's `stat`), shared with every other
    /// request waiting at that moment. If that fails, or the ref has moved
    /// since, the whole history is fetched (Go's fallback).
    async fn ensure_commit(&self, reference: &str, hash: &str) -> RepoResult<()> {
        if !self.needs_fetch(hash).await? {
            return Ok(());
        }
        let own = Want {
            reference: reference.to_owned(),
            hash: hash.to_owned(),
        };
        {
            let mut pending = self.pending();
            if !pending.contains(&own) {
                pending.push(own.clone());
            }
        }
        let fetched = {
            let _fetching = self.fetch_lock.lock().await;
            if !self.needs_fetch(hash).await? {
                return Ok(());
            }
            let mut batch: Vec<Want> = std::mem::take(&mut *self.pending());
            if !batch.contains(&own) {
                batch.push(own.clone());
            }
            let mut seen = std::collections::HashSet::new();
            batch.retain(|want| seen.insert(want.reference.clone()));
            let asked = batch.len();
            batch.extend(self.sibling_tags(&batch));
            let before = self.pack_bytes();
            let fetched = match self.fetch_wants(&batch).await {
                // One ref the server cannot send (a damaged tree) must not
                // fail the others: their requests fetch again on their own.
                Err(_) if batch.len() > 1 => {
                    if batch.len() > asked {
                        self.state().prefetch = Prefetch::Off;
                    }
                    self.fetch_wants(std::slice::from_ref(&own)).await
                }
                other => other,
            };
            if fetched.is_ok() {
                self.learn_size(&batch, self.pack_bytes().saturating_sub(before));
                // Asked for again (by other requests for the same version)
                // while this fetch ran: it brought them.
                self.pending().retain(|want| !batch.contains(want));
                self.record_fetched(&batch).await;
            }
            fetched
        };
        match fetched {
            Ok(()) if self.has_commit(hash).await? => return Ok(()),
            Ok(()) => {
                tracing::debug!(repo = %self.shown_url, reference, "the ref moved since it was listed")
            }
            Err(e) => {
                tracing::debug!(repo = %self.shown_url, reference, error = %e, "shallow fetch failed")
            }
        }
        self.ensure_deep().await
    }

    /// The release tags to fetch along with a batch of tag wants: a
    /// repository asked for several versions (this is not its first tag
    /// fetch) and small enough (its first version's fetch was) is likely
    /// asked for more, and one fetch of many depth-1 tags costs the remote
    /// about what one costs (a `pack-objects` run). Tags in the same
    /// directory as a wanted one whose name is a canonical version, newest
    /// first, that the mirror does not hold yet.
    fn sibling_tags(&self, batch: &[Want]) -> Vec<Want> {
        let tags_wanted = batch
            .iter()
            .filter(|want| want.reference.starts_with("refs/tags/"))
            .count();
        let limit = match self.state().prefetch {
            Prefetch::Upto(limit) => limit,
            // Several versions asked for at once before the size is known:
            // a few more, as the remote packs them in the same run.
            Prefetch::Unknown if tags_wanted >= 2 => FIRST_PREFETCH_TAGS,
            _ => return Vec::new(),
        };
        let Some(snapshot) = self.current_snapshot() else {
            return Vec::new();
        };
        if self.is_deep() {
            return Vec::new();
        }
        let prefixes: std::collections::BTreeSet<&str> = batch
            .iter()
            .filter_map(|want| want.reference.strip_prefix("refs/tags/"))
            .map(|tag| tag.rfind('/').map_or("", |slash| &tag[..=slash]))
            .collect();
        let mut siblings: Vec<(&str, &String, &String)> = prefixes
            .iter()
            .flat_map(|prefix| {
                snapshot
                    .tags_with_prefix(prefix)
                    .filter_map(move |(name, hash)| {
                        let version = &name[prefix.len()..];
                        (semver::is_valid(version) && semver::canonical(version) == version)
                            .then_some((version, name, hash))
                    })
            })
            .filter(|(_, name, hash)| {
                self.cache.commit_time(&self.cache_key, hash).is_none()
                    && !batch.iter().any(|want| {
                        &want.hash == *hash
                            || want.reference.strip_prefix("refs/tags/") == Some(name.as_str())
                    })
            })
            .collect();
        siblings.sort_by(|a, b| semver::compare(b.0, a.0));
        let mut seen = std::collections::HashSet::new();
        siblings
            .into_iter()
            .filter(|(_, _, hash)| seen.insert(*hash))
            .take(limit)
            .map(|(_, name, hash)| Want {
                reference: format!("refs/tags/{name}"),
                hash: hash.clone(),
            })
            .collect()
    }

    /// After the first depth-1 fetch of tags: whether the repository is
    /// small enough for [`Mirror::sibling_tags`], from what it received.
    fn learn_size(&self, batch: &[Want], received: u64) {
        let mut state = self.state();
        if state.prefetch != Prefetch::Unknown
            || self.is_deep()
            || !batch
                .iter()
                .all(|want| want.reference.starts_with("refs/tags/"))
        {
            return;
        }
        let per_version = (received / batch.len() as u64).max(1);
        state.prefetch = if per_version <= SMALL_VERSION_BYTES {
            Prefetch::Upto(PREFETCH_TAGS.min((PREFETCH_BYTES / per_version) as usize))
        } else {
            Prefetch::Off
        };
        tracing::debug!(repo = %self.shown_url, per_version, prefetch = ?state.prefetch, "learned the size of a version");
    }

    /// Bytes in the mirror's packs: what fetches received (they keep what
    /// arrives as one pack).
    fn pack_bytes(&self) -> u64 {
        std::fs::read_dir(self.dir.join("objects/pack"))
            .map(|entries| {
                entries
                    .filter_map(|entry| entry.ok()?.metadata().ok())
                    .map(|meta| meta.len())
                    .sum()
            })
            .unwrap_or(0)
    }

    /// Records the commit time of what a fetch brought, read from the
    /// local refs it wrote in one `for-each-ref`: every request of the
    /// batch then finds its commit (and its time) without a git process.
    async fn record_fetched(&self, batch: &[Want]) {
        let mut args = vec!["for-each-ref".to_owned(), REF_LISTING_FORMAT.to_owned()];
        args.extend(batch.iter().map(|want| {
            if want.reference == "HEAD" {
                HEAD_REF.to_owned()
            } else {
                want.reference.clone()
            }
        }));
        // Best effort: without it, each request asks git itself.
        if let Ok(out) = self.git.output(Some(&self.dir), &args, LISTING_LIMIT).await {
            let (_, commit_times) = parse_ref_listing(&String::from_utf8_lossy(&out));
            for (hash, time) in commit_times {
                self.cache.put_commit_time(&self.cache_key, &hash, time);
            }
        }
    }

    /// `git fetch` of the wanted refs, with depth 1 unless the mirror is
    /// deep (then only what is new comes).
    async fn fetch_wants(&self, wants: &[Want]) -> Result<(), GitError> {
        let refspecs: Vec<String> = wants.iter().map(Want::refspec).collect();
        let mut args = vec![
            // protocol.version=2 as in Go (go.dev/issue/56881).
            "-c",
            "protocol.version=2",
            // Keep what arrives as one pack: exploding a few hundred KB into
            // loose objects (git's default below 100 objects) costs about
            // two thirds of a depth-1 fetch; `gc --auto` merges the packs.
            "-c",
            "fetch.unpackLimit=1",
            "fetch",
            "-q",
            "-f",
            "--no-write-fetch-head",
        ];
        if !self.is_deep() {
            args.push("--depth=1");
        }
        args.extend(["--end-of-options", "origin"]);
        args.extend(refspecs.iter().map(String::as_str));
        tracing::debug!(repo = %self.shown_url, refs = ?refspecs, "fetching");
        let started = Instant::now();
        self.git
            .remote_output(Some(&self.dir), &args, 1 << 20)
            .await?;
        tracing::debug!(repo = %self.shown_url, elapsed = ?started.elapsed(), "fetched");
        Ok(())
    }

    /// Whether `hash` must be fetched. A shallow mirror holds only the
    /// commits its refs pointed at when they were fetched, and their times
    /// were recorded then (or when this process loaded its refs): a commit
    /// without one is not there, and no git process needs to say so. Should
    /// the cache have dropped it, the fetch that follows brings nothing.
    async fn needs_fetch(&self, hash: &str) -> RepoResult<bool> {
        if self.cache.commit_time(&self.cache_key, hash).is_some() {
            return Ok(false);
        }
        if self.state().times_recorded && !self.is_deep() {
            return Ok(true);
        }
        Ok(!self.has_commit(hash).await?)
    }

    /// Whether the object `hash` is a commit in the mirror. A known commit
    /// time means it is (times are recorded only for local commits).
    async fn has_commit(&self, hash: &str) -> RepoResult<bool> {
        if self.cache.commit_time(&self.cache_key, hash).is_some() {
            return Ok(true);
        }
        let object = format!("{hash}^{{commit}}");
        match self
            .git
            .output(
                Some(&self.dir),
                &["cat-file", "-e", "--end-of-options", &object],
                1 << 10,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.is_failed_run() => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Go's `fetchRefsLocked`: every branch and tag, and HEAD, with their
    /// whole history (`--unshallow` when the mirror is shallow), once per
    /// refs snapshot; incremental once the mirror is deep. A failure (a
    /// server that cannot send its old history) is remembered for the
    /// failure TTL and fails only the questions that need the history.
    async fn ensure_deep(&self) -> RepoResult<()> {
        let generation = {
            let state = self.state();
            if state.deep_generation.is_some_and(|g| g >= state.generation) {
                return Ok(());
            }
            if let Some((at, error)) = &state.deep_failed {
                if at.elapsed() < self.failure_ttl {
                    return Err(error.clone());
                }
            }
            state.generation
        };
        let _deepening = self.deep_lock.lock().await;
        {
            let state = self.state();
            if state.deep_generation.is_some_and(|g| g >= generation) {
                return Ok(());
            }
            if let Some((at, error)) = &state.deep_failed {
                if at.elapsed() < self.failure_ttl {
                    return Err(error.clone());
                }
            }
        }
        tracing::debug!(repo = %self.shown_url, "fetching the whole history");
        let started = Instant::now();
        let fetched = if self.is_deep() {
            // Incremental: brings only what is new.
            let _fetching = self.fetch_lock.lock().await;
            match self.fetch_everything(&self.dir).await {
                Ok(()) => Ok(()),
                Err(e) => Err(self.history_failure(e).await),
            }
        } else {
            self.deepen_beside().await
        };
        match fetched {
            Ok(()) => {
                let _ = std::fs::write(self.dir.join(DEPTH_FILE), "deep\n");
                let mut state = self.state();
                state.deep_generation = Some(generation);
                state.deep_failed = None;
                tracing::debug!(repo = %self.shown_url, elapsed = ?started.elapsed(), "fetched the whole history");
                Ok(())
            }
            Err(error) => {
                tracing::warn!(repo = %self.shown_url, error = %error, retry_after = ?self.failure_ttl, "cannot fetch the history of the repository");
                self.state().deep_failed = Some((Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    /// A failed fetch of the whole history: a server that cannot send some
    /// object of it answers, for everything that needs the history, what
    /// the go command answers (its own fetch fails the same way), as
    /// not-found with the reason; other failures as usual.
    async fn history_failure(&self, error: GitError) -> RepoError {
        const DAMAGED: [&str; 6] = [
            "corruption on the remote side",
            "pack-objects died",
            "did not send all necessary objects",
            "unable to read",
            "missing blob object",
            "remote did not send all",
        ];
        let stderr = error.stderr().to_ascii_lowercase();
        if error.is_failed_run() && DAMAGED.iter().any(|m| stderr.contains(m)) {
            let line = error
                .stderr()
                .lines()
                .find(|l| {
                    let l = l.to_ascii_lowercase();
                    DAMAGED.iter().any(|m| l.contains(m))
                })
                .unwrap_or("")
                .trim()
                .to_owned();
            return RepoError::NotFound(format!(
                "{}: the repository's history cannot be fetched (the server could not send it: {line}); only versions whose own tree can be fetched are available",
                self.shown_url
            ));
        }
        self.remote_failure(error).await
    }

    /// The whole history of a shallow mirror, fetched into a side
    /// repository (a complete clone) while depth-1 fetches go on in the
    /// mirror, then adopted under the fetch lock in milliseconds: a tag
    /// asked for meanwhile does not wait seconds behind it. Same transfer
    /// as Go's `--unshallow` fetch, give or take the depth-1 trees.
    async fn deepen_beside(&self) -> RepoResult<()> {
        let side = self
            .bare_beside(".init-deep-", hex_len_from_config(&self.dir)? == 64)
            .await?;
        if let Err(e) = self.fetch_everything(side.path()).await {
            return Err(self.history_failure(e).await);
        }
        let _fetching = self.fetch_lock.lock().await;
        self.adopt(side.path()).await
    }

    /// Moves a complete clone's history into the mirror: its packs linked
    /// in (each index after its pack, so git never sees an index without
    /// its pack), the mirror's shallow entries it completes dropped, its
    /// refs written in one transaction. Refs the remote no longer has stay
    /// (answers count only the snapshot's refs).
    async fn adopt(&self, side: &Path) -> RepoResult<()> {
        let io = |what: &Path, e: std::io::Error| {
            RepoError::Failed(format!("adopting the history into {}: {e}", what.display()))
        };
        let from = side.join("objects/pack");
        let to = self.dir.join("objects/pack");
        std::fs::create_dir_all(&to).map_err(|e| io(&to, e))?;
        let mut names: Vec<std::ffi::OsString> = std::fs::read_dir(&from)
            .map_err(|e| io(&from, e))?
            .filter_map(|entry| Some(entry.ok()?.file_name()))
            .collect();
        names.sort_by_key(|name| name.to_string_lossy().ends_with(".idx"));
        for name in names {
            let target = to.join(&name);
            link_or_copy(&from.join(&name), &target).map_err(|e| io(&target, e))?;
        }

        // Loose objects too: a smart fetch keeps one pack
        // (`fetch.unpackLimit=1`), but the dumb http transport writes what
        // it downloads as loose objects.
        for fan in std::fs::read_dir(side.join("objects")).map_err(|e| io(side, e))? {
            let fan = fan.map_err(|e| io(side, e))?;
            let name = fan.file_name();
            if name.len() != 2 || !all_hex(&name.to_string_lossy()) {
                continue;
            }
            let target_dir = self.dir.join("objects").join(&name);
            std::fs::create_dir_all(&target_dir).map_err(|e| io(&target_dir, e))?;
            for object in std::fs::read_dir(fan.path()).map_err(|e| io(&fan.path(), e))? {
                let object = object.map_err(|e| io(&fan.path(), e))?;
                let target = target_dir.join(object.file_name());
                link_or_copy(&object.path(), &target).map_err(|e| io(&target, e))?;
            }
        }

        let shallow_path = self.dir.join("shallow");
        let shallow = std::fs::read_to_string(&shallow_path).unwrap_or_default();
        let entries: Vec<&str> = shallow.split_whitespace().collect();
        if !entries.is_empty() {
            let mut args = vec![
                "rev-list",
                "--no-walk",
                "--ignore-missing",
                "--end-of-options",
            ];
            args.extend(&entries);
            let complete = self.git.output(Some(side), &args, LISTING_LIMIT).await?;
            let complete = String::from_utf8_lossy(&complete);
            let complete: std::collections::HashSet<&str> = complete.split_whitespace().collect();
            let remaining: String = entries
                .iter()
                .filter(|hash| !complete.contains(**hash))
                .map(|hash| format!("{hash}\n"))
                .collect();
            if remaining.is_empty() {
                std::fs::remove_file(&shallow_path).map_err(|e| io(&shallow_path, e))?;
            } else {
                let staged = self.dir.join("shallow.modvault");
                std::fs::write(&staged, remaining).map_err(|e| io(&staged, e))?;
                std::fs::rename(&staged, &shallow_path).map_err(|e| io(&shallow_path, e))?;
            }
        }

        let listing = self
            .git
            .output(
                Some(side),
                &[
                    "for-each-ref",
                    "--format=update %(refname) %(objectname)",
                    "refs/heads",
                    "refs/tags",
                    HEAD_REF,
                ],
                LISTING_LIMIT,
            )
            .await?;
        self.git
            .output_with_input(
                Some(&self.dir),
                &["update-ref", "--stdin"],
                listing,
                1 << 10,
            )
            .await?;
        Ok(())
    }

    /// Brings every branch and tag, and HEAD, of the remote into the
    /// repository `dir` (the mirror, or a side repository) with their
    /// whole history.
    async fn fetch_everything(&self, dir: &Path) -> Result<(), GitError> {
        let mut args = vec![
            // protocol.version=2 as in Go (go.dev/issue/56881).
            "-c",
            "protocol.version=2",
            // As one pack (see `fetch_wants`); a side repository's history
            // is adopted by linking its packs.
            "-c",
            "fetch.unpackLimit=1",
            "fetch",
            "-q",
            "-f",
            "--prune",
            "--no-write-fetch-head",
        ];
        // git ≥ 2.24 expands the refs and unshallows in one fetch (Go does
        // two, for golang.org/issue/34266).
        if dir.join("shallow").exists() {
            args.push("--unshallow");
        }
        args.extend([
            "--end-of-options",
            "origin",
            "+refs/heads/*:refs/heads/*",
            "+refs/tags/*:refs/tags/*",
        ]);
        let head_refspec = format!("+HEAD:{HEAD_REF}");
        let with_head = [args.as_slice(), &[head_refspec.as_str()]].concat();
        match self.git.remote_output(Some(dir), &with_head, 1 << 20).await {
            Ok(_) => return Ok(()),
            // An empty repository, or one whose HEAD names a missing branch:
            // there is no HEAD to record (Go: refs["HEAD"] == "").
            Err(e) if e.stderr().contains("couldn't find remote ref HEAD") => {}
            Err(e) => return Err(e),
        }
        self.git.remote_output(Some(dir), &args, 1 << 20).await?;
        match self
            .git
            .output(Some(dir), &["update-ref", "-d", HEAD_REF], 1 << 10)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_failed_run() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Reads the mirror's own refs (after a restart: what earlier runs
    /// fetched) and publishes them until the first refresh.
    async fn load_local_snapshot(&self) -> RepoResult<Arc<RefSnapshot>> {
        let hex_len = hex_len_from_config(&self.dir)?;
        let out = self
            .git
            .output(
                Some(&self.dir),
                &[
                    "for-each-ref",
                    REF_LISTING_FORMAT,
                    "refs/heads",
                    "refs/tags",
                    HEAD_REF,
                ],
                LISTING_LIMIT,
            )
            .await?;
        let (snapshot, commit_times) = parse_ref_listing(&String::from_utf8_lossy(&out));
        // Bounded, so that a repository with a huge number of tags does
        // not push every other mirror's answers out of the shared cache.
        for (hash, time) in commit_times.iter().take(SNAPSHOT_MEMO_LIMIT) {
            self.cache.put_commit_time(&self.cache_key, hash, *time);
        }
        let snapshot = Arc::new(snapshot);
        let mut state = self.state();
        state.times_recorded = commit_times.len() <= SNAPSHOT_MEMO_LIMIT;
        state.hex_len = hex_len;
        state.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Turns a failed network operation into "no such repository" or an
    /// upstream failure whose message carries no credentials. A remote that
    /// refused to talk to us may simply not exist (GitHub asks for
    /// credentials for missing repositories): like Go's `loadRefs`, a plain
    /// GET of an http(s) URL tells.
    async fn remote_failure(&self, error: GitError) -> RepoError {
        let error = classify_remote_failure(&self.shown_url, error);
        if !is_auth_failure(&error)
            || !(self.remote_url.starts_with("https://") || self.remote_url.starts_with("http://"))
        {
            return error;
        }
        let mut probe = self.http.get(&self.remote_url).timeout(self.http_timeout);
        // With the credentials git would have had: a private repository
        // some servers hide (404) from anonymous clients must not be
        // reported as missing when the token is wrong.
        if let Some((user, secret)) = reqwest::Url::parse(&self.remote_url)
            .ok()
            .and_then(|url| self.credentials.basic_auth(&url))
        {
            probe = probe.basic_auth(user, Some(secret));
        }
        match probe.send().await {
            Ok(response) if matches!(response.status().as_u16(), 404 | 410) => {
                RepoError::NotFound(format!("repository {} not found", self.shown_url))
            }
            _ => error,
        }
    }

    // -----------------------------------------------------------------
    // Reading

    /// Go's `gitRepo.Stat`: resolves a revision (hash or hash prefix, tag,
    /// branch, `HEAD`) to a commit, refreshing once if it is not known and
    /// the refs are stale.
    pub(crate) async fn stat(&self, rev: &str) -> RepoResult<CommitInfo> {
        let snapshot = self.snapshot().await?;
        if let Some(info) = self.stat_with(&snapshot, rev).await? {
            return Ok(info);
        }
        if self.refresh_if_stale().await? {
            let snapshot = self.snapshot().await?;
            if let Some(info) = self.stat_with(&snapshot, rev).await? {
                return Ok(info);
            }
        }
        Err(RepoError::not_found(format!("unknown revision {rev}")))
    }

    /// One resolution attempt against `snapshot`: Go's `gitRepo.stat` as it
    /// runs in a fresh module cache, where nothing is local yet, so refs are
    /// consulted before the mirror's objects. `Ok(None)` means an unknown
    /// revision.
    async fn stat_with(&self, snapshot: &RefSnapshot, rev: &str) -> RepoResult<Option<CommitInfo>> {
        let hex_len = self.hex_len();
        let looks_like_hash = rev.len() >= MIN_HASH_DIGITS && rev.len() <= hex_len && all_hex(rev);

        // A tag keeps its name as the version.
        if let Some(hash) = snapshot.tags.get(rev) {
            let reference = format!("refs/tags/{rev}");
            self.ensure_commit(&reference, hash).await?;
            let mut info = self.stat_local(snapshot, rev, hash).await?;
            if let Some(info) = &mut info {
                info.reached_through_ref = true;
                info.origin_ref = Some(reference);
            }
            return Ok(info);
        }
        // A branch, HEAD, or a prefix of a ref's hash.
        let (reference, hash, rev) = if let Some(hash) = snapshot.branches.get(rev) {
            (format!("refs/heads/{rev}"), hash.clone(), hash.clone())
        } else if let (true, Some(hash)) = (rev == "HEAD", &snapshot.head) {
            ("HEAD".to_owned(), hash.clone(), hash.clone())
        } else if looks_like_hash {
            let mut reference = String::new();
            let mut hash = String::new();
            for (name, h) in snapshot.all_refs() {
                if h.starts_with(rev) {
                    if !hash.is_empty() && hash != *h {
                        return Err(RepoError::not_found(format!("ambiguous revision {rev}")));
                    }
                    // Break ties deterministically, as Go does.
                    if reference.is_empty() || reference > name {
                        reference = name;
                    }
                    hash = h.clone();
                }
            }
            if hash.is_empty() {
                // Not a ref's hash: perhaps already here, else Go fetches
                // all history and asks git again.
                if let Some(info) = self.stat_local(snapshot, rev, rev).await? {
                    return Ok(Some(info));
                }
                self.ensure_deep().await?;
                return self.stat_local(snapshot, rev, rev).await;
            }
            (reference, hash.clone(), hash)
        } else {
            return Ok(None);
        };
        // Fetched through the ref's name, as Go does (some servers refuse
        // hashes in refspecs).
        self.ensure_commit(&reference, &hash).await?;
        let mut info = self.stat_local(snapshot, &rev, &hash).await?;
        if let Some(info) = &mut info {
            info.reached_through_ref = true;
            // Go's deferred fix-up: the ref is recorded unless it is the hash.
            if reference != info.name {
                info.origin_ref = Some(reference);
            }
        }
        Ok(info)
    }

    /// Go's `statLocal(version, rev)`: `git log -n1` in the mirror.
    async fn stat_local(
        &self,
        snapshot: &RefSnapshot,
        version: &str,
        rev: &str,
    ) -> RepoResult<Option<CommitInfo>> {
        let Some((hash, time)) = self.resolve_commit(snapshot, rev).await? else {
            return Ok(None);
        };
        let hash = hash.as_str();
        let mut tags: Vec<String> = snapshot
            .tags
            .iter()
            .filter(|(_, h)| *h == hash)
            .map(|(t, _)| t.clone())
            .collect();
        tags.sort();
        tags.dedup();
        // The caller's version is kept only if it is one of the commit's
        // tags (it filters out branch names and HEAD).
        let version = if tags.iter().any(|t| t == version) {
            version.to_owned()
        } else {
            hash.to_owned()
        };
        Ok(Some(CommitInfo {
            name: hash.to_owned(),
            short: short_hash(hash),
            time,
            version,
            tags,
            origin_ref: (!hash.starts_with(rev)).then(|| rev.to_owned()),
            reached_through_ref: false,
        }))
    }

    /// The commit `git log -n1 <rev>` shows and its committer time, `None`
    /// for an unknown revision; memoized with the snapshot, and by full
    /// hash for good.
    async fn resolve_commit(
        &self,
        snapshot: &RefSnapshot,
        rev: &str,
    ) -> RepoResult<Option<(String, i64)>> {
        if let Some(known) = snapshot.memo().resolved.get(rev) {
            return Ok(known.clone());
        }
        // A full commit hash, or a tag whose peeled hash is a known commit
        // (a tag of a tag peels to a tag object, never a known commit).
        let full_hash = if rev.len() == self.hex_len() && all_hex(rev) {
            Some(rev)
        } else {
            rev.strip_prefix("refs/tags/")
                .and_then(|tag| snapshot.tags.get(tag))
                .map(String::as_str)
        };
        if let Some(hash) = full_hash {
            if let Some(time) = self.cache.commit_time(&self.cache_key, hash) {
                return Ok(Some((hash.to_owned(), time)));
            }
        }
        let args = [
            "-c",
            "log.showsignature=false",
            "log",
            "--no-decorate",
            "-n1",
            "--format=format:%H %ct",
            "--end-of-options",
            rev,
            "--",
        ];
        let resolved = match self.git.output(Some(&self.dir), &args, 1 << 16).await {
            Ok(out) => {
                let text = String::from_utf8_lossy(&out);
                let mut fields = text.split_whitespace();
                let (Some(hash), Some(time)) = (fields.next(), fields.next()) else {
                    return Err(RepoError::Failed(format!(
                        "unexpected response from git log: {text:?}"
                    )));
                };
                let time: i64 = time.parse().map_err(|_| {
                    RepoError::Failed(format!("invalid time from git log: {text:?}"))
                })?;
                self.cache.put_commit_time(&self.cache_key, hash, time);
                Some((hash.to_owned(), time))
            }
            Err(e) if e.is_failed_run() => None,
            Err(e) => return Err(e.into()),
        };
        // Only what was found: an unknown revision may arrive with the
        // next fetch.
        if resolved.is_some() {
            remember(
                &mut snapshot.memo().resolved,
                rev.to_owned(),
                resolved.clone(),
            );
        }
        Ok(resolved)
    }

    /// The snapshot in use, if any (for memoizing answers that depend on
    /// the refs).
    fn current_snapshot(&self) -> Option<Arc<RefSnapshot>> {
        self.state().snapshot.clone()
    }

    /// Go's `gitRepo.Latest`: the commit HEAD points at.
    pub(crate) async fn latest(&self) -> RepoResult<CommitInfo> {
        let snapshot = self.snapshot().await?;
        let Some(head) = snapshot.head.clone() else {
            return Err(RepoError::not_found("no commits"));
        };
        let mut info = self.stat(&head).await?;
        info.origin_ref = Some("HEAD".to_owned());
        // Go fetches HEAD's commit by hash into refs/dummy, with depth 1.
        info.reached_through_ref = true;
        Ok(info)
    }

    /// Go's `gitRepo.ReadFile` for an already resolved commit: the raw blob
    /// (`git cat-file blob`), no attribute conversion. `Ok(None)` when the
    /// path is not a blob at that commit (missing, a tree, a submodule).
    /// `commit` is a full hash; the answer is memoized.
    pub(crate) async fn read_file(
        &self,
        commit: &str,
        file: &str,
        limit: u64,
    ) -> RepoResult<Option<Vec<u8>>> {
        let too_large = || {
            RepoError::not_found(format!(
                "{file} at revision {commit} is larger than {limit} bytes"
            ))
        };
        let memoize = self.is_full_hash(commit);
        if memoize {
            match self.cache.blob(&self.cache_key, commit, file) {
                Some(BlobEntry::Missing) => return Ok(None),
                Some(BlobEntry::Blob(Some(data))) if data.len() as u64 > limit => {
                    return Err(too_large())
                }
                Some(BlobEntry::Blob(Some(data))) => return Ok(Some(data.to_vec())),
                Some(BlobEntry::Blob(None)) | None => {}
            }
        }
        let object = format!("{commit}:{file}");
        let (answer, entry) = match self
            .git
            .output(
                Some(&self.dir),
                &["cat-file", "--end-of-options", "blob", &object],
                limit,
            )
            .await
        {
            Ok(data) => {
                let entry = BlobEntry::Blob(Some(bytes::Bytes::copy_from_slice(&data)));
                (Ok(Some(data)), entry)
            }
            Err(e) if e.is_failed_run() => (Ok(None), BlobEntry::Missing),
            Err(GitError::TooLarge { .. }) => (Err(too_large()), BlobEntry::Blob(None)),
            Err(e) => return Err(e.into()),
        };
        if memoize {
            self.cache.put_blob(&self.cache_key, commit, file, entry);
        }
        answer
    }

    fn is_full_hash(&self, commit: &str) -> bool {
        commit.len() == self.hex_len() && all_hex(commit)
    }

    /// Whether `git cat-file blob <commit>:<file>` would succeed: the path
    /// names a blob (a file or a symlink) at that commit.
    pub(crate) async fn blob_exists(&self, commit: &str, file: &str) -> RepoResult<bool> {
        let memoize = self.is_full_hash(commit);
        if memoize {
            if let Some(entry) = self.cache.blob(&self.cache_key, commit, file) {
                return Ok(entry != BlobEntry::Missing);
            }
        }
        let object = format!("{commit}:{file}");
        let exists = match self
            .git
            .output(
                Some(&self.dir),
                &["cat-file", "-t", "--end-of-options", &object],
                1 << 10,
            )
            .await
        {
            Ok(kind) => kind.trim_ascii() == b"blob",
            Err(e) if e.is_failed_run() => false,
            Err(e) => return Err(e.into()),
        };
        if memoize {
            let entry = if exists {
                BlobEntry::Blob(None)
            } else {
                BlobEntry::Missing
            };
            self.cache.put_blob(&self.cache_key, commit, file, entry);
        }
        Ok(exists)
    }

    /// The tags reachable from `commit`, including its own (the listing
    /// behind Go's `RecentTag`: `git for-each-ref --merged`), over the
    /// whole history: fetched first if need be. Only tags the remote has
    /// now count (the mirror keeps tags it fetched earlier).
    pub(crate) async fn merged_tags(&self, commit: &str) -> RepoResult<Arc<Vec<String>>> {
        self.ensure_deep().await?;
        let snapshot = self.current_snapshot();
        if let Some(tags) = snapshot
            .as_ref()
            .and_then(|s| s.memo().merged.get(commit).cloned())
        {
            return Ok(tags);
        }
        let merged = format!("--merged={commit}");
        let out = self
            .git
            .output(
                Some(&self.dir),
                &["for-each-ref", "--format=%(refname)", &merged, "refs/tags"],
                LISTING_LIMIT,
            )
            .await?;
        let tags: Arc<Vec<String>> = Arc::new(
            String::from_utf8_lossy(&out)
                .lines()
                .filter_map(|line| line.trim().strip_prefix("refs/tags/"))
                .filter(|tag| snapshot.as_ref().is_none_or(|s| s.tags.contains_key(*tag)))
                .map(str::to_owned)
                .collect(),
        );
        if let Some(snapshot) = snapshot {
            remember(&mut snapshot.memo().merged, commit.to_owned(), tags.clone());
        }
        Ok(tags)
    }

    /// Go's `DescendsFrom`: whether `tag` is an ancestor of `commit` (or
    /// on it). A shallow mirror can say yes but not no: as in Go, a no
    /// is asked again over the whole history.
    pub(crate) async fn descends_from(&self, commit: &str, tag: &str) -> RepoResult<bool> {
        let snapshot = self.snapshot().await?;
        let key = (commit.to_owned(), tag.to_owned());
        if let Some(known) = snapshot.memo().descends.get(&key).copied() {
            return Ok(known);
        }
        let Some(tag_hash) = snapshot.tags.get(tag).cloned() else {
            return Ok(false);
        };
        if self.has_commit(&tag_hash).await? && self.is_ancestor(&tag_hash, commit).await? {
            remember(&mut snapshot.memo().descends, key, true);
            return Ok(true);
        }
        self.ensure_deep().await?;
        let descends = self.is_ancestor(&tag_hash, commit).await?;
        remember(&mut snapshot.memo().descends, key, descends);
        Ok(descends)
    }

    /// `git merge-base --is-ancestor`.
    async fn is_ancestor(&self, ancestor: &str, commit: &str) -> RepoResult<bool> {
        match self
            .git
            .output(
                Some(&self.dir),
                &["merge-base", "--is-ancestor", "--", ancestor, commit],
                1 << 10,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if e.exit_code() == Some(1) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Go's `ReadZip`: `git archive` of `commit` (restricted to `subdir`)
    /// with `core.autocrlf=input` and `core.eol=lf`, so that `eol`,
    /// `ident` and filter attributes apply exactly as for the go command.
    /// The archive goes to `into` (at most [`MAX_ZIP_FILE`] bytes).
    pub(crate) async fn archive(
        &self,
        commit: &str,
        subdir: &str,
        into: &mut tokio::fs::File,
    ) -> RepoResult<()> {
        let mut args = vec![
            "-c",
            "core.autocrlf=input",
            "-c",
            "core.eol=lf",
            "archive",
            "--format=zip",
            "--prefix=prefix/",
            "--end-of-options",
            commit,
        ];
        if !subdir.is_empty() {
            args.push(subdir);
        }
        match self
            .git
            .run(
                Some(&self.dir),
                &args,
                Sink::File {
                    file: into,
                    limit: MAX_ZIP_FILE,
                },
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.stderr().contains("did not match any files") => Err(RepoError::not_found(
                format!("{subdir}: no files at revision {commit}"),
            )),
            Err(GitError::TooLarge { .. }) => {
                Err(RepoError::not_found("downloaded zip file too large"))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// `<host and path, sanitized>-<hash of the URL>.git`: readable for an
/// operator, unique per URL.
/// A file of a side repository in the mirror: linked (same file system),
/// else copied; one already there (the same object) stays.
fn link_or_copy(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        return Ok(());
    }
    std::fs::hard_link(from, to).or_else(|_| std::fs::copy(from, to).map(drop))
}

fn mirror_dir_name(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let shown = redact_urls(url);
    let without_scheme = shown
        .split_once("://")
        .map_or(shown.as_str(), |(_, rest)| rest);
    let mut slug: String = without_scheme
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    slug.truncate(80);
    let digest = hex::encode(Sha256::digest(url.as_bytes()));
    format!("{}-{}.git", slug.trim_matches('_'), &digest[..16])
}

/// A `[remote "<name>"]` section for a repository's `config` file, the
/// URL quoted as git quotes values (git would refuse a URL with a newline).
fn remote_config_section(name: &str, url: &str) -> RepoResult<String> {
    if url.chars().any(|c| c.is_control()) {
        return Err(RepoError::not_found(format!(
            "repository URL {:?} contains control characters",
            redact_urls(url)
        )));
    }
    let quoted = url.replace('\\', "\\\\").replace('"', "\\\"");
    Ok(format!("[remote \"{name}\"]\n\turl = \"{quoted}\"\n"))
}

/// 64 for a SHA-256 repository, 40 otherwise, from the `extensions`
/// section `git init --object-format=sha256` writes into `config`.
fn hex_len_from_config(repo: &Path) -> RepoResult<usize> {
    let path = repo.join("config");
    let config = std::fs::read_to_string(&path)
        .map_err(|e| RepoError::Failed(format!("reading {}: {e}", path.display())))?;
    let sha256 = config.lines().any(|line| {
        let compact: String = line.chars().filter(|c| !c.is_whitespace()).collect();
        compact.eq_ignore_ascii_case("objectformat=sha256")
    });
    Ok(if sha256 { 64 } else { 40 })
}

/// Appends the export attributes unless they are already last, as Go's
/// `ensureGitAttributes` does.
fn ensure_export_attributes(repo: &Path) -> RepoResult<()> {
    let info = repo.join("info");
    let failed = |e: std::io::Error| {
        RepoError::Failed(format!("writing {}/attributes: {e}", info.display()))
    };
    std::fs::create_dir_all(&info).map_err(failed)?;
    let path = info.join("attributes");
    let existing = match std::fs::read(&path) {
        Ok(data) => data,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(failed(e)),
    };
    if !existing.ends_with(EXPORT_ATTRIBUTES.as_bytes()) {
        use std::io::Write;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(failed)?;
        file.write_all(EXPORT_ATTRIBUTES.as_bytes())
            .map_err(failed)?;
    }
    Ok(())
}

/// Go's `loadRefs`: HEAD, branches and tags from `git ls-remote`, each
/// annotated tag recorded as the commit it peels to (`refs/tags/x^{}`).
fn parse_ls_remote(listing: &str) -> RefSnapshot {
    let mut snapshot = RefSnapshot::default();
    let mut peeled = Vec::new();
    for line in listing.lines() {
        let mut fields = line.split_whitespace();
        let (Some(hash), Some(name), None) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let hash = hash.to_owned();
        if name == "HEAD" {
            snapshot.head = Some(hash);
        } else if let Some(branch) = name.strip_prefix("refs/heads/") {
            snapshot.branches.insert(branch.to_owned(), hash);
        } else if let Some(tag) = name.strip_prefix("refs/tags/") {
            match tag.strip_suffix("^{}") {
                Some(tag) => peeled.push((tag.to_owned(), hash)),
                None => {
                    snapshot.tags.entry(tag.to_owned()).or_insert(hash);
                }
            }
        }
    }
    for (tag, hash) in peeled {
        snapshot.tags.insert(tag, hash);
    }
    snapshot
}

/// What `load_local_snapshot` asks `for-each-ref` for: each ref's object and
/// what it peels to, with types and committer times, so that the commit
/// time of every branch and tag is known without a `git log` each.
const REF_LISTING_FORMAT: &str =
    "--format=%(objectname) %(*objectname) %(objecttype) %(*objecttype) \
     %(committerdate:unix) %(*committerdate:unix) %(refname)";

/// Parses a [`REF_LISTING_FORMAT`] listing: the refs, and the committer
/// time of each commit a ref points at (directly or through one tag).
fn parse_ref_listing(listing: &str) -> (RefSnapshot, Vec<(String, i64)>) {
    let mut snapshot = RefSnapshot::default();
    let mut commit_times = Vec::new();
    for line in listing.lines() {
        let fields: Vec<&str> = line.splitn(7, ' ').collect();
        let [object, peeled, kind, peeled_kind, time, peeled_time, name] = fields[..] else {
            continue;
        };
        let (hash, kind, time) = if peeled.is_empty() {
            (object, kind, time)
        } else {
            (peeled, peeled_kind, peeled_time)
        };
        if kind == "commit" {
            if let Ok(time) = time.parse() {
                commit_times.push((hash.to_owned(), time));
            }
        }
        let hash = hash.to_owned();
        if let Some(tag) = name.strip_prefix("refs/tags/") {
            snapshot.tags.insert(tag.to_owned(), hash);
        } else if let Some(branch) = name.strip_prefix("refs/heads/") {
            snapshot.branches.insert(branch.to_owned(), hash);
        } else if name == HEAD_REF {
            snapshot.head = Some(hash);
        }
    }
    (snapshot, commit_times)
}

pub(crate) fn all_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Go's `shortenObjectHash`: 12 digits of a full SHA-1 or SHA-256 hash.
fn short_hash(hash: &str) -> String {
    if all_hex(hash) && (hash.len() == 40 || hash.len() == 64) {
        hash[..12].to_owned()
    } else {
        hash.to_owned()
    }
}

/// Sorts a failed `ls-remote`/`fetch` into "the repository does not exist"
/// and everything else, with a one-line reason that names the repository
/// (never its credentials: git's stderr was already redacted, and the
/// credential helper never prints). Authentication, an unknown host key
/// and a connection that timed out get messages of their own.
fn classify_remote_failure(shown_url: &str, error: GitError) -> RepoError {
    if let GitError::Timeout { timeout, .. } = &error {
        return RepoError::Failed(format!(
            "{shown_url}: no answer from the repository within {timeout:?}"
        ));
    }
    if !error.is_failed_run() {
        return RepoError::Failed(format!("{shown_url}: {error}"));
    }
    let stderr = error.stderr();
    let lower = stderr.to_ascii_lowercase();
    // The first line that says one of `markers`, else the last line.
    let line_with = |markers: &[&str]| {
        stderr
            .lines()
            .find(|l| {
                let l = l.to_ascii_lowercase();
                markers.iter().any(|m| l.contains(m))
            })
            .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    const MISSING: [&str; 4] = [
        "repository not found",
        "does not appear to be a git repository",
        "could not be found",
        "not a git repository",
    ];
    const HOST_KEY: [&str; 3] = [
        "host key verification failed",
        "remote host identification has changed",
        "host key is known",
    ];
    const TIMED_OUT: [&str; 2] = ["timed out", "connection timeout"];
    const REFUSED: [&str; 8] = [
        "could not read username",
        "could not read password",
        "authentication failed",
        "terminal prompts disabled",
        "permission denied",
        "returned error: 401",
        "returned error: 403",
        "access denied",
    ];
    let has = |markers: &[&str]| markers.iter().any(|m| lower.contains(m));
    if has(&MISSING) || (lower.contains("repository '") && lower.contains("' not found")) {
        return RepoError::NotFound(format!("repository {shown_url} not found"));
    }
    if has(&HOST_KEY) {
        return RepoError::Failed(format!(
            "the ssh host key of {shown_url} is unknown or has changed (add it to the known-hosts file): {}",
            line_with(&["host key verification failed"])
        ));
    }
    if has(&TIMED_OUT) {
        return RepoError::Failed(format!(
            "connecting to {shown_url} timed out: {}",
            line_with(&TIMED_OUT)
        ));
    }
    if has(&REFUSED) {
        return RepoError::Failed(format!(
            "authentication to {shown_url} failed or is required (configure [[git_credential]], a git credential helper, ~/.netrc or an ssh key): {}",
            line_with(&["permission denied", "authentication failed", "returned error", "access denied", "could not read"])
        ));
    }
    RepoError::Failed(format!("{shown_url}: {}", line_with(&[])))
}

/// Whether a failure came from authentication (for the HTTP probe).
fn is_auth_failure(error: &RepoError) -> bool {
    matches!(error, RepoError::Failed(m) if m.starts_with("authentication to "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_refs_with_peeled_tags() {
        let listing = "\
1111111111111111111111111111111111111111  commit  1700000001  refs/heads/main
2222222222222222222222222222222222222222 1111111111111111111111111111111111111111 tag commit  1700000001 refs/tags/v1.0.0
1111111111111111111111111111111111111111  commit  1700000001  refs/tags/v1.0.1
4444444444444444444444444444444444444444  blob    refs/tags/a-blob
5555555555555555555555555555555555555555 2222222222222222222222222222222222222222 tag tag   refs/tags/tag-of-tag
3333333333333333333333333333333333333333  commit  1700000003  refs/modvault/HEAD
";
        let (refs, times) = parse_ref_listing(listing);
        let times: std::collections::BTreeMap<_, _> = times.into_iter().collect();
        assert_eq!(
            times,
            [
                (
                    "1111111111111111111111111111111111111111".to_owned(),
                    1700000001
                ),
                (
                    "3333333333333333333333333333333333333333".to_owned(),
                    1700000003
                ),
            ]
            .into()
        );
        assert_eq!(
            refs.branches["main"],
            "1111111111111111111111111111111111111111"
        );
        assert_eq!(
            refs.tags["v1.0.0"],
            "1111111111111111111111111111111111111111"
        );
        assert_eq!(
            refs.head.as_deref(),
            Some("3333333333333333333333333333333333333333")
        );
        let v1: Vec<_> = refs
            .tags_with_prefix("v1.0.")
            .map(|(t, _)| t.as_str())
            .collect();
        assert_eq!(v1, ["v1.0.0", "v1.0.1"]);
        assert_eq!(refs.tags_with_prefix("sub/").count(), 0);
    }

    #[test]
    fn remote_sections_quote_urls_as_git_does() {
        assert_eq!(
            remote_config_section("origin", r#"https://host/a"b\c"#).unwrap(),
            "[remote \"origin\"]\n\turl = \"https://host/a\\\"b\\\\c\"\n"
        );
        assert!(remote_config_section("origin", "https://host/a\nb").is_err());
        // git reads back exactly the URL that was written.
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let url = r#"https://u:p@host/odd "name"\path"#;
        std::fs::write(&config, remote_config_section("origin", url).unwrap()).unwrap();
        let out = std::process::Command::new("git")
            .args(["config", "--file"])
            .arg(&config)
            .args(["remote.origin.url"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim_end_matches('\n'),
            url
        );
    }

    #[test]
    fn object_format_comes_from_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config"), "[core]\n\tbare = true\n").unwrap();
        assert_eq!(hex_len_from_config(dir.path()).unwrap(), 40);
        std::fs::write(
            dir.path().join("config"),
            "[core]\n\trepositoryformatversion = 1\n[extensions]\n\tobjectformat = sha256\n",
        )
        .unwrap();
        assert_eq!(hex_len_from_config(dir.path()).unwrap(), 64);
    }

    #[test]
    fn mirror_names_are_readable_and_unique() {
        let a = mirror_dir_name("https://github.com/Org/Repo");
        let b = mirror_dir_name("https://user:pw@github.com/Org/Repo");
        assert!(
            a.starts_with("github.com_Org_Repo-") && a.ends_with(".git"),
            "{a}"
        );
        assert!(!b.contains("pw"), "{b}");
        assert_ne!(a, b);
    }

    #[test]
    fn classifies_remote_failures() {
        let failed = |stderr: &str| GitError::Failed {
            command: "fetch".into(),
            status: std::os::unix::process::ExitStatusExt::from_raw(128 << 8),
            stderr: stderr.into(),
        };
        assert!(classify_remote_failure(
            "u",
            failed("fatal: '/x' does not appear to be a git repository")
        )
        .is_not_found());
        assert!(classify_remote_failure(
            "u",
            failed("remote: Repository not found.\nfatal: repository 'https://h/x/' not found")
        )
        .is_not_found());
        let auth = classify_remote_failure(
            "https://h/x",
            failed("fatal: could not read Username for 'https://h': terminal prompts disabled"),
        );
        assert!(is_auth_failure(&auth), "{auth}");
        assert!(!classify_remote_failure(
            "u",
            failed("fatal: unable to access: Could not resolve host")
        )
        .is_not_found());
        // ssh: the reason is not git's last line.
        let denied = classify_remote_failure(
            "ssh://h:2222/r",
            failed("git@h: Permission denied (publickey).\r\nfatal: Could not read from remote repository.\n\nPlease make sure you have the correct access rights\nand the repository exists."),
        );
        assert!(is_auth_failure(&denied), "{denied}");
        assert!(
            denied
                .to_string()
                .ends_with(": git@h: Permission denied (publickey)."),
            "{denied}"
        );
        let host_key = classify_remote_failure(
            "ssh://h:2222/r",
            failed("No ED25519 host key is known for [h]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\nfatal: Could not read from remote repository."),
        );
        assert!(
            host_key
                .to_string()
                .starts_with("the ssh host key of ssh://h:2222/r is unknown"),
            "{host_key}"
        );
        assert!(
            host_key
                .to_string()
                .ends_with(": Host key verification failed."),
            "{host_key}"
        );
        let hung = classify_remote_failure(
            "ssh://h:2222/r",
            failed("Connection timed out during banner exchange\r\nConnection to 127.0.0.1 port 2222 timed out\r\nfatal: Could not read from remote repository."),
        );
        assert_eq!(
            hung.to_string(),
            "connecting to ssh://h:2222/r timed out: Connection timed out during banner exchange"
        );
    }
}
