//! The token file and the tokens a running server accepts.

use std::collections::HashSet;
use std::fs::{self, File};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use crate::lock::FileLock;
use crate::token::{looks_like_token, TokenDigest};
use crate::{pattern, AccessError, Principal, Scope, SecretToken};

/// How often [`TokenStore::authenticate`] looks at the file for changes
/// made by another process. Between looks it uses what it has.
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The file format version this code reads and writes.
const FORMAT_VERSION: u32 = 1;

/// Token names are shown in logs and command output; keep them plain.
const MAX_NAME_LEN: usize = 64;

/// What `list` shows about a token: everything but the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub name: String,
    pub scope: Scope,
    /// GOPRIVATE-style globs of the modules it covers; empty: all.
    pub matches: Vec<String>,
    /// When it was created, RFC 3339 in UTC (`2025-01-02T03:04:05Z`).
    pub created: String,
    /// The token's first characters (`mvt_AbCdEf`), to recognise it.
    pub prefix: String,
}

/// The JSON file, e.g. `<data_dir>/.modvault/tokens.json`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenFile {
    version: u32,
    tokens: Vec<StoredToken>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredToken {
    name: String,
    scope: Scope,
    #[serde(default)]
    matches: Vec<String>,
    created: String,
    prefix: String,
    /// SHA-256 of the whole token, hex.
    sha256: TokenDigest,
}

impl StoredToken {
    fn info(&self) -> TokenInfo {
        TokenInfo {
            name: self.name.clone(),
            scope: self.scope,
            matches: self.matches.clone(),
            created: self.created.clone(),
            prefix: self.prefix.clone(),
        }
    }

    fn principal(&self) -> Principal {
        Principal {
            name: self.name.clone(),
            scope: self.scope,
            matches: self.matches.clone(),
        }
    }
}

/// Identifies one version of the token file, so a changed file is noticed
/// with a `stat` alone. Writers rename a new file into place, which changes
/// the inode even when size and mtime happen to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
    inode: (u64, u64),
}

impl Fingerprint {
    fn of(metadata: &fs::Metadata) -> Fingerprint {
        #[cfg(unix)]
        let inode = {
            use std::os::unix::fs::MetadataExt;
            (metadata.dev(), metadata.ino())
        };
        #[cfg(not(unix))]
        let inode = (0, 0);
        Fingerprint {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        }
    }
}

/// What the server currently accepts.
#[derive(Debug)]
struct Cache {
    tokens: Arc<[StoredToken]>,
    /// The file these tokens came from; `None`: missing or unreadable.
    fingerprint: Option<Fingerprint>,
    checked_at: Instant,
}

/// API tokens kept in a JSON file (mode 0600), of which only SHA-256
/// digests are stored.
///
/// Changes (`create`, `revoke`) lock the file against other writers, re-read
/// it, and replace it atomically (temporary file, fsync, rename, fsync of
/// the directory), so concurrent commands never lose each other's tokens
/// and readers never see half a file. [`TokenStore::authenticate`] notices
/// another process's changes within [`DEFAULT_REFRESH_INTERVAL`].
#[derive(Debug)]
pub struct TokenStore {
    path: PathBuf,
    refresh_interval: Duration,
    cache: Mutex<Cache>,
}

impl TokenStore {
    /// Opens the store kept in `path`. A missing file is an empty store
    /// (created on the first `create`); an unreadable or invalid one is an
    /// error, so a server does not start with a token file it cannot use.
    pub fn open(path: &Path) -> Result<TokenStore, AccessError> {
        let (tokens, fingerprint) = read_token_file(path)?;
        Ok(TokenStore {
            path: path.to_owned(),
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            cache: Mutex::new(Cache {
                tokens: tokens.into(),
                fingerprint,
                checked_at: Instant::now(),
            }),
        })
    }

    /// How often `authenticate` looks for changes made by other processes
    /// (default [`DEFAULT_REFRESH_INTERVAL`]; zero: on every call).
    pub fn with_refresh_interval(mut self, interval: Duration) -> TokenStore {
        self.refresh_interval = interval;
        self
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates a token called `name` (unique in this store) with `scope`,
    /// covering the modules matched by `matches` (GOPRIVATE-style globs,
    /// entries may be comma-separated lists; empty: every module).
    /// Returns the token: it is not stored, so this is the only chance to
    /// show it.
    pub fn create(
        &self,
        name: &str,
        scope: Scope,
        matches: Vec<String>,
    ) -> Result<SecretToken, AccessError> {
        check_name(name)?;
        let matches = pattern::normalize(matches)?;
        let token = SecretToken::generate()?;
        let created = now_rfc3339();
        self.change(|tokens| {
            if tokens.iter().any(|t| t.name == name) {
                return Err(AccessError::DuplicateName(name.to_owned()));
            }
            tokens.push(StoredToken {
                name: name.to_owned(),
                scope,
                matches,
                created,
                prefix: token.display_prefix(),
                sha256: TokenDigest::of(token.expose_secret()),
            });
            Ok(true)
        })?;
        Ok(token)
    }

    /// Revokes the token called `name`; `false` if there is none. A running
    /// server stops accepting it within its refresh interval.
    pub fn revoke(&self, name: &str) -> Result<bool, AccessError> {
        self.change(|tokens| {
            let before = tokens.len();
            tokens.retain(|t| t.name != name);
            Ok(tokens.len() != before)
        })
    }

    /// Every token, in creation order, read from the file now (so a CLI
    /// sees the current state, and a broken file is reported).
    pub fn list(&self) -> Result<Vec<TokenInfo>, AccessError> {
        let (tokens, _) = read_token_file(&self.path)?;
        Ok(tokens.iter().map(StoredToken::info).collect())
    }

    /// The principal `token` belongs to, or `None` if it is not a current
    /// token of this store.
    ///
    /// Looks at the file at most once per refresh interval (a `stat`; a
    /// re-read only when it changed). If the file has become invalid or
    /// unreadable, no token is accepted until it is fixed: failing closed
    /// keeps a revoked token from living on in memory.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        if !looks_like_token(token) {
            return None;
        }
        let digest = TokenDigest::of(token);
        let tokens = self.current_tokens();
        // Compare with every digest, without stopping at the first match,
        // in constant time each.
        let mut found = None;
        for stored in tokens.iter() {
            if stored.sha256.ct_eq(&digest) {
                found = Some(stored);
            }
        }
        found.map(StoredToken::principal)
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The cache is replaced whole, so a panic elsewhere cannot leave it
        // half-updated: keep using it.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The accepted tokens, refreshed from the file if it is time to look.
    fn current_tokens(&self) -> Arc<[StoredToken]> {
        let mut cache = self.lock_cache();
        let now = Instant::now();
        if now.duration_since(cache.checked_at) >= self.refresh_interval {
            cache.checked_at = now;
            let on_disk = fs::metadata(&self.path).ok().map(|m| Fingerprint::of(&m));
            if on_disk != cache.fingerprint {
                match read_token_file(&self.path) {
                    Ok((tokens, fingerprint)) => {
                        cache.tokens = tokens.into();
                        cache.fingerprint = fingerprint;
                    }
                    Err(e) => {
                        tracing::warn!("accepting no tokens until the token file is fixed: {e}");
                        cache.tokens = Arc::new([]);
                        cache.fingerprint = on_disk;
                    }
                }
            }
        }
        Arc::clone(&cache.tokens)
    }

    /// Applies `edit` to the tokens in the file, under the writers' lock,
    /// and writes the file back if `edit` returns `true`.
    fn change(
        &self,
        edit: impl FnOnce(&mut Vec<StoredToken>) -> Result<bool, AccessError>,
    ) -> Result<bool, AccessError> {
        let io_error = |path: &Path| {
            let path = path.to_owned();
            move |source| AccessError::Io { path, source }
        };
        let dir = parent_dir(&self.path);
        fs::create_dir_all(dir).map_err(io_error(dir))?;
        let lock_path = sidecar_lock_path(&self.path);
        let _lock = FileLock::acquire(&lock_path).map_err(io_error(&lock_path))?;

        // Re-read under the lock: another process may have changed it.
        let (mut tokens, _) = read_token_file(&self.path)?;
        if !edit(&mut tokens)? {
            return Ok(false);
        }
        let file = TokenFile {
            version: FORMAT_VERSION,
            tokens,
        };
        write_atomically(&self.path, &file).map_err(io_error(&self.path))?;
        let fingerprint = fs::metadata(&self.path).map_err(io_error(&self.path))?;
        let mut cache = self.lock_cache();
        cache.tokens = file.tokens.into();
        cache.fingerprint = Some(Fingerprint::of(&fingerprint));
        cache.checked_at = Instant::now();
        Ok(true)
    }
}

/// A token as a shared store keeps it (the database of several replicas):
/// what `list` shows, and the SHA-256 of the token; never the token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub info: TokenInfo,
    pub sha256: [u8; 32],
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl TokenRecord {
    /// A new token called `name`, validated as [`TokenStore::create`] does:
    /// the secret (shown once, never stored) and the record to store.
    pub fn issue(
        name: &str,
        scope: Scope,
        matches: Vec<String>,
    ) -> Result<(SecretToken, TokenRecord), AccessError> {
        check_name(name)?;
        let matches = pattern::normalize(matches)?;
        let token = SecretToken::generate()?;
        let record = TokenRecord {
            info: TokenInfo {
                name: name.to_owned(),
                scope,
                matches,
                created: now_rfc3339(),
                prefix: token.display_prefix(),
            },
            sha256: TokenDigest::of(token.expose_secret()).bytes(),
        };
        Ok((token, record))
    }
}

/// The principal among `records` that `token` belongs to, compared with
/// every digest in constant time, as [`TokenStore::authenticate`] does.
pub fn authenticate_among(records: &[TokenRecord], token: &str) -> Option<Principal> {
    if !looks_like_token(token) {
        return None;
    }
    let digest = TokenDigest::of(token);
    let mut found = None;
    for record in records {
        if TokenDigest::from_bytes(record.sha256).ct_eq(&digest) {
            found = Some(record);
        }
    }
    found.map(|record| Principal {
        name: record.info.name.clone(),
        scope: record.info.scope,
        matches: record.info.matches.clone(),
    })
}

fn check_name(name: &str) -> Result<(), AccessError> {
    let ok = (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-@".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(AccessError::InvalidName(name.to_owned()))
    }
}

fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    // Formatting a UTC time within years 0..=9999 as RFC 3339 cannot fail.
    now.format(&Rfc3339).unwrap_or_default()
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// `tokens.json` → `tokens.json.lock`.
fn sidecar_lock_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Reads and validates the token file. Missing: no tokens. The fingerprint
/// is that of the file actually read (taken from the open handle).
fn read_token_file(path: &Path) -> Result<(Vec<StoredToken>, Option<Fingerprint>), AccessError> {
    let io_error = |source| AccessError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), None)),
        Err(e) => return Err(io_error(e)),
    };
    let fingerprint = Fingerprint::of(&file.metadata().map_err(io_error)?);
    let mut text = Vec::new();
    file.read_to_end(&mut text).map_err(io_error)?;
    let corrupt = |reason: String| AccessError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    let parsed: TokenFile = serde_json::from_slice(&text).map_err(|e| corrupt(e.to_string()))?;
    if parsed.version != FORMAT_VERSION {
        return Err(corrupt(format!(
            "unsupported version {} (expected {FORMAT_VERSION})",
            parsed.version
        )));
    }
    let mut names = HashSet::new();
    for token in &parsed.tokens {
        check_name(&token.name).map_err(|e| corrupt(e.to_string()))?;
        if !names.insert(token.name.as_str()) {
            return Err(corrupt(format!(
                "token name {:?} appears twice",
                token.name
            )));
        }
        pattern::normalize(token.matches.clone()).map_err(|e| corrupt(e.to_string()))?;
    }
    Ok((parsed.tokens, Some(fingerprint)))
}

/// Replaces `path` with `file`, atomically and durably, mode 0600.
fn write_atomically(path: &Path, file: &TokenFile) -> io::Result<()> {
    let dir = parent_dir(path);
    // tempfile creates the file with mode 0600 and a random name, in the
    // same directory so that the rename cannot cross file systems.
    let mut temp = tempfile::Builder::new()
        .prefix(".tokens-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        temp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    serde_json::to_writer_pretty(&mut temp, file)?;
    temp.write_all(b"\n")?;
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_next_to_the_token_file() {
        assert_eq!(parent_dir(Path::new("tokens.json")), Path::new("."));
        assert_eq!(parent_dir(Path::new("/tokens.json")), Path::new("/"));
        assert_eq!(
            parent_dir(Path::new("d/.modvault/tokens.json")),
            Path::new("d/.modvault")
        );
        assert_eq!(
            sidecar_lock_path(Path::new("d/tokens.json")),
            Path::new("d/tokens.json.lock")
        );
    }

    #[test]
    fn creation_times_are_whole_utc_seconds() {
        let created = now_rfc3339();
        assert_eq!(created.len(), "2025-01-02T03:04:05Z".len(), "{created}");
        assert!(created.ends_with('Z'));
    }
}
